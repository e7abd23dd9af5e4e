package index

import (
	"net/netip"
	"testing"
)

// TestAddOwnedMatchesReplace checks that a service's addresses get the same
// owners and reverse-tree counts whether it is new (addOwned) or replaces
// an earlier entry (the diff of ownedAddrs), with addresses it has twice.
func TestAddOwnedMatchesReplace(t *testing.T) {
	k := ServiceKey{Name: "web", Namespace: "ns"}
	cip4, cip6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")
	svc := &Service{ClusterIPs: []netip.Addr{cip4, cip6}, Ports: []Port{{Name: "http", Proto: "tcp", Number: 80}}}
	// An endpoint at the ClusterIP, one address under two names, and IPv6.
	s := &Slice{Service: "web"}
	var names EndpointNames
	for _, ep := range []struct{ addr, name string }{{"10.0.0.1", ""}, {"10.1.0.1", "a"}, {"10.1.0.1", "b"}, {"fd00::2", ""}} {
		s.Ready = append(s.Ready, names.Endpoint(s, netip.MustParseAddr(ep.addr), ep.name))
	}
	s.Extra = &SliceExtra{Names: names.String()}
	entry := Build(k, svc, []*Slice{s}, BuildOptions{})

	fresh := New()
	w := NewWriter(fresh)
	w.Begin()
	w.SetNamespace("ns", true)
	w.SetService(k, entry)
	w.Commit()

	replaced := New()
	w = NewWriter(replaced)
	w.Begin()
	w.SetNamespace("ns", true)
	w.SetService(k, Build(k, &Service{ClusterIPs: []netip.Addr{netip.MustParseAddr("10.9.9.9")}}, nil, BuildOptions{}))
	w.Commit()
	w.Begin()
	w.SetService(k, entry)
	w.Commit()

	for _, tc := range []struct {
		addr      string
		clusterIP bool
	}{
		{"10.0.0.1", true},
		{"fd00::1", true},
		{"10.1.0.1", false},
		{"fd00::2", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			for name, ix := range map[string]*Index{"new": fresh, "replacing": replaced} {
				o, ok := ix.Load().Reverse.Get(netip.MustParseAddr(tc.addr))
				if all := o.All(); !ok || len(all) != 1 || *all[0].Service != k || all[0].ClusterIP != tc.clusterIP {
					t.Errorf("%s: owners %+v, want web once, ClusterIP %t", name, o.All(), tc.clusterIP)
				}
			}
		})
	}
	a, b := fresh.Load(), replaced.Load()
	if a.Reverse.Len() != 4 || b.Reverse.Len() != 4 {
		t.Errorf("reverse entries %d and %d, want 4", a.Reverse.Len(), b.Reverse.Len())
	}
	if a.ReverseTree.Len() != b.ReverseTree.Len() {
		t.Errorf("reverse tree %d prefixes new, %d replacing", a.ReverseTree.Len(), b.ReverseTree.Len())
	}
	for _, p := range []string{"10.0.0.0/8", "10.1.0.0/16", "fd00::/16", "fd00::/124"} {
		na, _ := a.ReverseTree.Get(netip.MustParsePrefix(p))
		nb, _ := b.ReverseTree.Get(netip.MustParsePrefix(p))
		if na != nb || na == 0 {
			t.Errorf("%s: count %d new, %d replacing", p, na, nb)
		}
	}
}

func TestAddCount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		deltas  []int32
		want    int32
		present bool
	}{
		{"one", []int32{1}, 1, true},
		{"up and down", []int32{1, 1, -1}, 1, true},
		{"back to zero", []int32{1, -1}, 0, false},
		{"below zero", []int32{1, -2}, 0, false},
		{"down from nothing", []int32{-1}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := (&Map[string, int32]{}).Edit()
			for _, d := range tc.deltas {
				addCount(e, "k", d)
			}
			m := e.Done()
			n, ok := m.Get("k")
			if n != tc.want || ok != tc.present {
				t.Errorf("count %d (present %t), want %d (%t)", n, ok, tc.want, tc.present)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.present]; m.Len() != want {
				t.Errorf("Len %d, want %d", m.Len(), want)
			}
		})
	}
}
