package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// handlerObjects is the cluster the handler tests query.
func handlerObjects() []runtime.Object {
	http := fixture.SlicePort("http", corev1.ProtocolTCP, 8080)
	return []runtime.Object{
		fixture.Namespace("prod"), fixture.Namespace("other"),
		fixture.Service("prod", "web", []string{"10.96.0.20"}, fixture.Port("http", corev1.ProtocolTCP, 80), fixture.Port("", corev1.ProtocolUDP, 53)),
		fixture.Slice("prod", "web", "web-1", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{http},
			fixture.Endpoint{IP: "10.244.0.5"}, fixture.Endpoint{IP: "10.244.0.6", Ready: fixture.Bool(false)}),
		fixture.Service("prod", "dual", []string{"10.96.0.30", "fd00::30"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Service("prod", "db", []string{"None"}, fixture.Port("pg", corev1.ProtocolTCP, 5432)),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)},
			fixture.Endpoint{IP: "10.244.1.1", Hostname: "db-0"}, fixture.Endpoint{IP: "10.244.1.2", Hostname: "db-1"}),
		// The same endpoint again in a second slice, as during rebalancing.
		fixture.Slice("prod", "db", "db-b", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)},
			fixture.Endpoint{IP: "10.244.1.2", Hostname: "db-1"}),
		fixture.Slice("prod", "db", "db-v6", discoveryv1.AddressTypeIPv6, []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)},
			fixture.Endpoint{IP: "fd00::1:1", Hostname: "db-0"}),
		fixture.Service("prod", "cache", []string{"None"}),
		fixture.Slice("prod", "cache", "cache-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.2.1"}),
		fixture.Service("prod", "empty", []string{"None"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Slice("prod", "empty", "empty-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.3.1", Ready: fixture.Bool(false)}),
		fixture.ExternalName("prod", "search", "search.example.com"),
		fixture.ExternalName("prod", "alias", "web.prod.svc.cluster.local"),
		fixture.ExternalName("prod", "ipname", "192.0.2.1"),
		// Ignored: an FQDN slice and a slice of no service.
		fixture.Slice("prod", "web", "web-fqdn", discoveryv1.AddressTypeFQDN, nil, fixture.Endpoint{IP: "example.com"}),
		fixture.Slice("prod", "ghost", "ghost-1", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.9.9"}),
		// A service in a namespace that does not exist is not served.
		fixture.Service("gone", "web", []string{"10.96.9.9"}),
	}
}

