package clusterdns

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// genImports returns n ServiceImports in namespace prod, every other one
// Headless, each with one derived slice of perCluster endpoints in each of
// the clusters east and west (none when perCluster is 0).
func genImports(n, perCluster int) []k8sruntime.Object {
	objs := []k8sruntime.Object{fixture.Namespace("prod")}
	http := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 8080)}
	for i := range n {
		name := fmt.Sprintf("import-%d", i)
		if i%2 == 0 {
			objs = append(objs, fixture.Import("prod", name, mcsv1alpha1.ClusterSetIP,
				[]string{fmt.Sprintf("10.100.%d.%d", i/250, i%250+1)}, fixture.ImportPort("http", corev1.ProtocolTCP, 80)))
		} else {
			objs = append(objs, fixture.Import("prod", name, mcsv1alpha1.Headless, nil, fixture.ImportPort("http", corev1.ProtocolTCP, 8080)))
		}
		if perCluster == 0 {
			continue
		}
		for c, cluster := range []string{"east", "west"} {
			eps := make([]fixture.Endpoint, perCluster)
			for j := range eps {
				eps[j] = fixture.Endpoint{IP: fmt.Sprintf("10.%d.%d.%d", 1+c, i/64, (i%64)*perCluster+j+1)}
			}
			objs = append(objs, fixture.ImportedSlice("prod", name, cluster, name+"-"+cluster, discoveryv1.AddressTypeIPv4, http, eps...))
		}
	}
	return objs
}

// BenchmarkImportMemory reports the heap clusterdns keeps per
// ServiceImport with `multicluster` (stores and index, built as
// newTestPlugin builds them), without derived slices and with 3 endpoints
// in each of 2 clusters; half the imports are ClusterSetIP, half Headless.
// Like BenchmarkMemory it does not depend on b.N; run it once:
//
//	go test -run '^$' -bench BenchmarkImportMemory -benchtime 1x ./plugin/clusterdns/
func BenchmarkImportMemory(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, perCluster := range []int{0, 3} {
			b.Run(fmt.Sprintf("imports=%d/endpoints=%d", n, 2*perCluster*n), func(b *testing.B) {
				var bytes, objects int64
				for range b.N {
					bytes, objects = retainedHeap(func() any {
						return newTestPlugin(b, multiclusterConfig(), genImports(n, perCluster)...)
					})
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(float64(bytes)/1e6, "MB")
				b.ReportMetric(float64(bytes)/float64(n)*1000/1e6, "MB/1000imports")
				b.ReportMetric(float64(objects)/float64(n), "heapobjs/import")
			})
		}
	}
}
