// The one errors base of natsmesh: every internal error (server, cluster,
// discovery, client, operator commands) is a NatsmeshError with a stable code
// to grep for and a cause. Wire error texts are not errors of this kind: they
// are nats-server's strings, in src/server/errors.ts.

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
