package object

import (
	"reflect"
	"testing"
	"unique"
	"unsafe"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// TestSlimHints checks which hints a slim slice keeps: those of ready
// endpoints, with traffic_distribution only, index for index with Ready,
// zones lower case, one per address of a multi-address endpoint.
func TestSlimHints(t *testing.T) {
	twoAddrs := fixture.Endpoint{IP: "10.244.0.5", Hints: fixture.Hints([]string{"n2"}, []string{"b"})}
	tests := []struct {
		name string
		sl   Slimmer
		eps  []fixture.Endpoint
		want []index.Hint
	}{
		{"off", Slimmer{}, []fixture.Endpoint{{IP: "10.244.0.1", Hints: fixture.Hints(nil, []string{"a"})}}, nil},
		{"no hints", Slimmer{KeepHints: true}, []fixture.Endpoint{{IP: "10.244.0.1"}, {IP: "10.244.0.2"}}, nil},
		{"zone hints, lower case", Slimmer{KeepHints: true},
			[]fixture.Endpoint{{IP: "10.244.0.1", Hints: fixture.Hints(nil, []string{"Zone-A"})}},
			[]index.Hint{{Zones: "zone-a"}}},
		{"the first endpoint without", Slimmer{KeepHints: true},
			[]fixture.Endpoint{{IP: "10.244.0.1"}, {IP: "10.244.0.2", Hints: fixture.Hints([]string{"n1"}, []string{"a"})}},
			[]index.Hint{{}, {Nodes: "n1", Zones: "a"}}},
		{"terminating endpoints keep none", Slimmer{KeepHints: true, KeepTerminating: true},
			[]fixture.Endpoint{
				{IP: "10.244.0.1", Ready: fixture.Bool(false), Serving: fixture.Bool(true), Terminating: fixture.Bool(true), Hints: fixture.Hints(nil, []string{"a"})},
				{IP: "10.244.0.2", Hints: fixture.Hints(nil, []string{"b"})},
			},
			[]index.Hint{{Zones: "b"}}},
		{"empty names dropped", Slimmer{KeepHints: true},
			[]fixture.Endpoint{{IP: "10.244.0.1", Hints: fixture.Hints([]string{""}, []string{"", "a"})}},
			[]index.Hint{{Zones: "a"}}},
		{"every address of an endpoint", Slimmer{KeepHints: true}, []fixture.Endpoint{twoAddrs},
			[]index.Hint{{Nodes: "n2", Zones: "b"}, {Nodes: "n2", Zones: "b"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, tc.eps...)
			if tc.name == "every address of an endpoint" {
				s.Endpoints[0].Addresses = append(s.Endpoints[0].Addresses, "10.244.0.6")
			}
			got := tc.sl.EndpointSlice(s)
			var values []index.Hint
			for _, h := range got.Hints() {
				var v index.Hint
				if h != (unique.Handle[index.Hint]{}) {
					v = h.Value()
				}
				values = append(values, v)
			}
			if !reflect.DeepEqual(values, tc.want) {
				t.Errorf("hints %+v, want %+v", values, tc.want)
			}
			if h := got.Hints(); h != nil && len(h) != len(got.Ready) {
				t.Errorf("%d hints for %d ready endpoints", len(h), len(got.Ready))
			}
		})
	}
}

// TestSlimHintsInterned checks the endpoints of a zone share one hint.
func TestSlimHintsInterned(t *testing.T) {
	s := Slimmer{KeepHints: true}.EndpointSlice(fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil,
		fixture.Endpoint{IP: "10.244.0.1", Hints: fixture.Hints(nil, []string{"a", "b"})},
		fixture.Endpoint{IP: "10.244.0.2", Hints: fixture.Hints(nil, []string{"A", "b"})}))
	if h := s.Hints(); len(h) != 2 || h[0] != h[1] || h[0].Value() != (index.Hint{Zones: "a,b"}) {
		t.Errorf("hints %v, want two of one interned a,b", h)
	}
}

// TestSlimPodNodeInterned checks pods on one node share its name.
func TestSlimPodNodeInterned(t *testing.T) {
	sl := Slimmer{KeepNodes: true}
	a := sl.Pod(fixture.ClientPod("prod", "a", "node-"+string([]byte{'a'}), "10.0.0.1"))
	b := sl.Pod(fixture.ClientPod("prod", "b", "node-"+string([]byte{'a'}), "10.0.0.2"))
	if a.Node != "node-a" || b.Node != "node-a" || unsafe.StringData(a.Node) != unsafe.StringData(b.Node) {
		t.Errorf("nodes %q and %q do not share storage", a.Node, b.Node)
	}
	if p := (Slimmer{}).Pod(fixture.ClientPod("prod", "c", "node-a", "10.0.0.3")); p.Node != "" {
		t.Errorf("node %q kept without KeepNodes", p.Node)
	}
}
