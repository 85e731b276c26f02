// The reconnect setting of nats.go's own restart tests, against a server the
// bench restarts on the same port: ReconnectWait 50 ms, MaxReconnects 2, no
// jitter (the tests build nats.Options by hand, so ReconnectJitter is 0). With
// one server in the pool, nats.go waits ReconnectWait before each attempt, so
// the two attempts come about 50 and 100 ms after the disconnect; then the
// connection is closed for good.
//
// Prints "connected", then (after the bench stopped the server) one of
// "reconnected <ms>" or "closed <ms>", ms since the disconnect, and exits.
// Usage: restart nats://127.0.0.1:<port>
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

const (
	reconnectWait = 50 * time.Millisecond
	maxReconnects = 2
	// Bounds the whole wait (the bench stops the server within a few seconds of "connected").
	outcomeTimeout = 10 * time.Second
)

func main() {
	outcome := make(chan string, 1)
	// nats.go runs the callbacks one at a time on one goroutine, so downAt needs no lock.
	var downAt time.Time
	since := func() float64 { return float64(time.Since(downAt).Microseconds()) / 1000 }
	nc, err := nats.Connect(os.Args[1],
		nats.ReconnectWait(reconnectWait),
		nats.MaxReconnects(maxReconnects),
		nats.ReconnectJitter(0, 0),
		nats.DisconnectErrHandler(func(_ *nats.Conn, _ error) { downAt = time.Now() }),
		nats.ReconnectHandler(func(_ *nats.Conn) { outcome <- fmt.Sprintf("reconnected %.1f", since()) }),
		nats.ClosedHandler(func(_ *nats.Conn) { outcome <- fmt.Sprintf("closed %.1f", since()) }),
	)
	if err != nil {
		fmt.Println("connect failed:", err)
		os.Exit(1)
	}
	fmt.Println("connected")
	select {
	case line := <-outcome:
		fmt.Println(line)
	case <-time.After(outcomeTimeout):
		fmt.Println("timeout")
		os.Exit(1)
	}
	nc.Close()
}
