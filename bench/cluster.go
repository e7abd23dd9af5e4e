package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// servicesPerNamespace is how many services each generated namespace holds.
const servicesPerNamespace = 100

// Shape of the generated cluster, per 100 services: 10 headless, 3
// ExternalName, and of the 87 with a ClusterIP one in five dual-stack.
const (
	headlessPct     = 10
	externalNamePct = 3
	dualStackEvery  = 5
)

// serviceKind is what a generated service is.
type serviceKind int

const (
	kindClusterIP serviceKind = iota
	kindDualStack
	kindHeadless
	kindExternalName
)

// genService is one generated service and the endpoints behind it.
type genService struct {
	ns, name  string
	kind      serviceKind
	endpoints int  // ready endpoints in its slices
	hostnames bool // headless endpoints carry hostnames (StatefulSet style)
}

// serviceAt describes the i-th service of the generated cluster. The
// cluster is a pure function of i, so growing it keeps what exists.
func serviceAt(i int) genService {
	r := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	s := genService{ns: namespaceOf(i), name: fmt.Sprintf("svc-%05d", i)}
	switch slot := i % 100; {
	case slot < headlessPct:
		s.kind = kindHeadless
		s.endpoints = 2 + r.IntN(99) // 2..100
		s.hostnames = slot%2 == 0
	case slot < headlessPct+externalNamePct:
		s.kind = kindExternalName
	default:
		s.kind = kindClusterIP
		if i%dualStackEvery == 0 {
			s.kind = kindDualStack
		}
		s.endpoints = 1 + r.IntN(10) // 1..10
	}
	return s
}

func namespaceOf(i int) string { return fmt.Sprintf("bench-%03d", i/servicesPerNamespace) }

// clusterStats counts what the first n services amount to in API objects.
type clusterStats struct {
	Services, Slices, Endpoints, Namespaces int
}

// Objects is the number of Services and EndpointSlices.
func (c clusterStats) Objects() int { return c.Services + c.Slices }

// Items is the number of Services and endpoints: what memory grows with,
// and the unit of the sizing formula.
func (c clusterStats) Items() int { return c.Services + c.Endpoints }

func statsFor(n int) clusterStats {
	c := clusterStats{Services: n, Namespaces: (n + servicesPerNamespace - 1) / servicesPerNamespace}
	for i := 0; i < n; i++ {
		slices := slicesFor(serviceAt(i), i)
		c.Slices += len(slices)
		for _, sl := range slices {
			c.Endpoints += len(sl.Endpoints)
		}
	}
	return c
}

// serviceObject is the API object of s.
func serviceObject(s genService) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: s.name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": s.name},
			Ports: []corev1.ServicePort{
				{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80},
				{Name: "grpc", Protocol: corev1.ProtocolTCP, Port: 9090},
			},
		},
	}
	switch s.kind {
	case kindHeadless:
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	case kindExternalName:
		svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: s.name + ".example.net"}
	case kindDualStack:
		policy := corev1.IPFamilyPolicyRequireDualStack
		svc.Spec.IPFamilyPolicy = &policy
	}
	return svc
}

