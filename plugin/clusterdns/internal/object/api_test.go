package object

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// apiFixtures are API objects covering what each slim kind keeps.
func apiFixtures() map[string]runtime.Object {
	withSelector := fixture.Service("prod", "web", []string{"10.96.0.20", "fd00::20"},
		fixture.Port("http", corev1.ProtocolTCP, 80), fixture.Port("", corev1.ProtocolUDP, 53), fixture.Port("assoc", corev1.ProtocolSCTP, 9))
	withSelector.Spec.Selector = map[string]string{"app": "web"}
	legacy := fixture.Service("prod", "old", nil)
	legacy.Spec.ClusterIP = "10.96.0.21"
	headlessIPs := fixture.Service("prod", "odd", []string{"10.96.0.22"})
	headlessIPs.Spec.ClusterIP = corev1.ClusterIPNone
	triggered := fixture.Slice("prod", "web", "web-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.2.1"})
	triggered.Annotations = map[string]string{corev1.EndpointsLastChangeTriggerTime: "2026-01-01T00:00:00.123456789Z"}
	fqdn := fixture.Slice("prod", "web", "web-f", discoveryv1.AddressTypeFQDN, nil, fixture.Endpoint{IP: "example.com"})
	legacyPod := fixture.Pod("prod", "b", corev1.PodPending, 2)
	legacyPod.Status.PodIP = "10.244.0.2"
	noTime := fixture.ClientPod("prod", "c", "node-a", "10.244.0.3")
	return map[string]runtime.Object{
		"dual-stack service with a selector and ports": withSelector,
		"service with a clusterIP only":                legacy,
		"service without an address":                   fixture.Service("prod", "none", nil),
		"headless service":                             fixture.Service("prod", "db", []string{"None"}, fixture.Port("pg", corev1.ProtocolTCP, 5432)),
		"headless service with an address":             headlessIPs,
		"ExternalName service":                         fixture.ExternalName("prod", "ext", "example.com"),
		"ExternalName service without a target":        fixture.ExternalName("prod", "ext", ""),
		"service with an invalid name":                 fixture.Service("prod", "Not_A_Label", []string{"10.96.0.40"}),
		"IPv4 slice": fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432), fixture.SlicePort("", corev1.ProtocolUDP, 53)},
			fixture.Endpoint{IP: "10.244.1.1", Hostname: "DB-0", Zone: "eu-1a"},
			fixture.Endpoint{IP: "10.244.1.2", Pod: "db-1"},
			fixture.Endpoint{IP: "10.244.1.3", Ready: fixture.Bool(false), Serving: fixture.Bool(true), Terminating: fixture.Bool(true), Zone: "eu-1b"},
			fixture.Endpoint{IP: "10.244.1.4", Ready: fixture.Bool(false)},
			fixture.Endpoint{IP: "10.244.1.5", Zone: "EU-1A"}),
		"IPv6 slice": fixture.Slice("prod", "db", "db-b", discoveryv1.AddressTypeIPv6, nil,
			fixture.Endpoint{IP: "fd00::1:1", Hostname: "db-0"}, fixture.Endpoint{IP: "10.244.1.9"}),
		"IPv6 slice of terminating endpoints only": fixture.Slice("prod", "db", "db-c", discoveryv1.AddressTypeIPv6, nil,
			fixture.Endpoint{IP: "fd00::1:2", Ready: fixture.Bool(false), Serving: fixture.Bool(true), Terminating: fixture.Bool(true)}),
		"slice with topology hints": fixture.Slice("prod", "db", "db-h", discoveryv1.AddressTypeIPv4, nil,
			fixture.Endpoint{IP: "10.244.4.1"},
			fixture.Endpoint{IP: "10.244.4.2", Zone: "eu-1a", Hints: fixture.Hints([]string{"node-a"}, []string{"eu-1a"})},
			fixture.Endpoint{IP: "10.244.4.3", Ready: fixture.Bool(false), Serving: fixture.Bool(true), Terminating: fixture.Bool(true), Hints: fixture.Hints(nil, []string{"eu-1b"})}),
		"slice with a trigger time":      triggered,
		"FQDN slice":                     fqdn,
		"slice without a service label":  fixture.Slice("prod", "", "orphan", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.3.1"}),
		"slice derived for an import":    fixture.ImportedSlice("prod", "db", "east", "db-east", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.1.0.1", Hostname: "db-0"}),
		"running dual-stack pod":         fixture.Pod("prod", "a", corev1.PodRunning, 1, "10.244.0.1", "fd00::1"),
		"deleting pod on the host":       fixture.Deleting(fixture.HostNetwork(fixture.Pod("prod", "a", corev1.PodRunning, 3, "10.244.0.1"))),
		"pod with a podIP only":          legacyPod,
		"pod on a node, no created time": noTime,
		"namespace":                      fixture.Namespace("prod"),
	}
}

// TestAPIRoundTrip checks that the API form of a slim object slims back to
// the same slim object under every setting that changes what is kept.
func TestAPIRoundTrip(t *testing.T) {
	slimmers := map[string]Slimmer{
		"default":                        {},
		"endpoint_pod_names":             {EndpointPodNames: true},
		"fallback_terminating and zones": {KeepTerminating: true, KeepZones: true},
		"everything": {EndpointPodNames: true, KeepTerminating: true, KeepZones: true, KeepNodes: true,
			KeepHints: true, Multicluster: true},
	}
	for slimmer, sl := range slimmers {
		for name, obj := range apiFixtures() {
			t.Run(slimmer+"/"+name, func(t *testing.T) {
				slim, _ := sl.Transform(obj)
				api := toAPI(t, slim)
				if kind := api.GetObjectKind().GroupVersionKind(); kind.Kind == "" || kind.Version == "" {
					t.Errorf("API form without its kind and version: %v", kind)
				}
				again, _ := sl.Transform(api)
				if !reflect.DeepEqual(again, slim) {
					t.Errorf("slimmed again:\n%+v\nwant\n%+v\nfrom %+v", again, slim, api)
				}
			})
		}
	}
}

// toAPI returns the API form of a slim object.
func toAPI(t *testing.T, slim any) runtime.Object {
	switch o := slim.(type) {
	case *Service:
		return o.API()
	case *EndpointSlice:
		return o.API()
	case *Pod:
		return o.API()
	case *corev1.Namespace:
		return NamespaceAPI(o)
	}
	t.Fatalf("no API form for %T", slim)
	return nil
}
