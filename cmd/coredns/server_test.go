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

func startServer(t testing.TB, corefile string) (*caddy.Instance, string, string) {
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
// times; what each instance holds must be given back: the goroutine count,
// the open files and sockets (listeners included) and the live heap must
// not grow with the number of reloads.
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
	t.Cleanup(func() { ctest.CoreDNSServerStop(inst) })
	reload(5)
	before := measureUsage(t)
	reload(50)
	// An old instance's listeners and goroutines end after Restart returns;
	// wait for that, not for a fixed time. A leak never gets there.
	var after usage
	deadline := time.Now().Add(10 * time.Second)
	for {
		after = measureUsage(t)
		if after.within(before) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("after 5 reloads: %+v; after 55: %+v", before, after)
	if after.goroutines > before.goroutines+usageSlack {
		t.Errorf("goroutines grew from %d to %d over 50 reloads", before.goroutines, after.goroutines)
	}
	if after.files > before.files+usageSlack || after.sockets > before.sockets+usageSlack {
		t.Errorf("open descriptors grew from %d files and %d sockets to %d and %d over 50 reloads",
			before.files, before.sockets, after.files, after.sockets)
	}
	if after.heap > before.heap+heapSlack {
		t.Errorf("live heap grew from %d to %d bytes over 50 reloads", before.heap, after.heap)
	}
}

// usageSlack is how many goroutines, files or sockets a process may gain
// from work unrelated to the reloads (the runtime's own, a pending
// connection); a leak of one per reload is 50.
const usageSlack = 5

// heapSlack is the live heap growth allowed over 50 reloads. Between runs
// it varies by tens of kilobytes; one plugin instance for the demo cluster
// kept per reload adds about 2.5 MB.
const heapSlack = 1 << 20

// usage is what a running server holds.
type usage struct {
	goroutines     int
	files, sockets int    // open descriptors; 0 where /proc/self/fd does not exist
	heap           uint64 // live heap after a collection, in bytes
}

// within reports whether u holds no more than base and the slack allows.
func (u usage) within(base usage) bool {
	return u.goroutines <= base.goroutines+usageSlack && u.files <= base.files+usageSlack &&
		u.sockets <= base.sockets+usageSlack && u.heap <= base.heap+heapSlack
}

// measureUsage counts the process's goroutines, open descriptors by kind
// and live heap.
func measureUsage(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := usage{goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		if runtime.GOOS == "linux" {
			t.Fatal(err)
		}
		return u
	}
	for _, fd := range fds {
		// A descriptor may close between the listing and the link.
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			u.sockets++
		} else if err == nil {
			u.files++
		}
	}
	return u
}

