package clusterdns

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// hintedCluster is the generated cluster with the hints the EndpointSlice
// controller writes on every endpoint when each Service sets
// trafficDistribution: PreferSameZone (the endpoint's zone) or, with
// nodes, PreferSameNode (its node, and its zone).
func hintedCluster(tb testing.TB, size fixture.ClusterSize, nodes bool) []k8sruntime.Object {
	objs := fixture.Cluster(tb, size)
	for _, o := range objs {
		s, ok := o.(*discoveryv1.EndpointSlice)
		if !ok {
			continue
		}
		for i := range s.Endpoints {
			ep := &s.Endpoints[i]
			ep.Hints = &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: *ep.Zone}}}
			if nodes {
				ep.Hints.ForNodes = []discoveryv1.ForNode{{Name: *ep.NodeName}}
			}
		}
	}
	return objs
}

// BenchmarkServeDNSTrafficDistribution compares the per-query cost of
// traffic_distribution on the generated cluster with PreferSameZone hints
// on every endpoint, for a client pod: the name of the 100-endpoint
// headless service, and of a 3-endpoint one (one per zone), without the
// option, with it for a client in a zone without endpoints (the lookup,
// then all answered: the option's own cost), and for a client in zone-a
// (its endpoints answered); and a ClusterIP service's name without and
// with it (no lookup).
//
//	go test -run '^$' -bench BenchmarkServeDNSTrafficDistribution -benchtime 2s -count 5 ./plugin/clusterdns/
func BenchmarkServeDNSTrafficDistribution(b *testing.B) {
	size := memorySizes[0]
	base := hintedCluster(b, size, false)
	ns := fmt.Sprintf("namespace-%d", 9%(size.Services/20))
	headless := fixture.HeadlessService + "." + ns + ".svc.cluster.local."
	clusterIP := fixture.ClusterIPService + ".namespace-0.svc.cluster.local."
	withClient := func(zone string) []k8sruntime.Object {
		objs := append([]k8sruntime.Object(nil), base...)
		objs = append(objs, fixture.WireCopy(b, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "client-node", Labels: map[string]string{corev1.LabelTopologyZone: zone}}}))
		objs = append(objs, fixture.Service("namespace-0", "small", []string{"None"}),
			fixture.Slice("namespace-0", "small", "small-a", discoveryv1.AddressTypeIPv4, nil,
				fixture.Endpoint{IP: "10.250.0.1", Zone: "zone-a", Hints: fixture.Hints(nil, []string{"zone-a"})},
				fixture.Endpoint{IP: "10.250.0.2", Zone: "zone-b", Hints: fixture.Hints(nil, []string{"zone-b"})},
				fixture.Endpoint{IP: "10.250.0.3", Zone: "zone-c", Hints: fixture.Hints(nil, []string{"zone-c"})}))
		return append(objs, fixture.ClientPod("namespace-0", "client", "client-node", "10.240.0.1"))
	}
	small := "small.namespace-0.svc.cluster.local."
	on := func() *config { return trafficConfig() }
	cases := []struct {
		name, qname string
		cfg         func() *config
		zone        string
		answers     int
	}{
		{"headless_A_100/off", headless, testConfig, "zone-a", 100},
		{"headless_A_100/on_all", headless, on, "zone-x", 100},
		{"headless_A_100/on_zone", headless, on, "zone-a", 0},
		{"headless_A_3/off", small, testConfig, "zone-a", 3},
		{"headless_A_3/on_all", small, on, "zone-x", 3},
		{"headless_A_3/on_zone", small, on, "zone-a", 1},
		{"clusterip_A/off", clusterIP, testConfig, "zone-a", 1},
		{"clusterip_A/on", clusterIP, on, "zone-a", 1},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c := newTestPlugin(b, tc.cfg(), withClient(tc.zone)...)
			ctx := context.Background()
			r := new(dns.Msg)
			r.SetQuestion(tc.qname, dns.TypeA)
			w := dnstest.NewRecorder(&fixedAddrWriter{addr: &net.UDPAddr{IP: net.ParseIP("10.240.0.1"), Port: 40212}})
			_, _ = c.ServeDNS(ctx, w, r)
			if w.Msg == nil || w.Msg.Rcode != dns.RcodeSuccess || len(w.Msg.Answer) == 0 ||
				(tc.answers > 0 && len(w.Msg.Answer) != tc.answers) || (tc.answers == 0 && len(w.Msg.Answer) >= 100) {
				b.Fatalf("%s: unexpected answer: %d records", tc.qname, len(w.Msg.Answer))
			}
			b.ReportMetric(float64(len(w.Msg.Answer)), "records")
			b.ReportAllocs()
			for b.Loop() {
				_, _ = c.ServeDNS(ctx, w, r)
			}
		})
	}
}

// BenchmarkTrafficDistributionMemory reports the heap clusterdns keeps for
// the generated cluster with hints on every endpoint, without and with
// traffic_distribution (the hints kept in the slim slices and the entries
// of every choice), for PreferSameZone and PreferSameNode hints, without
// Pods or Nodes (BenchmarkClientZoneWatchMemory measures those watches,
// which the option shares). Run it once:
//
//	go test -run '^$' -bench BenchmarkTrafficDistributionMemory -benchtime 1x ./plugin/clusterdns/
func BenchmarkTrafficDistributionMemory(b *testing.B) {
	for _, size := range memorySizes {
		for _, hints := range []string{"PreferSameZone", "PreferSameNode"} {
			for _, option := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/%s/option=%t", size, hints, option), func(b *testing.B) {
					cfg := testConfig()
					cfg.TrafficDistribution = option
					var bytes int64
					for range b.N {
						bytes, _ = retainedHeap(func() any {
							return newTestPlugin(b, cfg, hintedCluster(b, size, hints == "PreferSameNode")...)
						})
					}
					b.ReportMetric(0, "ns/op")
					b.ReportMetric(float64(bytes)/1e6, "MB")
					b.ReportMetric(float64(bytes)/float64(size.Services+size.Endpoints), "bytes/object")
				})
			}
		}
	}
}
