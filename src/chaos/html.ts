// The chaos report as one self-contained HTML page: the verdict, a timeline
// (inline SVG: delivered msgs/s per client, faults as shaded bands with their
// windows), the faults table and the totals. No scripts, fonts or images from
// anywhere: it opens from a CI artifact as it is.
import type { ChaosReport } from './report.js'

const WIDTH = 1100
const HEIGHT = 360
const PAD_LEFT = 56
const PAD_RIGHT = 16
/** Room for two rows of fault labels, alternating, so neighbours do not overlap. */
const PAD_TOP = 40
const PAD_BOTTOM = 36
/** The plot averages the 100 ms buckets over this long: a line per 0.1 s is noise at this size. */
const PLOT_BUCKET_MS = 500
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939']
const FAULT_COLORS: Record<string, string> = {
  kill: '#d62728', hotkill: '#a50f15', pause: '#ff7f0e', drain: '#2ca02c', add: '#1f77b4', zk: '#9467bd',
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function secs(ms: number | null): string {
  return ms === null ? '—' : `${(ms / 1000).toFixed(2)} s`
}

/** msgs/s per PLOT_BUCKET_MS for one client's 100 ms counts. */
function rates(counts: readonly number[], bucketMs: number): number[] {
  const per = Math.max(1, Math.round(PLOT_BUCKET_MS / bucketMs))
  const out: number[] = []
  for (let i = 0; i < counts.length; i += per) {
    let sum = 0
    for (let j = i; j < Math.min(counts.length, i + per); j++) sum += counts[j]
    out.push((sum * 1000) / (per * bucketMs))
  }
  return out
}

export function renderTimeline(report: ChaosReport): string {
  const { bucketMs, series } = report.timeline
  const ids = Object.keys(series)
  const lines = ids.map((id) => rates(series[id], bucketMs))
  const maxRate = Math.max(10, ...lines.flatMap((l) => l))
  const totalMs = Math.max(1, report.durationMs)
  const plotW = WIDTH - PAD_LEFT - PAD_RIGHT
  const plotH = HEIGHT - PAD_TOP - PAD_BOTTOM
  const x = (ms: number): number => PAD_LEFT + (Math.min(Math.max(ms, 0), totalMs) / totalMs) * plotW
  const y = (rate: number): number => PAD_TOP + plotH - (rate / maxRate) * plotH
  const parts: string[] = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT + 20 * Math.ceil(ids.length / 8)}" viewBox="0 0 ${WIDTH} ${HEIGHT + 20 * Math.ceil(ids.length / 8)}" font-family="sans-serif" font-size="11">`)
  for (const f of report.faults) {
    const color = FAULT_COLORS[f.kind] ?? '#999'
    parts.push(`<rect x="${x(f.windowStartMs).toFixed(1)}" y="${PAD_TOP}" width="${Math.max(1, x(f.windowEndMs) - x(f.windowStartMs)).toFixed(1)}" height="${plotH}" fill="${color}" opacity="0.10"><title>window of #${f.index} ${escape(f.kind)} ${escape(f.target)}</title></rect>`)
    parts.push(`<rect x="${x(f.startMs).toFixed(1)}" y="${PAD_TOP}" width="${Math.max(1.5, x(f.recoveredMs) - x(f.startMs)).toFixed(1)}" height="${plotH}" fill="${color}" opacity="0.25"><title>#${f.index} ${escape(f.kind)} ${escape(f.target)}: ${escape(f.detail)}</title></rect>`)
    parts.push(`<text x="${x(f.startMs).toFixed(1)}" y="${PAD_TOP - 6 - (f.index % 2) * 13}" fill="${color}">#${f.index} ${escape(f.kind)} ${escape(f.target)}</text>`)
  }
  for (let i = 0; i <= 4; i++) {
    const rate = (maxRate * i) / 4
    parts.push(`<line x1="${PAD_LEFT}" x2="${WIDTH - PAD_RIGHT}" y1="${y(rate).toFixed(1)}" y2="${y(rate).toFixed(1)}" stroke="#ddd"/>`)
    parts.push(`<text x="${PAD_LEFT - 6}" y="${(y(rate) + 4).toFixed(1)}" text-anchor="end">${Math.round(rate)}</text>`)
  }
  const stepS = totalMs > 240_000 ? 30 : totalMs > 60_000 ? 10 : 5
  for (let s = 0; s * 1000 <= totalMs; s += stepS) {
    parts.push(`<text x="${x(s * 1000).toFixed(1)}" y="${HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle">${s}s</text>`)
  }
  parts.push(`<text x="14" y="${PAD_TOP + plotH / 2}" transform="rotate(-90 14 ${PAD_TOP + plotH / 2})" text-anchor="middle">delivered msgs/s</text>`)
  lines.forEach((values, i) => {
    const color = COLORS[i % COLORS.length]
    const step = PLOT_BUCKET_MS
    const points = values.map((v, j) => `${x(j * step + step / 2).toFixed(1)},${y(v).toFixed(1)}`).join(' ')
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.3" points="${points}"><title>${escape(ids[i])}</title></polyline>`)
    const lx = PAD_LEFT + (i % 8) * 130
    const ly = HEIGHT + 4 + 20 * Math.floor(i / 8)
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="4" fill="${color}"/><text x="${lx + 18}" y="${ly - 4}">${escape(ids[i])}</text>`)
  })
  parts.push(`<rect x="${PAD_LEFT}" y="${PAD_TOP}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`)
  parts.push('</svg>')
  return parts.join('\n')
}

function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('') + '</tbody></table>'
}

export function renderHtml(report: ChaosReport): string {
  const v = report.verdict
  const t = report.totals
  const s = report.summary
  const faultRows = report.faults.map((f) => [
    `#${f.index}`, f.kind, f.target, secs(f.startMs), f.detail, `${secs(f.windowStartMs)} → ${secs(f.windowEndMs)}`,
    f.affected.join(' ') || '—',
    f.failovers.map((x) => `${x.client}${x.isPlanned === true ? ' (planned)' : ''}: ${secs(x.failoverMs)}`).join(', ') || '—',
    `${f.convergence.isConverged ? '' : 'NOT '}converged; routes ${secs(f.convergence.routesMs)}, interest ${secs(f.convergence.interestMs)}, membership ${secs(f.convergence.membershipMs)}`,
    `${f.lostMessages} msgs` + (f.pairLosses.length > 0 ? ` (${f.pairLosses.map((p) => `${p.pair} #${p.firstSeq}–#${p.lastSeq}, ${secs(p.durationMs)}`).join('; ')})` : '') +
      `, ${f.lostQueueJobs} jobs, ${f.failedRequests} requests`,
  ])
  const checkRows = v.checks.map((c) => [c.isPassed ? 'ok' : 'FAIL', c.name, c.detail])
  const notRunRows = report.faultKindsNotRun.map((n) => [n.kind, n.reason, n.detail])
  const totalsRows = [
    ['published', String(t.published)], ['expected deliveries', String(t.expected)], ['delivered', String(t.delivered)],
    ['lost (in windows / outside)', `${t.lost} (${t.lostInWindows} / ${t.lostOutsideWindows})`], ['duplicated', String(t.duplicated)],
    ['out of order', String(t.outOfOrder)], ['misdelivered', String(t.misdelivered)],
    ['queue: published / delivered / lost / twice', `${t.queue.published} / ${t.queue.delivered} / ${t.queue.lost} / ${t.queue.deliveredTwice}`],
    ['requests: sent / answered / failed outside windows', `${t.requests.sent} / ${t.requests.answered} / ${t.requests.failedOutsideWindows}`],
    ['failover ms (min / median / max)', `${s.failoverMs.min ?? '—'} / ${s.failoverMs.median ?? '—'} / ${s.failoverMs.max ?? '—'}`],
    ['convergence ms (min / median / max)', `${s.convergenceMs.min ?? '—'} / ${s.convergenceMs.median ?? '—'} / ${s.convergenceMs.max ?? '—'}`],
    ['drain loss for the drained node\'s clients (natsmesh / nats.js)', `${s.drainLoss.natsmesh} / ${s.drainLoss.natsJs}`],
    ['runner event-loop delay p99 / max', `${s.runnerLagMs.p99} ms / ${s.runnerLagMs.max} ms`],
  ]
  const gapRows = report.gaps.slice(0, 100).map((g) => [g.publisher, g.subscriber, `#${g.firstSeq}–#${g.lastSeq}`, String(g.count), `${secs(g.fromMs)} → ${secs(g.toMs)}`, g.fault === null ? 'NONE' : `#${g.fault}`])
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>natsmesh chaos, seed ${report.seed}: ${v.isPassed ? 'PASS' : 'FAIL'}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.pass { color: #2a7d2a; } .fail { color: #c0261b; }
table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
</style></head><body>
<h1>natsmesh chaos: <span class="${v.isPassed ? 'pass' : 'fail'}">${v.isPassed ? 'PASS' : 'FAIL'}</span></h1>
<p>seed ${report.seed}, started ${escape(report.startedAt)}, ${(report.durationMs / 1000).toFixed(0)} s of traffic, ${report.faults.length} faults
(${escape(report.faultKindsRun.join(', '))})${report.faultKindsNotRun.length === 0 ? ''
  : `; <strong>not run: ${escape(report.faultKindsNotRun.map((n) => n.kind).join(', '))}</strong>`}, options ${escape(JSON.stringify(report.options))}</p>
<h2>Timeline</h2>
<p>Delivered messages per second per client (${PLOT_BUCKET_MS} ms averages). Dark bands: the fault until its recovery step; light bands: its loss window.</p>
${renderTimeline(report)}
<h2>Verdict</h2>
${table(['', 'check', 'detail'], checkRows)}
<h2>Faults</h2>
${table(['', 'kind', 'target', 'start', 'what', 'window', 'clients on it', 'failover', 'convergence (after recovery)', 'loss'], faultRows)}
${notRunRows.length === 0 ? '' : `<h2>Fault kinds not run</h2>\n${table(['kind', 'reason', 'detail'], notRunRows)}`}
<h2>Totals</h2>
${table(['', ''], totalsRows)}
<h2>Gaps (lost runs per publisher and subscription)</h2>
${gapRows.length === 0 ? '<p>none</p>' : table(['publisher', 'subscription', 'sequence numbers', 'count', 'sent', 'fault'], gapRows)}
${report.anomalies.length === 0 ? '' : `<h2>Anomalies</h2>${table(['at', 'kind', 'client', 'detail'], report.anomalies.map((a) => [secs(a.at), a.kind, a.client, a.detail]))}`}
</body></html>
`
}
