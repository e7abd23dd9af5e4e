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
	if _, ok := first.Reverse.Get(KeyOf(netip.MustParseAddr("10.0.0.1"))); !ok {
		t.Fatal("PTR owner missing")
	}

	// Replacing the service moves its PTR owner.
	w.Begin()
	w.SetService(k, Build(k, &Service{ClusterIPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}, nil, BuildOptions{}))
	w.Commit()
	second := ix.Load()
	if _, ok := second.Reverse.Get(KeyOf(netip.MustParseAddr("10.0.0.1"))); ok {
		t.Error("stale PTR still served")
	}
	if o, ok := second.Reverse.Get(KeyOf(netip.MustParseAddr("10.0.0.2"))); !ok || !o.first.ClusterIP || *o.first.Service != k {
		t.Errorf("new PTR owner %+v", o)
	}
	if n, _ := second.ReverseTree.Get(netip.MustParsePrefix("10.0.0.0/24")); n != 1 {
		t.Errorf("reverse tree count %d, want 1", n)
	}
	if second.Serial <= first.Serial {
		t.Errorf("serial %d not after %d", second.Serial, first.Serial)
	}
	// The earlier view is untouched.
	if _, ok := first.Reverse.Get(KeyOf(netip.MustParseAddr("10.0.0.1"))); !ok {
		t.Error("published view was modified")
	}

	// An address owned by two services keeps the other owner when one goes.
	other := ServiceKey{Name: "api", Namespace: "ns"}
	w.Begin()
	w.SetService(other, Build(other, &Service{ClusterIPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}, nil, BuildOptions{}))
	w.Commit()
	if o, _ := ix.Load().Reverse.Get(KeyOf(netip.MustParseAddr("10.0.0.2"))); len(o.All()) != 2 {
		t.Errorf("owners %+v, want two", o)
	}
	w.Begin()
	w.SetService(k, nil)
	w.Commit()
	if o, _ := ix.Load().Reverse.Get(KeyOf(netip.MustParseAddr("10.0.0.2"))); len(o.All()) != 1 || *o.first.Service != other {
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
