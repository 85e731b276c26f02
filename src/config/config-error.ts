// The one error of the config-file reader and of the typed value readers.
// Its message is nats-server 2.9.10's text for the same fault wherever
// nats-server has one, so `natsmesh` and `nats-server -t` print the same line:
//   Parse error on line 3: 'Unexpected EOF.'                  (lexer, conf/parse.go)
//   variable reference for 'X' on line 2 can not be found     (parser)
//   error parsing include file 'a.conf', open a.conf: …       (parser)
//   f.conf:4:1: unknown field "foo"                           (options, server/errors.go configErr)
import { OptionsError } from '../errors.js'

export const CONFIG_ERROR_CODE = 'NATSMESH_ERR_CONFIG'

/**
 * Where a token sits in a config file, as nats-server reports it. `col` is
 * nats-server's column: the byte distance from the newline that ends the
 * previous line, so a line's first character is col 1, except on line 1, where
 * nats-server counts from the start of the input and the first character is col 0.
 */
export interface ConfPosition {
  readonly file: string
  readonly line: number
  readonly col: number
}

export class ConfigError extends OptionsError {
  override readonly code: string = CONFIG_ERROR_CODE
  readonly file: string
  readonly line: number
  readonly col: number
  /** The message without its `file:line:col: ` prefix. */
  readonly reason: string
  /**
   * nats-server's warnings (e.g. a duration given as a bare number): the server
   * still starts with them, but `nats-server -t` exits 1 on them like on an error.
   */
  readonly isWarning: boolean

  constructor(message: string, at: ConfPosition, options: { reason?: string; isWarning?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.file = at.file
    this.line = at.line
    this.col = at.col
    this.reason = options.reason ?? message
    this.isWarning = options.isWarning ?? false
  }

  /** nats-server's configErr: `file:line:col: reason`. */
  static at(at: ConfPosition, reason: string, options: { isWarning?: boolean; cause?: unknown } = {}): ConfigError {
    return new ConfigError(`${at.file}:${at.line}:${at.col}: ${reason}`, at, { ...options, reason })
  }
}
