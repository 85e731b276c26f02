// How an operator command (up, cluster ls, node drain|stop) ends: its own
// exit code, or one line on stderr and exit 1 or 2 for an error.
import { NatsmeshError } from '../../src/errors.js'
import { OperationError } from '../../src/ops/cluster-query.js'

/**
 * Runs an operator command and sets the exit code: what it returns (0 on
 * success), 1 for an OperationError (printed without a stack), 2 for bad
 * flags (NatsmeshError, as `natsmesh server` does). Anything else is a bug and
 * propagates with its stack.
 */
export async function runOperation(run: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await run()
  } catch (err) {
    if (!(err instanceof NatsmeshError)) throw err
    process.stderr.write(`natsmesh: ${err.message}\n`)
    process.exitCode = err instanceof OperationError ? 1 : 2
  }
}
