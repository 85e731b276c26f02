// connect(): nats.js's connect with the node list from ZooKeeper (or the
// cache), and the failover controller attached. Returns nats.js's own
// NatsConnection object: every nats.js API works on it unchanged.
import { connect as natsConnect, type NatsConnection } from 'nats'
import { CLIENT_ERROR_CODES, ClientError, errorText } from './errors.js'
import { FailoverController } from './failover.js'
import { Membership } from './membership.js'
import { NatsInternals } from './nats-internals.js'
import { resolveClientOptions, type ClientSettings, type NatsmeshConnectionOptions } from './options.js'
import { normalizeAll, shuffle } from './pool.js'
import { PublishGate } from './publish-buffer.js'

/**
 * With `zookeeper` and `cluster`: discovers the nodes, connects to one of
 * them (shuffled), follows membership, moves off drained nodes, buffers
 * publishes between nodes. Without: `servers` and the rest go to nats.js as
 * they are, with the publish buffer and lame-duck moves added.
 * Rejects with ClientError (see errors.ts for the codes) or nats.js's NatsError.
 */
export async function connect(options: NatsmeshConnectionOptions = {}): Promise<NatsConnection> {
  const settings = resolveClientOptions(options)
  if (settings.zookeeper === null) {
    const nc = await natsConnect(settings.nats)
    return attach(nc, settings, null)
  }
  const { membership, initial } = await Membership.open(settings.zookeeper, settings.onEvent)
  const servers = shuffle(normalizeAll(initial.urls))
  let nc: NatsConnection
  try {
    if (servers.length === 0) throw new Error(`no usable URL among ${initial.urls.join(', ')}`)
    nc = await natsConnect({ ...settings.nats, servers })
  } catch (err) {
    await membership.close()
    const { connectString, cluster } = settings.zookeeper
    const tried = `${servers.length} node${servers.length === 1 ? '' : 's'} ${initial.description}: ${initial.urls.join(', ')}`
    throw initial.source === 'cache'
      ? new ClientError(CLIENT_ERROR_CODES.UNREACHABLE,
        `cannot reach cluster '${cluster}': neither ZooKeeper ${connectString} nor any of the ${tried} answered (last error: ${errorText(err)})`,
        { cause: err })
      : new ClientError(CLIENT_ERROR_CODES.CONNECT,
        `cannot reach cluster '${cluster}': none of the ${tried} accepted a connection (last error: ${errorText(err)})`,
        { cause: err })
  }
  try {
    return attach(nc, settings, membership)
  } catch (err) {
    await nc.close()
    await membership.close()
    throw err
  }
}

function attach(nc: NatsConnection, settings: ClientSettings, membership: Membership | null): NatsConnection {
  let internals: NatsInternals
  try {
    internals = NatsInternals.fromConnection(nc)
  } catch (err) {
    void nc.close()
    throw err
  }
  const gate = new PublishGate(settings.publishBufferBytes, internals.originalPublish,
    () => internals.isConnected(), () => internals.maxPayload())
  new FailoverController(nc, internals, gate, membership, settings.onEvent, settings.moveGraceMs).start()
  return nc
}
