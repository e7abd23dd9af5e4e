// Package object holds the slim forms clusterdns keeps of Kubernetes
// objects, and the Slimmer that makes them. The Slimmer is the informers'
// transform: it runs before an object enters the store (and the temporary
// store of a relist), and keeps only what answers need, so a full API
// object never lives in the caches. It uses k8s.io/api and apimachinery,
// never client-go.
package object

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

// Service is what clusterdns keeps of a core/v1 Service: its key and
// what its index entry is built from.
type Service struct {
	Meta
	index.Service
}

// EndpointSlice is what clusterdns keeps of a discovery/v1 EndpointSlice:
// its key, when it changed, and what index entries are built from.
type EndpointSlice struct {
	Meta
	index.Slice

	// TriggerTime is the endpoints.kubernetes.io/last-change-trigger-time
	// annotation in Unix nanoseconds, 0 if absent or unreadable: when the
	// change this version of the slice shows (a pod or Service change)
	// happened, which the programming latency is measured from.
	TriggerTime int64
}

// Pod is what clusterdns keeps of a core/v1 Pod, with `pods verified`.
type Pod struct {
	Meta

	Phase       corev1.PodPhase
	HostNetwork bool         // its addresses are its node's
	Deleting    bool         // it has a deletion timestamp
	Created     int64        // its creation time, Unix seconds
	Addrs       []netip.Addr // parsed, distinct
	Node        string       // its node's name, with client_zone_first
}

// Node is what clusterdns keeps of a core/v1 Node, for client_zone_first.
type Node struct {
	Meta

	Zone string // its topology.kubernetes.io/zone label, lower case; "" if none
}

// Slim objects live in informer stores, which want runtime.Objects. They
// are never modified once built, so a copy shares everything.

// DeepCopyObject implements runtime.Object.
func (s *Service) DeepCopyObject() runtime.Object {
	c := *s
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*Service) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (s *EndpointSlice) DeepCopyObject() runtime.Object {
	c := *s
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*EndpointSlice) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (p *Pod) DeepCopyObject() runtime.Object {
	c := *p
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*Pod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (n *Node) DeepCopyObject() runtime.Object {
	c := *n
	return &c
}

// GetObjectKind implements runtime.Object; slim objects carry no type meta.
func (*Node) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// maxPorts is the most ports kept of one Service or EndpointSlice. An SRV
// answer holds at most about 1,190 records (a 65,535-byte message), and
// every answer at a service's name walks all its ports; the rest are
// skipped and counted.
const maxPorts = 1000

// Kinds and reasons of the skipped_objects_total metric.
const (
	KindService   = "service"
	KindSlice     = "endpointslice"
	KindNamespace = "namespace"

	ReasonInvalidName         = "invalid_name"
	ReasonInvalidAddress      = "invalid_address"
	ReasonInvalidPort         = "invalid_port"
	ReasonInvalidPortName     = "invalid_port_name"
	ReasonTooManyPorts        = "too_many_ports"
	ReasonInvalidExternalName = "invalid_external_name"
	ReasonNoServiceLabel      = "no_service_label"
	ReasonAddressType         = "unsupported_address_type"
	ReasonInvalidHostname     = "invalid_hostname"
	ReasonUnknownService      = "unknown_service"
)

// isAddr reports whether s parses as an IP address.
func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// Slimmer builds slim objects for one configuration.
type Slimmer struct {
	EndpointPodNames bool
	KeepTerminating  bool // keep serving, terminating endpoints (`fallback_terminating`)
	KeepZones        bool // keep the endpoints' zones (`zonal`, `client_zone_first`)
	KeepNodes        bool // keep pods' node names (`client_zone_first`, `traffic_distribution`)
	KeepHints        bool // keep the ready endpoints' topology hints (`traffic_distribution`)
	Multicluster     bool // keep the slices derived for ServiceImports (`multicluster`)
	// TenantLabel is the namespace label whose value names a namespace's
	// tenant (`isolate`); Namespaces keep it alone of their labels.
	TenantLabel string
	// Counted, if set, is where the transform remembers the object versions
	// whose skipped parts it counted, and counts none of them again.
	Counted *Counted
	// Ports, if set, shares equal port lists among the objects slimmed.
	Ports *PortLists

	// quiet is set by Transform for a version counted already; key and rv
	// name the version being slimmed.
	quiet bool
	key   CountedKey
	rv    string
}

// Transform returns the slim form of a Service, EndpointSlice, Namespace,
// Pod, Node or ServiceImport; anything else, such as a tombstone or an already slim object, is
// returned unchanged.
func (sl Slimmer) Transform(obj any) (any, error) {
	if sl.Counted != nil {
		if k, rv, ok := countedKey(obj); ok {
			sl.key, sl.rv, sl.quiet = k, rv, sl.Counted.Seen(k, rv)
		}
	}
	switch o := obj.(type) {
	case *corev1.Service:
		return sl.Service(o), nil
	case *discoveryv1.EndpointSlice:
		return sl.EndpointSlice(o), nil
	case *corev1.Namespace:
		return sl.Namespace(o), nil
	case *corev1.Pod:
		return sl.Pod(o), nil
	case *corev1.Node:
		return SlimNode(o), nil
	case *mcsv1alpha1.ServiceImport:
		return sl.Import(o), nil
	}
	return obj, nil
}

// SlimService returns the slim form of a Service, counting what it skips.
func SlimService(s *corev1.Service) *Service { return Slimmer{}.Service(s) }

// Service returns the slim form of a Service.
func (sl Slimmer) Service(s *corev1.Service) *Service {
	out := &Service{Meta: MetaOf(&s.ObjectMeta), Service: index.Service{Selector: len(s.Spec.Selector) > 0}}
	if !dnsname.IsDNSLabel(s.Name) || !dnsname.IsDNSLabel(s.Namespace) {
		// A dot in a name would make its records answer for another
		// service's names (a.b in ns is endpoint a of service b).
		sl.skip(KindService, ReasonInvalidName)
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
			sl.skip(KindService, ReasonInvalidExternalName)
		}
		return out
	}
	out.Headless = s.Spec.ClusterIP == corev1.ClusterIPNone ||
		(len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIPs[0] == corev1.ClusterIPNone)
	raw := s.Spec.ClusterIPs
	if len(raw) == 0 && s.Spec.ClusterIP != "" {
		raw = []string{s.Spec.ClusterIP} // objects written before dual-stack
	}
	out.ClusterIPs = sl.slimIPs(KindService, raw)
	out.Ports = slimPorts(sl, KindService, s.Spec.Ports, func(p corev1.ServicePort) (string, string, int32) {
		return p.Name, string(p.Protocol), p.Port
	})
	return out
}

