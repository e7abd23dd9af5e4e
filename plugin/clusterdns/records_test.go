package clusterdns

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// build slims the slices and builds the entry, as the controller does.
func build(svc *corev1.Service, o index.BuildOptions, podNames bool, raw ...*discoveryv1.EndpointSlice) *index.Entry {
	sl := object.Slimmer{EndpointPodNames: podNames, KeepTerminating: o.FallbackTerminating}
	var slim []*index.Slice
	for _, s := range raw {
		slim = append(slim, &sl.EndpointSlice(s).Slice)
	}
	return index.Build(index.ServiceKey{Name: svc.Name, Namespace: svc.Namespace}, &object.SlimService(svc).Service, slim, o)
}

// leaving is an endpoint that is terminating but still serving, as during
// a rolling update of a StatefulSet.
func leaving(ip, hostname string) fixture.Endpoint {
	return fixture.Endpoint{IP: ip, Hostname: hostname, Ready: fixture.Bool(false), Serving: fixture.Bool(true), Terminating: fixture.Bool(true)}
}

// labels returns the endpoint labels of an entry, in its order.
func labelsOf(e *index.Entry) []string {
	var out []string
	for _, ep := range e.Endpoints {
		out = append(out, index.EndpointLabel(ep))
	}
	return out
}

