package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/source"
)

// newTestPlugin returns a synced plugin serving objs (Services,
// EndpointSlices, Namespaces, Pods, Nodes, ServiceImports) under cfg, built through the same
// stores, controller and index as a running server. cfg nil means the
// defaults with zones cluster.local, in-addr.arpa and ip6.arpa.
func newTestPlugin(tb testing.TB, cfg *config, objs ...runtime.Object) *ClusterDNS {
	tb.Helper()
	if cfg == nil {
		cfg = testConfig()
	}
	c := newClusterDNS(cfg)
	st := source.NewStores(&cfg.Config)
	if err := st.Add(source.NewSlimmer(&cfg.Config), objs...); err != nil {
		tb.Fatalf("newTestPlugin: %v", err)
	}
	ctl := source.NewController(&cfg.Config, c.index)
	ctl.Load(st)
	c.ctl.Store(ctl)
	return c
}

// testConfig is the default configuration for cluster.local and both reverse zones.
func testConfig() *config {
	cfg := defaultConfig()
	cfg.zones = []string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."}
	cfg.PrimaryZone = "cluster.local."
	return cfg
}

// startFake runs the plugin's API source against a fake clientset holding
// objs and waits for the first snapshot.
func startFake(t *testing.T, cfg *config, objs ...runtime.Object) (*ClusterDNS, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	return startClientset(t, cfg, cs), cs
}

// startClientset is startFake on a clientset the caller prepared.
func startClientset(t *testing.T, cfg *config, cs *fake.Clientset) *ClusterDNS {
	t.Helper()
	if cfg == nil {
		cfg = testConfig()
	}
	c := newClusterDNS(cfg)
	c.source = source.NewAPISource(&cfg.Config, cs, nil)
	if err := c.onStartup(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.onShutdown() })
	if !c.Ready() {
		t.Fatal("not ready after startup")
	}
	return c
}

func verifiedConfig() *config {
	cfg := testConfig()
	cfg.PodMode = podsVerified
	return cfg
}

// ask sends one query through ServeDNS and returns the reply.
func ask(t *testing.T, c *ClusterDNS, name string, qtype uint16) *dns.Msg {
	t.Helper()
	return askFrom(t, c, "", name, qtype)
}

// askFrom sends one query from ip ("": the test writer's 10.240.0.1)
// through ServeDNS and returns the reply.
func askFrom(t *testing.T, c *ClusterDNS, ip, name string, qtype uint16) *dns.Msg {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: ip})
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if _, err := c.ServeDNS(context.Background(), rec, m); err != nil {
		t.Fatal(err)
	}
	if rec.Msg == nil {
		t.Fatal("no reply written")
	}
	return rec.Msg
}

// answerData returns the data of each answer record, in the order sent.
func answerData(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch r := rr.(type) {
		case *dns.A:
			out = append(out, r.A.String())
		case *dns.AAAA:
			out = append(out, r.AAAA.String())
		case *dns.SRV:
			out = append(out, r.Target)
		case *dns.PTR:
			out = append(out, r.Ptr)
		case *dns.CNAME:
			out = append(out, r.Target)
		}
	}
	return out
}

// The SOA records of negative answers in the test zones. test.SortAndCheck
// compares an SOA by its name, class, TTL and primary server.
const (
	soaCluster = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"
	soaInAddr  = "in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. 0 7200 1800 86400 5"
	soaIP6     = "ip6.arpa. 5 IN SOA ns.dns.ip6.arpa. hostmaster.ip6.arpa. 0 7200 1800 86400 5"
)

// runCases runs each case through ServeDNS and checks the whole reply.
func runCases(t *testing.T, c *ClusterDNS, cases []test.Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname, func(t *testing.T) {
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			if _, err := c.ServeDNS(context.Background(), rec, tc.Msg()); err != nil {
				t.Fatal(err)
			}
			if rec.Msg == nil {
				t.Fatal("no reply written")
			}
			if !rec.Msg.Authoritative {
				t.Error("AA not set")
			}
			if err := test.SortAndCheck(rec.Msg, tc); err != nil {
				t.Error(err)
			}
		})
	}
}
