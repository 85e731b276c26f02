// Waiting, bounded: every poll loop in the local tooling, the benchmarks, the
// example and the tests goes through until(), so none can spin forever.

export const DEFAULT_UNTIL_TIMEOUT_MS = 15_000
const DEFAULT_STEP_MS = 20

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Polls until predicate() holds, every stepMs; bounded in time and in count.
 * Returns the milliseconds it took; throws naming `what` when it never held.
 */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = DEFAULT_UNTIL_TIMEOUT_MS, stepMs = DEFAULT_STEP_MS): Promise<number> {
  const started = Date.now()
  const deadline = started + timeoutMs
  for (let i = 0; i < 100_000; i++) {
    if (await predicate()) return Date.now() - started
    if (Date.now() > deadline) break
    await sleep(stepMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
}
