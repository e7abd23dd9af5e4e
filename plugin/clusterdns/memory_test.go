package clusterdns

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"

	upstreamobject "github.com/coredns/coredns/plugin/kubernetes/object"
	"github.com/miekg/dns"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// clusterSize is the size of a generated cluster: how many Services, and how
// many endpoints (pods backing a service) over all of them.
type clusterSize struct {
	services, endpoints int
}

func (s clusterSize) String() string {
	return fmt.Sprintf("%dsvc_%dep", s.services, s.endpoints)
}

// memorySizes are the clusters BenchmarkMemory measures.
var memorySizes = []clusterSize{
	{services: 1_000, endpoints: 10_000},
	{services: 10_000, endpoints: 100_000},
}

// The fixed services of a generated cluster, for BenchmarkRebuildService:
// service-0 is a ClusterIP service (3 to 10 endpoints) and service-9 is the
// first headless one, always with exactly 100 endpoints, in one IPv4 slice.
const (
	genClusterIPService = "service-0"
	genHeadlessService  = "service-9"
	genHeadlessSize     = 100
)

// genCluster returns a cluster of size.services Services backed by
// size.endpoints endpoints in total, with their EndpointSlices and
// Namespaces, as the API server would send them. The content is fixed for a
// given size:
//
//   - one namespace per 20 services (namespace-<n>), services spread over
//     them round-robin;
//   - every 10th service (service-9, service-19, ...) is headless with 2 to
//     100 endpoints (service-9 has 100); half of those have hostnames and
//     StatefulSet-style pod names, as a StatefulSet's governing service does;
//   - the rest are ClusterIP services with 3 to 10 endpoints, chosen so the
//     endpoints add up to size.endpoints;
//   - service-3, service-13, ... (ClusterIP) and service-49, service-99, ...
//     (headless) are dual-stack: an IPv6 ClusterIP (unless headless) and an
//     IPv6 slice next to the IPv4 one, so their pods are listed once per
//     family but count once as endpoints;
//   - every 4th service has a second port (metrics 9090/TCP);
//   - all endpoints are ready, with node, zone and pod reference filled in as
//     the EndpointSlice controller writes them.
//
// Every object is encoded to protobuf and decoded again, so like objects
// from an informer each owns its strings instead of sharing the generator's.
func genCluster(tb testing.TB, size clusterSize) []k8sruntime.Object {
	tb.Helper()
	if size.services < 10 {
		tb.Fatalf("genCluster: need at least 10 services, got %d", size.services)
	}
	rng := rand.New(rand.NewPCG(uint64(size.services), uint64(size.endpoints)))
	randName := func(n int) string {
		const chars = "bcdfghjklmnpqrstvwxz2456789"
		b := make([]byte, n)
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
		}
		return string(b)
	}
	uid := func() types.UID {
		return types.UID(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
			rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff))
	}
	rv := 1000
	resourceVersion := func() string {
		rv += 1 + rng.IntN(50)
		return fmt.Sprint(rv)
	}

	headless := func(i int) bool { return i%10 == 9 }
	dualStack := func(i int) bool { return i%10 == 3 || i%50 == 49 }

	// Endpoints per service: headless ones first, then the ClusterIP ones
	// share what is left, each between 3 and 10.
	counts := make([]int, size.services)
	var clusterIP []int
	left := size.endpoints
	for i := range counts {
		switch {
		case i == 9:
			counts[i] = genHeadlessSize
		case headless(i):
			counts[i] = 2 + rng.IntN(99)
		default:
			clusterIP = append(clusterIP, i)
			continue
		}
		left -= counts[i]
	}
	const lo, hi = 3, 10
	if left < lo*len(clusterIP) || left > hi*len(clusterIP) {
		tb.Fatalf("genCluster: %d endpoints left for %d ClusterIP services, want %d to %d each",
			left, len(clusterIP), lo, hi)
	}
	for _, i := range clusterIP {
		counts[i] = lo
	}
	for extra := left - lo*len(clusterIP); extra > 0; {
		if i := clusterIP[rng.IntN(len(clusterIP))]; counts[i] < hi {
			counts[i]++
			extra--
		}
	}

	nsCount := max(1, size.services/20)
	var objs []k8sruntime.Object
	for n := range nsCount {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("namespace-%d", n), UID: uid(), ResourceVersion: resourceVersion(),
			Labels: map[string]string{corev1.LabelMetadataName: fmt.Sprintf("namespace-%d", n)},
		}}
		ns.Status.Phase = corev1.NamespaceActive
		objs = append(objs, wireCopy(tb, ns))
	}

	svcV4 := netip.MustParseAddr("10.96.0.0").As4()
	podV4 := netip.MustParseAddr("10.64.0.0").As4()
	svcV6 := netip.MustParseAddr("fd00:10:96::").As16()
	podV6 := netip.MustParseAddr("fd00:10:244::").As16()
	v4 := func(base [4]byte, n int) string {
		base[1] += byte(n >> 16)
		base[2], base[3] = byte(n>>8), byte(n)
		return netip.AddrFrom4(base).String()
	}
	v6 := func(base [16]byte, n int) string {
		base[13], base[14], base[15] = byte(n>>16), byte(n>>8), byte(n)
		return netip.AddrFrom16(base).String()
	}
	zones := []string{"zone-a", "zone-b", "zone-c"}
	nodes := max(3, size.endpoints/30)
	pod := 0
	for i := range size.services {
		name := fmt.Sprintf("service-%d", i)
		ns := fmt.Sprintf("namespace-%d", i%nsCount)
		ports := []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}}
		slicePorts := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 8080)}
		if i%4 == 0 {
			ports = append(ports, corev1.ServicePort{Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9090, TargetPort: intstr.FromString("metrics")})
			slicePorts = append(slicePorts, fixture.SlicePort("metrics", corev1.ProtocolTCP, 9090))
		}
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ns, UID: uid(), ResourceVersion: resourceVersion(),
				Labels: map[string]string{"app.kubernetes.io/name": name},
			},
			Spec: corev1.ServiceSpec{
				Type:                  corev1.ServiceTypeClusterIP,
				Ports:                 ports,
				Selector:              map[string]string{"app.kubernetes.io/name": name},
				SessionAffinity:       corev1.ServiceAffinityNone,
				InternalTrafficPolicy: new(corev1.ServiceInternalTrafficPolicyCluster),
			},
		}
		families := []corev1.IPFamily{corev1.IPv4Protocol}
		policy := corev1.IPFamilyPolicySingleStack
		if dualStack(i) {
			families = append(families, corev1.IPv6Protocol)
			policy = corev1.IPFamilyPolicyPreferDualStack
		}
		svc.Spec.IPFamilies, svc.Spec.IPFamilyPolicy = families, &policy
		if headless(i) {
			svc.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
		} else {
			svc.Spec.ClusterIPs = []string{v4(svcV4, i+1)}
			if dualStack(i) {
				svc.Spec.ClusterIPs = append(svc.Spec.ClusterIPs, v6(svcV6, i+1))
			}
		}
		svc.Spec.ClusterIP = svc.Spec.ClusterIPs[0]
		objs = append(objs, wireCopy(tb, svc))

		// The pods behind the service: names, nodes and zones, then one
		// slice per family listing them.
		statefulSet := headless(i) && i%20 == 9
		podHash := randName(10)
		type podInfo struct {
			name, node, zone string
			n                int
		}
		pods := make([]podInfo, counts[i])
		for j := range pods {
			pod++
			p := podInfo{name: fmt.Sprintf("%s-%s-%s", name, podHash, randName(5)), n: pod}
			if statefulSet {
				p.name = fmt.Sprintf("%s-%d", name, j)
			}
			node := rng.IntN(nodes)
			p.node, p.zone = fmt.Sprintf("node-%d", node), zones[node%len(zones)]
			pods[j] = p
		}
		for _, family := range families {
			slice := &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{
					Name: name + "-" + randName(5), Namespace: ns, UID: uid(), ResourceVersion: resourceVersion(),
					Generation: 1,
					Labels: map[string]string{
						discoveryv1.LabelServiceName: name,
						discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
						"app.kubernetes.io/name":     name,
					},
				},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       slicePorts,
			}
			if family == corev1.IPv6Protocol {
				slice.AddressType = discoveryv1.AddressTypeIPv6
			}
			for _, p := range pods {
				ip := v4(podV4, p.n)
				if family == corev1.IPv6Protocol {
					ip = v6(podV6, p.n)
				}
				ep := discoveryv1.Endpoint{
					Addresses: []string{ip},
					Conditions: discoveryv1.EndpointConditions{
						Ready: new(true), Serving: new(true), Terminating: new(false),
					},
					TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p.name, UID: uid()},
					NodeName:  new(p.node),
					Zone:      new(p.zone),
				}
				if statefulSet {
					ep.Hostname = new(p.name)
				}
				slice.Endpoints = append(slice.Endpoints, ep)
			}
			objs = append(objs, wireCopy(tb, slice))
		}
	}
	return objs
}

