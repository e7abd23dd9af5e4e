package main

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestDeployedCorefile rewrites the Corefile deploy/ ships, so that a change
// there that the benchmark cannot follow fails here rather than mid-run.
func TestDeployedCorefile(t *testing.T) {
	base, err := os.ReadFile("../deploy/base/Corefile")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{dnsPort: 5301, health: 5302, ready: 5303, metrics: 5304, resolver: 5305}
	got, err := deployedCorefile(string(base), s, "/tmp/k.kubeconfig")
	if err != nil {
		t.Fatal(err)
	}
	checkContains(t, "deployed Corefile", got, []string{
		".:5301 {\n    bind 127.0.0.1\n", "health 127.0.0.1:5302 {\n       lameduck 5s", "ready 127.0.0.1:5303\n",
		"clusterdns cluster.local in-addr.arpa ip6.arpa {\n       kubeconfig /tmp/k.kubeconfig\n       pods insecure",
		"prometheus 127.0.0.1:5304\n", "forward . 127.0.0.1:5305 {\n       max_concurrent 1000",
		"    cache 30 {\n", "    loop\n", "    reload\n", "    loadbalance\n",
	}...)
	if strings.Contains(got, "/etc/resolv.conf") || strings.Contains(got, ":53 ") || strings.Contains(got, ":9153") {
		t.Errorf("deployed Corefile still uses the pod's resolver or ports:\n%s", got)
	}
	if _, err := deployedCorefile(strings.Replace(string(base), "    ready\n", "    ready :8181\n", 1), s, "k"); err == nil {
		t.Error("a Corefile whose ready line changed was accepted")
	}
}

func TestResolver(t *testing.T) {
	port, stop, err := startResolver()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c := &dns.Client{Timeout: 2 * time.Second}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for _, tc := range []struct {
		name    string
		rcode   int
		answers int
		soa     bool
	}{
		{"name-0." + answeredZone, dns.RcodeSuccess, 1, false},
		{"name-1." + deniedZone, dns.RcodeNameError, 0, true},
		{"loop-probe.", dns.RcodeNameError, 0, true},
	} {
		m := new(dns.Msg)
		m.SetQuestion(tc.name, dns.TypeA)
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Rcode != tc.rcode || len(r.Answer) != tc.answers || (len(r.Ns) == 1) != tc.soa {
			t.Errorf("%s: got %s with %d answers and %d authority records", tc.name, dns.RcodeToString[r.Rcode], len(r.Answer), len(r.Ns))
		}
	}
}

func TestWriteCacheFill(t *testing.T) {
	path := t.TempDir() + "/fill.txt"
	if err := writeCacheFill(path, 4); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "name-0.ok.example. A\nname-1.nx.example. A\nname-2.ok.example. A\nname-3.nx.example. A\n"
	if string(b) != want {
		t.Errorf("cache fill = %q, want %q", b, want)
	}
}

func TestServerMemory(t *testing.T) {
	m, err := (&server{pid: os.Getpid()}).memory()
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Anon <= 0 || m.File <= 0 || m.Peak < m.RSS || m.Anon+m.File > m.RSS+m.RSS/10 {
		t.Errorf("implausible memory of this process: %+v", m)
	}
}
