package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	ctest "github.com/coredns/coredns/test"

	"github.com/miekg/dns"
)

// corefile serves the repository's demo cluster on a free loopback port.
func corefile(t *testing.T, ttl int) string {
	t.Helper()
	objects, err := filepath.Abs("../../demo/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`.:0 {
    bind 127.0.0.1
    clusterdns cluster.local in-addr.arpa ip6.arpa {
        objects_file %s
        pods insecure
        ttl %d
    }
}
`, objects, ttl)
}

func startServer(t *testing.T, corefile string) (*caddy.Instance, string, string) {
	t.Helper()
	inst, udp, tcp, err := ctest.CoreDNSServerAndPorts(corefile)
	if err != nil {
		t.Fatalf("starting server: %v", err)
	}
	t.Cleanup(func() { ctest.CoreDNSServerStop(inst) })
	return inst, udp, tcp
}

func TestServerOverUDPAndTCP(t *testing.T) {
	_, udp, tcp := startServer(t, corefile(t, 30))
	tests := []struct {
		name  string
		qtype uint16
		rcode int
		want  []string // answer records' data, in any order
	}{
		{"web.prod.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"10.96.10.20"}},
		{"web.prod.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, []string{"fd00:10:96::a14"}},
		{"search.prod.svc.cluster.local.", dns.TypeCNAME, dns.RcodeSuccess, []string{"search.example.com."}},
		{"dns-version.cluster.local.", dns.TypeTXT, dns.RcodeSuccess, []string{`"1.1.0"`}},
		{"20.10.96.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"web.prod.svc.cluster.local."}},
		{"web.prod.svc.cluster.local.prod.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil},
		{"prod.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, nil},
	}
	for _, proto := range []struct{ net, addr string }{{"udp", udp}, {"tcp", tcp}} {
		client := &dns.Client{Net: proto.net, Timeout: 2 * time.Second}
		for _, tc := range tests {
			t.Run(proto.net+" "+dns.TypeToString[tc.qtype]+" "+tc.name, func(t *testing.T) {
				m := new(dns.Msg)
				m.SetQuestion(tc.name, tc.qtype)
				r, _, err := client.Exchange(m, proto.addr)
				if err != nil {
					t.Fatal(err)
				}
				if r.Rcode != tc.rcode || !r.Authoritative {
					t.Fatalf("rcode %s aa %v, want %s and aa", dns.RcodeToString[r.Rcode], r.Authoritative, dns.RcodeToString[tc.rcode])
				}
				var got []string
				for _, rr := range r.Answer {
					got = append(got, strings.TrimPrefix(rr.String(), rr.Header().String()))
				}
				slices.Sort(got)
				want := slices.Clone(tc.want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("answer %v, want %v", got, want)
				}
			})
		}
	}
}

// TestServerWithDig queries the server the way the conformance probes do.
func TestServerWithDig(t *testing.T) {
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Fatal("dig is needed for this test: apt-get install bind9-dnsutils (the CI script installs it)")
	}
	// With port 0 the UDP and TCP listeners get different ports.
	_, udp, tcp := startServer(t, corefile(t, 30))
	for _, args := range [][]string{
		{udp, "+notcp", "db-0.db.prod.svc.cluster.local", "A"},
		{tcp, "+tcp", "db-0.db.prod.svc.cluster.local", "A"},
		{udp, "+notcp", "_postgres._tcp.db.prod.svc.cluster.local", "SRV"},
	} {
		host, port, _ := strings.Cut(args[0], ":")
		out, err := exec.Command(dig, append([]string{"@" + host, "-p", port, "+short", "+time=2", "+tries=1"}, args[1:]...)...).Output()
		if err != nil {
			t.Fatalf("dig %v: %v", args, err)
		}
		if strings.TrimSpace(string(out)) == "" {
			t.Errorf("dig %v: empty answer", args)
		}
	}
}

// TestReloadLeaksNothing restarts the server with a changed Corefile many
// times; the goroutine count must not grow with the number of reloads.
func TestReloadLeaksNothing(t *testing.T) {
	inst, _, _ := startServer(t, corefile(t, 30))
	reload := func(n int) {
		for i := range n {
			next, err := inst.Restart(ctest.NewInput(corefile(t, 10+i%2)))
			if err != nil {
				t.Fatalf("reload %d: %v", i, err)
			}
			inst = next
		}
	}
	settle := func() int {
		time.Sleep(200 * time.Millisecond)
		runtime.GC()
		return runtime.NumGoroutine()
	}
	reload(5)
	before := settle()
	reload(50)
	after := settle()
	t.Cleanup(func() { ctest.CoreDNSServerStop(inst) })
	if after > before+5 {
		t.Errorf("goroutines grew from %d to %d over 50 reloads", before, after)
	}
	t.Logf("goroutines after 5 reloads: %d, after 55: %d", before, after)
}

func TestMain(m *testing.M) {
	// The server tests read the demo objects file by path.
	if _, err := os.Stat("../../demo/cluster.yaml"); err != nil {
		fmt.Fprintln(os.Stderr, "demo/cluster.yaml not found:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// TestServerTruncatesLargeAnswers serves a headless service with 300 ready
// endpoints: over UDP the reply is cut to the client's size with TC set,
// over TCP it is complete.
func TestServerTruncatesLargeAnswers(t *testing.T) {
	var b strings.Builder
	b.WriteString(`apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: big}}
