package clusterdns

import (
	"runtime"
	"testing"

	upstreamobject "github.com/coredns/coredns/plugin/kubernetes/object"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/source"
)

// memorySizes are the clusters BenchmarkMemory measures.
var memorySizes = []fixture.ClusterSize{
	{Services: 1_000, Endpoints: 10_000},
	{Services: 10_000, Endpoints: 100_000},
}

// upstreamStores are the informer stores of CoreDNS's kubernetes plugin (with
// pods disabled, its default): its converted objects in client-go indexers
// with the indexes its controller defines.
type upstreamStores struct {
	services, endpoints, namespaces cache.Indexer
}

// newUpstreamStores fills upstream's stores as its informers do: each object
// goes through upstream's converter, which clears the object it is given,
// and the result is added to the store for its kind.
func newUpstreamStores(tb testing.TB, objs []k8sruntime.Object) *upstreamStores {
	tb.Helper()
	// The index functions of upstream's controller.go (unexported there).
	svcIPs := func(obj any) ([]string, error) {
		return append([]string(nil), obj.(*upstreamobject.Service).ClusterIPs...), nil
	}
	svcExtIPs := func(obj any) ([]string, error) {
		return append([]string(nil), obj.(*upstreamobject.Service).ExternalIPs...), nil
	}
	svcKey := func(obj any) ([]string, error) { return []string{obj.(*upstreamobject.Service).Index}, nil }
	epKey := func(obj any) ([]string, error) { return []string{obj.(*upstreamobject.Endpoints).Index}, nil }
	epIPs := func(obj any) ([]string, error) { return obj.(*upstreamobject.Endpoints).IndexIP, nil }

	key := cache.DeletionHandlingMetaNamespaceKeyFunc
	s := &upstreamStores{
		services:   cache.NewIndexer(key, cache.Indexers{"namespace_name": svcKey, "service_ip": svcIPs, "service_ext_ip": svcExtIPs}),
		endpoints:  cache.NewIndexer(key, cache.Indexers{"namespace_name": epKey, "endpoint_ip": epIPs}),
		namespaces: cache.NewIndexer(key, cache.Indexers{}),
	}
	for _, o := range objs {
		m, ok := o.(metav1.Object)
		if !ok {
			tb.Fatalf("newUpstreamStores: %T has no object metadata", o)
		}
		var err error
		switch o.(type) {
		case *corev1.Service:
			err = s.services.Add(upstreamConvert[*upstreamobject.Service](tb, upstreamobject.ToService, m))
		case *discoveryv1.EndpointSlice:
			err = s.endpoints.Add(upstreamConvert[*upstreamobject.Endpoints](tb, upstreamobject.EndpointSliceToEndpoints, m))
		case *corev1.Namespace:
			err = s.namespaces.Add(upstreamConvert[*upstreamobject.Namespace](tb, upstreamobject.ToNamespace, m))
		default:
			tb.Fatalf("newUpstreamStores: unexpected object %T", o)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// newSlimStores fills clusterdns's stores as newTestPlugin does, with the
// default configuration, and builds no index.
func newSlimStores(tb testing.TB, objs []k8sruntime.Object) source.Stores {
	tb.Helper()
	st := source.NewStores(&testConfig().Config)
	if err := st.Add(object.Slimmer{}, objs...); err != nil {
		tb.Fatalf("newSlimStores: %v", err)
	}
	return st
}

// retainedHeap returns the live heap, in bytes and in heap objects, that
// stays reachable from what build returns. build must create its input
// itself and drop it: whatever it allocated and no longer references is
// garbage by the second reading and not counted, while input memory its
// result still shares (strings, slices) is.
func retainedHeap(build func() any) (bytes, objects int64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := build()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc), int64(after.HeapObjects) - int64(before.HeapObjects)
}

// BenchmarkMemory reports the heap each plugin keeps for a generated cluster
// (fixture.Cluster) once it has synced, per object (services + endpoints):
//
//   - clusterdns: its stores of slimmed objects, the controller's per-service
//     records and the published index, built as newTestPlugin builds them;
//   - kubernetes: the stores of CoreDNS's kubernetes plugin, holding its
//     converted objects under its indexes (upstreamStores);
//   - clusterdns_stores: clusterdns's stores alone, without the index, to
//     split its figure into stores and index (the rest).
//
// The objects are generated inside the measurement, as decoded API objects
// arrive in an informer, and dropped after conversion; only what each
// plugin's stores and index still reach is counted, including strings they
// share with the decoded objects. Go's own overhead (free spans, GC target)
// is not: this is live heap, not RSS.
//
// The measurement does not depend on b.N; run it once:
//
//	go test -run '^$' -bench BenchmarkMemory -benchtime 1x ./plugin/clusterdns/
func BenchmarkMemory(b *testing.B) {
	for _, size := range memorySizes {
		builds := []struct {
			name  string
			build func(testing.TB) any
		}{
			{"clusterdns", func(tb testing.TB) any { return newTestPlugin(tb, nil, fixture.Cluster(tb, size)...) }},
			{"kubernetes", func(tb testing.TB) any { return newUpstreamStores(tb, fixture.Cluster(tb, size)) }},
			{"clusterdns_stores", func(tb testing.TB) any { return newSlimStores(tb, fixture.Cluster(tb, size)) }},
		}
		for _, p := range builds {
			b.Run(size.String()+"/"+p.name, func(b *testing.B) {
				var bytes, objects int64
				for range b.N {
					bytes, objects = retainedHeap(func() any { return p.build(b) })
				}
				perObject := float64(size.Services + size.Endpoints)
				b.ReportMetric(0, "ns/op") // the build time, GCs included, means nothing here
				b.ReportMetric(float64(bytes)/1e6, "MB")
				b.ReportMetric(float64(bytes)/perObject, "bytes/object")
				b.ReportMetric(float64(objects)/perObject, "heapobjs/object")
			})
		}
	}
}
