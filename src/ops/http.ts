// HTTP to a node's monitoring port, for the operator commands, the local
// cluster tooling and the tests: one request at a time, no keep-alive (a
// command must not linger on idle sockets), always bounded by a timeout, and
// a failure that says whether the node is gone, hung, or something else.
import http from 'node:http'

export interface HttpAnswer {
  status: number
  body: string
}

/**
 * Why a node did not answer: 'refused' (nothing listens: the process is
 * gone), 'timeout' (connected or not, no answer in time: hung, SIGSTOPped,
 * or a dead link), 'error' (anything else).
 */
export type NoAnswerKind = 'refused' | 'timeout' | 'error'

export class NoAnswer extends Error {
  readonly kind: NoAnswerKind
  constructor(kind: NoAnswerKind, message: string) {
    super(message)
    this.kind = kind
  }
}

/** One request, no keep-alive, bounded by timeoutMs; rejects with NoAnswer. */
export function httpRequest(method: 'GET' | 'POST', url: string, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let isSettled = false
    const settle = (err: NoAnswer | null, answer?: HttpAnswer): void => {
      if (isSettled) return
      isSettled = true
      clearTimeout(timer)
      if (err !== null) reject(err)
      else if (answer !== undefined) resolve(answer)
    }
    let req: http.ClientRequest
    try {
      req = http.request(url, { method, agent: false, headers: { connection: 'close' } }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => { if (body.length < 4_000_000) body += chunk })
        res.on('end', () => settle(null, { status: res.statusCode ?? 0, body }))
        res.on('error', (err) => settle(new NoAnswer('error', err.message)))
      })
    } catch (err) {
      reject(new NoAnswer('error', `bad URL ${url}: ${err instanceof Error ? err.message : String(err)}`))
      return
    }
    const timer = setTimeout(() => {
      settle(new NoAnswer('timeout', `no answer within ${timeoutMs} ms`))
      req.destroy()
    }, timeoutMs)
    req.on('error', (err: NodeJS.ErrnoException) => {
      const kind: NoAnswerKind = err.code === 'ECONNREFUSED' ? 'refused' : 'error'
      settle(new NoAnswer(kind, kind === 'refused' ? 'connection refused' : err.message))
    })
    req.end()
  })
}

/** GET of a JSON object (a monitoring endpoint such as /varz); NoAnswer unless 200 with an object. */
export async function getJson(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const answer = await httpRequest('GET', url, timeoutMs)
  if (answer.status !== 200) throw new NoAnswer('error', `${url} answered ${answer.status}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(answer.body)
  } catch {
    throw new NoAnswer('error', `${url} did not answer JSON`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new NoAnswer('error', `${url} did not answer a JSON object`)
  return parsed as Record<string, unknown>
}

/** True when the node's /healthz answers 200 within timeoutMs; false for any other answer or none. */
export async function isHealthy(monitorUrl: string, timeoutMs: number): Promise<boolean> {
  try {
    return (await httpRequest('GET', `${trimUrl(monitorUrl)}/healthz`, timeoutMs)).status === 200
  } catch {
    return false
  }
}

/** `http://h:p/` → `http://h:p`. */
export function trimUrl(url: string): string {
  return url.replace(/\/+$/, '')
}
