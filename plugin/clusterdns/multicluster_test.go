package clusterdns

import (
	"context"
	"slices"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/kubernetes"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsfake "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/fake"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/source"
)

// multiclusterConfig serves cluster.local and, from ServiceImports,
// clusterset.local.
func multiclusterConfig() *config {
	cfg := testConfig()
	cfg.zones = []string{"cluster.local.", "clusterset.local.", "in-addr.arpa.", "ip6.arpa."}
	cfg.MulticlusterZones = []string{"clusterset.local."}
	return cfg
}

// multiclusterObjects is a cluster with a local Service web and the
// imports web (ClusterSetIP) and db (Headless) from clusters east and west.
func multiclusterObjects() []runtime.Object {
	pg := []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)}
	http := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 8080)}
	return []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Service("prod", "web", []string{"10.96.0.20"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Slice("prod", "web", "web-local", discoveryv1.AddressTypeIPv4, http, fixture.Endpoint{IP: "10.244.0.5"}),
		fixture.Import("prod", "web", mcsv1alpha1.ClusterSetIP, []string{"10.100.0.1", "fd00:100::1"}, fixture.ImportPort("http", corev1.ProtocolTCP, 80)),
		fixture.ImportedSlice("prod", "web", "east", "web-east", discoveryv1.AddressTypeIPv4, http, fixture.Endpoint{IP: "10.1.0.5"}),
		fixture.ImportedSlice("prod", "web", "west", "web-west", discoveryv1.AddressTypeIPv4, http, fixture.Endpoint{IP: "10.2.0.5"}),
		fixture.Import("prod", "db", mcsv1alpha1.Headless, nil, fixture.ImportPort("pg", corev1.ProtocolTCP, 5432)),
		fixture.ImportedSlice("prod", "db", "east", "db-east", discoveryv1.AddressTypeIPv4, pg, fixture.Endpoint{IP: "10.1.1.1", Hostname: "db-0"}),
		fixture.ImportedSlice("prod", "db", "west", "db-west", discoveryv1.AddressTypeIPv4, pg,
			fixture.Endpoint{IP: "10.2.1.1", Hostname: "db-0"}, fixture.Endpoint{IP: "10.2.1.2"}, fixture.Endpoint{IP: "10.2.1.3", Ready: fixture.Bool(false)}),
		// Not served: a Headless import without endpoints, a slice without
		// its source cluster, an import in a namespace that does not exist.
		fixture.Import("prod", "empty", mcsv1alpha1.Headless, nil),
		fixture.ImportedSlice("prod", "empty", "", "empty-x", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.3.0.1"}),
		fixture.Import("gone", "web", mcsv1alpha1.ClusterSetIP, []string{"10.100.9.9"}),
	}
}

func TestMulticlusterServeDNS(t *testing.T) {
	c := newTestPlugin(t, multiclusterConfig(), multiclusterObjects()...)
	soa := "clusterset.local.\t5\tIN\tSOA\tns.dns.clusterset.local. hostmaster.clusterset.local. 0 7200 1800 86400 5"
	localSOA := "cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"
	nx := func(name string, qtype uint16) test.Case {
		return test.Case{Qname: name, Qtype: qtype, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa)}}
	}
	nodata := func(name string, qtype uint16) test.Case {
		return test.Case{Qname: name, Qtype: qtype, Ns: []dns.RR{test.SOA(soa)}}
	}
	runCases(t, c, []test.Case{
		// ClusterSetIP import: its IPs and ports.
		{Qname: "web.prod.svc.clusterset.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.prod.svc.clusterset.local. 5 IN A 10.100.0.1")}},
		{Qname: "web.prod.svc.clusterset.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("web.prod.svc.clusterset.local. 5 IN AAAA fd00:100::1")}},
		{Qname: "_http._tcp.web.prod.svc.clusterset.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_http._tcp.web.prod.svc.clusterset.local. 5 IN SRV 0 100 80 web.prod.svc.clusterset.local.")},
			Extra: []dns.RR{
				test.A("web.prod.svc.clusterset.local. 5 IN A 10.100.0.1"),
				test.AAAA("web.prod.svc.clusterset.local. 5 IN AAAA fd00:100::1"),
			}},
		nodata("_tcp.web.prod.svc.clusterset.local.", dns.TypeSRV),
		nx("_http._udp.web.prod.svc.clusterset.local.", dns.TypeSRV),
		// Its endpoints are named under their cluster.
		{Qname: "10-1-0-5.east.web.prod.svc.clusterset.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("10-1-0-5.east.web.prod.svc.clusterset.local. 5 IN A 10.1.0.5")}},
		nx("10-1-0-5.west.web.prod.svc.clusterset.local.", dns.TypeA),
		nx("10-1-0-5.web.prod.svc.clusterset.local.", dns.TypeA),
		// The local Service of the same name keeps its own answers and endpoints.
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")}},
		{Qname: "10-244-0-5.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("10-244-0-5.web.prod.svc.cluster.local. 5 IN A 10.244.0.5")}},
		{Qname: "10-1-0-5.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(localSOA)}},
		{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(localSOA)}},
		nx("10-244-0-5.east.web.prod.svc.clusterset.local.", dns.TypeA),

		// Headless import: the ready endpoints of every cluster.
		{Qname: "db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("db.prod.svc.clusterset.local. 5 IN A 10.1.1.1"),
			test.A("db.prod.svc.clusterset.local. 5 IN A 10.2.1.1"),
			test.A("db.prod.svc.clusterset.local. 5 IN A 10.2.1.2"),
		}},
		nodata("db.prod.svc.clusterset.local.", dns.TypeAAAA),
		{Qname: "db-0.east.db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db-0.east.db.prod.svc.clusterset.local. 5 IN A 10.1.1.1")}},
		{Qname: "DB-0.West.db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("DB-0.West.db.prod.svc.clusterset.local. 5 IN A 10.2.1.1")}},
		{Qname: "10-2-1-2.west.db.prod.svc.clusterset.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("10-2-1-2.west.db.prod.svc.clusterset.local. 5 IN A 10.2.1.2")}},
		nodata("db-0.east.db.prod.svc.clusterset.local.", dns.TypeAAAA),
		nx("10-2-1-2.east.db.prod.svc.clusterset.local.", dns.TypeA),
		nx("10-2-1-3.west.db.prod.svc.clusterset.local.", dns.TypeA), // not ready
		nx("db-0.db.prod.svc.clusterset.local.", dns.TypeA),
		nx("x.db-0.east.db.prod.svc.clusterset.local.", dns.TypeA),
		// <cluster>.<svc> is an empty non-terminal while that cluster has endpoints.
		nodata("east.db.prod.svc.clusterset.local.", dns.TypeA),
		nx("north.db.prod.svc.clusterset.local.", dns.TypeA),
		{Qname: "_pg._tcp.db.prod.svc.clusterset.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("_pg._tcp.db.prod.svc.clusterset.local. 5 IN SRV 0 33 5432 10-2-1-2.west.db.prod.svc.clusterset.local."),
				test.SRV("_pg._tcp.db.prod.svc.clusterset.local. 5 IN SRV 0 33 5432 db-0.east.db.prod.svc.clusterset.local."),
				test.SRV("_pg._tcp.db.prod.svc.clusterset.local. 5 IN SRV 0 33 5432 db-0.west.db.prod.svc.clusterset.local."),
			},
			Extra: []dns.RR{
				test.A("10-2-1-2.west.db.prod.svc.clusterset.local. 5 IN A 10.2.1.2"),
				test.A("db-0.east.db.prod.svc.clusterset.local. 5 IN A 10.1.1.1"),
				test.A("db-0.west.db.prod.svc.clusterset.local. 5 IN A 10.2.1.1"),
			}},
		nodata("_pg._tcp.db.prod.svc.clusterset.local.", dns.TypeA),

		// Not served.
		nx("empty.prod.svc.clusterset.local.", dns.TypeA),
		nx("web.gone.svc.clusterset.local.", dns.TypeA),
		nx("nothere.prod.svc.clusterset.local.", dns.TypeA),
		// The rest of the zone is as in any other.
		nodata("prod.svc.clusterset.local.", dns.TypeA),
		{Qname: "clusterset.local.", Qtype: dns.TypeSOA, Answer: []dns.RR{test.SOA(soa)}},
		{Qname: "dns-version.clusterset.local.", Qtype: dns.TypeTXT, Answer: []dns.RR{test.TXT(`dns-version.clusterset.local. 28800 IN TXT "1.1.0"`)}},
	})
}

