// Plain-text tables for the operator commands: a header row, columns two
// spaces apart, numbers right-aligned. No colours and no box drawing, so the
// output greps and diffs cleanly.

export interface Column {
  title: string
  isNumeric?: boolean
}

export function formatTable(columns: readonly Column[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => columns
    .map((c, i) => (c.isNumeric === true ? (cells[i] ?? '').padStart(widths[i]) : (cells[i] ?? '').padEnd(widths[i])))
    .join('  ')
    .trimEnd()
  return [line(columns.map((c) => c.title)), ...rows.map(line)].join('\n') + '\n'
}

/** 1234 ms → "1.2s"; for reports of how long something took. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}
