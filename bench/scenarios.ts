// What is measured. A scenario names which node each load generator talks
// to, so a cluster scenario is the same shape with other node numbers: adding
// one is adding an entry here.

export interface SubscriberPlacement {
  node: number
  /** Queue group name, or null for a plain subscription. */
  queue: string | null
}

export interface ThroughputScenario {
  kind: 'throughput'
  name: string
  description: string
  /** 1 for single node scenarios, 3 for cluster ones. */
  nodes: number
  publisherNode: number
  subscribers: SubscriberPlacement[]
  /**
   * Messages per run by payload size, chosen so one run against nats-server
   * takes about 2–3 s on the 2-core reference machine (docs/benchmarks.md).
   */
  counts: Record<number, number>
}

export interface LatencyScenario {
  kind: 'latency'
  name: string
  description: string
  nodes: number
  requesterNode: number
  responderNode: number
  payloadBytes: number
  /** Measured round trips per run (about 2 s against nats-server). */
  count: number
}

export type Scenario = ThroughputScenario | LatencyScenario

export const PAYLOAD_SIZES = [16, 1024]

function plain(node: number): SubscriberPlacement {
  return { node, queue: null }
}

function queued(node: number): SubscriberPlacement {
  return { node, queue: 'workers' }
}

export const SCENARIOS: Scenario[] = [
  {
    kind: 'throughput', name: 'pub', nodes: 1, publisherNode: 0, subscribers: [],
    description: 'publish only, no subscribers: PUB parsing and matching nothing; rate until the closing PONG',
    counts: { 16: 20_000_000, 1024: 6_000_000 },
  },
  {
    kind: 'throughput', name: 'pubsub', nodes: 1, publisherNode: 0, subscribers: [plain(0)],
    description: 'one publisher, one subscriber: parse, match, one MSG per PUB',
    counts: { 16: 5_000_000, 1024: 1_500_000 },
  },
  {
    kind: 'throughput', name: 'fanout4', nodes: 1, publisherNode: 0,
    subscribers: [plain(0), plain(0), plain(0), plain(0)],
    description: 'one publisher, four subscribers on the subject: four MSGs per PUB; total received',
    counts: { 16: 3_000_000, 1024: 300_000 },
  },
  {
    kind: 'throughput', name: 'queue4', nodes: 1, publisherNode: 0,
    subscribers: [queued(0), queued(0), queued(0), queued(0)],
    description: 'one publisher, a queue group of four: each PUB to one member; total received',
    counts: { 16: 5_000_000, 1024: 800_000 },
  },
  {
    kind: 'latency', name: 'reqrep', nodes: 1, requesterNode: 0, responderNode: 0, payloadBytes: 16,
    description: 'sequential request/reply round trip, requester and responder on raw sockets',
    count: 40_000,
  },
  {
    kind: 'throughput', name: 'cluster-pubsub', nodes: 3, publisherNode: 0, subscribers: [plain(1)],
    description: 'publisher on node A, subscriber on node B: one route hop',
    counts: { 16: 3_000_000, 1024: 700_000 },
  },
  {
    kind: 'throughput', name: 'cluster-fanout', nodes: 3, publisherNode: 0, subscribers: [plain(1), plain(2)],
    description: 'publisher on A, one subscriber each on B and C: one RMSG per peer; total received',
    counts: { 16: 1_500_000, 1024: 250_000 },
  },
  {
    kind: 'latency', name: 'cluster-reqrep', nodes: 3, requesterNode: 0, responderNode: 2, payloadBytes: 16,
    description: 'request/reply round trip, requester on A, responder on C (two route crossings)',
    count: 12_000,
  },
]

export function scenarioPayloads(scenario: Scenario, payloads: number[]): number[] {
  return scenario.kind === 'latency' ? [scenario.payloadBytes] : payloads
}