// TestMulticlusterIgnoreEmpty checks `ignore empty_service` hides a
// ClusterSetIP import without ready endpoints, as it does a Service.
func TestMulticlusterIgnoreEmpty(t *testing.T) {
	objs := []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Import("prod", "idle", mcsv1alpha1.ClusterSetIP, []string{"10.100.0.2"}),
		fixture.ImportedSlice("prod", "idle", "east", "idle-east", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.1.2.1", Ready: fixture.Bool(false)}),
	}
	for _, ignore := range []bool{false, true} {
		cfg := multiclusterConfig()
		cfg.IgnoreEmptyServices = ignore
		c := newTestPlugin(t, cfg, objs...)
		m := ask(t, c, "idle.prod.svc.clusterset.local.", dns.TypeA)
		if want := map[bool]int{false: dns.RcodeSuccess, true: dns.RcodeNameError}[ignore]; m.Rcode != want {
			t.Errorf("ignore empty_service %v: rcode %s, want %s", ignore, dns.RcodeToString[m.Rcode], dns.RcodeToString[want])
		}
	}
}

// TestMulticlusterOff checks that without the option the imported slices
// are not kept and a clusterset zone has no services.
func TestMulticlusterOff(t *testing.T) {
	cfg := multiclusterConfig()
	cfg.MulticlusterZones = nil
	c := newTestPlugin(t, cfg, multiclusterObjects()...)
	if m := ask(t, c, "db.prod.svc.clusterset.local.", dns.TypeA); m.Rcode != dns.RcodeNameError {
		t.Errorf("db in clusterset.local without multicluster: rcode %s, want NXDOMAIN", dns.RcodeToString[m.Rcode])
	}
	// The zone serves the Services, as any zone of the plugin does.
	if m := ask(t, c, "web.prod.svc.clusterset.local.", dns.TypeA); len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "10.96.0.20" {
		t.Errorf("web in clusterset.local without multicluster: %v, want the Service's 10.96.0.20", m.Answer)
	}
	if n := c.index.Load().Imports.Len(); n != 0 {
		t.Errorf("%d imports in the index without multicluster", n)
	}
}

