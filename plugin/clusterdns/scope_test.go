package clusterdns

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// TestWatchNamespacedRequests checks that with `namespaces` every list and
// watch is made in a listed namespace, none cluster-wide and none of
// Namespaces, so a namespaced Role in each is all the server needs.
func TestWatchNamespacedRequests(t *testing.T) {
	cfg := testConfig()
	cfg.Namespaces = map[string]struct{}{"prod": {}, "staging": {}}
	cfg.PodMode = podsVerified
	c, cs := startFake(t, cfg, scopeObjects()...)

	seen := map[string]bool{}
	for _, a := range cs.Actions() {
		if a.GetVerb() != "list" && a.GetVerb() != "watch" {
			continue
		}
		res, ns := a.GetResource().Resource, a.GetNamespace()
		if _, ok := cfg.Namespaces[ns]; !ok || res == "namespaces" {
			t.Errorf("%s %s in namespace %q: want only services, endpointslices and pods in prod or staging", a.GetVerb(), res, ns)
		}
		seen[res+"/"+ns] = true
	}
	for _, res := range []string{"services", "endpointslices", "pods"} {
		for ns := range cfg.Namespaces {
			if !seen[res+"/"+ns] {
				t.Errorf("no list or watch of %s in %s", res, ns)
			}
		}
	}
	// The listed namespaces exist without a Namespace watch; staging has no
	// objects at all.
	runCases(t, c, []test.Case{
		{Qname: "prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "staging.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")}},
		{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db.prod.svc.cluster.local. 5 IN A 10.244.1.1")}},
	})
}

// TestWatchClusterWideRequests checks the default: one list and watch per
// kind across the cluster, and Namespaces filtered by namespace_labels on
// the API server.
func TestWatchClusterWideRequests(t *testing.T) {
	cfg := testConfig()
	cfg.NamespaceSelector = labels.SelectorFromSet(labels.Set{"dns": "on"})
	_, cs := startFake(t, cfg, scopeObjects()...)
	for _, a := range cs.Actions() {
		if a.GetVerb() != "list" && a.GetVerb() != "watch" {
			continue
		}
		if a.GetNamespace() != "" {
			t.Errorf("%s %s in namespace %q, want cluster-wide", a.GetVerb(), a.GetResource().Resource, a.GetNamespace())
		}
		if l, ok := a.(k8stesting.ListAction); ok && a.GetResource().Resource == "namespaces" {
			if got := l.GetListRestrictions().Labels.String(); got != "dns=on" {
				t.Errorf("namespaces listed with selector %q, want dns=on", got)
			}
		}
	}
}

// scopeObjects are two namespaces with the same shapes of objects: prod is
// served, dev is not (not listed in `namespaces`, or not labelled dns=on).
func scopeObjects() []runtime.Object {
	http := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 80)}
	prod, dev := fixture.Namespace("prod"), fixture.Namespace("dev")
	prod.Labels = map[string]string{"dns": "on"}
	var objs []runtime.Object
	objs = append(objs, prod, dev)
	for _, ns := range []struct{ name, svcNet, podNet string }{{"prod", "10.96", "10.244"}, {"dev", "10.97", "10.245"}} {
		objs = append(objs,
			fixture.Service(ns.name, "web", []string{ns.svcNet + ".0.20", "fd00:" + ns.svcNet[3:] + "::20"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
			fixture.Service(ns.name, "db", []string{"None"}),
			fixture.Slice(ns.name, "db", "db-a", discoveryv1.AddressTypeIPv4, http, fixture.Endpoint{IP: ns.podNet + ".1.1", Hostname: "db-0"}),
			fixture.ExternalName(ns.name, "ext", "example.com"),
		)
	}
	// An alias in prod to a service in dev must not reveal dev's address.
	return append(objs, fixture.ExternalName("prod", "alias", "web.dev.svc.cluster.local"))
}

// TestScopeLeaksNothing asks, for each kind of name, about dev (present in
// the API but not served) and about a namespace that exists nowhere: the
// answers must be the same, NXDOMAIN, so nothing tells dev exists. prod
// answers as a control.
func TestScopeLeaksNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		scope func(*config)
	}{
		{"namespaces", func(c *config) { c.Namespaces = map[string]struct{}{"prod": {}} }},
		{"namespace_labels", func(c *config) { c.NamespaceSelector = labels.SelectorFromSet(labels.Set{"dns": "on"}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.PodMode = podsInsecure
			tc.scope(cfg)
			c, _ := startFake(t, cfg, scopeObjects()...)

			// The forms that name no address, and a pod name of dev's;
			// the reverse names are below.
			forms := slices.DeleteFunc(slices.Clone(leakForms), func(f leakForm) bool { return strings.Contains(f.name, "%[2]d") })
			forms = append(forms, leakForm{"10-245-1-1.%s.pod.cluster.local.", dns.TypeA})
			for _, n := range forms {
				dev := ask(t, c, fmt.Sprintf(n.name, "dev"), n.qtype)
				nowhere := ask(t, c, fmt.Sprintf(n.name, "nowhere"), n.qtype)
				if dev.Rcode != dns.RcodeNameError || len(dev.Answer) != 0 || nowhere.Rcode != dns.RcodeNameError {
					t.Errorf("%s %s: %s %v (nowhere: %s); want NXDOMAIN and no records",
						dns.TypeToString[n.qtype], fmt.Sprintf(n.name, "dev"), dns.RcodeToString[dev.Rcode], answerData(dev), dns.RcodeToString[nowhere.Rcode])
				}
			}
			runCases(t, c, []test.Case{
				// Addresses of dev's service and endpoint, and the reverse
				// names above them that only dev's addresses fill.
				{Qname: "20.0.97.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
				{Qname: "1.1.245.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
				{Qname: "97.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
				{Qname: "245.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
				{Qname: "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.7.9.0.0.0.0.d.f.ip6.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaIP6)}},
				// An alias in prod to dev's service gets its CNAME, which
				// prod's owner wrote, but no address from dev.
				{Qname: "alias.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.CNAME("alias.prod.svc.cluster.local. 5 IN CNAME web.dev.svc.cluster.local.")}},
				// prod is served.
				{Qname: "prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
				{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")}},
				{Qname: "db-0.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.1.1")}},
				{Qname: "20.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("20.0.96.10.in-addr.arpa. 5 IN PTR web.prod.svc.cluster.local.")}},
				{Qname: "1.1.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("1.1.244.10.in-addr.arpa. 5 IN PTR db-0.db.prod.svc.cluster.local.")}},
				{Qname: "10-244-1-1.prod.pod.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("10-244-1-1.prod.pod.cluster.local. 5 IN A 10.244.1.1")}},
			})
			// Nothing of dev is in the index at all: prod's four services
			// and one namespace.
			view := c.index.Load()
			if n, m := view.Services.Len(), view.Namespaces.Len(); n != 4 || m != 1 {
				t.Errorf("index holds %d services in %d namespaces, want prod's 4 in 1", n, m)
			}
		})
	}
}
