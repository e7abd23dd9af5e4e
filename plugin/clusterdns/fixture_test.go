package clusterdns

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

// newTestPlugin returns a synced plugin serving objs (Services,
// EndpointSlices, Namespaces, Pods, Nodes, ServiceImports) under cfg, built through the same
// stores, controller and index as a running server. cfg nil means the
// defaults with zones cluster.local, in-addr.arpa and ip6.arpa.
func newTestPlugin(tb testing.TB, cfg *config, objs ...runtime.Object) *ClusterDNS {
	tb.Helper()
	if cfg == nil {
		cfg = testConfig()
	}
	c := newClusterDNS(cfg)
	st := newStores(cfg)
	sl := newSlimmer(cfg)
	for _, o := range objs {
		slim, _ := sl.Transform(o)
		var err error
		switch o.(type) {
		case *corev1.Service:
			err = st.services.Add(slim)
		case *discoveryv1.EndpointSlice:
			if st.slices != nil {
				err = st.slices.Add(slim)
			}
		case *corev1.Namespace:
			err = st.namespaces.Add(slim)
		case *corev1.Pod:
			if st.pods != nil {
				err = st.pods.Add(slim)
			}
		case *corev1.Node:
			if st.nodes != nil {
				err = st.nodes.Add(slim)
			}
		case *mcsv1alpha1.ServiceImport:
			if st.imports != nil {
				err = st.imports.Add(slim)
			}
		default:
			tb.Fatalf("newTestPlugin: unexpected object %T", o)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	ctl := newController(cfg, c.index)
	ctl.st = st
	ctl.markAll()
	ctl.process()
	ctl.synced.Store(true)
	c.ctl.Store(ctl)
	return c
}

// testConfig is the default configuration for cluster.local and both reverse zones.
func testConfig() *config {
	cfg := defaultConfig()
	cfg.zones = []string{"cluster.local.", "in-addr.arpa.", "ip6.arpa."}
	cfg.primaryZone = "cluster.local."
	return cfg
}

// Object constructors for fixtures.

func testNamespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func testService(ns, name string, clusterIPs []string, ports ...corev1.ServicePort) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	s.Spec.Type = corev1.ServiceTypeClusterIP
	s.Spec.ClusterIPs = clusterIPs
	if len(clusterIPs) > 0 {
		s.Spec.ClusterIP = clusterIPs[0]
	}
	s.Spec.Ports = ports
	return s
}

func testExternalName(ns, name, target string) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	s.Spec.Type = corev1.ServiceTypeExternalName
	s.Spec.ExternalName = target
	return s
}

func testPort(name string, proto corev1.Protocol, port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: port}
}

// testEndpoint is one endpoint of a fixture slice.
type testEndpoint struct {
	ip       string
	hostname string // "" for none
	ready    *bool  // nil means unset (ready)
	serving  *bool  // nil means unset
	term     *bool  // terminating; nil means unset
	pod      string // targetRef pod name, "" for none
	zone     string // topology zone, "" for none
}

func testSlice(ns, svc, name string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...testEndpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: family,
		Ports:       ports,
	}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready, Serving: e.serving, Terminating: e.term}}
		if e.hostname != "" {
			h := e.hostname
			ep.Hostname = &h
		}
		if e.zone != "" {
			z := e.zone
			ep.Zone = &z
		}
		if e.pod != "" {
			ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: e.pod, Namespace: ns}
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

func testSlicePort(name string, proto corev1.Protocol, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &port}
}

func boolPtr(b bool) *bool { return &b }
