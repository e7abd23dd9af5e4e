package clusterdns

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// TestStartupWithoutAPI starts against an API address where nothing
// listens: the server start is held for startup_timeout only, the plugin is
// not ready, and cluster names get SERVFAIL, never NXDOMAIN.
func TestStartupWithoutAPI(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil { // nothing listens there now
		t.Fatal(err)
	}

	cfg := testConfig()
	cfg.Endpoint = "http://" + addr
	cfg.startupTimeout = 300 * time.Millisecond
	c := newClusterDNS(cfg)
	start := time.Now()
	if err := c.onStartup(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.onShutdown() }()
	if waited := time.Since(start); waited < cfg.startupTimeout || waited > 5*time.Second {
		t.Errorf("startup waited %s, want about %s", waited, cfg.startupTimeout)
	}
	if c.Ready() {
		t.Fatal("ready without an API server")
	}
	for _, name := range []string{"kubernetes.default.svc.cluster.local.", "nothere.default.svc.cluster.local.", "cluster.local."} {
		rcode, _ := c.ServeDNS(context.Background(), dnstest.NewRecorder(&test.ResponseWriter{}), test.Case{Qname: name, Qtype: dns.TypeA}.Msg())
		if rcode != dns.RcodeServerFailure {
			t.Errorf("%s: rcode %s, want SERVFAIL", name, dns.RcodeToString[rcode])
		}
	}
	if err := c.onShutdown(); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownIsIdempotent checks a second shutdown (as a failed reload may
// cause) does nothing.
func TestShutdownIsIdempotent(t *testing.T) {
	c, _ := startFake(t, nil, fixture.Namespace("prod"))
	if err := c.onShutdown(); err != nil {
		t.Fatal(err)
	}
	if err := c.onShutdown(); err != nil {
		t.Fatal(err)
	}
}
