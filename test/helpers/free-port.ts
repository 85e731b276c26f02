// Free ports and port probes live with the compiled code (bench/, examples/
// and bin/ use them too): src/local/ports.ts.
export { freePort, freePorts, isAccepting, waitForPort } from '../../src/local/ports.js'
