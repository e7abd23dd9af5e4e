package clusterdns

import (
	"context"
	"fmt"
	"testing"

	"github.com/coredns/coredns/plugin/kubernetes"
	"github.com/coredns/coredns/plugin/kubernetes/object"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

// upstreamConn stands in for the informer-backed controller of CoreDNS's
// kubernetes plugin, so that plugin can answer from the same fixture objects
// as ours. Objects go through upstream's own converters (package object) and
// are indexed under the keys upstream's controller indexes them by:
//
//	services:  "<name>.<namespace>", every ClusterIP, every external IP
//	endpoints: "<service-name label>.<namespace>", every ready address
//	pods:      every pod IP
//	namespaces by name
//
// The maps are built once and only read afterwards, so no locking is needed.
// The informer indexer behind the real controller takes a read lock and
// copies a slice on every index call; this stand-in does neither, so it
// costs upstream slightly less per query than production does.
type upstreamConn struct {
	services  []*object.Service
	endpoints []*object.Endpoints

	svcByKey   map[string][]*object.Service
	svcByIP    map[string][]*object.Service
	svcByExtIP map[string][]*object.Service
	epByKey    map[string][]*object.Endpoints
	epByIP     map[string][]*object.Endpoints
	podByIP    map[string][]*object.Pod
	namespaces map[string]*object.Namespace

	// With multicluster: ServiceImports by "<name>.<namespace>", and the
	// slices with the MCS service-name label under the same key, as
	// upstream's second EndpointSlice informer converts them.
	imports     []*object.ServiceImport
	importByKey map[string][]*object.ServiceImport
	mcEpByKey   map[string][]*object.MultiClusterEndpoints
}

// newUpstreamConn converts and indexes objs (Services, EndpointSlices,
// Namespaces, Pods, ServiceImports). The objects are copied first: upstream's converters
// clear the object they are given.
func newUpstreamConn(tb testing.TB, objs ...runtime.Object) *upstreamConn {
	tb.Helper()
	c := &upstreamConn{
		svcByKey:   make(map[string][]*object.Service),
		svcByIP:    make(map[string][]*object.Service),
		svcByExtIP: make(map[string][]*object.Service),
		epByKey:    make(map[string][]*object.Endpoints),
		epByIP:     make(map[string][]*object.Endpoints),
		podByIP:    make(map[string][]*object.Pod),
		namespaces: make(map[string]*object.Namespace),

		importByKey: make(map[string][]*object.ServiceImport),
		mcEpByKey:   make(map[string][]*object.MultiClusterEndpoints),
	}
	for _, o := range objs {
		m, ok := o.DeepCopyObject().(metav1.Object)
		if !ok {
			tb.Fatalf("newUpstreamConn: %T has no object metadata", o)
		}
		switch o.(type) {
		case *corev1.Service:
			svc := upstreamConvert[*object.Service](tb, object.ToService, m)
			c.services = append(c.services, svc)
			c.svcByKey[svc.Index] = append(c.svcByKey[svc.Index], svc)
			for _, ip := range svc.ClusterIPs {
				c.svcByIP[ip] = append(c.svcByIP[ip], svc)
			}
			for _, ip := range svc.ExternalIPs {
				c.svcByExtIP[ip] = append(c.svcByExtIP[ip], svc)
			}
		case *discoveryv1.EndpointSlice:
			// With the endpoints' zones, as its controller converts them
			// under the zonal option; other answers do not use them.
			ep := upstreamConvert[*object.Endpoints](tb, object.EndpointSliceToEndpointsWithZones, m)
			c.endpoints = append(c.endpoints, ep)
			c.epByKey[ep.Index] = append(c.epByKey[ep.Index], ep)
			for _, ip := range ep.IndexIP {
				c.epByIP[ip] = append(c.epByIP[ip], ep)
			}
			if _, ok := o.(*discoveryv1.EndpointSlice).Labels[mcsv1alpha1.LabelServiceName]; ok {
				mc := upstreamConvert[*object.MultiClusterEndpoints](tb, object.EndpointSliceToMultiClusterEndpoints, o.DeepCopyObject().(metav1.Object))
				c.mcEpByKey[mc.Index] = append(c.mcEpByKey[mc.Index], mc)
			}
		case *mcsv1alpha1.ServiceImport:
			si := upstreamConvert[*object.ServiceImport](tb, object.ToServiceImport, m)
			c.imports = append(c.imports, si)
			c.importByKey[si.Index] = append(c.importByKey[si.Index], si)
		case *corev1.Namespace:
			ns := upstreamConvert[*object.Namespace](tb, object.ToNamespace, m)
			c.namespaces[ns.Name] = ns
		case *corev1.Pod:
			if t := m.GetDeletionTimestamp(); t != nil && !t.IsZero() {
				continue // upstream's informer drops terminating pods
			}
			pod := upstreamConvert[*object.Pod](tb, object.ToPod, m)
			for _, ip := range pod.PodIPs {
				c.podByIP[ip] = append(c.podByIP[ip], pod)
			}
		default:
			tb.Fatalf("newUpstreamConn: unexpected object %T", o)
		}
	}
	return c
}

// upstreamConvert applies one of upstream's converters and checks the type it returns.
func upstreamConvert[T any](tb testing.TB, convert func(metav1.Object) (metav1.Object, error), m metav1.Object) T {
	tb.Helper()
	out, err := convert(m)
	if err != nil {
		tb.Fatalf("converting %s/%s: %v", m.GetNamespace(), m.GetName(), err)
	}
	t, ok := out.(T)
	if !ok {
		tb.Fatalf("converting %s/%s: got %T", m.GetNamespace(), m.GetName(), out)
	}
	return t
}

// newUpstreamPlugin returns CoreDNS's kubernetes plugin with its defaults
// (TTL 5, pods disabled, no fallthrough) for cluster.local and both reverse
// zones, answering from objs.
func newUpstreamPlugin(tb testing.TB, objs ...runtime.Object) *kubernetes.Kubernetes {
	tb.Helper()
	k := kubernetes.New([]string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."})
	k.APIConn = newUpstreamConn(tb, objs...)
	return k
}

func (c *upstreamConn) ServiceList() []*object.Service              { return c.services }
func (c *upstreamConn) EndpointsList() []*object.Endpoints          { return c.endpoints }
func (c *upstreamConn) ServiceImportList() []*object.ServiceImport  { return c.imports }
func (c *upstreamConn) SvcIndex(key string) []*object.Service       { return c.svcByKey[key] }
func (c *upstreamConn) SvcIndexReverse(ip string) []*object.Service { return c.svcByIP[ip] }
func (c *upstreamConn) SvcExtIndexReverse(ip string) []*object.Service {
	return c.svcByExtIP[ip]
}
func (c *upstreamConn) SvcImportIndex(key string) []*object.ServiceImport {
	return c.importByKey[key]
}
func (c *upstreamConn) PodIndex(ip string) []*object.Pod             { return c.podByIP[ip] }
func (c *upstreamConn) EpIndex(key string) []*object.Endpoints       { return c.epByKey[key] }
func (c *upstreamConn) EpIndexReverse(ip string) []*object.Endpoints { return c.epByIP[ip] }
func (c *upstreamConn) McEpIndex(key string) []*object.MultiClusterEndpoints {
	return c.mcEpByKey[key]
}

func (c *upstreamConn) GetNodeByName(_ context.Context, name string) (*corev1.Node, error) {
	return nil, fmt.Errorf("node %q not found", name)
}

func (c *upstreamConn) GetNamespaceByName(name string) (*object.Namespace, error) {
	if ns, ok := c.namespaces[name]; ok {
		return ns, nil
	}
	return nil, fmt.Errorf("namespace %q not found", name)
}

func (c *upstreamConn) Run()            {}
func (c *upstreamConn) HasSynced() bool { return true }
func (c *upstreamConn) Stop() error     { return nil }

// Modified is the SOA serial upstream answers with; the objects never change.
func (c *upstreamConn) Modified(kubernetes.ModifiedMode) int64 { return 1 }
