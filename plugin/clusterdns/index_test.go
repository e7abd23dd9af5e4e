package clusterdns

import (
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestIndexWriterReplacesAndRemoves(t *testing.T) {
	ix := newIndex()
	w := newIndexWriter(ix)
	k := svcKey{name: "web", namespace: "ns"}
	w.begin()
	w.setNamespace("ns", true)
	w.setService(k, buildEntry(slimService(testService("ns", "web", []string{"10.0.0.1"}, testPort("http", corev1.ProtocolTCP, 80))), nil, buildOptions{}))
	if !w.commit() {
		t.Fatal("first batch not published")
	}
	first := ix.load()
	if _, ok := first.reverse.get(keyOf(netip.MustParseAddr("10.0.0.1"))); !ok {
		t.Fatal("PTR owner missing")
	}

	// Replacing the service moves its PTR owner.
	w.begin()
	w.setService(k, buildEntry(slimService(testService("ns", "web", []string{"10.0.0.2"})), nil, buildOptions{}))
	w.commit()
	second := ix.load()
	if _, ok := second.reverse.get(keyOf(netip.MustParseAddr("10.0.0.1"))); ok {
		t.Error("stale PTR still served")
	}
	if o, ok := second.reverse.get(keyOf(netip.MustParseAddr("10.0.0.2"))); !ok || !o.first.clusterIP || *o.first.svc != k {
		t.Errorf("new PTR owner %+v", o)
	}
	if n, _ := second.reverseTree.get(netip.MustParsePrefix("10.0.0.0/24")); n != 1 {
		t.Errorf("reverse tree count %d, want 1", n)
	}
	if second.serial <= first.serial {
		t.Errorf("serial %d not after %d", second.serial, first.serial)
	}
	// The earlier snapshot is untouched.
	if _, ok := first.reverse.get(keyOf(netip.MustParseAddr("10.0.0.1"))); !ok {
		t.Error("published snapshot was modified")
	}

	// An address owned by two services keeps the other owner when one goes.
	other := svcKey{name: "api", namespace: "ns"}
	w.begin()
	w.setService(other, buildEntry(slimService(testService("ns", "api", []string{"10.0.0.2"})), nil, buildOptions{}))
	w.commit()
	if o, _ := ix.load().reverse.get(keyOf(netip.MustParseAddr("10.0.0.2"))); len(o.all()) != 2 {
		t.Errorf("owners %+v, want two", o)
	}
	w.begin()
	w.setService(k, nil)
	w.commit()
	if o, _ := ix.load().reverse.get(keyOf(netip.MustParseAddr("10.0.0.2"))); len(o.all()) != 1 || *o.first.svc != other {
		t.Errorf("owners after removal %+v, want only api", o)
	}

	// Removing the last one empties the reverse tree; a batch with no change publishes nothing.
	w.begin()
	w.setService(other, nil)
	w.commit()
	if ix.load().reverseTree.len() != 0 || ix.load().reverse.len() != 0 {
		t.Error("reverse maps not emptied")
	}
	w.begin()
	w.setService(k, nil)
	if w.commit() {
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
