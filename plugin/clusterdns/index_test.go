package clusterdns

import (
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestIndexWriterReplacesAndRemoves(t *testing.T) {
	ix := newIndex()
	w := newIndexWriter(ix, false)
	w.begin()
	w.setNamespace("ns", true)
	w.setService("web.ns.svc", buildService(testService("ns", "web", []string{"10.0.0.1"}, testPort("http", corev1.ProtocolTCP, 80)), nil, buildOptions{}))
	if !w.commit() {
		t.Fatal("first batch not published")
	}
	first := ix.load()
	if _, ok := first.names.get("_http._tcp.web.ns.svc"); !ok {
		t.Fatal("SRV name missing")
	}

	// Replacing the service drops names it no longer has and its old PTR.
	w.begin()
	w.setService("web.ns.svc", buildService(testService("ns", "web", []string{"10.0.0.2"}), nil, buildOptions{}))
	w.commit()
	second := ix.load()
	if _, ok := second.names.get("_http._tcp.web.ns.svc"); ok {
		t.Error("stale SRV name still served")
	}
	if _, ok := second.reverse.get(netip.MustParseAddr("10.0.0.1")); ok {
		t.Error("stale PTR still served")
	}
	if n, _ := second.reverseTree.get(netip.MustParsePrefix("10.0.0.0/24")); n != 1 {
		t.Errorf("reverse tree count %d, want 1", n)
	}
	if second.serial <= first.serial {
		t.Errorf("serial %d not after %d", second.serial, first.serial)
	}
	// The earlier snapshot is untouched.
	if _, ok := first.names.get("_http._tcp.web.ns.svc"); !ok {
		t.Error("published snapshot was modified")
	}

	// Removing it empties the reverse tree; a batch with no change publishes nothing.
	w.begin()
	w.setService("web.ns.svc", nil)
	w.commit()
	if ix.load().reverseTree.len() != 0 {
		t.Error("reverse tree not emptied")
	}
	w.begin()
	w.setService("web.ns.svc", nil)
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
