package clusterdns

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// benchNamespaces is how many namespaces benchObjects spreads services over.
const benchNamespaces = 10

// Addresses of the fixed services of benchObjects.
const (
	benchWebIP = "10.96.0.1"  // ClusterIP of web.ns-0
	benchBigIP = "10.245.0.1" // first endpoint of the headless big.ns-0
)

// benchObjects returns a cluster of nServices services (at least 2) over
// namespaces ns-0..ns-9:
//
//   - web.ns-0: ClusterIP 10.96.0.1, port http 80/TCP, 3 ready endpoints;
//   - big.ns-0: headless, 100 ready endpoints without hostnames in one
//     slice with port http 8080/TCP;
//   - svc-<i>.ns-<i%10> for the rest: ClusterIP, port http 80/TCP, one slice
//     of 3 ready endpoints.
//
// ClusterIPs are 10.96.0.0/16, ClusterIP endpoints 10.244.0.0/16 and the
// headless endpoints 10.245.0.0/24, all distinct.
func benchObjects(nServices int) []runtime.Object {
	var objs []runtime.Object
	for i := range benchNamespaces {
		objs = append(objs, fixture.Namespace(fmt.Sprintf("ns-%d", i)))
	}
	ipAt := func(base netip.Addr, n int) string {
		b := base.As4()
		b[2], b[3] = byte(n>>8), byte(n)
		return netip.AddrFrom4(b).String()
	}
	svcBase := netip.MustParseAddr("10.96.0.0")
	epBase := netip.MustParseAddr("10.244.0.0")
	svcN, epN := 0, 0
	clusterIPService := func(ns, name string) {
		svcN++
		objs = append(objs, fixture.Service(ns, name, []string{ipAt(svcBase, svcN)}, fixture.Port("http", corev1.ProtocolTCP, 80)))
		eps := make([]fixture.Endpoint, 3)
		for j := range eps {
			epN++
			eps[j] = fixture.Endpoint{IP: ipAt(epBase, epN)}
		}
		ports := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 8080)}
		objs = append(objs, fixture.Slice(ns, name, name+"-0", discoveryv1.AddressTypeIPv4, ports, eps...))
	}

	clusterIPService("ns-0", "web") // first, so it gets benchWebIP

	bigEPs := make([]fixture.Endpoint, 100)
	bigBase := netip.MustParseAddr(benchBigIP)
	for j := range bigEPs {
		bigEPs[j] = fixture.Endpoint{IP: ipAt(bigBase, j+1)}
	}
	objs = append(objs,
		fixture.Service("ns-0", "big", []string{corev1.ClusterIPNone}, fixture.Port("http", corev1.ProtocolTCP, 8080)),
		fixture.Slice("ns-0", "big", "big-0", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 8080)}, bigEPs...),
	)

	for i := range nServices - 2 {
		clusterIPService(fmt.Sprintf("ns-%d", i%benchNamespaces), fmt.Sprintf("svc-%d", i))
	}
	return objs
}

// benchQuery is one question with the rcode and answer count both plugins
// must give for it.
type benchQuery struct {
	name    string
	qname   string
	qtype   uint16
	rcode   int
	answers int
}