- {apiVersion: v1, kind: Service, metadata: {name: many, namespace: big}, spec: {clusterIP: None, clusterIPs: [None]}}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: many-1, namespace: big, labels: {kubernetes.io/service-name: many}}
  addressType: IPv4
  endpoints:
`)
	for i := range 300 {
		fmt.Fprintf(&b, "  - addresses: [10.244.%d.%d]\n", i/250, i%250+1)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	_, udp, tcp := startServer(t, fmt.Sprintf(".:0 {\n bind 127.0.0.1\n clusterdns cluster.local {\n  objects_file %s\n }\n}\n", path))

	ask := func(net, addr string, edns uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion("many.big.svc.cluster.local.", dns.TypeA)
		if edns > 0 {
			m.SetEdns0(edns, false)
		}
		c := &dns.Client{Net: net, Timeout: 2 * time.Second, UDPSize: 65535}
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			t.Fatalf("%s: %v", net, err)
		}
		return r
	}
	for _, tc := range []struct {
		edns    uint16
		maxSize int
	}{{0, 512}, {1232, 1232}} {
		r := ask("udp", udp, tc.edns)
		r.Compress = true // size as sent: the server compresses
		size := r.Len()
		if !r.Truncated || size > tc.maxSize || len(r.Answer) == 0 {
			t.Errorf("UDP with EDNS %d: TC=%v, %d bytes, %d answers; want TC, at most %d bytes, some answers", tc.edns, r.Truncated, size, len(r.Answer), tc.maxSize)
		}
	}
	if r := ask("tcp", tcp, 0); r.Truncated || len(r.Answer) != 300 {
		t.Errorf("TCP: TC=%v with %d answers; want all 300", r.Truncated, len(r.Answer))
	}
}

// TestServerChasesExternalNames resolves an ExternalName whose target is
// outside the cluster through the rest of the server (here a template
// standing in for forward), and one inside the cluster from the index.
func TestServerChasesExternalNames(t *testing.T) {
	objects, err := filepath.Abs("../../demo/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, udp, _ := startServer(t, fmt.Sprintf(`.:0 {
    bind 127.0.0.1
    clusterdns cluster.local {
        objects_file %s
    }
    template IN A example.com {
        answer "{{ .Name }} 60 IN A 192.0.2.7"
    }
}
`, objects))
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"search.prod.svc.cluster.local.", []string{"CNAME search.example.com.", "A 192.0.2.7"}},
		{"api-alias.prod.svc.cluster.local.", []string{"CNAME web.prod.svc.cluster.local.", "A 10.96.10.20"}},
	} {
		m := new(dns.Msg)
		m.SetQuestion(tc.name, dns.TypeA)
		r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, udp)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, rr := range r.Answer {
			got = append(got, dns.TypeToString[rr.Header().Rrtype]+" "+strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: answer %v, want %v (in this order)", tc.name, got, tc.want)
		}
	}
}