func TestServeDNS(t *testing.T) {
	cases := []test.Case{
		// ClusterIP service (spec §2.3).
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")}},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeTXT, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "_http._tcp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_http._tcp.web.prod.svc.cluster.local. 5 IN SRV 0 100 80 web.prod.svc.cluster.local.")},
			Extra:  []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")}},
		// The bare service name carries every port, named or not.
		{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("web.prod.svc.cluster.local. 5 IN SRV 0 50 53 web.prod.svc.cluster.local."),
				test.SRV("web.prod.svc.cluster.local. 5 IN SRV 0 50 80 web.prod.svc.cluster.local."),
			},
			Extra: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")}},
		// Empty non-terminal and wrong protocol.
		{Qname: "_tcp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "_http._udp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "http.tcp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		// Endpoint names under a ClusterIP service; not-ready endpoints are absent.
		{Qname: "10-244-0-5.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("10-244-0-5.web.prod.svc.cluster.local. 5 IN A 10.244.0.5")}},
		{Qname: "10-244-0-6.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		// Dual-stack.
		{Qname: "dual.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("dual.prod.svc.cluster.local. 5 IN A 10.96.0.30")}},
		{Qname: "dual.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("dual.prod.svc.cluster.local. 5 IN AAAA fd00::30")}},
		{Qname: "_http._tcp.dual.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_http._tcp.dual.prod.svc.cluster.local. 5 IN SRV 0 100 80 dual.prod.svc.cluster.local.")},
			Extra: []dns.RR{
				test.A("dual.prod.svc.cluster.local. 5 IN A 10.96.0.30"),
				test.AAAA("dual.prod.svc.cluster.local. 5 IN AAAA fd00::30"),
			}},
		// Headless: merged, de-duplicated ready endpoints (spec §2.4).
		{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("db.prod.svc.cluster.local. 5 IN A 10.244.1.1"),
			test.A("db.prod.svc.cluster.local. 5 IN A 10.244.1.2"),
		}},
		{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("db.prod.svc.cluster.local. 5 IN AAAA fd00::1:1")}},
		{Qname: "db-0.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.1.1")}},
		{Qname: "db-0.db.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("db-0.db.prod.svc.cluster.local. 5 IN AAAA fd00::1:1")}},
		// With a hostname, the dashed address is not a name.
		{Qname: "10-244-1-1.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "_pg._tcp.db.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local."),
				test.SRV("_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.prod.svc.cluster.local."),
			},
			Extra: []dns.RR{
				test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.1.1"),
				test.AAAA("db-0.db.prod.svc.cluster.local. 5 IN AAAA fd00::1:1"),
				test.A("db-1.db.prod.svc.cluster.local. 5 IN A 10.244.1.2"),
			}},
		// Headless without ports: A works, SRV is NODATA.
		{Qname: "cache.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("cache.prod.svc.cluster.local. 5 IN A 10.244.2.1")}},
		{Qname: "cache.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Ns: []dns.RR{test.SOA(soaCluster)}},
		// Headless with no ready endpoint does not exist, for any type.
		{Qname: "empty.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "_http._tcp.empty.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		// ExternalName: the CNAME for every type.
		{Qname: "search.prod.svc.cluster.local.", Qtype: dns.TypeCNAME, Answer: []dns.RR{test.CNAME("search.prod.svc.cluster.local. 5 IN CNAME search.example.com.")}},
		{Qname: "search.prod.svc.cluster.local.", Qtype: dns.TypeTXT, Answer: []dns.RR{test.CNAME("search.prod.svc.cluster.local. 5 IN CNAME search.example.com.")}},
		{Qname: "search.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.CNAME("search.prod.svc.cluster.local. 5 IN CNAME search.example.com.")}},
		{Qname: "x.search.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		// In-zone targets are chased from the index; a missing type keeps the CNAME.
		{Qname: "alias.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("alias.prod.svc.cluster.local. 5 IN CNAME web.prod.svc.cluster.local."),
			test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.20"),
		}},
		{Qname: "alias.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{
			test.CNAME("alias.prod.svc.cluster.local. 5 IN CNAME web.prod.svc.cluster.local."),
		}},
		{Qname: "ipname.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		// Namespaces, the apex and other structural names.
		{Qname: "prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "prod.svc.cluster.local.", Qtype: dns.TypeTXT, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "gone.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "web.gone.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "cluster.local.", Qtype: dns.TypeSOA, Answer: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "cluster.local.", Qtype: dns.TypeTXT, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "dns-version.cluster.local.", Qtype: dns.TypeTXT, Answer: []dns.RR{test.TXT(`dns-version.cluster.local. 28800 IN TXT "1.1.0"`)}},
		{Qname: "dns-version.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		// Names that do not exist are NXDOMAIN for every type, SOA included.
		{Qname: "nothere.prod.svc.cluster.local.", Qtype: dns.TypeSOA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "foo.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "*.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "a.b.c.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		// Search-list expansions of an ndots:5 pod are NXDOMAIN.
		{Qname: "web.prod.svc.cluster.local.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "web.prod.svc.cluster.local.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "web.prod.svc.cluster.local.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "api.example.com.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		// FQDN slices and orphan slices are ignored.
		{Qname: "ghost.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		// Case is echoed in owner names and in built names.
		{Qname: "WeB.PrOd.SvC.ClUsTeR.LoCaL.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("WeB.PrOd.SvC.ClUsTeR.LoCaL. 5 IN A 10.96.0.20")}},
		{Qname: "_HTTP._TCP.web.prod.svc.Cluster.Local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_HTTP._TCP.web.prod.svc.Cluster.Local. 5 IN SRV 0 100 80 web.prod.svc.Cluster.Local.")},
			Extra:  []dns.RR{test.A("web.prod.svc.Cluster.Local. 5 IN A 10.96.0.20")}},
		// Pods are disabled by default.
		{Qname: "10-244-0-5.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
	}
	c := newTestPlugin(t, nil, handlerObjects()...)
	runCases(t, c, cases)
}

func TestServeDNSReverse(t *testing.T) {
	soa4 := "in-addr.arpa.\t5\tIN\tSOA\tns.dns.in-addr.arpa. hostmaster.in-addr.arpa. 0 7200 1800 86400 5"
	soa6 := "ip6.arpa.\t5\tIN\tSOA\tns.dns.ip6.arpa. hostmaster.ip6.arpa. 0 7200 1800 86400 5"
	cases := []test.Case{
		{Qname: "20.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("20.0.96.10.in-addr.arpa. 5 IN PTR web.prod.svc.cluster.local.")}},
		{Qname: "5.0.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("5.0.244.10.in-addr.arpa. 5 IN PTR 10-244-0-5.web.prod.svc.cluster.local.")}},
		{Qname: "2.1.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("2.1.244.10.in-addr.arpa. 5 IN PTR db-1.db.prod.svc.cluster.local.")}},
		{Qname: "20.0.96.10.in-addr.arpa.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soa4)}},
		// Partial names above served addresses exist; others do not.
		{Qname: "0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Ns: []dns.RR{test.SOA(soa4)}},
		{Qname: "10.in-addr.arpa.", Qtype: dns.TypePTR, Ns: []dns.RR{test.SOA(soa4)}},
		{Qname: "11.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa4)}},
		// Not-ready endpoints, orphan slices and unknown addresses have none.
		{Qname: "6.0.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa4)}},
		{Qname: "9.9.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa4)}},
		{Qname: "x.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa4)}},
		// IPv6 nibble form.
		{Qname: "0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 5 IN PTR dual.prod.svc.cluster.local.")}},
		{Qname: "1.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", Qtype: dns.TypePTR,
			Answer: []dns.RR{test.PTR("1.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 5 IN PTR db-0.db.prod.svc.cluster.local.")}},
		{Qname: "d.f.ip6.arpa.", Qtype: dns.TypePTR, Ns: []dns.RR{test.SOA(soa6)}},
		{Qname: "e.f.ip6.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soa6)}},
		{Qname: "in-addr.arpa.", Qtype: dns.TypeSOA, Answer: []dns.RR{test.SOA(soa4)}},
	}
	c := newTestPlugin(t, nil, handlerObjects()...)
	runCases(t, c, cases)
}

func TestServeDNSPods(t *testing.T) {
	insecure := []test.Case{
		{Qname: "10-244-0-5.prod.pod.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("10-244-0-5.prod.pod.cluster.local. 5 IN A 10.244.0.5")}},
		{Qname: "fd00--5.prod.pod.cluster.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("fd00--5.prod.pod.cluster.local. 5 IN AAAA fd00::5")}},
		{Qname: "10-244-0-5.prod.pod.cluster.local.", Qtype: dns.TypeAAAA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "prod.pod.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "pod.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "10-244-0-5.gone.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "not-an-ip.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "x.10-244-0-5.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
	}
	cfg := testConfig()
	cfg.PodMode = podsInsecure
	runCases(t, newTestPlugin(t, cfg, handlerObjects()...), insecure)

	pod := &corev1.Pod{}
	pod.Namespace, pod.Name = "prod", "web-1"
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.244.0.5"}}
	done := pod.DeepCopy()
	done.Name, done.Status.Phase, done.Status.PodIPs = "job-1", corev1.PodSucceeded, []corev1.PodIP{{IP: "10.244.0.7"}}
	verified := []test.Case{
		{Qname: "10-244-0-5.prod.pod.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("10-244-0-5.prod.pod.cluster.local. 5 IN A 10.244.0.5")}},
		{Qname: "10-244-0-5.other.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "10-244-0-7.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "10-244-0-8.prod.pod.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
	}
	cfg = testConfig()
	cfg.PodMode = podsVerified
	runCases(t, newTestPlugin(t, cfg, append(handlerObjects(), pod, done)...), verified)
}

func TestServeDNSNotSynced(t *testing.T) {
	c := newClusterDNS(testConfig())
	for _, name := range []string{"web.prod.svc.cluster.local.", "nothere.prod.svc.cluster.local.", "1.0.0.10.in-addr.arpa."} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		rcode, err := c.ServeDNS(context.Background(), rec, test.Case{Qname: name, Qtype: dns.TypeA}.Msg())
		if err != nil || rcode != dns.RcodeServerFailure {
			t.Errorf("%s before sync: rcode %s, err %v; want SERVFAIL", name, dns.RcodeToString[rcode], err)
		}
	}
	// With fallthrough, the next plugin answers instead.
	cfg := testConfig()
	cfg.fall.SetZonesFromArgs(nil)
	c = newClusterDNS(cfg)
	c.Next = test.NextHandler(dns.RcodeRefused, nil)
	rcode, _ := c.ServeDNS(context.Background(), dnstest.NewRecorder(&test.ResponseWriter{}), test.Case{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA}.Msg())
	if rcode != dns.RcodeRefused {
		t.Errorf("before sync with fallthrough: rcode %s, want the next plugin's REFUSED", dns.RcodeToString[rcode])
	}
}

func TestServeDNSFallthrough(t *testing.T) {
	cfg := testConfig()
	cfg.fall.SetZonesFromArgs([]string{"in-addr.arpa."})
	c := newTestPlugin(t, cfg, handlerObjects()...)
	c.Next = test.NextHandler(dns.RcodeRefused, nil)
	for _, tc := range []struct {
		name  string
		next  bool
		rcode int
	}{
		{"9.9.9.9.in-addr.arpa.", true, dns.RcodeRefused},
		{"20.0.96.10.in-addr.arpa.", false, dns.RcodeSuccess},
		{"nothere.prod.svc.cluster.local.", false, dns.RcodeSuccess}, // NXDOMAIN written by us
	} {
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		rcode, _ := c.ServeDNS(context.Background(), rec, test.Case{Qname: tc.name, Qtype: dns.TypePTR}.Msg())
		if rcode != tc.rcode {
			t.Errorf("%s: rcode %s, want %s", tc.name, dns.RcodeToString[rcode], dns.RcodeToString[tc.rcode])
		}
	}
}

func TestServeDNSMalformed(t *testing.T) {
	c := newTestPlugin(t, nil, handlerObjects()...)
	c.Next = test.NextHandler(dns.RcodeRefused, nil)
	q := func(name string, qtype, class uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.Question[0].Qclass = class
		return m
	}
	two := q("web.prod.svc.cluster.local.", dns.TypeA, dns.ClassINET)
	two.Question = append(two.Question, two.Question[0])
	none := new(dns.Msg)
	notify := q("cluster.local.", dns.TypeSOA, dns.ClassINET)
	notify.Opcode = dns.OpcodeNotify
	tests := []struct {
		name  string
		msg   *dns.Msg
		rcode int
	}{
		{"no question", none, dns.RcodeFormatError},
		{"two questions", two, dns.RcodeFormatError},
		{"chaos class", q("web.prod.svc.cluster.local.", dns.TypeTXT, dns.ClassCHAOS), dns.RcodeRefused},
		{"any class", q("web.prod.svc.cluster.local.", dns.TypeA, dns.ClassANY), dns.RcodeSuccess},
		{"axfr", q("cluster.local.", dns.TypeAXFR, dns.ClassINET), dns.RcodeRefused},
		{"notify", notify, dns.RcodeNotImplemented},
		{"ANY type", q("web.prod.svc.cluster.local.", dns.TypeANY, dns.ClassINET), dns.RcodeSuccess},
		{"escaped bytes", q(`w\000b.prod.svc.cluster.local.`, dns.TypeA, dns.ClassINET), dns.RcodeSuccess},
		{"other zone goes on", q("example.org.", dns.TypeA, dns.ClassINET), dns.RcodeRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			rcode, err := c.ServeDNS(context.Background(), rec, tc.msg)
			if err != nil || rcode != tc.rcode {
				t.Errorf("rcode %s err %v, want %s", dns.RcodeToString[rcode], err, dns.RcodeToString[tc.rcode])
			}
		})
	}
}

// TestReplyHeader checks the handler's reply, built with its question in
// one allocation, has the header and question dns.Msg.SetReply gives.
func TestReplyHeader(t *testing.T) {
	for _, bits := range []struct{ rd, cd bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		r := new(dns.Msg)
		r.SetQuestion("web.prod.svc.cluster.local.", dns.TypeA)
		r.Id, r.RecursionDesired, r.CheckingDisabled = 4242, bits.rd, bits.cd
		want := new(dns.Msg).SetReply(r)
		got := (&reply{}).of(r)
		if got.MsgHdr != want.MsgHdr || len(got.Question) != 1 || got.Question[0] != want.Question[0] {
			t.Errorf("rd %t cd %t: reply %+v %v, want %+v %v", bits.rd, bits.cd, got.MsgHdr, got.Question, want.MsgHdr, want.Question)
		}
	}
}
