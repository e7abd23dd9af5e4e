package clusterdns

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The slimmer is the informers' transform: it runs before an object enters
// the store (and the temporary store of a relist), and keeps only what
// answers need, so a full API object never lives in our caches.

// service is what clusterdns keeps of a core/v1 Service.
type service struct {
	metav1.ObjectMeta // name, namespace and resourceVersion only

	externalName string       // the target of an ExternalName service, else ""
	headless     bool         // clusterIP None
	clusterIPs   []netip.Addr // parsed, distinct
	ports        []slicePort  // ports that SRV records can name
}

// endpointSlice is what clusterdns keeps of a discovery/v1 EndpointSlice:
// its Service, ports and ready endpoints.
type endpointSlice struct {
	metav1.ObjectMeta // name, namespace and resourceVersion only

	service string      // the kubernetes.io/service-name label
	ports   []slicePort // ports that SRV records can name
	eps     []sliceEndpoint
}

// sliceEndpoint is one ready address of a slice.
type sliceEndpoint struct {
	addr  netip.Addr
	name  string         // hostname, or pod name with endpoint_pod_names; "" for the dashed address
	slice *endpointSlice // for its ports
}

// Slim objects live in informer stores, which want runtime.Objects. They
// are never modified once built, so a copy shares everything but the meta.

// DeepCopyObject implements runtime.Object.
func (s *service) DeepCopyObject() runtime.Object {
	c := *s
	s.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*service) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (s *endpointSlice) DeepCopyObject() runtime.Object {
	c := *s
	s.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*endpointSlice) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// slimmer builds slim objects for one configuration.
type slimmer struct {
	endpointPodNames bool
}

// transform returns the slim form of a Service, EndpointSlice, Namespace or
// Pod; anything else, such as a tombstone or an already slim object, is
// returned unchanged.
func (sl slimmer) transform(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Service:
		return slimService(o), nil
	case *discoveryv1.EndpointSlice:
		return sl.slice(o), nil
	case *corev1.Namespace:
		return slimNamespace(o), nil
	case *corev1.Pod:
		return slimPod(o), nil
	}
	return obj, nil
}

func slimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion}
}

func slimService(s *corev1.Service) *service {
	out := &service{ObjectMeta: slimMeta(&s.ObjectMeta)}
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		// An empty target still marks the service as ExternalName.
		out.externalName = s.Spec.ExternalName
		if out.externalName == "" {
			out.externalName = "."
		}
		return out
	}
	out.headless = s.Spec.ClusterIP == corev1.ClusterIPNone ||
		(len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIPs[0] == corev1.ClusterIPNone)
	raw := s.Spec.ClusterIPs
	if len(raw) == 0 && s.Spec.ClusterIP != "" {
		raw = []string{s.Spec.ClusterIP} // objects written before dual-stack
	}
	for _, r := range raw {
		if ip, err := netip.ParseAddr(r); err == nil && ip.Zone() == "" && !slices.Contains(out.clusterIPs, ip.Unmap()) {
			out.clusterIPs = append(out.clusterIPs, ip.Unmap())
		}
	}
	for _, p := range s.Spec.Ports {
		if p.Port > 0 && p.Port <= 65535 {
			out.ports = append(out.ports, slicePort{name: lower(p.Name), proto: protoName(string(p.Protocol)), port: uint16(p.Port)})
		}
	}
	return out
}

// slice keeps the ready endpoints of a slice with their DNS names. Slices of
// another address type than IPv4 or IPv6 (the deprecated FQDN type) keep no
// endpoints, nor do addresses that do not parse or fit the slice's family.
func (sl slimmer) slice(s *discoveryv1.EndpointSlice) *endpointSlice {
	out := &endpointSlice{ObjectMeta: slimMeta(&s.ObjectMeta), service: s.Labels[discoveryv1.LabelServiceName]}
	v4 := s.AddressType == discoveryv1.AddressTypeIPv4
	if !v4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
		return out
	}
	for _, p := range s.Ports {
		if p.Port == nil || *p.Port <= 0 || *p.Port > 65535 {
			continue
		}
		name, proto := "", "TCP"
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		out.ports = append(out.ports, slicePort{name: lower(name), proto: protoName(proto), port: uint16(*p.Port)})
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		// Only "ready" gates DNS; unset means ready (discovery/v1 API).
		if e.Conditions.Ready != nil && !*e.Conditions.Ready {
			continue
		}
		name := sl.endpointName(e)
		for _, a := range e.Addresses {
			ip, err := netip.ParseAddr(a)
			if err != nil || ip.Zone() != "" {
				continue
			}
			if ip = ip.Unmap(); ip.Is4() != v4 {
				continue
			}
			out.eps = append(out.eps, sliceEndpoint{addr: ip, name: name, slice: out})
		}
	}
	out.eps = slices.Clip(out.eps)
	return out
}

// endpointName picks an endpoint's DNS label: its hostname, else (with
// endpoint_pod_names) its pod's name, else "" for the dashed address.
func (sl slimmer) endpointName(e *discoveryv1.Endpoint) string {
	if e.Hostname != nil && validLabel(*e.Hostname) {
		return lower(*e.Hostname)
	}
	if sl.endpointPodNames && e.TargetRef != nil && validLabel(e.TargetRef.Name) {
		return lower(e.TargetRef.Name)
	}
	return ""
}

func slimNamespace(n *corev1.Namespace) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: slimMeta(&n.ObjectMeta)}
}

func slimPod(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{ObjectMeta: slimMeta(&p.ObjectMeta)}
	out.Status.Phase = p.Status.Phase
	out.Status.PodIP = p.Status.PodIP
	out.Status.PodIPs = p.Status.PodIPs
	return out
}