func TestBuildEntry(t *testing.T) {
	pg := []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)}
	tests := []struct {
		name     string
		svc      *corev1.Service
		slices   []*discoveryv1.EndpointSlice
		opts     index.BuildOptions
		podNames bool
		absent   bool     // no DNS name at all
		a        []string // addresses at the service name
		eps      []string // endpoint labels
	}{
		{
			name: "clusterIP with endpoints",
			svc:  fixture.Service("ns", "web", []string{"10.0.0.1"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
			slices: []*discoveryv1.EndpointSlice{fixture.Slice("ns", "web", "a", discoveryv1.AddressTypeIPv4, nil,
				fixture.Endpoint{IP: "10.1.0.2"}, fixture.Endpoint{IP: "10.1.0.1"}, fixture.Endpoint{IP: "10.1.0.3", Ready: fixture.Bool(false)})},
			a:   []string{"10.0.0.1"},
			eps: []string{"10-1-0-1", "10-1-0-2"},
		},
		{
			name: "clusterIP without endpoints is still served",
			svc:  fixture.Service("ns", "web", []string{"10.0.0.1"}),
			a:    []string{"10.0.0.1"},
		},
		{
			name: "dual-stack clusterIP",
			svc:  fixture.Service("ns", "web", []string{"10.0.0.1", "fd00::1", "10.0.0.1"}),
			a:    []string{"10.0.0.1", "fd00::1"},
		},
		{
			name:   "ignore empty_service hides a clusterIP without ready endpoints",
			svc:    fixture.Service("ns", "web", []string{"10.0.0.1"}),
			opts:   index.BuildOptions{IgnoreEmptyServices: true},
			absent: true,
		},
		{
			name: "headless with hostnames, duplicates across slices",
			svc:  fixture.Service("ns", "db", []string{"None"}, fixture.Port("pg", corev1.ProtocolTCP, 5432)),
			slices: []*discoveryv1.EndpointSlice{
				fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeIPv4, pg, fixture.Endpoint{IP: "10.1.0.1", Hostname: "db-1"}, fixture.Endpoint{IP: "10.1.0.2", Hostname: "db-0"}),
				fixture.Slice("ns", "db", "b", discoveryv1.AddressTypeIPv4, pg, fixture.Endpoint{IP: "10.1.0.1", Hostname: "db-1"}),
			},
			a:   []string{"10.1.0.2", "10.1.0.1"},
			eps: []string{"db-0", "db-1"},
		},
		{
			name:     "headless with endpoint_pod_names",
			svc:      fixture.Service("ns", "db", []string{"None"}),
			slices:   []*discoveryv1.EndpointSlice{fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.1.0.1", Pod: "db-7d9f"}, fixture.Endpoint{IP: "10.1.0.2", Pod: "bad.name"})},
			podNames: true,
			a:        []string{"10.1.0.2", "10.1.0.1"},
			eps:      []string{"10-1-0-2", "db-7d9f"},
		},
		{
			name:   "headless with only not-ready endpoints does not exist",
			svc:    fixture.Service("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.1.0.1", Ready: fixture.Bool(false)})},
			absent: true,
		},
		{
			name:   "bad addresses and mismatched families are skipped",
			svc:    fixture.Service("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "not-an-ip"}, fixture.Endpoint{IP: "fd00::1"}, fixture.Endpoint{IP: "10.1.0.9"})},
			a:      []string{"10.1.0.9"},
			eps:    []string{"10-1-0-9"},
		},
		{
			name:   "FQDN slices are skipped",
			svc:    fixture.Service("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeFQDN, nil, fixture.Endpoint{IP: "example.com"})},
			absent: true,
		},
		{
			name:   "fallback_terminating: only serving terminating endpoints answer",
			svc:    fixture.Service("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil, leaving("10.1.0.1", "db-0"), leaving("10.1.0.2", "db-1"))},
			opts:   index.BuildOptions{FallbackTerminating: true},
			a:      []string{"10.1.0.1", "10.1.0.2"},
			eps:    []string{"db-0", "db-1"},
		},
		{
			name:   "without fallback_terminating serving terminating endpoints do not answer",
			svc:    fixture.Service("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil, leaving("10.1.0.1", "db-0"))},
			absent: true,
		},
		{
			name: "fallback_terminating: a ready endpoint in any slice wins",
			svc:  fixture.Service("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{
				fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil, leaving("10.1.0.1", "db-0")),
				fixture.Slice("ns", "db", "b", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.1.0.3", Hostname: "db-2"}),
			},
			opts: index.BuildOptions{FallbackTerminating: true},
			a:    []string{"10.1.0.3"},
			eps:  []string{"db-2"},
		},
		{
			name: "fallback_terminating: terminating but not serving, or not ready and not terminating, do not answer",
			svc:  fixture.Service("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil,
				fixture.Endpoint{IP: "10.1.0.1", Ready: fixture.Bool(false), Serving: fixture.Bool(false), Terminating: fixture.Bool(true)},
				fixture.Endpoint{IP: "10.1.0.2", Ready: fixture.Bool(false), Serving: fixture.Bool(true)},
				fixture.Endpoint{IP: "10.1.0.3", Ready: fixture.Bool(false), Terminating: fixture.Bool(true)})},
			opts:   index.BuildOptions{FallbackTerminating: true},
			absent: true,
		},
		{
			name:   "fallback_terminating: a ClusterIP service with serving terminating endpoints is not empty",
			svc:    fixture.Service("ns", "web", []string{"10.0.0.1"}),
			slices: []*discoveryv1.EndpointSlice{fixture.Slice("ns", "web", "a", discoveryv1.AddressTypeIPv4, nil, leaving("10.1.0.1", ""))},
			opts:   index.BuildOptions{FallbackTerminating: true, IgnoreEmptyServices: true},
			a:      []string{"10.0.0.1"},
			eps:    []string{"10-1-0-1"},
		},
		{name: "ExternalName", svc: fixture.ExternalName("ns", "ext", "Example.COM.")},
		{name: "ExternalName with an IP is not served", svc: fixture.ExternalName("ns", "ext", "192.0.2.1"), absent: true},
		{name: "ExternalName with an unusable name is not served", svc: fixture.ExternalName("ns", "ext", "bad..name"), absent: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := build(tc.svc, tc.opts, tc.podNames, tc.slices...)
			if tc.absent {
				if e != nil {
					t.Fatalf("got an entry, want none: %+v", e)
				}
				return
			}
			if e == nil {
				t.Fatal("no entry")
			}
			var a []string
			for _, ip := range append(index.Unpack(e.A4, 4), index.Unpack(e.A6, 16)...) {
				a = append(a, ip.String())
			}
			if !slices.Equal(a, tc.a) {
				t.Errorf("addresses %v, want %v", a, tc.a)
			}
			if got := labelsOf(e); !slices.Equal(got, tc.eps) {
				t.Errorf("endpoint labels %v, want %v", got, tc.eps)
			}
		})
	}
	if e := build(fixture.ExternalName("ns", "ext", "Example.COM."), index.BuildOptions{}, false); e.CNAME != "example.com." {
		t.Errorf("ExternalName target %q, want example.com.", e.CNAME)
	}
}

func TestFindEndpoints(t *testing.T) {
	e := build(fixture.Service("ns", "db", []string{"None"}), index.BuildOptions{}, false,
		fixture.Slice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil,
			fixture.Endpoint{IP: "10.1.0.1", Hostname: "db-0"}, fixture.Endpoint{IP: "10.1.0.2", Hostname: "db-0"}, fixture.Endpoint{IP: "10.1.0.3"}),
		fixture.Slice("ns", "db", "b", discoveryv1.AddressTypeIPv6, nil, fixture.Endpoint{IP: "fd00::"}))
	for label, want := range map[string]int{
		"db-0": 2, "10-1-0-3": 1, "fd00--0": 1, "10-1-0-1": 0, "fd00-0-0-0-0-0-0-0": 0, "db-1": 0, "": 0,
	} {
		if got := len(e.FindEndpoints("", label)); got != want {
			t.Errorf("findEndpoints(%q) found %d, want %d", label, got, want)
		}
	}
}