// TestSlimImport checks what is kept of a ServiceImport.
func TestSlimImport(t *testing.T) {
	tests := []struct {
		name     string
		si       *mcsv1alpha1.ServiceImport
		invalid  bool
		headless bool
		ips      []string
		ports    int
	}{
		{"clusterset ip", fixture.Import("prod", "web", mcsv1alpha1.ClusterSetIP, []string{"10.100.0.1", "::ffff:10.100.0.1", "fd00::1", "bad"},
			fixture.ImportPort("http", corev1.ProtocolTCP, 80), fixture.ImportPort("Bad_Name", corev1.ProtocolTCP, 81), fixture.ImportPort("", corev1.ProtocolUDP, 0)),
			false, false, []string{"10.100.0.1", "fd00::1"}, 1},
		{"headless keeps no ips", fixture.Import("prod", "db", mcsv1alpha1.Headless, []string{"10.100.0.1"}, fixture.ImportPort("pg", "", 5432)), false, true, nil, 1},
		{"unknown type", fixture.Import("prod", "x", "LoadBalancer", []string{"10.100.0.1"}), true, false, nil, 0},
		{"name with a dot", fixture.Import("prod", "a.b", mcsv1alpha1.ClusterSetIP, []string{"10.100.0.1"}), true, false, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := object.SlimImport(tc.si)
			var ips []string
			for _, ip := range s.ClusterIPs {
				ips = append(ips, ip.String())
			}
			if s.Invalid != tc.invalid || s.Headless != tc.headless || len(s.Ports) != tc.ports || !slices.Equal(ips, tc.ips) {
				t.Errorf("got invalid %v headless %v ips %v ports %v; want %v %v %v %d ports",
					s.Invalid, s.Headless, ips, s.Ports, tc.invalid, tc.headless, tc.ips, tc.ports)
			}
			if s.Name != tc.si.Name || s.Namespace != tc.si.Namespace {
				t.Errorf("meta %+v", s.Meta)
			}
		})
	}
}

