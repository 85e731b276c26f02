// Preloaded (`node --import`) into every node `natsmesh up` starts. up holds
// the write end of the node's stdin pipe; when that end closes, up is gone
// (even by SIGKILL, which it cannot trap), and the node stops as if sent
// SIGTERM. So a local cluster never outlives the command that started it.
// Nothing else reads stdin: `natsmesh server` never does.
function stopWithParent(): void {
  process.kill(process.pid, 'SIGTERM')
}

if (!process.stdin.isTTY) {
  process.stdin.once('end', stopWithParent)
  process.stdin.once('error', stopWithParent)
  process.stdin.on('data', () => { /* up never writes; the pipe exists only to be closed */ })
  // The watch must not keep a node alive on its own; the server's sockets do that.
  process.stdin.unref()
}

export {}
