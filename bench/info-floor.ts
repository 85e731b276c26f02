// The floor of the startup scenario (bench/startup.ts): a bare Node.js
// process that listens on the client port and writes one INFO line to every
// connection, and does nothing else. Spawn → its first INFO byte is what
// starting Node.js and binding a port cost, the part of natsmesh's start-up
// that no change to natsmesh can remove. Takes `-a <host> -p <port>`, as the
// servers do.
import net from 'node:net'

function flag(name: string): string {
  const i = process.argv.indexOf(name)
  if (i === -1 || i + 1 >= process.argv.length) throw new Error(`info-floor: ${name} missing`)
  return process.argv[i + 1]
}

const host = flag('-a')
const port = Number(flag('-p'))
const info = `INFO {"server_id":"INFOFLOOR","version":"0.0.0","proto":1,"host":"${host}","port":${port},"max_payload":1048576}\r\n`
net.createServer((socket) => {
  socket.on('error', () => { /* the bench closes its probe sockets at once */ })
  socket.write(info)
}).listen(port, host)
