package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// clientObjects is a cluster with one service and a pod whose address is
// 127.0.0.1, where this test's queries come from, so the server takes them
// for that pod's.
const clientObjects = `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: prod}}
- {apiVersion: v1, kind: Namespace, metadata: {name: dev}}
- {apiVersion: v1, kind: Service, metadata: {name: web, namespace: prod}, spec: {clusterIP: 10.96.0.10, clusterIPs: [10.96.0.10], ports: [{name: http, port: 80, protocol: TCP}]}}
- {apiVersion: v1, kind: Service, metadata: {name: web, namespace: dev}, spec: {clusterIP: 10.96.0.20, clusterIPs: [10.96.0.20]}}
- apiVersion: v1
  kind: Pod
  metadata: {name: client, namespace: prod, creationTimestamp: "2026-01-01T00:00:00Z"}
  status: {phase: Running, podIP: 127.0.0.1, podIPs: [{ip: 127.0.0.1}]}
`

// featuresCorefile serves clientObjects with the stock plugins that use
// clusterdns's interfaces; names under example.com come from template, in
// place of an upstream resolver.
func featuresCorefile(t testing.TB, autopath bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(path, []byte(clientObjects), 0o600); err != nil {
		t.Fatal(err)
	}
	ap := ""
	if autopath {
		ap = "autopath @clusterdns"
	}
	return fmt.Sprintf(`.:0 {
    bind 127.0.0.1
    metadata
    %s
    transfer {
        to *
    }
    clusterdns cluster.local {
        objects_file %s
        namespaces prod
        pods verified
    }
    template IN A example.com {
        answer "{{ .Name }} 60 IN A 192.0.2.1"
    }
}
`, ap, path)
}

// podSearch is the search list of a pod in prod; ndots:5 sends every name
// with fewer than five dots through it first.
var podSearch = []string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", ""}

// resolveLikePod resolves name as a pod's stub resolver does: each search
// domain in turn until an answer that is not NXDOMAIN. It returns that
// answer and how many queries it took.
func resolveLikePod(c *dns.Client, server, name string) (*dns.Msg, int, error) {
	for i, s := range podSearch {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name)+s, dns.TypeA)
		if s == "" {
			m.SetQuestion(dns.Fqdn(name), dns.TypeA)
		}
		r, _, err := c.Exchange(m, server)
		if err != nil {
			return nil, i + 1, err
		}
		if r.Rcode != dns.RcodeNameError {
			return r, i + 1, nil
		}
	}
	return nil, len(podSearch), fmt.Errorf("%s: NXDOMAIN everywhere", name)
}

func TestAutopathThroughServer(t *testing.T) {
	_, udp, _ := startServer(t, featuresCorefile(t, true))
	c := &dns.Client{Timeout: 2 * time.Second}
	for _, tc := range []struct {
		name    string
		queries int
		want    []string
	}{
		// One query where the walk would take four; autopath adds the CNAME
		// from the name asked to the name that answered.
		{"api.example.com", 1, []string{"api.example.com.prod.svc.cluster.local.\t60\tIN\tCNAME\tapi.example.com.", "api.example.com.\t60\tIN\tA\t192.0.2.1"}},
		{"web", 1, []string{"web.prod.svc.cluster.local.\t5\tIN\tA\t10.96.0.10"}},
		{"web.prod", 1, []string{"web.prod.prod.svc.cluster.local.\t5\tIN\tCNAME\tweb.prod.svc.cluster.local.", "web.prod.svc.cluster.local.\t5\tIN\tA\t10.96.0.10"}},
	} {
		r, n, err := resolveLikePod(c, udp, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, rr := range r.Answer {
			got = append(got, rr.String())
		}
		if n != tc.queries || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %d queries, answer %q; want %d and %q", tc.name, n, got, tc.queries, tc.want)
		}
	}
}

func TestTransferThroughServer(t *testing.T) {
	_, udp, tcp := startServer(t, featuresCorefile(t, false))
	m := new(dns.Msg)
	m.SetAxfr("cluster.local.")
	env, err := new(dns.Transfer).In(m, tcp)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for e := range env {
		if e.Error != nil {
			t.Fatal(e.Error)
		}
		for _, rr := range e.RR {
			names = append(names, rr.Header().Name+" "+dns.TypeToString[rr.Header().Rrtype])
		}
	}
	for _, want := range []string{"cluster.local. SOA", "web.prod.svc.cluster.local. A", "_http._tcp.web.prod.svc.cluster.local. SRV", "127-0-0-1.prod.pod.cluster.local. A"} {
		if !slices.Contains(names, want) {
			t.Errorf("AXFR lacks %s: %q", want, names)
		}
	}
	if slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, ".dev.") }) {
		t.Errorf("AXFR holds names of namespace dev, which is not served: %q", names)
	}
	// Over UDP the transfer plugin refuses, and so does clusterdns behind
	// it. With port 0 the UDP listener has a port of its own.
	r, _, err := (&dns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(m, udp)
	if err != nil {
		t.Fatalf("AXFR over UDP to %s: %v", udp, err)
	}
	if r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
		t.Errorf("AXFR over UDP: %s with %d records, want REFUSED and none", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
}

// BenchmarkSearchPathLookup resolves api.example.com as a pod in prod does
// (search list, ndots:5) against a server with and without `autopath
// @clusterdns`, over UDP on loopback, and reports the queries each lookup
// took beside its time.
func BenchmarkSearchPathLookup(b *testing.B) {
	for _, ap := range []bool{false, true} {
		name := "without_autopath"
		if ap {
			name = "with_autopath"
		}
		b.Run(name, func(b *testing.B) {
			_, udp, _ := startServer(b, featuresCorefile(b, ap))
			c := &dns.Client{Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}}}
			queries := 0
			for b.Loop() {
				_, n, err := resolveLikePod(c, udp, "api.example.com")
				if err != nil {
					b.Fatal(err)
				}
				queries += n
			}
			b.ReportMetric(float64(queries)/float64(b.N), "queries/lookup")
		})
	}
}

// TestClientAwareAnswersBypassCache runs `isolate` behind the cache plugin
// of the same server block: the pod in prod (127.0.0.1) sees web.prod, and
// a client that is no pod (127.0.0.2) must not get that answer from the
// cache afterwards, nor the pod the other's NXDOMAIN.
func TestClientAwareAnswersBypassCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(path, []byte(clientObjects), 0o600); err != nil {
		t.Fatal(err)
	}
	_, udp, _ := startServer(t, fmt.Sprintf(`.:0 {
    bind 127.0.0.1
    cache 30
    clusterdns cluster.local {
        objects_file %s
        isolate
    }
}
`, path))
	ask := func(from, name string) int {
		t.Helper()
		c := &dns.Client{Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(from)}}}
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		r, _, err := c.Exchange(m, udp)
		if err != nil {
			t.Fatal(err)
		}
		return r.Rcode
	}
	for i, q := range []struct {
		from, name string
		rcode      int
	}{
		{"127.0.0.1", "web.prod.svc.cluster.local.", dns.RcodeSuccess},
		{"127.0.0.2", "web.prod.svc.cluster.local.", dns.RcodeNameError},
		{"127.0.0.1", "web.prod.svc.cluster.local.", dns.RcodeSuccess},
	} {
		if got := ask(q.from, q.name); got != q.rcode {
			t.Errorf("query %d, %s from %s: %s, want %s", i+1, q.name, q.from, dns.RcodeToString[got], dns.RcodeToString[q.rcode])
		}
	}
}