// wireCopy returns in as a client decodes it from the API: encoded to
// protobuf and decoded into a new object, which shares no memory with in.
func wireCopy[T any, P interface {
	*T
	k8sruntime.Object
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}](tb testing.TB, in P) P {
	tb.Helper()
	data, err := in.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	out := P(new(T))
	if err := out.Unmarshal(data); err != nil {
		tb.Fatal(err)
	}
	return out
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
func newSlimStores(tb testing.TB, objs []k8sruntime.Object) stores {
	tb.Helper()
	st := newStores(testConfig())
	for _, o := range objs {
		slim, _ := object.Slimmer{}.Transform(o)
		var err error
		switch o.(type) {
		case *corev1.Service:
			err = st.services.Add(slim)
		case *discoveryv1.EndpointSlice:
			err = st.slices.Add(slim)
		case *corev1.Namespace:
			err = st.namespaces.Add(slim)
		default:
			tb.Fatalf("newSlimStores: unexpected object %T", o)
		}
		if err != nil {
			tb.Fatal(err)
		}
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
// (genCluster) once it has synced, per object (services + endpoints):
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
			{"clusterdns", func(tb testing.TB) any { return newTestPlugin(tb, nil, genCluster(tb, size)...) }},
			{"kubernetes", func(tb testing.TB) any { return newUpstreamStores(tb, genCluster(tb, size)) }},
			{"clusterdns_stores", func(tb testing.TB) any { return newSlimStores(tb, genCluster(tb, size)) }},
		}
		for _, p := range builds {
			b.Run(size.String()+"/"+p.name, func(b *testing.B) {
				var bytes, objects int64
				for range b.N {
					bytes, objects = retainedHeap(func() any { return p.build(b) })
				}
				perObject := float64(size.services + size.endpoints)
				b.ReportMetric(0, "ns/op") // the build time, GCs included, means nothing here
				b.ReportMetric(float64(bytes)/1e6, "MB")
				b.ReportMetric(float64(bytes)/perObject, "bytes/object")
				b.ReportMetric(float64(objects)/perObject, "heapobjs/object")
			})
		}
	}
}

