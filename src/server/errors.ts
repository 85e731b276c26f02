// Wire error texts, exactly as nats-server 2.9 sends them inside `-ERR '…'`.
// Casing differs between them on purpose: it is nats-server's (checked against
// the Debian nats-server v2.9.10 by test/protocol/differential.test.ts).
export const ERR_UNKNOWN_PROTOCOL = 'Unknown Protocol Operation'
export const ERR_MAX_CONTROL_LINE = 'maximum control line exceeded'
export const ERR_MAX_PAYLOAD = 'Maximum Payload Violation'
export const ERR_MAX_CONNECTIONS = 'maximum connections exceeded'
export const ERR_INVALID_SUBJECT = 'Invalid Subject'
export const ERR_INVALID_PUBLISH_SUBJECT = 'Invalid Publish Subject'
export const ERR_STALE_CONNECTION = 'Stale Connection'
export const ERR_NO_RESPONDERS_NEEDS_HEADERS = 'no responders requires headers support'
export const ERR_AUTHORIZATION = 'Authorization Violation'

/** Internal errors carry a stable code to grep for, and the cause. */
export class NatsmeshError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A bad option value, flag or config key; the message names the option. */
export class OptionsError extends NatsmeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATSMESH_ERR_OPTIONS', message, options)
  }
}
