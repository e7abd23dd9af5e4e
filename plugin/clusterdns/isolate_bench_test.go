package clusterdns

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// isolateBenchObjects are benchObjects(1000) with ns-0 and ns-1 in one
// tenant, and 10,000 pods; the client pod 10.246.0.1 is in ns-0.
func isolateBenchObjects(b *testing.B) []runtime.Object {
	objs := benchObjects(1000)
	for _, o := range objs {
		if n, ok := o.(*corev1.Namespace); ok && (n.Name == "ns-0" || n.Name == "ns-1") {
			n.Labels = map[string]string{tenantKey: "a"}
		}
	}
	return append(objs, benchPods(b, 10_000)...)
}

// isolateBenchConfig is `isolate` with kube-system shared and tenants by
// tenantKey, or, off, the defaults.
func isolateBenchConfig(on bool) *config {
	cfg := testConfig()
	if on {
		cfg.Isolate, cfg.TenantLabel = true, tenantKey
		cfg.isolation = &index.Isolation{Shared: map[string]struct{}{"kube-system": {}}, Tenants: true}
	}
	return cfg
}

// BenchmarkIsolateServeDNS measures what `isolate` adds to a query from a
// pod in ns-0, with 1,000 services and 10,000 pods: the same questions
// without the option (off) and with it (on), where ns-1 shares ns-0's
// tenant and ns-2 is hidden (its answer, NXDOMAIN, is measured as well).
//
//	go test -run '^$' -bench BenchmarkIsolateServeDNS -benchmem ./plugin/clusterdns/
func BenchmarkIsolateServeDNS(b *testing.B) {
	objs := isolateBenchObjects(b)
	queries := []struct {
		name, qname string
		qtype       uint16
		rcodeOn     int
	}{
		{"own_clusterip_A", "web.ns-0.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess},
		{"tenant_clusterip_A", "svc-1.ns-1.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess},
		{"hidden_clusterip_A", "svc-2.ns-2.svc.cluster.local.", dns.TypeA, dns.RcodeNameError},
		{"own_srv", "_http._tcp.web.ns-0.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess},
		{"search_nxdomain", "web.ns-0.svc.cluster.local.ns-0.svc.cluster.local.", dns.TypeA, dns.RcodeNameError},
		{"own_ptr", "1.0.96.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess},
	}
	for _, on := range []bool{false, true} {
		c := newTestPlugin(b, isolateBenchConfig(on), objs...)
		mode := map[bool]string{false: "off", true: "on"}[on]
		for _, q := range queries {
			b.Run(fmt.Sprintf("%s/%s", q.name, mode), func(b *testing.B) {
				ctx := context.Background()
				r := new(dns.Msg)
				r.SetQuestion(q.qname, q.qtype)
				// A server's writer holds the client's address; the test
				// writer would build it on every call.
				w := dnstest.NewRecorder(&fixedAddrWriter{addr: &net.UDPAddr{IP: net.ParseIP("10.246.0.1"), Port: 40212}})
				_, _ = c.ServeDNS(ctx, w, r)
				want := q.rcodeOn
				if !on && want == dns.RcodeNameError && q.name != "search_nxdomain" {
					want = dns.RcodeSuccess
				}
				if w.Msg == nil || w.Msg.Rcode != want {
					b.Fatalf("%s: %v, want rcode %s", q.qname, w.Msg, dns.RcodeToString[want])
				}
				b.ReportAllocs()
				for b.Loop() {
					_, _ = c.ServeDNS(ctx, w, r)
				}
			})
		}
	}
}

// BenchmarkIsolateMemory reports the heap `isolate` keeps per 1,000 pods
// (slim pods in the store, the per-address bookkeeping and the published
// client map) and the tenant map: the plugin over 1,000 services and
// 10,000 pods with `isolate`, less the plugin without it, which keeps no
// pods. Run it once:
//
//	go test -run '^$' -bench BenchmarkIsolateMemory -benchtime 1x ./plugin/clusterdns/
func BenchmarkIsolateMemory(b *testing.B) {
	const pods = 10_000
	objs := isolateBenchObjects(b)
	build := func(on bool) int64 {
		bytes, _ := retainedHeap(func() any { return newTestPlugin(b, isolateBenchConfig(on), objs...) })
		return bytes
	}
	var on, off int64
	for range b.N {
		on, off = build(true), build(false)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(on-off)/pods*1000/1e3, "KB/1000pods")
}