// TestMulticlusterWatch runs the API source against fake clientsets: the
// imports and their slices are served, follow changes, and are watched
// only with the option.
func TestMulticlusterWatch(t *testing.T) {
	var kube, imports []runtime.Object
	for _, o := range multiclusterObjects() {
		if _, ok := o.(*mcsv1alpha1.ServiceImport); ok {
			imports = append(imports, o)
		} else {
			kube = append(kube, o)
		}
	}
	cs, mcs := fake.NewClientset(kube...), mcsfake.NewSimpleClientset(imports...)
	cfg := multiclusterConfig()
	c := newClusterDNS(cfg)
	c.source = source.NewAPISource(&cfg.Config, cs, mcs)
	if err := c.onStartup(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.onShutdown() })
	if !c.Ready() {
		t.Fatal("not ready after startup")
	}
	answers := func(name string, qtype uint16) int { return len(ask(t, c, name, qtype).Answer) }
	if n := answers("db.prod.svc.clusterset.local.", dns.TypeA); n != 3 {
		t.Fatalf("db: %d answers, want 3", n)
	}
	if n := answers("web.prod.svc.clusterset.local.", dns.TypeA); n != 1 {
		t.Fatalf("web: %d answers, want 1", n)
	}

	ctx := context.Background()
	if err := cs.DiscoveryV1().EndpointSlices("prod").Delete(ctx, "db-west", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "db without west", func() bool { return answers("db.prod.svc.clusterset.local.", dns.TypeA) == 1 })
	si := fixture.Import("prod", "api", mcsv1alpha1.ClusterSetIP, []string{"10.100.0.3"})
	if _, err := mcs.MulticlusterV1alpha1().ServiceImports("prod").Create(ctx, si, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "new import api", func() bool { return answers("api.prod.svc.clusterset.local.", dns.TypeA) == 1 })
	if err := mcs.MulticlusterV1alpha1().ServiceImports("prod").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "web import gone", func() bool {
		return ask(t, c, "web.prod.svc.clusterset.local.", dns.TypeA).Rcode == dns.RcodeNameError
	})
	if n := answers("web.prod.svc.cluster.local.", dns.TypeA); n != 1 {
		t.Errorf("local web: %d answers after its import went, want 1", n)
	}

	// Without the option nothing asks for ServiceImports.
	off := testConfig()
	idle := mcsfake.NewSimpleClientset(imports...)
	c2 := newClusterDNS(off)
	c2.source = source.NewAPISource(&off.Config, fake.NewClientset(kube...), idle)
	if err := c2.onStartup(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c2.onShutdown() })
	if n := len(idle.Actions()); n != 0 {
		t.Errorf("without multicluster: %d requests for ServiceImports, want 0", n)
	}
}

