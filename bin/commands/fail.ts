// How every command ends on an error: one line on stderr; exit 2 for our own
// errors (bad flags, options, usage), 1 for anything unexpected.
import { NatsmeshError } from '../../src/errors.js'

export function fail(err: unknown): never {
  const message = err instanceof NatsmeshError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)
  process.stderr.write(`natsmesh: ${message}\n`)
  process.exit(err instanceof NatsmeshError ? 2 : 1)
}