func TestMain(m *testing.M) {
	// The server tests read the demo objects file by path.
	if _, err := os.Stat("../../demo/cluster.yaml"); err != nil {
		fmt.Fprintln(os.Stderr, "demo/cluster.yaml not found:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// bigServicesFile writes an objects file with one headless service per
// entry of sizes, named svc<N> after its number of ready IPv4 endpoints,
// each endpoint with a hostname and a named port, and returns its path.
func bigServicesFile(t *testing.T, sizes ...int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: big}}\n")
	for _, n := range sizes {
		fmt.Fprintf(&b, `- {apiVersion: v1, kind: Service, metadata: {name: svc%d, namespace: big}, spec: {clusterIP: None, clusterIPs: [None], ports: [{name: http, port: 80}]}}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: svc%d-1, namespace: big, labels: {kubernetes.io/service-name: svc%d}}
  addressType: IPv4
  ports: [{name: http, port: 80, protocol: TCP}]
  endpoints:
`, n, n, n)
		for i := range n {
			fmt.Fprintf(&b, "  - {addresses: [10.%d.%d.%d], hostname: h%d}\n", n%250, i/250, i%250+1, i)
		}
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// askBig sends one query with an EDNS0 buffer size (0: no OPT record) and
// returns the reply, its size as sent (the server compresses) and the time
// it took.
func askBig(t *testing.T, net, addr, name string, qtype, edns uint16) (*dns.Msg, int, time.Duration) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	// The client accepts any size, so what limits the reply is the server.
	c := &dns.Client{Net: net, Timeout: 2 * time.Second, UDPSize: 65535}
	r, rtt, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s EDNS %d: %v", net, dns.TypeToString[qtype], name, edns, err)
	}
	r.Compress = true
	return r, r.Len(), rtt
}

// TestServerLargeAnswers serves headless services with 5,000 and 4,000
// ready endpoints. Over UDP a reply is cut to the client's buffer size (512
// bytes without EDNS0, RFC 1035 §4.2.1; the EDNS0 size otherwise, RFC 6891
// §6.2.5) with TC set. Over TCP a reply is cut only by the 65,535-byte limit
// of a DNS message (RFC 1035 §4.2.2): the 4,000 A records fit and come
// complete, the 5,000 do not (about 4,090 fit), so that reply has TC set;
// max_answers is how an operator keeps such a service answerable in full.
func TestServerLargeAnswers(t *testing.T) {
	_, udp, tcp := startServer(t, fmt.Sprintf(".:0 {\n bind 127.0.0.1\n clusterdns cluster.local {\n  objects_file %s\n }\n}\n", bigServicesFile(t, 5000, 4000)))
	const big, fits = "svc5000.big.svc.cluster.local.", "svc4000.big.svc.cluster.local."

	for _, edns := range []uint16{0, 1232, 4096} {
		limit := max(512, int(edns))
		for _, qtype := range []uint16{dns.TypeA, dns.TypeSRV} {
			r, size, rtt := askBig(t, "udp", udp, big, qtype, edns)
			t.Logf("UDP %s EDNS %d: %d bytes, %d answers, TC=%v, %v", dns.TypeToString[qtype], edns, size, len(r.Answer), r.Truncated, rtt)
			if !r.Truncated || size > limit || r.Rcode != dns.RcodeSuccess {
				t.Errorf("UDP %s with EDNS %d: TC=%v, %d bytes, rcode %s; want TC, at most %d bytes, NOERROR",
					dns.TypeToString[qtype], edns, r.Truncated, size, dns.RcodeToString[r.Rcode], limit)
			}
		}
	}

	r, size, rtt := askBig(t, "tcp", tcp, fits, dns.TypeA, 0)
	t.Logf("TCP A 4,000 endpoints: %d bytes, %d answers, TC=%v, %v", size, len(r.Answer), r.Truncated, rtt)
	if r.Truncated || len(r.Answer) != 4000 {
		t.Errorf("TCP, 4,000 endpoints: TC=%v with %d answers; want all 4,000 without TC", r.Truncated, len(r.Answer))
	}
	r, size, rtt = askBig(t, "tcp", tcp, big, dns.TypeA, 0)
	t.Logf("TCP A 5,000 endpoints: %d bytes, %d answers, TC=%v, %v", size, len(r.Answer), r.Truncated, rtt)
	if !r.Truncated || size > dns.MaxMsgSize || len(r.Answer) < 4000 {
		t.Errorf("TCP, 5,000 endpoints: TC=%v, %d bytes, %d answers; want TC and as many as fit in %d bytes", r.Truncated, size, len(r.Answer), dns.MaxMsgSize)
	}
	r, size, rtt = askBig(t, "tcp", tcp, big, dns.TypeSRV, 0)
	t.Logf("TCP SRV 5,000 endpoints: %d bytes, %d answers, %d glue, TC=%v, %v", size, len(r.Answer), len(r.Extra), r.Truncated, rtt)
	if size > dns.MaxMsgSize || len(r.Answer) == 0 {
		t.Errorf("TCP SRV, 5,000 endpoints: %d bytes, %d answers", size, len(r.Answer))
	}
}

// TestServerLargeAnswersCapped serves the 5,000 endpoints with max_answers:
// every reply carries exactly the cap, complete over TCP and over UDP when
// the buffer is large enough, and successive replies walk through all the
// endpoints.
func TestServerLargeAnswersCapped(t *testing.T) {
	const capN = 100
	_, udp, tcp := startServer(t, fmt.Sprintf(".:0 {\n bind 127.0.0.1\n clusterdns cluster.local {\n  objects_file %s\n  max_answers %d\n }\n}\n", bigServicesFile(t, 5000), capN))
	const big = "svc5000.big.svc.cluster.local."

	r, size, _ := askBig(t, "udp", udp, big, dns.TypeA, 0)
	if !r.Truncated || size > 512 {
		t.Errorf("UDP without EDNS: TC=%v, %d bytes; want TC within 512 bytes", r.Truncated, size)
	}
	r, size, rtt := askBig(t, "udp", udp, big, dns.TypeA, 4096)
	t.Logf("UDP A EDNS 4096 max_answers %d: %d bytes, %d answers, TC=%v, %v", capN, size, len(r.Answer), r.Truncated, rtt)
	if r.Truncated || len(r.Answer) != capN {
		t.Errorf("UDP with EDNS 4096: TC=%v, %d answers, %d bytes; want all %d without TC", r.Truncated, len(r.Answer), size, capN)
	}
	seen := map[string]bool{}
	for i := range 5000 / capN {
		r, _, _ := askBig(t, "tcp", tcp, big, dns.TypeA, 0)
		if r.Truncated || len(r.Answer) != capN {
			t.Fatalf("TCP query %d: TC=%v with %d answers; want %d without TC", i, r.Truncated, len(r.Answer), capN)
		}
		for _, rr := range r.Answer {
			seen[rr.(*dns.A).A.String()] = true
		}
	}
	if len(seen) != 5000 {
		t.Errorf("%d capped answers covered %d of 5,000 endpoints", 5000/capN, len(seen))
	}
	r, _, _ = askBig(t, "tcp", tcp, big, dns.TypeSRV, 0)
	if r.Truncated || len(r.Answer) != capN {
		t.Errorf("TCP SRV: TC=%v with %d answers; want %d without TC", r.Truncated, len(r.Answer), capN)
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
