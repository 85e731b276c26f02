// One line per event: time, level, node name, then the message (which names
// the client or peer concerned). Nothing is logged per message at the default
// level; trace is the raw protocol and costs what it costs.
import fs from 'node:fs'

export interface Logger {
  readonly isDebug: boolean
  readonly isTrace: boolean
  info(msg: string): void
  warn(msg: string): void
  error(msg: string): void
  debug(msg: string): void
  trace(msg: string): void
}

export interface LoggerOptions {
  name: string
  debug: boolean
  trace: boolean
  /** Path of a log file; '' writes to stderr. */
  file: string
}

export class LineLogger implements Logger {
  readonly isDebug: boolean
  readonly isTrace: boolean
  name: string
  private readonly fd: number

  constructor(options: LoggerOptions) {
    this.name = options.name
    this.isDebug = options.debug || options.trace
    this.isTrace = options.trace
    this.fd = options.file === '' ? 2 : fs.openSync(options.file, 'a')
  }

  private write(level: string, msg: string): void {
    const line = `${new Date().toISOString()} [${level}] ${this.name}: ${msg}\n`
    try {
      fs.writeSync(this.fd, line)
    } catch {
      // A full disk or closed stderr must not take the broker down with it.
    }
  }

  info(msg: string): void { this.write('INF', msg) }
  warn(msg: string): void { this.write('WRN', msg) }
  error(msg: string): void { this.write('ERR', msg) }
  debug(msg: string): void { if (this.isDebug) this.write('DBG', msg) }
  trace(msg: string): void { if (this.isTrace) this.write('TRC', msg) }

  close(): void {
    if (this.fd !== 2) fs.closeSync(this.fd)
  }
}

/** For embedding and unit tests. */
export const SILENT_LOGGER: Logger = Object.freeze({
  isDebug: false,
  isTrace: false,
  info() {}, warn() {}, error() {}, debug() {}, trace() {},
})
