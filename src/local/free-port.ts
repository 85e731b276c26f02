// One "free port" helper for everything tsc compiles (bin/, bench/, examples/)
// and for the tests, which import it through test/helpers/free-port.ts.
import net from 'node:net'

/** A port the OS just handed out on 127.0.0.1; free when this resolves. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'))
      srv.close(() => resolve(addr.port))
    })
  })
}
