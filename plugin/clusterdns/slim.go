package clusterdns

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The slim functions are the informers' transforms: they run before an
// object enters the store (and the relist's temporary store), and keep only
// what answers need, so a full object never lives in our caches.

// slimObject returns the slim copy of a Service, EndpointSlice, Namespace or
// Pod; anything else (such as a tombstone) is returned unchanged.
func slimObject(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Service:
		return slimService(o), nil
	case *discoveryv1.EndpointSlice:
		return slimSlice(o), nil
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

func slimService(s *corev1.Service) *corev1.Service {
	out := &corev1.Service{ObjectMeta: slimMeta(&s.ObjectMeta)}
	out.Spec.Type = s.Spec.Type
	out.Spec.ClusterIP = s.Spec.ClusterIP
	out.Spec.ClusterIPs = s.Spec.ClusterIPs
	out.Spec.ExternalName = s.Spec.ExternalName
	if len(s.Spec.Ports) > 0 {
		out.Spec.Ports = make([]corev1.ServicePort, len(s.Spec.Ports))
		for i, p := range s.Spec.Ports {
			out.Spec.Ports[i] = corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.Port}
		}
	}
	return out
}

// slimSlice keeps the service-name label, the address type, the ports and
// the ready endpoints (addresses, hostname, pod name): not-ready endpoints
// are never answered, so they are not kept either.
func slimSlice(s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	out := &discoveryv1.EndpointSlice{ObjectMeta: slimMeta(&s.ObjectMeta), AddressType: s.AddressType}
	if name, ok := s.Labels[discoveryv1.LabelServiceName]; ok {
		out.Labels = map[string]string{discoveryv1.LabelServiceName: name}
	}
	if len(s.Ports) > 0 {
		out.Ports = make([]discoveryv1.EndpointPort, len(s.Ports))
		for i, p := range s.Ports {
			out.Ports[i] = discoveryv1.EndpointPort{Name: p.Name, Protocol: p.Protocol, Port: p.Port}
		}
	}
	ready := 0
	for i := range s.Endpoints {
		if r := s.Endpoints[i].Conditions.Ready; r == nil || *r {
			ready++
		}
	}
	if ready > 0 {
		out.Endpoints = make([]discoveryv1.Endpoint, 0, ready)
	}
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		if r := e.Conditions.Ready; r != nil && !*r {
			continue
		}
		se := discoveryv1.Endpoint{Addresses: e.Addresses, Hostname: e.Hostname}
		if e.TargetRef != nil && e.TargetRef.Name != "" {
			se.TargetRef = &corev1.ObjectReference{Name: e.TargetRef.Name}
		}
		out.Endpoints = append(out.Endpoints, se)
	}
	return out
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
