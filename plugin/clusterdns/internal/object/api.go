package object

import (
	"net/netip"
	"strings"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// The API methods go the other way from the Slimmer: they return an API
// object that a Slimmer keeping at least as much turns back into the same
// slim object, so slim objects can be written in the Kubernetes formats
// and read back through the Slimmer (the snapshot file). What the slim
// form left out stays out: labels, annotations and fields no answer reads.
// Each returned object carries its kind and API version, so it encodes on
// its own.

// SelectorPlaceholder is the selector of an API Service made from a slim
// one that had a selector: the slim form keeps only that it had one.
var SelectorPlaceholder = map[string]string{"clusterdns.io/had-selector": "true"}

// API returns a core/v1 Service that slims back to s.
func (s *Service) API() *corev1.Service {
	out := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: s.objectMeta(),
	}
	if s.Selector {
		out.Spec.Selector = SelectorPlaceholder
	}
	if s.ExternalName != "" {
		out.Spec.Type = corev1.ServiceTypeExternalName
		out.Spec.ExternalName = s.ExternalName
		return out
	}
	out.Spec.Type = corev1.ServiceTypeClusterIP
	out.Spec.ClusterIPs = addrStrings(s.ClusterIPs)
	switch {
	case s.Headless:
		out.Spec.ClusterIP = corev1.ClusterIPNone
	case len(out.Spec.ClusterIPs) > 0:
		out.Spec.ClusterIP = out.Spec.ClusterIPs[0]
	}
	for _, p := range s.Ports {
		out.Spec.Ports = append(out.Spec.Ports, corev1.ServicePort{Name: p.Name, Protocol: apiProto(p.Proto), Port: int32(p.Number)})
	}
	return out
}

// API returns a discovery/v1 EndpointSlice that slims back to s: one
// endpoint per address, the terminating ones not ready but serving, each
// endpoint's name as its hostname.
func (s *EndpointSlice) API() *discoveryv1.EndpointSlice {
	out := &discoveryv1.EndpointSlice{
		TypeMeta:    metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta:  s.objectMeta(),
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	switch {
	case s.Cluster() != "":
		out.Labels = map[string]string{mcsv1alpha1.LabelServiceName: s.Service, mcsv1alpha1.LabelSourceCluster: s.Cluster()}
	case s.Service != "":
		out.Labels = map[string]string{discoveryv1.LabelServiceName: s.Service}
	}
	if s.TriggerTime != 0 {
		out.Annotations = map[string]string{corev1.EndpointsLastChangeTriggerTime: time.Unix(0, s.TriggerTime).UTC().Format(time.RFC3339Nano)}
	}
	if s.ipv6() {
		out.AddressType = discoveryv1.AddressTypeIPv6
	}
	for _, p := range s.Ports {
		name, proto, port := p.Name, apiProto(p.Proto), int32(p.Number)
		out.Ports = append(out.Ports, discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &port})
	}
	no, yes := false, true
	out.Endpoints = appendEndpoints(nil, s.Ready, s.Zones(), s.Hints(), discoveryv1.EndpointConditions{})
	out.Endpoints = appendEndpoints(out.Endpoints, s.Terminating(), s.TermZones(), nil,
		discoveryv1.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes})
	return out
}

// ipv6 reports whether the endpoints of a slice are IPv6 addresses; a
// slice without endpoints reads as IPv4, which slims the same.
func (s *EndpointSlice) ipv6() bool {
	switch {
	case len(s.Ready) > 0:
		return s.Ready[0].Addr().Is6()
	case len(s.Terminating()) > 0:
		return s.Terminating()[0].Addr().Is6()
	}
	return false
}

// appendEndpoints appends an API endpoint for each of eps, in zones and
// with hints (index for index; nil for none), with the conditions cond.
func appendEndpoints(out []discoveryv1.Endpoint, eps []index.Endpoint, zones []string, hints []unique.Handle[index.Hint], cond discoveryv1.EndpointConditions) []discoveryv1.Endpoint {
	for i, ep := range eps {
		e := discoveryv1.Endpoint{Addresses: []string{ep.Addr().String()}, Conditions: cond}
		if name := ep.Name(); name != "" {
			e.Hostname = &name
		}
		if i < len(zones) && zones[i] != "" {
			zone := zones[i]
			e.Zone = &zone
		}
		if i < len(hints) {
			e.Hints = apiHints(hints[i])
		}
		out = append(out, e)
	}
	return out
}

// API returns a core/v1 Pod that slims back to p. A deleting pod's
// deletion timestamp is its creation time: the slim form keeps only that
// it has one.
func (p *Pod) API() *corev1.Pod {
	created := metav1.NewTime(time.Unix(p.Created, 0))
	out := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: p.objectMeta(),
	}
	out.CreationTimestamp = created
	if p.Deleting {
		out.DeletionTimestamp = &created
	}
	out.Spec.HostNetwork = p.HostNetwork
	out.Spec.NodeName = p.Node
	out.Status.Phase = p.Phase
	for _, a := range p.Addrs {
		out.Status.PodIPs = append(out.Status.PodIPs, corev1.PodIP{IP: a.String()})
	}
	if len(p.Addrs) > 0 {
		out.Status.PodIP = out.Status.PodIPs[0].IP
	}
	return out
}

// NamespaceAPI returns a copy of a slim Namespace with its kind and API
// version set; a slim Namespace is an API object already.
func NamespaceAPI(n *corev1.Namespace) *corev1.Namespace {
	return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: n.ObjectMeta}
}

// objectMeta is the API form of the metadata a slim object keeps.
func (m *Meta) objectMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion}
}

// apiProto is the API spelling of a protocol slim ports keep in lower case.
func apiProto(p string) corev1.Protocol { return corev1.Protocol(strings.ToUpper(p)) }

// addrStrings formats addresses; nil for none.
func addrStrings(addrs []netip.Addr) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, a.String())
	}
	return out
}
