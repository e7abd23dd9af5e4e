package clusterdns

import (
	"net/netip"
	"slices"
	"strings"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// The slimmer is the informers' transform: it runs before an object enters
// the store (and the temporary store of a relist), and keeps only what
// answers need, so a full API object never lives in our caches.

// service is what clusterdns keeps of a core/v1 Service: its key and
// what its index entry is built from.
type service struct {
	objectMeta
	index.Service
}

// endpointSlice is what clusterdns keeps of a discovery/v1 EndpointSlice:
// its key, when it changed, and what index entries are built from.
type endpointSlice struct {
	objectMeta
	index.Slice

	// TriggerTime is the endpoints.kubernetes.io/last-change-trigger-time
	// annotation in Unix nanoseconds, 0 if absent or unreadable: when the
	// change this version of the slice shows (a pod or Service change)
	// happened, which the programming latency is measured from.
	TriggerTime int64
}

// pod is what clusterdns keeps of a core/v1 Pod, with `pods verified`.
type pod struct {
	objectMeta

	phase       corev1.PodPhase
	hostNetwork bool         // its addresses are its node's
	deleting    bool         // it has a deletion timestamp
	created     int64        // its creation time, Unix seconds
	addrs       []netip.Addr // parsed, distinct
	node        string       // its node's name, with client_zone_first
}

// node is what clusterdns keeps of a core/v1 Node, for client_zone_first.
type node struct {
	objectMeta

	zone string // its topology.kubernetes.io/zone label, lower case; "" if none
}

// Slim objects live in informer stores, which want runtime.Objects. They
// are never modified once built, so a copy shares everything.

// DeepCopyObject implements runtime.Object.
func (s *service) DeepCopyObject() runtime.Object {
	c := *s
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*service) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (s *endpointSlice) DeepCopyObject() runtime.Object {
	c := *s
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*endpointSlice) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (p *pod) DeepCopyObject() runtime.Object {
	c := *p
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*pod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (n *node) DeepCopyObject() runtime.Object {
	c := *n
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*node) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// maxPorts is the most ports kept of one Service or EndpointSlice. An SRV
// answer holds at most about 1,190 records (a 65,535-byte message), and
// every answer at a service's name walks all its ports; the rest are
// skipped and counted.
const maxPorts = 1000

// Kinds and reasons of the skipped_objects_total metric.
const (
	kindService   = "service"
	kindSlice     = "endpointslice"
	kindNamespace = "namespace"

	reasonInvalidName         = "invalid_name"
	reasonInvalidAddress      = "invalid_address"
	reasonInvalidPort         = "invalid_port"
	reasonInvalidPortName     = "invalid_port_name"
	reasonTooManyPorts        = "too_many_ports"
	reasonInvalidExternalName = "invalid_external_name"
	reasonNoServiceLabel      = "no_service_label"
	reasonAddressType         = "unsupported_address_type"
	reasonInvalidHostname     = "invalid_hostname"
	reasonUnknownService      = "unknown_service"
)

// isAddr reports whether s parses as an IP address.
func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// slimmer builds slim objects for one configuration.
type slimmer struct {
	endpointPodNames bool
	keepTerminating  bool // keep serving, terminating endpoints (`fallback_terminating`)
	keepZones        bool // keep the endpoints' zones (`zonal`, `client_zone_first`)
	keepNodes        bool // keep pods' node names (`client_zone_first`)
	multicluster     bool // keep the slices derived for ServiceImports (`multicluster`)
}

// newSlimmer returns the slimmer of a configuration.
func newSlimmer(cfg *config) slimmer {
	return slimmer{endpointPodNames: cfg.endpointPodNames, keepTerminating: cfg.fallbackTerminating,
		keepZones: cfg.keepZones(), keepNodes: cfg.clientZoneFirst, multicluster: cfg.multicluster()}
}

// transform returns the slim form of a Service, EndpointSlice, Namespace,
// Pod, Node or ServiceImport; anything else, such as a tombstone or an already slim object, is
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
		return sl.pod(o), nil
	case *corev1.Node:
		return slimNode(o), nil
	case *mcsv1alpha1.ServiceImport:
		return slimImport(o), nil
	}
	return obj, nil
}

