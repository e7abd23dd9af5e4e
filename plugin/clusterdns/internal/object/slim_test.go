package object

import (
	"fmt"
	"slices"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

func TestSlimPod(t *testing.T) {
	legacy := fixture.Pod("prod", "a", corev1.PodRunning, 1)
	legacy.Status.PodIP = "10.244.0.1"
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string
	}{
		{"dual-stack", fixture.Pod("prod", "a", corev1.PodRunning, 1, "10.244.0.1", "fd00::1"), []string{"10.244.0.1", "fd00::1"}},
		{"podIP only, as before dual-stack", legacy, []string{"10.244.0.1"}},
		{"IPv4-mapped, duplicate and unparsable addresses", fixture.Pod("prod", "a", corev1.PodRunning, 1, "::ffff:10.244.0.1", "10.244.0.1", "nope", "fe80::1%eth0"), []string{"10.244.0.1"}},
		{"no address yet", fixture.Pod("prod", "a", corev1.PodPending, 1), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range SlimPod(tc.pod).Addrs {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("addresses %q, want %q", got, tc.want)
			}
		})
	}
	p := SlimPod(fixture.Deleting(fixture.HostNetwork(fixture.Pod("prod", "a", corev1.PodRunning, 3, "10.244.0.1"))))
	if !p.Deleting || !p.HostNetwork || p.Created != time.Date(2026, 1, 1, 0, 3, 0, 0, time.UTC).Unix() || p.Name != "a" || p.Namespace != "prod" {
		t.Errorf("slim pod %+v lost its deletion, host network, creation time or name", p)
	}
}

// TestSlimEndpointSlice checks what a slim slice keeps under each setting,
// and that what it leaves out is reported to Skipped.
func TestSlimEndpointSlice(t *testing.T) {
	pg := []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432), fixture.SlicePort("a.b", corev1.ProtocolTCP, 1)}
	s := fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, pg,
		fixture.Endpoint{IP: "10.244.1.1", Hostname: "db-0", Zone: "Zone-A"},
		fixture.Endpoint{IP: "10.244.1.2", Pod: "db-1"},
		fixture.Endpoint{IP: "10.244.1.3", Ready: fixture.Bool(false), Serving: fixture.Bool(true), Terminating: fixture.Bool(true), Zone: "zone-b"},
		fixture.Endpoint{IP: "10.244.1.4", Ready: fixture.Bool(false)},
		fixture.Endpoint{IP: "10.244.1.5", Ready: fixture.Bool(false), Serving: fixture.Bool(true)}, // not terminating: starting up
		fixture.Endpoint{IP: "fd00::1"})
	var skipped []string
	Skipped = func(kind, reason string) { skipped = append(skipped, kind+"/"+reason) }
	defer func() { Skipped = nil }()

	tests := []struct {
		name             string
		sl               Slimmer
		ready, term      []string // address/name of each endpoint kept
		zones, termZones []string
		names            string // SliceExtra.Names
	}{
		{"default", Slimmer{}, []string{"10.244.1.1/db-0", "10.244.1.2/"}, nil, nil, nil, "db-0"},
		{"endpoint_pod_names", Slimmer{EndpointPodNames: true}, []string{"10.244.1.1/db-0", "10.244.1.2/db-1"}, nil, nil, nil, "db-0db-1"},
		{"fallback_terminating", Slimmer{KeepTerminating: true}, []string{"10.244.1.1/db-0", "10.244.1.2/"}, []string{"10.244.1.3/"}, nil, nil, "db-0"},
		{"zones", Slimmer{KeepZones: true, KeepTerminating: true}, []string{"10.244.1.1/db-0", "10.244.1.2/"}, []string{"10.244.1.3/"},
			[]string{"zone-a", ""}, []string{"zone-b"}, "db-0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			skipped = nil
			got := tc.sl.EndpointSlice(s)
			names := func(eps []index.Endpoint) []string {
				var out []string
				for _, ep := range eps {
					out = append(out, ep.Addr().String()+"/"+ep.Name())
					if ep.Slice != &got.Slice {
						t.Errorf("endpoint %s does not point at its slice", ep.Addr())
					}
				}
				return out
			}
			if r := names(got.Ready); !slices.Equal(r, tc.ready) {
				t.Errorf("ready %q, want %q", r, tc.ready)
			}
			if r := names(got.Terminating()); !slices.Equal(r, tc.term) {
				t.Errorf("terminating %q, want %q", r, tc.term)
			}
			if !slices.Equal(got.Zones(), tc.zones) || !slices.Equal(got.TermZones(), tc.termZones) {
				t.Errorf("zones %q and %q, want %q and %q", got.Zones(), got.TermZones(), tc.zones, tc.termZones)
			}
			if got.Extra == nil || got.Extra.Names != tc.names {
				t.Errorf("extra %+v, want names %q", got.Extra, tc.names)
			}
			if want := []index.Port{{Name: "pg", Proto: "tcp", Number: 5432}}; !slices.Equal(got.Ports, want) {
				t.Errorf("ports %v, want %v", got.Ports, want)
			}
			if got.Service != "db" || got.Name != "db-a" || got.Namespace != "prod" {
				t.Errorf("slice of %q named %s/%s", got.Service, got.Namespace, got.Name)
			}
			want := []string{KindSlice + "/" + ReasonInvalidPortName, KindSlice + "/" + ReasonInvalidAddress}
			if !slices.Equal(skipped, want) {
				t.Errorf("skipped %q, want %q (the bad port name and the IPv6 address in an IPv4 slice)", skipped, want)
			}
		})
	}
}

