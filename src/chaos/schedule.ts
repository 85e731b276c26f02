// When each fault of a chaos run happens, and which requested kinds fit into
// --duration at all:
//
//   0 ── 3 s ── fault ─ recover ─ converge ─ margin ─ quiet 1–3 s ── fault … ── 2 s tail ── --duration
//
// The first round runs each requested kind once, in a seeded order. A kind
// starts only if its estimate, the window margin and the tail still fit
// before --duration ends; one that does not is marked not run ("did not
// fit") and the next, maybe shorter, kind gets its turn. After the first
// round: seeded picks, as long as the pick fits. Before anything starts, the
// same rule run on the estimates says which kinds are expected to fit, so a
// short run says so at once.
import type { FaultKind } from './options.js'
import type { Random } from './random.js'

export const FIRST_FAULT_AFTER_MS = 3_000
/** Quiet time kept at the end of the traffic, after the last fault's window. */
export const TAIL_MS = 2_000
/** Quiet time between one fault's margin and the next fault, seeded in this range. */
export const QUIET_MIN_MS = 1_000
export const QUIET_MAX_MS = 3_000
const QUIET_MEAN_MS = (QUIET_MIN_MS + QUIET_MAX_MS) / 2

/**
 * Rough time a fault takes from injection to settled (converged, its clients
 * back), for fitting the schedule into --duration: the longest hold time
 * (faults.ts) plus a few seconds. Faults usually settle sooner, so kinds not
 * expected to fit may still run.
 */
export const FAULT_ESTIMATE_MS: Record<FaultKind, number> = {
  kill: 6_000, hotkill: 6_000, pause: 7_000, drain: 7_000, add: 3_000, zk: 9_000,
}

/** Why a requested kind never ran. */
export type NotRunReason = 'did-not-fit' | 'could-not-run' | 'interrupted'

export interface NotRunKind {
  kind: FaultKind
  reason: NotRunReason
  detail: string
}

/** What the estimates say before the run starts. */
export interface SchedulePlan {
  /** The requested kinds in the seeded order the first round tries them. */
  firstRound: FaultKind[]
  /** Kinds expected to fit, in the order they will run. */
  expectedToFit: FaultKind[]
  /** Kinds not expected to fit: they run only if the faults before them settle early. */
  notExpectedToFit: FaultKind[]
  /** About how long a run needs for every requested kind once, tail included. */
  allKindsMs: number
}

/** The schedule of one run; next() is asked before each fault. */
export class FaultSchedule {
  readonly plan: SchedulePlan
  private readonly kinds: readonly FaultKind[]
  private readonly rng: Random
  private readonly durationMs: number
  private readonly marginMs: number
  /** First-round kinds not yet run nor given up. */
  private readonly pending: FaultKind[]
  private readonly givenUp = new Map<FaultKind, NotRunKind>()

  constructor(kinds: readonly FaultKind[], rng: Random, durationMs: number, marginMs: number) {
    this.kinds = kinds
    this.rng = rng
    this.durationMs = durationMs
    this.marginMs = marginMs
    this.pending = rng.shuffle(kinds)
    this.plan = planFirstRound(this.pending, durationMs, marginMs)
  }

  /** How long a fault of `kind` is expected to hold the schedule: its estimate and the window margin. */
  costMs(kind: FaultKind): number {
    return FAULT_ESTIMATE_MS[kind] + this.marginMs
  }

  /** Whether a fault of `kind` started at clockMs is expected to settle, with its margin and the tail, before the end. */
  fits(kind: FaultKind, clockMs: number): boolean {
    return clockMs + this.costMs(kind) + TAIL_MS <= this.durationMs
  }

  /**
   * The kind to inject now (clockMs since the traffic started), or null to
   * inject no more. canRun says whether a kind has a target now.
   */
  next(clockMs: number, canRun: (kind: FaultKind) => boolean): FaultKind | null {
    for (let i = 0; i < this.pending.length;) {
      const kind = this.pending[i]
      if (!this.fits(kind, clockMs)) {
        const leftS = Math.max(0, (this.durationMs - clockMs) / 1000)
        this.giveUp(kind, 'did-not-fit', `${leftS.toFixed(1)}s of the ${this.durationMs / 1000}s run were left at its turn; ` +
          `it needs about ${(this.costMs(kind) + TAIL_MS) / 1000}s with the window margin and the ${TAIL_MS / 1000}s tail`)
        continue
      }
      if (canRun(kind)) {
        this.pending.splice(i, 1)
        return kind
      }
      i++
    }
    if (this.pending.length > 0) {
      // Every kind left has no target now (too few live nodes, ZooKeeper down): the run injects no more.
      for (const kind of [...this.pending]) this.giveUp(kind, 'could-not-run', `no target for it at ${(clockMs / 1000).toFixed(1)}s`)
      return null
    }
    const possible = this.kinds.filter(canRun)
    if (possible.length === 0) return null
    const kind = this.rng.pick(possible)
    return this.fits(kind, clockMs) ? kind : null
  }

  /** The requested kinds that never ran, and why; `ran` are the kinds injected. */
  notRun(ran: readonly FaultKind[]): NotRunKind[] {
    return this.kinds.filter((k) => !ran.includes(k)).map((kind) =>
      this.givenUp.get(kind) ?? { kind, reason: 'interrupted', detail: 'the run was interrupted before its turn' })
  }

  private giveUp(kind: FaultKind, reason: NotRunReason, detail: string): void {
    this.pending.splice(this.pending.indexOf(kind), 1)
    this.givenUp.set(kind, { kind, reason, detail })
  }
}

/** The first round's rule run on the estimates, with the mean quiet time between faults. */
export function planFirstRound(order: readonly FaultKind[], durationMs: number, marginMs: number): SchedulePlan {
  const cost = (kind: FaultKind): number => FAULT_ESTIMATE_MS[kind] + marginMs
  const expectedToFit: FaultKind[] = []
  const notExpectedToFit: FaultKind[] = []
  let clockMs = FIRST_FAULT_AFTER_MS
  for (const kind of order) {
    if (clockMs + cost(kind) + TAIL_MS <= durationMs) {
      expectedToFit.push(kind)
      clockMs += cost(kind) + QUIET_MEAN_MS
    } else {
      notExpectedToFit.push(kind)
    }
  }
  const allKindsMs = FIRST_FAULT_AFTER_MS + order.reduce((sum, k) => sum + cost(k), 0) + Math.max(0, order.length - 1) * QUIET_MEAN_MS + TAIL_MS
  return { firstRound: [...order], expectedToFit, notExpectedToFit, allKindsMs }
}

/** The line a run starts with: which kinds fit, and what every kind would need. */
export function describePlan(plan: SchedulePlan, durationMs: number): string {
  const all = `one of each kind needs about ${Math.ceil(plan.allKindsMs / 1000)}s`
  if (plan.notExpectedToFit.length === 0) {
    return `schedule: every requested fault kind fits in ${durationMs / 1000}s (${all}); first round ${plan.firstRound.join(', ')}, then seeded picks`
  }
  const fit = plan.expectedToFit.length === 0 ? 'no fault kind' : plan.expectedToFit.join(', ')
  return `schedule: ${durationMs / 1000}s fits ${fit} (${plan.expectedToFit.length} of ${plan.firstRound.length} kinds, in this order); ` +
    `not expected to fit: ${plan.notExpectedToFit.join(', ')}: they run only if the faults before them settle early, ` +
    `else the report marks them not run (${all}: --duration ${Math.ceil(plan.allKindsMs / 1000)})`
}
