package index

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"unique"
)

// hinted is a ready endpoint of a test slice: the last octet of its
// 10.244.0.x address and its hints, "" for none; "n1,n2" lists two.
type hinted struct {
	octet        byte
	nodes, zones string
}

// hintedSlice is a slice of service db with the endpoints eps.
func hintedSlice(eps ...hinted) *Slice {
	s := &Slice{Service: "db", Ports: []Port{{Name: "http", Proto: "tcp", Number: 80}}, Extra: &SliceExtra{}}
	for _, ep := range eps {
		s.Ready = append(s.Ready, Endpoint{Addr16: KeyOf(netip.AddrFrom4([4]byte{10, 244, 0, ep.octet})), Slice: s})
		var h unique.Handle[Hint]
		if ep.nodes != "" || ep.zones != "" {
			h = unique.Make(Hint{Nodes: ep.nodes, Zones: ep.zones})
		}
		s.Extra.Hints = append(s.Extra.Hints, h)
	}
	return s
}

// answered returns the last octets of the addresses entry e answers a
// client on node in zone.
func answered(e *Entry, node, zone string) []byte {
	if e.Topology != nil {
		if s := e.Topology.Pick(node, zone); s != nil {
			e = s
		}
	}
	var out []byte
	for _, a := range Unpack(e.A4, net.IPv4len) {
		out = append(out, a.As4()[3])
	}
	return out
}

// TestTopologyPick checks the entry built for each client place against
// kube-proxy's rule: node hints on every endpoint and one for the client's
// node, those; else zone hints on every endpoint and one for its zone,
// those; else all.
func TestTopologyPick(t *testing.T) {
	// What the EndpointSlice controller writes for PreferSameZone (zones
	// only) and for PreferSameNode (the endpoint's node and its zone).
	sameZone := hintedSlice(hinted{1, "", "a"}, hinted{2, "", "b"}, hinted{3, "", "a"})
	sameNode := hintedSlice(hinted{1, "n1", "a"}, hinted{2, "n2", "a"}, hinted{3, "n3", "b"}, hinted{4, "n1", "a"})
	tests := []struct {
		name       string
		slices     []*Slice
		node, zone string
		want       []byte
		noTopology bool // no client gets less than all: nothing to look up
	}{
		{"no hints: all", []*Slice{hintedSlice(hinted{1, "", ""}, hinted{2, "", ""})}, "n1", "a", []byte{1, 2}, true},
		{"zone hints: the client's zone", []*Slice{sameZone}, "n9", "a", []byte{1, 3}, false},
		{"zone hints: the other zone", []*Slice{sameZone}, "n9", "b", []byte{2}, false},
		{"zone hints: a zone without endpoints gets all", []*Slice{sameZone}, "n9", "c", []byte{1, 2, 3}, false},
		{"zone hints: a client without zone gets all", []*Slice{sameZone}, "n9", "", []byte{1, 2, 3}, false},
		{"one endpoint without zone hint: all", []*Slice{hintedSlice(hinted{1, "", "a"}, hinted{2, "", ""})}, "n1", "a", []byte{1, 2}, true},
		{"node hints: the client's node", []*Slice{sameNode}, "n1", "a", []byte{1, 4}, false},
		{"node hints: another node", []*Slice{sameNode}, "n3", "b", []byte{3}, false},
		{"node hints: a node without endpoints, its zone", []*Slice{sameNode}, "n9", "a", []byte{1, 2, 4}, false},
		{"node hints: neither node nor zone", []*Slice{sameNode}, "n9", "c", []byte{1, 2, 3, 4}, false},
		{"node hints missing on one endpoint: the zone", []*Slice{hintedSlice(hinted{1, "n1", "a"}, hinted{2, "", "a"}, hinted{3, "n3", "b"})}, "n1", "a", []byte{1, 2}, false},
		{"hints across slices", []*Slice{hintedSlice(hinted{1, "", "a"}), hintedSlice(hinted{2, "", "b"}, hinted{3, "", "a"})}, "n1", "a", []byte{1, 3}, false},
		{"one slice without hints: all", []*Slice{hintedSlice(hinted{1, "", "a"}), {Service: "db", Ready: []Endpoint{{Addr16: KeyOf(netip.MustParseAddr("10.244.0.2"))}}}}, "n1", "a", []byte{1, 2}, true},
		{"an endpoint hinted for two zones", []*Slice{hintedSlice(hinted{1, "", "a,b"}, hinted{2, "", "b"})}, "n1", "a", []byte{1}, false},
		{"one zone: all, with nothing to look up", []*Slice{hintedSlice(hinted{1, "", "a"}, hinted{2, "", "a"})}, "n1", "a", []byte{1, 2}, true},
		// kube-proxy takes node mode when the node has endpoints, even all
		// of them: the zone hints must not narrow it.
		{"node holds all while zones differ", []*Slice{hintedSlice(hinted{1, "n1", "a"}, hinted{2, "n1", "b"})}, "n1", "a", []byte{1, 2}, false},
	}
	k := ServiceKey{Name: "db", Namespace: "prod"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range tc.slices {
				for i := range s.Ready {
					s.Ready[i].Slice = s
				}
			}
			e := Build(k, &Service{Headless: true, Selector: true}, tc.slices, BuildOptions{TrafficDistribution: true})
			if got := answered(e, tc.node, tc.zone); !slices.Equal(got, tc.want) {
				t.Errorf("answered %v, want %v", got, tc.want)
			}
			if (e.Topology == nil) != tc.noTopology {
				t.Errorf("topology %+v, want none: %t", e.Topology, tc.noTopology)
			}
			if off := Build(k, &Service{Headless: true, Selector: true}, tc.slices, BuildOptions{}); off.Topology != nil {
				t.Error("a topology built without traffic_distribution")
			}
		})
	}
}