// TestMulticlusterMatchesUpstream asks CoreDNS's kubernetes plugin and ours,
// both with `multicluster clusterset.local`, the same questions about the
// same objects: the answers are the same but for README difference 17.
func TestMulticlusterMatchesUpstream(t *testing.T) {
	const stanza = " cluster.local clusterset.local in-addr.arpa ip6.arpa {\nmulticluster clusterset.local\n}"
	cfg, err := parse(caddy.NewTestController("dns", pluginName+stanza))
	if err != nil {
		t.Fatal(err)
	}
	objs := multiclusterObjects()
	ours := newTestPlugin(t, cfg, objs...)
	uc := caddy.NewTestController("dns", "kubernetes"+stanza)
	uc.Next()
	theirs, err := kubernetes.ParseStanza(uc)
	if err != nil {
		t.Fatal(err)
	}
	theirs.APIConn = newUpstreamConn(t, objs...)

	// Rows of README difference 17 give the rcode each plugin answers with.
	type differs struct{ ours, theirs int }
	tests := []struct {
		qname string
		qtype uint16
		diff  *differs
	}{
		{qname: "web.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "web.prod.svc.clusterset.local.", qtype: dns.TypeAAAA},
		{qname: "10-1-0-5.east.web.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "10-1-0-5.west.web.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "db.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "db-0.east.db.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "db-0.west.db.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "10-2-1-2.west.db.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "10-2-1-3.west.db.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "db-0.db.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "_pg._tcp.db.prod.svc.clusterset.local.", qtype: dns.TypeSRV},
		{qname: "_pg._udp.db.prod.svc.clusterset.local.", qtype: dns.TypeSRV},
		{qname: "empty.prod.svc.clusterset.local.", qtype: dns.TypeA, // its one slice names no cluster
			diff: &differs{ours: dns.RcodeNameError, theirs: dns.RcodeSuccess}},
		{qname: "web.gone.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "nothere.prod.svc.clusterset.local.", qtype: dns.TypeA},
		{qname: "web.prod.svc.cluster.local.", qtype: dns.TypeA},
		{qname: "10-1-0-5.web.prod.svc.cluster.local.", qtype: dns.TypeA},
		{qname: "db.prod.svc.cluster.local.", qtype: dns.TypeA},
		{qname: "east.db.prod.svc.clusterset.local.", qtype: dns.TypeA, // an empty non-terminal
			diff: &differs{ours: dns.RcodeSuccess, theirs: dns.RcodeNameError}},
	}
	for _, tc := range tests {
		t.Run(dns.TypeToString[tc.qtype]+" "+tc.qname, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			o, u := replyOf(t, ours, m), replyOf(t, theirs, m)
			if tc.diff != nil {
				if o.rcode != tc.diff.ours || len(o.answer) != 0 || u.rcode != tc.diff.theirs {
					t.Errorf("clusterdns %v, kubernetes %v; want rcodes %s (no answer) and %s",
						o, u, dns.RcodeToString[tc.diff.ours], dns.RcodeToString[tc.diff.theirs])
				}
				return
			}
			if o.rcode != u.rcode || !slices.Equal(o.answer, u.answer) {
				t.Errorf("clusterdns %v, kubernetes %v", o, u)
			}
		})
	}
}

// replyOf returns the rcode and the sorted answer section h gives to m.
func replyOf(t *testing.T, h plugin.Handler, m *dns.Msg) diffAnswer {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	rc, err := h.ServeDNS(context.Background(), rec, m.Copy())
	if err != nil && rec.Msg == nil {
		return diffAnswer{rcode: rc}
	}
	out := diffAnswer{rcode: rc}
	if rec.Msg != nil {
		out.rcode = rec.Msg.Rcode
		for _, rr := range rec.Msg.Answer {
			out.answer = append(out.answer, rr.String())
		}
	}
	slices.Sort(out.answer)
	return out
}