func slimService(s *corev1.Service) *service {
	out := &service{objectMeta: slimMeta(&s.ObjectMeta), Service: index.Service{Selector: len(s.Spec.Selector) > 0}}
	if !dnsname.IsDNSLabel(s.Name) || !dnsname.IsDNSLabel(s.Namespace) {
		// A dot in a name would make its records answer for another
		// service's names (a.b in ns is endpoint a of service b).
		skipped(kindService, reasonInvalidName)
		out.Invalid = true
		return out
	}
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		// An empty target still marks the service as ExternalName.
		out.ExternalName = s.Spec.ExternalName
		if out.ExternalName == "" {
			out.ExternalName = "."
		}
		if target := strings.TrimSuffix(out.ExternalName, "."); !dnsname.ValidHost(target) || isAddr(target) {
			skipped(kindService, reasonInvalidExternalName)
		}
		return out
	}
	out.Headless = s.Spec.ClusterIP == corev1.ClusterIPNone ||
		(len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIPs[0] == corev1.ClusterIPNone)
	raw := s.Spec.ClusterIPs
	if len(raw) == 0 && s.Spec.ClusterIP != "" {
		raw = []string{s.Spec.ClusterIP} // objects written before dual-stack
	}
	out.ClusterIPs = slimIPs(kindService, raw)
	out.Ports = slimPorts(kindService, s.Spec.Ports, func(p corev1.ServicePort) (string, string, int32) {
		return p.Name, string(p.Protocol), p.Port
	})
	return out
}

