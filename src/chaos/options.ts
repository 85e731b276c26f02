// `natsmesh chaos` options: typed, defaulted and checked once (STYLE.md P13).
import { OptionsError } from '../errors.js'

export const FAULT_KINDS = ['kill', 'pause', 'drain', 'add', 'zk', 'hotkill'] as const
export type FaultKind = typeof FAULT_KINDS[number]

export const DEFAULT_NODES = 3
export const DEFAULT_DURATION_S = 60
/** Messages per second per publisher; the hot publisher sends twice as many. */
export const DEFAULT_RATE = 100
/** Requests per second per requester. */
export const DEFAULT_REQUEST_RATE = 10
/** After a fault's last recovery step, loss is still allowed this long (interest travelling, buffers flushing). */
export const DEFAULT_MARGIN_MS = 2_000
/** Routes, interest and membership must hold again within this long after a fault's recovery step. */
export const DEFAULT_CONVERGE_BOUND_MS = 20_000
/** Fuzz: raw connections sending random and mutated frames, in all. */
export const DEFAULT_FUZZ_CONNECTIONS = 600

export interface ChaosOptions {
  nodes: number
  durationMs: number
  seed: number
  faults: FaultKind[]
  rate: number
  requestRate: number
  marginMs: number
  convergeBoundMs: number
  jsonFile: string | null
  htmlFile: string | null
  /** Keep the node and ZooKeeper logs even when the verdict passes. */
  isKeepingLogs: boolean
  /** Progress lines while it runs. */
  isQuiet: boolean
}

export interface FuzzOptions {
  durationMs: number
  seed: number
  connections: number
  jsonFile: string | null
  isQuiet: boolean
}

export function parseFaults(text: string): FaultKind[] {
  const kinds = text.split(',').map((k) => k.trim()).filter((k) => k !== '')
  const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k))
  if (unknown.length > 0) throw new OptionsError(`--faults: unknown fault ${unknown.join(', ')} (known: ${FAULT_KINDS.join(',')})`)
  if (kinds.length === 0) throw new OptionsError('--faults: name at least one fault')
  return [...new Set(kinds)] as FaultKind[]
}

function integer(flag: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new OptionsError(`--${flag}: expected a whole number from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

export interface RawChaosFlags {
  nodes: number
  duration: number
  seed: number | undefined
  faults: string
  rate: number
  'request-rate': number
  margin: number
  'converge-bound': number
  json: string | undefined
  html: string | undefined
  'keep-logs': boolean
  quiet: boolean
  'fuzz-connections': number
}

export function resolveChaosOptions(flags: RawChaosFlags): ChaosOptions {
  return {
    nodes: integer('nodes', flags.nodes, 2, 9),
    durationMs: integer('duration', flags.duration, 10, 86_400) * 1000,
    seed: flags.seed === undefined ? randomSeed() : integer('seed', flags.seed, 0, 2 ** 32 - 1),
    faults: parseFaults(flags.faults),
    rate: integer('rate', flags.rate, 1, 5_000),
    requestRate: integer('request-rate', flags['request-rate'], 1, 1_000),
    marginMs: Math.round(nonNegative('margin', flags.margin) * 1000),
    convergeBoundMs: Math.round(nonNegative('converge-bound', flags['converge-bound']) * 1000),
    jsonFile: flags.json ?? null,
    htmlFile: flags.html ?? null,
    isKeepingLogs: flags['keep-logs'],
    isQuiet: flags.quiet,
  }
}

export function resolveFuzzOptions(flags: RawChaosFlags): FuzzOptions {
  if (flags.html !== undefined) throw new OptionsError('--html: not written by --fuzz (use --json)')
  return {
    durationMs: integer('duration', flags.duration, 5, 86_400) * 1000,
    seed: flags.seed === undefined ? randomSeed() : integer('seed', flags.seed, 0, 2 ** 32 - 1),
    connections: integer('fuzz-connections', flags['fuzz-connections'], 1, 1_000_000),
    jsonFile: flags.json ?? null,
    isQuiet: flags.quiet,
  }
}

function nonNegative(flag: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 3_600) throw new OptionsError(`--${flag}: expected seconds from 0 to 3600, got ${String(value)}`)
  return value
}

function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31)
}