func TestSRVTargets(t *testing.T) {
	http := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 80)}
	var eps []fixture.Endpoint
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		eps = append(eps, fixture.Endpoint{IP: ip})
	}
	// The third endpoint again in another slice: records are distinct.
	h := build(fixture.Service("ns", "h", []string{"None"}), index.BuildOptions{}, false,
		fixture.Slice("ns", "h", "a", discoveryv1.AddressTypeIPv4, http, eps...),
		fixture.Slice("ns", "h", "b", discoveryv1.AddressTypeIPv4, http, eps[2]))
	if got := h.SRVTargets("http", "tcp"); len(got) != 3 {
		t.Errorf("headless _http._tcp: %d records, want 3", len(got))
	}
	if got := h.SRVTargets("http", "udp"); len(got) != 0 {
		t.Errorf("headless _http._udp: %d records, want 0", len(got))
	}
	// Two endpoints sharing a hostname are one target.
	named := build(fixture.Service("ns", "n", []string{"None"}), index.BuildOptions{}, false,
		fixture.Slice("ns", "n", "a", discoveryv1.AddressTypeIPv4, http, fixture.Endpoint{IP: "10.0.0.1", Hostname: "x"}, fixture.Endpoint{IP: "10.0.0.2", Hostname: "x"}))
	if got := named.SRVTargets("", ""); len(got) != 1 || len(got[0].Endpoints) != 2 {
		t.Errorf("shared hostname: %+v, want one target of two endpoints", got)
	}
	// ClusterIP: the bare name has every port, distinct by number.
	svc := build(fixture.Service("ns", "d", []string{"10.0.0.1", "fd00::1"},
		fixture.Port("dns", corev1.ProtocolUDP, 53), fixture.Port("dns-tcp", corev1.ProtocolTCP, 53), fixture.Port("", corev1.ProtocolTCP, 9153)), index.BuildOptions{}, false)
	if got := svc.SRVTargets("", ""); len(got) != 2 {
		t.Errorf("bare name: %d records, want 2 (53 and 9153)", len(got))
	}
	if got := svc.SRVTargets("dns", "udp"); len(got) != 1 || got[0].Port != 53 {
		t.Errorf("_dns._udp: %+v", got)
	}
	if !svc.HasProto("udp") || svc.HasProto("sctp") {
		t.Error("hasProto is wrong")
	}
}
