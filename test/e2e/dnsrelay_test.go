//go:build e2e

package e2e

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// dnsRelay does kube-proxy's part for a DNS Service's TCP port: it accepts
// connections on the Service's address inside a network namespace and
// passes each to the DNS server outside, here on loopback. It listens on
// TCP only, so a client that does not use TCP gets no answer, and it counts
// the queries it passes, by question.
type dnsRelay struct {
	mu      sync.Mutex
	queries map[string]int // "name TYPE"
	conns   int
}

// startDNSRelay listens on addr inside n and relays to target until t ends.
func startDNSRelay(t *testing.T, n ipNetns, addr, target string) *dnsRelay {
	t.Helper()
	var l net.Listener
	var listenErr error
	if err := n.do(func() { l, listenErr = net.Listen("tcp", addr) }); err != nil || listenErr != nil {
		t.Fatalf("listening on %s in %s: %v %v", addr, n, err, listenErr)
	}
	r := &dnsRelay{queries: make(map[string]int)}
	var passing sync.WaitGroup
	t.Cleanup(passing.Wait) // after forward's cleanup, which closes l
	forward(t, l, target, func(in, out net.Conn) {
		r.mu.Lock()
		r.conns++
		r.mu.Unlock()
		passing.Go(func() { r.pass(in, out) })
	})
	return r
}

// pass copies answers back as they come and queries forward one message
// at a time (two bytes of length, then the message), noting each; it
// closes both connections when either side ends.
func (r *dnsRelay) pass(in, out net.Conn) {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(in, out) // ends when either side closes
		_ = in.Close()
		close(done)
	}()
	for {
		var size [2]byte
		if _, err := io.ReadFull(in, size[:]); err != nil {
			break
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(in, msg); err != nil {
			break
		}
		var m dns.Msg
		if m.Unpack(msg) == nil && len(m.Question) == 1 {
			q := m.Question[0]
			r.mu.Lock()
			r.queries[q.Name+" "+dns.TypeToString[q.Qtype]]++
			r.mu.Unlock()
		}
		if _, err := out.Write(append(size[:], msg...)); err != nil {
			break
		}
	}
	_ = out.Close()
	<-done
}

// count is how many queries for name and qtype the relay has passed.
func (r *dnsRelay) count(name string, qtype uint16) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queries[dns.Fqdn(name)+" "+dns.TypeToString[qtype]]
}

// connections is how many connections the relay has accepted.
func (r *dnsRelay) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// total is how many queries the relay has passed.
func (r *dnsRelay) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.queries {
		n += c
	}
	return n
}
