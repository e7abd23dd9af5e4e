package clusterdns

import (
	"context"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
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
	st := newStores(cfg)
	sl := newSlimmer(cfg)
	for _, o := range objs {
		slim, _ := sl.Transform(o)
		var err error
		switch o.(type) {
		case *corev1.Service:
			err = st.services.Add(slim)
		case *discoveryv1.EndpointSlice:
			if st.slices != nil {
				err = st.slices.Add(slim)
			}
		case *corev1.Namespace:
			err = st.namespaces.Add(slim)
		case *corev1.Pod:
			if st.pods != nil {
				err = st.pods.Add(slim)
			}
		case *corev1.Node:
			if st.nodes != nil {
				err = st.nodes.Add(slim)
			}
		case *mcsv1alpha1.ServiceImport:
			if st.imports != nil {
				err = st.imports.Add(slim)
			}
		default:
			tb.Fatalf("newTestPlugin: unexpected object %T", o)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	ctl := newController(cfg, c.index)
	ctl.st = st
	ctl.markAll()
	ctl.process()
	ctl.synced.Store(true)
	c.ctl.Store(ctl)
	return c
}

// testConfig is the default configuration for cluster.local and both reverse zones.
func testConfig() *config {
	cfg := defaultConfig()
	cfg.zones = []string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."}
	cfg.primaryZone = "cluster.local."
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
	c.source = &apiSource{cfg: cfg, client: cs}
	if err := c.onStartup(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.onShutdown() })
	if !c.Ready() {
		t.Fatal("not ready after startup")
	}
	return c
}

// eventually polls cond until it holds or a few seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 5*time.Second, what, cond)
}

// eventuallyWithin polls cond until it holds or timeout passes.
func eventuallyWithin(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func verifiedConfig() *config {
	cfg := testConfig()
	cfg.podMode = podsVerified
	return cfg
}

// ask sends one query through ServeDNS and returns the reply.
func ask(t *testing.T, c *ClusterDNS, name string, qtype uint16) *dns.Msg {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
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
