package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// deployedPoint is the memory of clusterdns as the manifests in deploy/ run
// it, at one cluster size: the sizing of their requests and limits.
type deployedPoint struct {
	ReadyIn time.Duration
	AtReady procMemory // when /ready first answers 200
	Settled procMemory // o.settle later
	Cached  procMemory // after o.cacheNames names outside the cluster went through the cache
	Lost    int        // of those names, unanswered
}

// deployedCorefile is deploy/base's Corefile, given as base, made to run
// here: its server on a loopback port, health, ready and prometheus on
// their own loopback ports, the plugin reading the API through kubeconfig,
// and forward sending to s.resolver in place of the node's resolv.conf.
// Everything else is as deployed. A Corefile that no longer has one of
// the lines rewritten is an error, not a silent difference.
func deployedCorefile(base string, s *server, kubeconfig string) (string, error) {
	for _, r := range []struct{ old, new string }{
		{".:53 {\n", fmt.Sprintf(".:%d {\n    bind 127.0.0.1\n", s.dnsPort)},
		{"    health {\n", fmt.Sprintf("    health 127.0.0.1:%d {\n", s.health)},
		{"    ready\n", fmt.Sprintf("    ready 127.0.0.1:%d\n", s.ready)},
		{"    clusterdns cluster.local in-addr.arpa ip6.arpa {\n", "    clusterdns cluster.local in-addr.arpa ip6.arpa {\n       kubeconfig " + kubeconfig + "\n"},
		{"    prometheus :9153\n", fmt.Sprintf("    prometheus 127.0.0.1:%d\n", s.metrics)},
		{"    forward . /etc/resolv.conf {\n", fmt.Sprintf("    forward . 127.0.0.1:%d {\n", s.resolver)},
	} {
		if n := strings.Count(base, r.old); n != 1 {
			return "", fmt.Errorf("deployed Corefile: %q appears %d times, want once", strings.TrimSpace(r.old), n)
		}
		base = strings.Replace(base, r.old, r.new, 1)
	}
	return base, nil
}

// The names the cache is filled with: half answered, half NXDOMAIN, none
// in the cluster.
const (
	answeredZone = "ok.example."
	deniedZone   = "nx.example."
)

// startResolver serves what the deployed server forwards to, as the node's
// resolver would: an A record for every name under answeredZone, NXDOMAIN
// with the zone's SOA (so that the cache keeps the denial) for the rest.
func startResolver() (port int, stop func(), err error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := q.Question[0].Name
		if dns.IsSubDomain(answeredZone, name) && q.Question[0].Qtype == dns.TypeA {
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)}}
		} else if !dns.IsSubDomain(answeredZone, name) {
			m.Rcode = dns.RcodeNameError
			zone := deniedZone
			if !dns.IsSubDomain(deniedZone, name) {
				zone = "."
			}
			m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
				Ns: "ns." + deniedZone, Mbox: "hostmaster." + deniedZone, Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 60}}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	return pc.LocalAddr().(*net.UDPAddr).Port, func() { _ = srv.Shutdown() }, nil
}

// writeCacheFill writes a dnsperf query file of n distinct names outside
// the cluster, every other one answered.
func writeCacheFill(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := range n {
		zone := answeredZone
		if i%2 == 1 {
			zone = deniedZone
		}
		// A bufio.Writer keeps its first error and Flush returns it.
		_, _ = fmt.Fprintf(w, "name-%d.%s A\n", i, zone)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close() // the write's error is the one to report
		return err
	}
	return f.Close()
}

// measureDeployed runs clusterdns with deploy/base's Corefile, alone, on
// the cluster as it is, and reads its memory when ready, once settled, and
// once the cache is full.
func measureDeployed(ctx context.Context, o *options, e *env) (*deployedPoint, error) {
	base, err := os.ReadFile(o.deployCorefile)
	if err != nil {
		return nil, err
	}
	port, stop, err := startResolver()
	if err != nil {
		return nil, err
	}
	defer stop()
	s := &server{name: ours + "-deployed", plugin: ours, deployed: string(base), resolver: port}
	if err := startServer(e.cp, o.coredns, s, e.kubeconfig); err != nil {
		return nil, err
	}
	defer e.cp.Stop(s.name)
	d := &deployedPoint{}
	if d.ReadyIn, err = s.waitReady(ctx, 10*time.Minute); err != nil {
		return nil, err
	}
	if d.AtReady, err = s.memory(); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(o.settle):
	}
	if d.Settled, err = s.memory(); err != nil {
		return nil, err
	}
	fill := e.cp.Path("cache-fill.txt")
	if err := writeCacheFill(fill, o.cacheNames); err != nil {
		return nil, err
	}
	// One pass through the names, a few in flight: the point is to fill
	// the cache, not to load the server.
	run, err := runDNSPerf(s.dnsPort, fill, perfLoad{duration: 10 * time.Minute, passes: 1, clients: 1, outstanding: 20})
	if err != nil {
		return nil, err
	}
	d.Lost = run.Lost
	if d.Cached, err = s.memory(); err != nil {
		return nil, err
	}
	logf("%s: ready in %s; RSS %.1f MB at ready, %.1f MB settled (%.1f anon + %.1f file), %.1f MB with %d names cached (%d lost), peak %.1f MB",
		s.name, d.ReadyIn.Round(time.Millisecond), mb(d.AtReady.RSS), mb(d.Settled.RSS), mb(d.Settled.Anon), mb(d.Settled.File),
		mb(d.Cached.RSS), o.cacheNames, d.Lost, mb(d.Cached.Peak))
	return d, nil
}
