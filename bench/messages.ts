// What the bench runner and its load generator processes say to each other
// over the fork IPC channel. A handful of messages per scenario, never one per
// NATS message, so IPC costs nothing measurable.

export interface PubJob {
  role: 'pub'
  port: number
  subject: string
  payloadBytes: number
  count: number
  /** The publisher stops early after this long, so a slow target cannot hang the run. */
  maxMs: number
  /** Published (empty payload) every PROBE_INTERVAL_MS until 'go'; subscribers report seeing it. */
  probeSubject: string
}

export interface SubJob {
  role: 'sub'
  port: number
  subject: string
  queue: string | null
  probeSubject: string
}

export interface ResponderJob {
  role: 'responder'
  port: number
  subject: string
}

export interface RequesterJob {
  role: 'requester'
  port: number
  subject: string
  payloadBytes: number
  /** Requests answered before measuring starts (also proves the path works end to end). */
  warmup: number
  count: number
  maxMs: number
}

export type Job = PubJob | SubJob | ResponderJob | RequesterJob

/** Runner → load generator. */
export type Command =
  | { op: 'job'; job: Job }
  | { op: 'go' }
  | { op: 'status' }
  | { op: 'stop' }

export interface SubStatus {
  ev: 'status'
  received: number
  /** Monotonic ns of the chunk carrying the first data message; 0 before it. */
  firstNs: number
  /** Monotonic ns of the chunk carrying the last data message seen so far. */
  lastNs: number
  isClosed: boolean
  error: string | null
  /** CPU time (user + system) this process used since it was ready. */
  cpuUs: number
}

export interface Published {
  ev: 'published'
  sent: number
  startNs: number
  /** When the PONG to the PING sent after the last message came back. */
  endNs: number
  /** CPU time (user + system) this process used between 'go' and endNs. */
  cpuUs: number
}

export interface LatencyResult {
  ev: 'latency'
  /** Round trips answered in the measured phase (warmup excluded). */
  count: number
  p50Us: number
  p90Us: number
  p99Us: number
  maxUs: number
  error: string | null
}

/** Load generator → runner. */
export type Event =
  | { ev: 'ready' }
  | { ev: 'probed' }
  | SubStatus
  | Published
  | LatencyResult
  | { ev: 'error'; message: string }
