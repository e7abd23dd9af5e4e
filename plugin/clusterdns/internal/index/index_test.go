package index

import (
	"net/netip"
	"testing"
	"time"
)

func TestIndexWriterReplacesAndRemoves(t *testing.T) {
	ix := New()
	w := NewWriter(ix)
	k := ServiceKey{Name: "web", Namespace: "ns"}
	w.Begin()
	w.SetNamespace("ns", true)
	w.SetService(k, Build(k, &Service{ClusterIPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Ports: []Port{{Name: "http", Proto: "tcp", Number: 80}}}, nil, BuildOptions{}))
	if !w.Commit() {
		t.Fatal("first batch not published")
	}
	first := ix.Load()
	if _, ok := first.Reverse.Get(netip.MustParseAddr("10.0.0.1")); !ok {
		t.Fatal("PTR owner missing")
	}

	// Replacing the service moves its PTR owner.
	w.Begin()
	w.SetService(k, Build(k, &Service{ClusterIPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}, nil, BuildOptions{}))
	w.Commit()
	second := ix.Load()
	if _, ok := second.Reverse.Get(netip.MustParseAddr("10.0.0.1")); ok {
		t.Error("stale PTR still served")
	}
	if o, ok := second.Reverse.Get(netip.MustParseAddr("10.0.0.2")); !ok || len(o.All()) != 1 || !o.All()[0].ClusterIP || *o.All()[0].Service != k {
		t.Errorf("new PTR owner %+v", o)
	}
	if n, _ := second.ReverseTree.Get(netip.MustParsePrefix("10.0.0.0/24")); n != 1 {
		t.Errorf("reverse tree count %d, want 1", n)
	}
	if second.Serial <= first.Serial {
		t.Errorf("serial %d not after %d", second.Serial, first.Serial)
	}
	// The earlier view is untouched.
	if _, ok := first.Reverse.Get(netip.MustParseAddr("10.0.0.1")); !ok {
		t.Error("published view was modified")
	}

	// An address owned by two services keeps the other owner when one goes.
	other := ServiceKey{Name: "api", Namespace: "ns"}
	w.Begin()
	w.SetService(other, Build(other, &Service{ClusterIPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}, nil, BuildOptions{}))
	w.Commit()
	if o, _ := ix.Load().Reverse.Get(netip.MustParseAddr("10.0.0.2")); len(o.All()) != 2 {
		t.Errorf("owners %+v, want two", o)
	}
	w.Begin()
	w.SetService(k, nil)
	w.Commit()
	if o, _ := ix.Load().Reverse.Get(netip.MustParseAddr("10.0.0.2")); len(o.All()) != 1 || *o.All()[0].Service != other {
		t.Errorf("owners after removal %+v, want only api", o)
	}

	// Removing the last one empties the reverse tree; a batch with no change publishes nothing.
	w.Begin()
	w.SetService(other, nil)
	w.Commit()
	if ix.Load().ReverseTree.Len() != 0 || ix.Load().Reverse.Len() != 0 {
		t.Error("reverse maps not emptied")
	}
	w.Begin()
	w.SetService(k, nil)
	if w.Commit() {
		t.Error("an empty batch was published")
	}
}

func TestNextSerial(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	if got := nextSerial(0, now); got != 1_800_000_000 {
		t.Errorf("from 0: %d", got)
	}
	if got := nextSerial(1_800_000_005, now); got != 1_800_000_006 {
		t.Errorf("ahead of the clock: %d", got)
	}
}

// TestReverseOwnerLists checks the reverse table of both address families,
// and that the addresses one service alone owns share one list of owners,
// also once a second owner of one of them has gone again.
func TestReverseOwnerLists(t *testing.T) {
	ix := New()
	w := NewWriter(ix)
	web, api := ServiceKey{Name: "web", Namespace: "ns"}, ServiceKey{Name: "api", Namespace: "ns"}
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	w.Begin()
	w.SetNamespace("ns", true)
	w.SetService(web, Build(web, &Service{ClusterIPs: addrs("10.0.0.1", "fd00::1", "10.0.0.2")}, nil, BuildOptions{}))
	w.SetService(api, Build(api, &Service{ClusterIPs: addrs("10.0.0.2")}, nil, BuildOptions{}))
	w.Commit()
	owners := func(a string) []Owner {
		o, _ := ix.Load().Reverse.Get(netip.MustParseAddr(a))
		return o.All()
	}
	if o := owners("fd00::1"); len(o) != 1 || *o[0].Service != web || !o[0].ClusterIP {
		t.Errorf("owners of fd00::1: %+v, want web's ClusterIP", o)
	}
	if o := owners("::ffff:10.0.0.1"); len(o) != 1 || *o[0].Service != web {
		t.Errorf("owners of ::ffff:10.0.0.1: %+v, want those of 10.0.0.1", o)
	}
	if o := owners("10.0.0.2"); len(o) != 2 {
		t.Errorf("owners of 10.0.0.2: %+v, want web and api", o)
	}
	if n := ix.Load().Reverse.Len(); n != 3 {
		t.Errorf("%d addresses, want 3", n)
	}

	w.Begin()
	w.SetService(api, nil)
	w.Commit()
	one, two, six := owners("10.0.0.1"), owners("10.0.0.2"), owners("fd00::1")
	if len(two) != 1 || &one[0] != &two[0] || &one[0] != &six[0] {
		t.Errorf("web's addresses do not share one list of owners: %p %p %p", one, two, six)
	}
	if _, ok := ix.Load().Reverse.Get(netip.MustParseAddr("fd00::2")); ok {
		t.Error("an address nobody owns has owners")
	}
}