// slicesFor returns the EndpointSlices of s, the i-th service: one per
// address family it serves, as the endpointslice controller would write.
func slicesFor(s genService, i int) []*discoveryv1.EndpointSlice {
	if s.endpoints == 0 {
		return nil
	}
	families := []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	if s.kind == kindDualStack {
		families = append(families, discoveryv1.AddressTypeIPv6)
	}
	var out []*discoveryv1.EndpointSlice
	for _, fam := range families {
		sl := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: s.ns,
				Name:      fmt.Sprintf("%s-%s", s.name, map[discoveryv1.AddressType]string{discoveryv1.AddressTypeIPv4: "v4", discoveryv1.AddressTypeIPv6: "v6"}[fam]),
				Labels:    map[string]string{discoveryv1.LabelServiceName: s.name, discoveryv1.LabelManagedBy: "bench"},
			},
			AddressType: fam,
			Ports: []discoveryv1.EndpointPort{
				{Name: ptr("http"), Protocol: ptr(corev1.ProtocolTCP), Port: ptr(int32(8080))},
				{Name: ptr("grpc"), Protocol: ptr(corev1.ProtocolTCP), Port: ptr(int32(9090))},
			},
		}
		for e := 0; e < s.endpoints; e++ {
			ep := discoveryv1.Endpoint{
				Addresses:  []string{endpointIP(fam, i, e)},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
			}
			if s.hostnames {
				ep.Hostname = ptr(fmt.Sprintf("%s-%d", s.name, e))
			}
			sl.Endpoints = append(sl.Endpoints, ep)
		}
		out = append(out, sl)
	}
	return out
}

// endpointIP is the address of endpoint e of service i: unique across the
// cluster, in 10.128.0.0/9 or fd00:10:244::/64. Addresses are answer data
// only; nothing ever sends traffic to them.
func endpointIP(fam discoveryv1.AddressType, i, e int) string {
	n := uint32(i)*128 + uint32(e)
	if fam == discoveryv1.AddressTypeIPv6 {
		var b [16]byte
		copy(b[:], netip.MustParseAddr("fd00:10:244::").AsSlice())
		b[12], b[13], b[14], b[15] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return netip.AddrFrom16(b).String()
	}
	return netip.AddrFrom4([4]byte{10, 128 | byte(n>>16&0x7f), byte(n >> 8), byte(n)}).String()
}

func ptr[T any](v T) *T { return &v }

// grow creates services [from, to) with their namespaces and slices through
// the API, with workers in parallel, and reports progress.
func grow(ctx context.Context, cs kubernetes.Interface, from, to, workers int, progress func(done int)) error {
	for ns := from / servicesPerNamespace; ns*servicesPerNamespace < to; ns++ {
		if err := createNamespace(ctx, cs, namespaceOf(ns*servicesPerNamespace)); err != nil {
			return err
		}
	}
	return createServices(ctx, cs, serviceAt, from, to, workers, progress)
}

// growOneNamespace creates services [0, n) all in namespace ns, the
// generated cluster of grow with its namespaces merged into one.
func growOneNamespace(ctx context.Context, cs kubernetes.Interface, ns string, n, workers int, progress func(done int)) error {
	if err := createNamespace(ctx, cs, ns); err != nil {
		return err
	}
	return createServices(ctx, cs, inNamespace(ns), 0, n, workers, progress)
}

// inNamespace places the generated services in ns: serviceAt with its
// namespace replaced. Names and addresses stay unique, as they are unique
// across the whole generated cluster.
func inNamespace(ns string) func(i int) genService {
	return func(i int) genService {
		s := serviceAt(i)
		s.ns = ns
		return s
	}
}

func createNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// createServices creates services [from, to) as at describes them, with
// their slices, with workers in parallel, and reports progress.
func createServices(ctx context.Context, cs kubernetes.Interface, at func(i int) genService, from, to, workers int, progress func(done int)) error {
	var next, done atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				if err := createService(ctx, cs, at(i), i); err != nil {
					errs <- fmt.Errorf("service %d: %w", i, err)
					return
				}
				if d := done.Add(1); d%2000 == 0 && progress != nil {
					progress(from + int(d))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	// Workers stop without an error when ctx ends; the cluster is then
	// smaller than asked.
	return ctx.Err()
}

// createService creates s, the i-th generated service, and its slices.
func createService(ctx context.Context, cs kubernetes.Interface, s genService, i int) error {
	if _, err := cs.CoreV1().Services(s.ns).Create(ctx, serviceObject(s), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	for _, sl := range slicesFor(s, i) {
		if _, err := cs.DiscoveryV1().EndpointSlices(s.ns).Create(ctx, sl, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}