// benchQueries are the questions BenchmarkServeDNS measures.
var benchQueries = []benchQuery{
	{"clusterip_A", "web.ns-0.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1},
	{"headless_A_100", "big.ns-0.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 100},
	{"srv", "_http._tcp.web.ns-0.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, 1},
	// The first name a pod with ndots:5 tries for web.ns-0.svc.cluster.local.
	{"search_nxdomain", "web.ns-0.svc.cluster.local.ns-0.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0},
}

// benchPlugins returns both plugins serving objs, ours first.
func benchPlugins(tb testing.TB, objs []runtime.Object) []struct {
	name string
	h    plugin.Handler
} {
	tb.Helper()
	return []struct {
		name string
		h    plugin.Handler
	}{
		{"clusterdns", newTestPlugin(tb, nil, objs...)},
		{"kubernetes", newUpstreamPlugin(tb, objs...)},
	}
}

// serveQuery sends one question to h and returns the response it wrote.
func serveQuery(h plugin.Handler, qname string, qtype uint16) (*dns.Msg, error) {
	r := new(dns.Msg)
	r.SetQuestion(qname, qtype)
	w := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := h.ServeDNS(context.Background(), w, r); err != nil {
		return nil, err
	}
	if w.Msg == nil {
		return nil, fmt.Errorf("no response written")
	}
	return w.Msg, nil
}

// checkBenchQuery fails tb unless h answers q with its rcode and answer count.
func checkBenchQuery(tb testing.TB, h plugin.Handler, q benchQuery) {
	tb.Helper()
	m, err := serveQuery(h, q.qname, q.qtype)
	if err != nil {
		tb.Fatalf("%s %s: %v", q.qname, dns.TypeToString[q.qtype], err)
	}
	if m.Rcode != q.rcode || len(m.Answer) != q.answers {
		tb.Fatalf("%s %s: got %s with %d answers, want %s with %d",
			q.qname, dns.TypeToString[q.qtype], dns.RcodeToString[m.Rcode], len(m.Answer),
			dns.RcodeToString[q.rcode], q.answers)
	}
}

// BenchmarkServeDNS measures one query through ServeDNS of this plugin and of
// CoreDNS's kubernetes plugin, both serving the same 1,000 services. Each
// response is written to a recorder, which sizes it (Msg.Len) as a server
// would before packing it.
//
// Sub-benchmarks are named <query>/<plugin> and run each query on both
// plugins back to back, so drift on a busy machine (frequency scaling, other
// load) affects both sides of a comparison alike. -count N repeats each
// sub-benchmark N times in a row; to alternate the plugins on every round,
// repeat the whole run with -count 1 instead.
func BenchmarkServeDNS(b *testing.B) {
	plugins := benchPlugins(b, benchObjects(1000))
	for _, q := range benchQueries {
		for _, p := range plugins {
			b.Run(q.name+"/"+p.name, func(b *testing.B) {
				checkBenchQuery(b, p.h, q)
				ctx := context.Background()
				r := new(dns.Msg)
				r.SetQuestion(q.qname, q.qtype)
				w := dnstest.NewRecorder(&test.ResponseWriter{})
				b.ReportAllocs()
				for b.Loop() {
					_, _ = p.h.ServeDNS(ctx, w, r)
				}
			})
		}
	}
}

// TestUpstreamAdapterAgrees shows that CoreDNS's kubernetes plugin, hosted on
// upstreamConn, answers the benchmark's fixture as this plugin does: same
// rcode, same answer, authority and additional records.
func TestUpstreamAdapterAgrees(t *testing.T) {
	reverse := func(ip string) string {
		name, err := dns.ReverseAddr(ip)
		if err != nil {
			t.Fatal(err)
		}
		return name
	}
	queries := append(slices.Clone(benchQueries),
		benchQuery{"ptr_clusterip", reverse(benchWebIP), dns.TypePTR, dns.RcodeSuccess, 1},
		benchQuery{"ptr_endpoint", reverse(benchBigIP), dns.TypePTR, dns.RcodeSuccess, 1},
		benchQuery{"unknown_service", "nope.ns-0.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0},
		benchQuery{"unknown_namespace", "web.ns-99.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, 0},
		benchQuery{"aaaa_nodata", "web.ns-0.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, 0},
		benchQuery{"srv_bare", "web.ns-0.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, 1},
		benchQuery{"srv_headless_100", "_http._tcp.big.ns-0.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, 100},
		benchQuery{"endpoint_A", "10-244-0-1.web.ns-0.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, 1},
	)
	plugins := benchPlugins(t, benchObjects(50))
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			var want []string
			for i, p := range plugins {
				checkBenchQuery(t, p.h, q)
				m, err := serveQuery(p.h, q.qname, q.qtype)
				if err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				got := responseSections(m)
				if i == 0 {
					want = got
					continue
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s and %s differ\n%s:\n  %s\n%s:\n  %s",
						plugins[0].name, p.name,
						plugins[0].name, strings.Join(want, "\n  "),
						p.name, strings.Join(got, "\n  "))
				}
			}
		})
	}
}

// responseSections renders the rcode and the records of every section of m,
// each section sorted, for comparison across plugins. The SOA serial is left
// out: it is a version of each plugin's own data (the informer's last change
// time upstream, the snapshot serial here), equal only by chance.
func responseSections(m *dns.Msg) []string {
	out := []string{"rcode " + dns.RcodeToString[m.Rcode]}
	for _, sec := range []struct {
		name string
		rrs  []dns.RR
	}{{"answer", m.Answer}, {"authority", m.Ns}, {"additional", m.Extra}} {
		var lines []string
		for _, rr := range sec.rrs {
			if soa, ok := rr.(*dns.SOA); ok {
				c := *soa
				c.Serial = 0
				rr = &c
			}
			lines = append(lines, sec.name+" "+rr.String())
		}
		slices.Sort(lines)
		out = append(out, lines...)
	}
	return out
}