// TestTopologyEntries checks what the chosen entries carry besides their
// addresses: the service's owner for SRV targets, their own rotation under
// max_answers, the whole entry itself for a group that is all of it, and
// nothing when only terminating endpoints stand in.
func TestTopologyEntries(t *testing.T) {
	k := ServiceKey{Name: "db", Namespace: "prod"}
	s := hintedSlice(hinted{1, "", "a"}, hinted{2, "", "b"}, hinted{3, "", "b"})
	e := Build(k, &Service{Headless: true, Selector: true}, []*Slice{s}, BuildOptions{TrafficDistribution: true, MaxAnswers: 1})
	a := e.Topology.Zones["a"]
	if a.Owner != e.Owner || !a.Headless || a.Rotation == nil || a.Rotation == e.Rotation {
		t.Errorf("zone a entry: owner %q headless %t rotation %p (service's %p)", a.Owner, a.Headless, a.Rotation, e.Rotation)
	}
	if n := a.CountSRVTargets("http", "tcp"); n != 1 {
		t.Errorf("zone a has %d SRV targets, want 1", n)
	}

	dup := hintedSlice(hinted{1, "", "a"}, hinted{2, "", "b"})
	again := hintedSlice(hinted{1, "", "a"}) // the same endpoint, as while slices are rebalanced
	e = Build(k, &Service{Headless: true, Selector: true}, []*Slice{dup, again}, BuildOptions{TrafficDistribution: true})
	if got := answered(e, "", "a"); !slices.Equal(got, []byte{1}) {
		t.Errorf("zone a with a repeated endpoint answers %v, want [1]", got)
	}

	whole := hintedSlice(hinted{1, "", "a"}, hinted{2, "", "a,b"})
	e = Build(k, &Service{Headless: true, Selector: true}, []*Slice{whole}, BuildOptions{TrafficDistribution: true})
	if e.Topology.Zones["a"] != e {
		t.Error("a zone holding every endpoint does not answer as the service")
	}

	term := &Slice{Service: "db", Extra: &SliceExtra{Terminating: []Endpoint{{Addr16: KeyOf(netip.MustParseAddr("10.244.0.9"))}}}}
	term.Extra.Terminating[0].Slice = term
	e = Build(k, &Service{Headless: true, Selector: true}, []*Slice{term}, BuildOptions{TrafficDistribution: true, FallbackTerminating: true})
	if e == nil || e.Topology != nil {
		t.Errorf("terminating stand-ins: entry %v, want one without topology", e)
	}
}