// slimIPs parses the cluster IPs of a Service (or ServiceImport) of kind,
// once each; "None" and addresses that do not parse are left out.
func slimIPs(kind string, raw []string) []netip.Addr {
	var out []netip.Addr
	for _, r := range raw {
		if r == corev1.ClusterIPNone {
			continue
		}
		ip, err := netip.ParseAddr(r)
		if err != nil || ip.Zone() != "" {
			skipped(kind, reasonInvalidAddress)
			continue
		}
		if !slices.Contains(out, ip.Unmap()) {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// slimPorts keeps the usable ports of a Service (or ServiceImport) of
// kind, at most maxPorts; fields reads a port's name, protocol and number.
func slimPorts[P any](kind string, ports []P, fields func(P) (name, proto string, port int32)) []index.Port {
	if len(ports) > maxPorts {
		skipped(kind, reasonTooManyPorts)
		ports = ports[:maxPorts]
	}
	var out []index.Port
	for _, p := range ports {
		name, proto, port := fields(p)
		if sp, ok := slimPort(kind, name, proto, port); ok {
			out = append(out, sp)
		}
	}
	return out
}

// slimPort checks one port of a Service or EndpointSlice; a port whose
// number is out of range or whose name cannot be a DNS label is skipped.
func slimPort(kind, name, proto string, port int32) (index.Port, bool) {
	if port <= 0 || port > 65535 {
		skipped(kind, reasonInvalidPort)
		return index.Port{}, false
	}
	if name != "" && !dnsname.IsDNSLabel(name) {
		skipped(kind, reasonInvalidPortName)
		return index.Port{}, false
	}
	return index.Port{Name: strings.ToLower(name), Proto: dnsname.Proto(proto), Number: uint16(port)}, true
}

// slice keeps the ready endpoints of a slice with their DNS names (and, when
// asked, the serving terminating ones apart). Slices of
// another address type than IPv4 or IPv6 (the deprecated FQDN type) keep no
// endpoints, nor do addresses that do not parse or fit the slice's family.
func (sl slimmer) slice(s *discoveryv1.EndpointSlice) *endpointSlice {
	out := &endpointSlice{objectMeta: slimMeta(&s.ObjectMeta), Slice: index.Slice{Service: s.Labels[discoveryv1.LabelServiceName]}}
	if t, err := time.Parse(time.RFC3339Nano, s.Annotations[corev1.EndpointsLastChangeTriggerTime]); err == nil {
		out.TriggerTime = t.UnixNano()
	}
	if out.Service == "" && sl.multicluster {
		svc, cluster, ok := importedSliceOwner(s)
		if ok && svc == "" {
			return out // counted as skipped
		}
		out.Service, out.Cluster = svc, cluster
	}
	switch {
	case out.Service == "":
		skipped(kindSlice, reasonNoServiceLabel)
		return out
	case !dnsname.IsDNSLabel(out.Service) || !dnsname.IsDNSLabel(s.Namespace):
		skipped(kindSlice, reasonInvalidName)
		out.Service, out.Cluster = "", ""
		return out
	}
	v4 := s.AddressType == discoveryv1.AddressTypeIPv4
	if !v4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
		skipped(kindSlice, reasonAddressType)
		return out
	}
	ports := s.Ports
	if len(ports) > maxPorts {
		skipped(kindSlice, reasonTooManyPorts)
		ports = ports[:maxPorts]
	}
	for _, p := range ports {
		if p.Port == nil {
			skipped(kindSlice, reasonInvalidPort)
			continue
		}
		name, proto := "", "TCP"
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if sp, ok := slimPort(kindSlice, name, proto, *p.Port); ok {
			out.Ports = append(out.Ports, sp)
		}
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		// Only "ready" gates DNS; unset means ready (discovery/v1 API).
		dst, zones := &out.Ready, &out.Zones
		if e.Conditions.Ready != nil && !*e.Conditions.Ready {
			if !sl.keepTerminating || !servingTerminating(e.Conditions) {
				continue
			}
			dst, zones = &out.Terminating, &out.TermZones
		}
		zone := ""
		if sl.keepZones && e.Zone != nil {
			zone = zoneName(*e.Zone)
		}
		name := sl.endpointName(e)
		for _, a := range e.Addresses {
			ip, err := netip.ParseAddr(a)
			if err != nil || ip.Zone() != "" || ip.Unmap().Is4() != v4 {
				skipped(kindSlice, reasonInvalidAddress)
				continue
			}
			*dst = append(*dst, index.Endpoint{Addr: ip.Unmap(), Name: name, Slice: &out.Slice})
			if zone != "" && *zones == nil {
				*zones = make([]string, len(*dst)-1, cap(*dst))
			}
			if *zones != nil {
				*zones = append(*zones, zone)
			}
		}
	}
	out.Ready = slices.Clip(out.Ready)
	out.Terminating = slices.Clip(out.Terminating)
	out.Zones, out.TermZones = slices.Clip(out.Zones), slices.Clip(out.TermZones)
	return out
}

// servingTerminating reports whether an endpoint is terminating but still
// serving. Unset serving or terminating conditions mean no (discovery/v1
// EndpointConditions: serving defers to ready, which is false here).
func servingTerminating(c discoveryv1.EndpointConditions) bool {
	return c.Serving != nil && *c.Serving && c.Terminating != nil && *c.Terminating
}

// endpointName picks an endpoint's DNS label: its hostname, else (with
// endpoint_pod_names) its pod's name, else "" for the dashed address.
func (sl slimmer) endpointName(e *discoveryv1.Endpoint) string {
	if e.Hostname != nil {
		if dnsname.ValidLabel(*e.Hostname) {
			return strings.ToLower(*e.Hostname)
		}
		skipped(kindSlice, reasonInvalidHostname)
	}
	if sl.endpointPodNames && e.TargetRef != nil && dnsname.ValidLabel(e.TargetRef.Name) {
		return strings.ToLower(e.TargetRef.Name)
	}
	return ""
}

func slimNamespace(n *corev1.Namespace) *corev1.Namespace {
	if !dnsname.IsDNSLabel(n.Name) {
		// Kept, so the store mirrors the API, but never served (namespaceServed).
		skipped(kindNamespace, reasonInvalidName)
	}
	return &corev1.Namespace{ObjectMeta: slimAPIMeta(&n.ObjectMeta)}
}

// slimPod keeps what `pods verified` and the client lookups (autopath,
// client metadata) need of a pod: its addresses, phase, and what tells
// owners of a reused address apart (creation and deletion time, host
// network).
func slimPod(p *corev1.Pod) *pod {
	out := &pod{
		objectMeta:  slimMeta(&p.ObjectMeta),
		phase:       p.Status.Phase,
		hostNetwork: p.Spec.HostNetwork,
		deleting:    p.DeletionTimestamp != nil,
		created:     p.CreationTimestamp.Unix(),
	}
	raw := make([]string, 0, len(p.Status.PodIPs))
	for _, ip := range p.Status.PodIPs {
		raw = append(raw, ip.IP)
	}
	if len(raw) == 0 && p.Status.PodIP != "" {
		raw = append(raw, p.Status.PodIP) // objects written before dual-stack
	}
	for _, r := range raw {
		if a, err := netip.ParseAddr(r); err == nil && a.Zone() == "" && !slices.Contains(out.addrs, a.Unmap()) {
			out.addrs = append(out.addrs, a.Unmap())
		}
	}
	return out
}

// pod is slimPod, with the pod's node kept for client_zone_first.
func (sl slimmer) pod(p *corev1.Pod) *pod {
	out := slimPod(p)
	if sl.keepNodes {
		out.node = p.Spec.NodeName
	}
	return out
}

// slimNode keeps a node's name and its topology.kubernetes.io/zone label.
func slimNode(n *corev1.Node) *node {
	return &node{objectMeta: slimMeta(&n.ObjectMeta), zone: zoneName(n.Labels[corev1.LabelTopologyZone])}
}

// zoneName returns a zone lower case and interned: a cluster has a handful
// of zones, and each decoded endpoint would otherwise keep its own copy.
func zoneName(z string) string {
	if z == "" {
		return ""
	}
	return unique.Make(strings.ToLower(z)).Value()
}

// slimAPIMeta keeps the same fields as slimMeta for objects that stay API
// types (Namespaces).
func slimAPIMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion}
}
