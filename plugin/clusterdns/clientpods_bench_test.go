package clusterdns

import (
	"context"
	"fmt"
	"testing"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// benchPods returns n running pods spread over the namespaces of
// benchObjects, with addresses in 10.246.0.0/16 and names as a ReplicaSet
// gives them, decoded from protobuf as an informer receives them. The pod
// at index 0 (10.246.0.1) is in ns-0.
func benchPods(tb testing.TB, n int) []runtime.Object {
	objs := make([]runtime.Object, 0, n)
	for i := range n {
		p := fixture.Pod(fmt.Sprintf("ns-%d", i%benchNamespaces), fmt.Sprintf("app-%d-7db6d8ff4d-%05x", i/100, i), corev1.PodRunning, 1,
			fmt.Sprintf("10.246.%d.%d", (i+1)>>8, (i+1)&0xff))
		p.ResourceVersion = fmt.Sprint(100000 + i)
		p.Labels = map[string]string{"app": fmt.Sprintf("app-%d", i/100), "pod-template-hash": "7db6d8ff4d"}
		p.Spec.NodeName = fmt.Sprintf("node-%d", i%50)
		p.Spec.Containers = []corev1.Container{{Name: "app", Image: "registry.example/app:1.0"}}
		p.Status.HostIP = fmt.Sprintf("10.0.0.%d", i%50)
		objs = append(objs, fixture.WireCopy(tb, p))
	}
	return objs
}

// BenchmarkPodWatchMemory reports the heap that `pods verified` keeps per
// 1,000 pods (slim pods in the store, the controller's per-address
// bookkeeping, and the published pod and client maps): the plugin built
// over the same cluster and pods with `pods verified`, less the plugin
// with `pods insecure`, which keeps no pods. Run it once:
//
//	go test -run '^$' -bench BenchmarkPodWatchMemory -benchtime 1x ./plugin/clusterdns/
func BenchmarkPodWatchMemory(b *testing.B) {
	const pods = 10_000
	build := func(mode string) int64 {
		bytes, _ := retainedHeap(func() any {
			cfg := testConfig()
			cfg.PodMode = mode
			return newTestPlugin(b, cfg, append(benchObjects(100), benchPods(b, pods)...)...)
		})
		return bytes
	}
	var verified, insecure int64
	for range b.N {
		verified, insecure = build(podsVerified), build(podsInsecure)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(verified-insecure)/pods*1000/1e3, "KB/1000pods")
}

// BenchmarkClientFeatures measures what autopath and the metadata plugin
// add to a query for web.ns-0.svc.cluster.local from a pod, with 1,000
// services and 10,000 pods:
//
//   - serve: ServeDNS alone, as without either plugin;
//   - autopath: the AutoPath call autopath makes first (the search walk
//     it saves is measured in cmd/coredns, BenchmarkSearchPathLookup);
//     its 2 allocations (64 B) are the test writer's RemoteAddr, which a
//     server's writer does not make;
//   - metadata: a metadata context and the Metadata call, then ServeDNS.
func BenchmarkClientFeatures(b *testing.B) {
	cfg := testConfig()
	cfg.PodMode = podsVerified
	c := newTestPlugin(b, cfg, append(benchObjects(1000), benchPods(b, 10_000)...)...)
	r := new(dns.Msg)
	r.SetQuestion("web.ns-0.svc.cluster.local.", dns.TypeA)
	w := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: "10.246.0.1"})
	state := request.Request{W: w, Req: r}
	if got := c.AutoPath(state); len(got) == 0 || got[0] != "ns-0.svc.cluster.local." {
		b.Fatalf("AutoPath = %q, want the search path of ns-0", got)
	}
	ctx := context.Background()
	b.Run("serve", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = c.ServeDNS(ctx, w, r)
		}
	})
	b.Run("autopath", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.AutoPath(state)
		}
	})
	b.Run("metadata", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mctx := c.Metadata(metadata.ContextWithMetadata(ctx), state)
			_, _ = c.ServeDNS(mctx, w, r)
		}
	})
}