// TestSlimEndpointSliceExactSize checks that the endpoint and zone arrays
// of a slim slice are made at their final size, with no room left over
// from growing them.
func TestSlimEndpointSliceExactSize(t *testing.T) {
	eps := make([]fixture.Endpoint, 0, 13)
	for i := range 13 {
		ep := fixture.Endpoint{IP: fmt.Sprintf("10.244.2.%d", i+1), Zone: "zone-a"}
		if i%4 == 3 {
			ep.Ready, ep.Serving, ep.Terminating = fixture.Bool(false), fixture.Bool(true), fixture.Bool(true)
		}
		eps = append(eps, ep)
	}
	s := fixture.Slice("prod", "web", "web-a", discoveryv1.AddressTypeIPv4, nil, eps...)
	got := Slimmer{KeepTerminating: true, KeepZones: true}.EndpointSlice(s)
	for _, a := range []struct {
		name     string
		len, cap int
	}{
		{"ready", len(got.Ready), cap(got.Ready)},
		{"terminating", len(got.Terminating()), cap(got.Terminating())},
		{"zones", len(got.Zones()), cap(got.Zones())},
		{"terminating zones", len(got.TermZones()), cap(got.TermZones())},
	} {
		if a.len == 0 || a.cap != a.len {
			t.Errorf("%s: %d endpoints in room for %d; want some, and no room left over", a.name, a.len, a.cap)
		}
	}
}

// TestSlimInternsNamespace checks slim objects of one namespace share one
// copy of its name, however each was decoded.
func TestSlimInternsNamespace(t *testing.T) {
	svc := fixture.WireCopy(t, fixture.Service("prod", "web", []string{"10.96.0.1"}))
	slice := fixture.WireCopy(t, fixture.Slice("prod", "web", "web-a", discoveryv1.AddressTypeIPv4, nil))
	if unsafe.StringData(svc.Namespace) == unsafe.StringData(slice.Namespace) {
		t.Fatal("the decoded objects share their namespace already")
	}
	a, b := Slimmer{}.Service(svc), Slimmer{}.EndpointSlice(slice)
	if a.Namespace != "prod" || unsafe.StringData(a.Namespace) != unsafe.StringData(b.Namespace) {
		t.Errorf("namespaces %q and %q are two copies", a.Namespace, b.Namespace)
	}
}