// BenchmarkRebuildService measures what clusterdns spends to program one
// EndpointSlice change in a cluster of 10,000 services and 100,000 endpoints:
// the store update, then markService and process, which rebuild the
// service's records and publish a new snapshot. Each iteration replaces one
// endpoint (a new pod with a new address) or puts it back, so every
// iteration is a real change. The slice arrives slimmed, as the informer's
// transform leaves it.
//
//   - headless_100: the headless service-9, 100 endpoints in one slice (with
//     hostnames, so the replaced pod keeps its name and changes address);
//   - clusterip: the ClusterIP service-0 (3 to 10 endpoints).
func BenchmarkRebuildService(b *testing.B) {
	objs := genCluster(b, clusterSize{services: 10_000, endpoints: 100_000})
	// The slices to change, as generated, before newTestPlugin's slimming.
	raw := make(map[string]*discoveryv1.EndpointSlice)
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok && s.AddressType == discoveryv1.AddressTypeIPv4 {
			if name := s.Labels[discoveryv1.LabelServiceName]; name == genHeadlessService || name == genClusterIPService {
				raw[name] = s.DeepCopy()
			}
		}
	}
	c := newTestPlugin(b, nil, objs...)
	ctl := c.ctl.Load()

	for _, tc := range []struct{ name, service, addr string }{
		{"headless_100", genHeadlessService, "10.255.255.1"},
		{"clusterip", genClusterIPService, "10.255.255.2"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			orig := raw[tc.service]
			if orig == nil {
				b.Fatalf("no IPv4 slice for %s", tc.service)
			}
			if tc.service == genHeadlessService && len(orig.Endpoints) != genHeadlessSize {
				b.Fatalf("%s has %d endpoints, want %d", tc.service, len(orig.Endpoints), genHeadlessSize)
			}
			changed := orig.DeepCopy()
			changed.ResourceVersion += "1"
			ep := &changed.Endpoints[0]
			ep.Addresses = []string{tc.addr}
			ep.TargetRef.Name += "-replaced"
			versions := []any{mustSlim(b, changed), mustSlim(b, orig)}
			key := orig.Namespace + "/" + tc.service
			apply := func(v any) {
				if err := ctl.st.slices.Update(v); err != nil {
					b.Fatal(err)
				}
				ctl.markService(key)
				ctl.process()
			}

			// The change shows in answers, and so does putting it back.
			qname, err := dns.ReverseAddr(tc.addr)
			if err != nil {
				b.Fatal(err)
			}
			for i, want := range []int{dns.RcodeSuccess, dns.RcodeNameError} {
				apply(versions[i])
				m, err := serveQuery(c, qname, dns.TypePTR)
				if err != nil {
					b.Fatal(err)
				}
				if m.Rcode != want {
					b.Fatalf("%s after change %d: got %s, want %s", qname, i, dns.RcodeToString[m.Rcode], dns.RcodeToString[want])
				}
			}

			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				apply(versions[i%2])
			}
			apply(versions[1]) // leave the service as it was
		})
	}
}

// mustSlim returns the slim copy the informer's transform makes of s.
func mustSlim(tb testing.TB, s *discoveryv1.EndpointSlice) any {
	tb.Helper()
	slim, err := object.Slimmer{}.Transform(s)
	if err != nil {
		tb.Fatal(err)
	}
	return slim
}
