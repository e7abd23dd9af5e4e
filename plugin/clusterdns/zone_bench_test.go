package clusterdns

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// zoneConfigs are the configurations the zone benchmarks compare.
func zoneConfigs() []struct {
	name string
	cfg  func() *config
} {
	with := func(set func(*config)) func() *config {
		return func() *config {
			cfg := testConfig()
			set(cfg)
			return cfg
		}
	}
	return []struct {
		name string
		cfg  func() *config
	}{
		{"default", testConfig},
		{"zonal", with(func(c *config) { c.Zonal = true })},
		{"client_zone_first", with(func(c *config) { c.ClientZoneFirst = true })},
	}
}

// BenchmarkZoneMemory reports the heap clusterdns keeps for a generated
// cluster (fixture.Cluster, whose endpoints are spread over three zones) with
// each zone option, per object (services + endpoints), without Pods or
// Nodes: what keeping the zones and building the per-zone entries costs.
// Run it once:
//
//	go test -run '^$' -bench BenchmarkZoneMemory -benchtime 1x ./plugin/clusterdns/
func BenchmarkZoneMemory(b *testing.B) {
	for _, size := range memorySizes {
		for _, zc := range zoneConfigs() {
			b.Run(size.String()+"/"+zc.name, func(b *testing.B) {
				var bytes, objects int64
				for range b.N {
					bytes, objects = retainedHeap(func() any { return newTestPlugin(b, zc.cfg(), fixture.Cluster(b, size)...) })
				}
				perObject := float64(size.Services + size.Endpoints)
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(float64(bytes)/1e6, "MB")
				b.ReportMetric(float64(bytes)/perObject, "bytes/object")
				b.ReportMetric(float64(objects)/perObject, "heapobjs/object")
			})
		}
	}
}

// genPodsAndNodes returns nodes Nodes (in three zones, with the labels a
// kubelet and a cloud provider set) and pods Pods spread over them, as
// decoded from the API.
func genPodsAndNodes(tb testing.TB, nodes, pods int) []k8sruntime.Object {
	tb.Helper()
	var objs []k8sruntime.Object
	for i := range nodes {
		name := fmt.Sprintf("node-%d.compute.internal", i)
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: fmt.Sprint(1000 + i), Labels: map[string]string{
			"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			corev1.LabelTopologyZone: fmt.Sprintf("zone-%c", 'a'+i%3), corev1.LabelTopologyRegion: "region-1",
			corev1.LabelInstanceTypeStable: "m5.large", "node.kubernetes.io/exclude-from-external-load-balancers": "",
		}}}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.%d.%d", i/256, i%256)}}
		objs = append(objs, fixture.WireCopy(tb, n))
	}
	for i := range pods {
		ip := fmt.Sprintf("10.%d.%d.%d", 64+i/65536, i/256%256, i%256)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("app-%d-7d4b9c-x2x5q", i), Namespace: fmt.Sprintf("namespace-%d", i%50),
			ResourceVersion: fmt.Sprint(5000 + i), Labels: map[string]string{"app": fmt.Sprintf("app-%d", i/10), "pod-template-hash": "7d4b9c"},
		}}
		p.Spec.NodeName = fmt.Sprintf("node-%d.compute.internal", i%max(nodes, 1))
		p.Spec.Containers = []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}
		p.Status.Phase = corev1.PodRunning
		p.Status.PodIP = ip
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
		objs = append(objs, fixture.WireCopy(tb, p))
	}
	return objs
}

// BenchmarkClientZoneWatchMemory reports what the Pod and Node watches of
// client_zone_first keep: the slim objects in their stores, the pod-by-node
// index and the client address -> zone map of the index, per 1,000 Nodes
// (1,000 nodes, no pods) and per 1,000 Pods (10,000 pods on those nodes,
// minus the nodes alone). Run it once:
//
//	go test -run '^$' -bench BenchmarkClientZoneWatchMemory -benchtime 1x ./plugin/clusterdns/
func BenchmarkClientZoneWatchMemory(b *testing.B) {
	const nodes, pods = 1_000, 10_000
	cfg := testConfig()
	cfg.ClientZoneFirst = true
	heap := func(nodes, pods int) int64 {
		bytes, _ := retainedHeap(func() any { return newTestPlugin(b, cfg, genPodsAndNodes(b, nodes, pods)...) })
		return bytes
	}
	for range b.N {
		empty := heap(0, 0)
		withNodes := heap(nodes, 0)
		withPods := heap(nodes, pods)
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(float64(withNodes-empty)/nodes*1000/1e3, "KB/1000nodes")
		b.ReportMetric(float64(withPods-withNodes)/pods*1000/1e3, "KB/1000pods")
	}
}

// fixedAddrWriter is a test writer whose client address is built once.
type fixedAddrWriter struct {
	test.ResponseWriter
	addr net.Addr
}

// RemoteAddr implements dns.ResponseWriter.
func (w *fixedAddrWriter) RemoteAddr() net.Addr { return w.addr }

// BenchmarkZoneServeDNS compares the per-query cost of the zone features on
// the generated cluster's 100-endpoint headless service (three zones): its
// name without and with client_zone_first (for a client pod in zone-a), and
// its pin name with zonal.
func BenchmarkZoneServeDNS(b *testing.B) {
	size := memorySizes[0]
	objs := fixture.Cluster(b, size)
	objs = append(objs, fixture.WireCopy(b, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "client-node", Labels: map[string]string{corev1.LabelTopologyZone: "zone-a"}}}))
	client := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: "namespace-0"}}
	client.Spec.NodeName = "client-node"
	client.Status.Phase = corev1.PodRunning
	client.Status.PodIP = "10.240.0.1" // the writer's remote address below
	objs = append(objs, client)
	ns := fmt.Sprintf("namespace-%d", 9%(size.Services/20))
	name := fixture.HeadlessService + "." + ns + ".svc.cluster.local."
	cases := []struct {
		name, qname string
		cfg         func() *config
	}{
		{"headless_A_100/default", name, zoneConfigs()[0].cfg},
		{"headless_A_100/client_zone_first", name, zoneConfigs()[2].cfg},
		{"zone_pin_A/zonal", "zone-a.pin._zone." + name, zoneConfigs()[1].cfg},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c := newTestPlugin(b, tc.cfg(), objs...)
			ctx := context.Background()
			r := new(dns.Msg)
			r.SetQuestion(tc.qname, dns.TypeA)
			// A server's writer holds the client's address; the test
			// writer would build it on every call.
			w := dnstest.NewRecorder(&fixedAddrWriter{addr: &net.UDPAddr{IP: net.ParseIP("10.240.0.1"), Port: 40212}})
			_, _ = c.ServeDNS(ctx, w, r)
			if w.Msg == nil || w.Msg.Rcode != dns.RcodeSuccess || len(w.Msg.Answer) == 0 {
				b.Fatalf("%s: no answer: %v", tc.qname, w.Msg)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = c.ServeDNS(ctx, w, r)
			}
		})
	}
}