// slimIPs parses the cluster IPs of a Service (or ServiceImport) of kind,
// once each; "None" and addresses that do not parse are left out.
func (sl Slimmer) slimIPs(kind string, raw []string) []netip.Addr {
	var out []netip.Addr
	for _, r := range raw {
		if r == corev1.ClusterIPNone {
			continue
		}
		ip, err := netip.ParseAddr(r)
		if err != nil || ip.Zone() != "" {
			sl.skip(kind, ReasonInvalidAddress)
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
func slimPorts[P any](sl Slimmer, kind string, ports []P, fields func(P) (name, proto string, port int32)) []index.Port {
	if len(ports) > maxPorts {
		sl.skip(kind, ReasonTooManyPorts)
		ports = ports[:maxPorts]
	}
	var buf [4]index.Port
	out := buf[:0]
	for _, p := range ports {
		name, proto, port := fields(p)
		if sp, ok := sl.slimPort(kind, name, proto, port); ok {
			out = append(out, sp)
		}
	}
	return sl.Ports.share(out)
}

// slimPort checks one port of a Service or EndpointSlice; a port whose
// number is out of range or whose name cannot be a DNS label is skipped.
func (sl Slimmer) slimPort(kind, name, proto string, port int32) (index.Port, bool) {
	if port <= 0 || port > 65535 {
		sl.skip(kind, ReasonInvalidPort)
		return index.Port{}, false
	}
	if name != "" && !dnsname.IsDNSLabel(name) {
		sl.skip(kind, ReasonInvalidPortName)
		return index.Port{}, false
	}
	return index.Port{Name: strings.ToLower(name), Proto: dnsname.Proto(proto), Number: uint16(port)}, true
}

// EndpointSlice keeps the ready endpoints of a slice with their DNS names
// (and, when asked, the serving terminating ones apart). Slices of another
// address type than IPv4 or IPv6 (the deprecated FQDN type) keep no
// endpoints, nor do addresses that do not parse or fit the slice's family.
func (sl Slimmer) EndpointSlice(s *discoveryv1.EndpointSlice) *EndpointSlice {
	out := &EndpointSlice{Meta: MetaOf(&s.ObjectMeta), Slice: index.Slice{Service: s.Labels[discoveryv1.LabelServiceName]}}
	if t, err := time.Parse(time.RFC3339Nano, s.Annotations[corev1.EndpointsLastChangeTriggerTime]); err == nil {
		out.TriggerTime = t.UnixNano()
	}
	if out.Service == "" && sl.Multicluster {
		svc, cluster, ok := sl.importedSliceOwner(s)
		if ok && svc == "" {
			return out // counted as skipped
		}
		out.Service = svc
		if cluster != "" {
			out.Extra = &index.SliceExtra{Cluster: cluster}
		}
	}
	switch {
	case out.Service == "":
		sl.skip(KindSlice, ReasonNoServiceLabel)
		return out
	case !dnsname.IsDNSLabel(out.Service) || !dnsname.IsDNSLabel(s.Namespace):
		sl.skip(KindSlice, ReasonInvalidName)
		out.Service, out.Extra = "", nil
		return out
	}
	v4 := s.AddressType == discoveryv1.AddressTypeIPv4
	if !v4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
		sl.skip(KindSlice, ReasonAddressType)
		return out
	}
	ports := s.Ports
	if len(ports) > maxPorts {
		sl.skip(KindSlice, ReasonTooManyPorts)
		ports = ports[:maxPorts]
	}
	var buf [4]index.Port
	kept := buf[:0]
	for _, p := range ports {
		if p.Port == nil {
			sl.skip(KindSlice, ReasonInvalidPort)
			continue
		}
		name, proto := "", "TCP"
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if sp, ok := sl.slimPort(KindSlice, name, proto, *p.Port); ok {
			kept = append(kept, sp)
		}
	}
	out.Ports = sl.Ports.share(kept)
	// The endpoint arrays are the largest part of a cluster's state: made
	// at their final size, not grown by append.
	// What is rare goes into x, and behind out.Extra only if any is there.
	var x index.SliceExtra
	if out.Extra != nil {
		x = *out.Extra
	}
	var names index.EndpointNames
	ready, terminating := sl.countEndpoints(s.Endpoints)
	if ready > 0 {
		out.Ready = make([]index.Endpoint, 0, ready)
	}
	if terminating > 0 {
		x.Terminating = make([]index.Endpoint, 0, terminating)
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		dst, zones := &out.Ready, &x.Zones
		if !isReady(e) {
			if !sl.KeepTerminating || !servingTerminating(e.Conditions) {
				continue
			}
			dst, zones = &x.Terminating, &x.TermZones
		}
		zone := ""
		if sl.KeepZones && e.Zone != nil {
			zone = zoneName(*e.Zone)
		}
		var hint unique.Handle[index.Hint]
		if sl.KeepHints && dst == &out.Ready {
			hint = slimHint(e.Hints)
		}
		name := sl.endpointName(e)
		for _, a := range e.Addresses {
			ip, err := netip.ParseAddr(a)
			if err != nil || ip.Zone() != "" || ip.Unmap().Is4() != v4 {
				sl.skip(KindSlice, ReasonInvalidAddress)
				continue
			}
			*dst = append(*dst, names.Endpoint(&out.Slice, ip, name))
			if zone != "" && *zones == nil {
				*zones = make([]string, len(*dst)-1, cap(*dst))
			}
			if *zones != nil {
				*zones = append(*zones, zone)
			}
			if hint != (unique.Handle[index.Hint]{}) && x.Hints == nil {
				x.Hints = make([]unique.Handle[index.Hint], len(out.Ready)-1, cap(out.Ready))
			}
			if x.Hints != nil && dst == &out.Ready {
				x.Hints = append(x.Hints, hint)
			}
		}
	}
	x.Hints = slices.Clip(x.Hints)
	x.Names = names.String()
	if x.Cluster != "" || x.Terminating != nil || x.Zones != nil || x.TermZones != nil || x.Hints != nil || x.Names != "" {
		out.Extra = &x
	}
	return out
}

// isReady reports whether an endpoint is ready: only "ready" gates DNS, and
// unset means ready (discovery/v1 API).
func isReady(e *discoveryv1.Endpoint) bool {
	return e.Conditions.Ready == nil || *e.Conditions.Ready
}

// countEndpoints returns how many addresses of eps are ready, and how many
// are serving while terminating and kept as such: at most the sizes of
// the slim slice's endpoint arrays.
func (sl Slimmer) countEndpoints(eps []discoveryv1.Endpoint) (ready, terminating int) {
	for i := range eps {
		switch e := &eps[i]; {
		case isReady(e):
			ready += len(e.Addresses)
		case sl.KeepTerminating && servingTerminating(e.Conditions):
			terminating += len(e.Addresses)
		}
	}
	return ready, terminating
}

// servingTerminating reports whether an endpoint is terminating but still
// serving. Unset serving or terminating conditions mean no (discovery/v1
// EndpointConditions: serving defers to ready, which is false here).
func servingTerminating(c discoveryv1.EndpointConditions) bool {
	return c.Serving != nil && *c.Serving && c.Terminating != nil && *c.Terminating
}

// endpointName picks an endpoint's DNS label: its hostname, else (with
// endpoint_pod_names) its pod's name, else "" for the dashed address.
func (sl Slimmer) endpointName(e *discoveryv1.Endpoint) string {
	if e.Hostname != nil {
		if dnsname.ValidLabel(*e.Hostname) {
			return strings.ToLower(*e.Hostname)
		}
		sl.skip(KindSlice, ReasonInvalidHostname)
	}
	if sl.EndpointPodNames && e.TargetRef != nil && dnsname.ValidLabel(e.TargetRef.Name) {
		return strings.ToLower(e.TargetRef.Name)
	}
	return ""
}

// SlimNamespace returns a Namespace with only the metadata slim objects
// keep, counting it if its name cannot be served.
func SlimNamespace(n *corev1.Namespace) *corev1.Namespace { return Slimmer{}.Namespace(n) }

// Namespace returns a Namespace with only the metadata slim objects keep.
func (sl Slimmer) Namespace(n *corev1.Namespace) *corev1.Namespace {
	if !dnsname.IsDNSLabel(n.Name) {
		// Kept, so the store mirrors the API, but never served (namespaceServed).
		sl.skip(KindNamespace, ReasonInvalidName)
	}
	out := &corev1.Namespace{ObjectMeta: slimAPIMeta(&n.ObjectMeta)}
	if v, ok := n.Labels[sl.TenantLabel]; ok && sl.TenantLabel != "" && v != "" {
		out.Labels = map[string]string{sl.TenantLabel: v}
	}
	return out
}

// SlimPod keeps what `pods verified` and the client lookups (autopath,
// client metadata) need of a pod: its addresses, phase, and what tells
// owners of a reused address apart (creation and deletion time, host
// network).
func SlimPod(p *corev1.Pod) *Pod {
	out := &Pod{
		Meta:        MetaOf(&p.ObjectMeta),
		Phase:       p.Status.Phase,
		HostNetwork: p.Spec.HostNetwork,
		Deleting:    p.DeletionTimestamp != nil,
		Created:     p.CreationTimestamp.Unix(),
	}
	raw := make([]string, 0, len(p.Status.PodIPs))
	for _, ip := range p.Status.PodIPs {
		raw = append(raw, ip.IP)
	}
	if len(raw) == 0 && p.Status.PodIP != "" {
		raw = append(raw, p.Status.PodIP) // objects written before dual-stack
	}
	for _, r := range raw {
		if a, err := netip.ParseAddr(r); err == nil && a.Zone() == "" && !slices.Contains(out.Addrs, a.Unmap()) {
			out.Addrs = append(out.Addrs, a.Unmap())
		}
	}
	return out
}

// Pod is SlimPod, with the pod's node kept for client_zone_first and
// traffic_distribution.
func (sl Slimmer) Pod(p *corev1.Pod) *Pod {
	out := SlimPod(p)
	if sl.KeepNodes {
		out.Node = internName(p.Spec.NodeName)
	}
	return out
}

// SlimNode keeps a node's name and its topology.kubernetes.io/zone label.
func SlimNode(n *corev1.Node) *Node {
	return &Node{Meta: MetaOf(&n.ObjectMeta), Zone: zoneName(n.Labels[corev1.LabelTopologyZone])}
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
