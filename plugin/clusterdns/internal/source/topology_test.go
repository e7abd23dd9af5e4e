package source

import (
	"net/netip"
	"strings"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// TestPodStateClientNodes checks which client nodes are published: with
// traffic_distribution every pod's node, with or without zone (forNodes
// hints name nodes); with client_zone_first alone only pods whose node has
// a zone, as before.
func TestPodStateClientNodes(t *testing.T) {
	tests := []struct {
		name              string
		zoneFirst, hinted bool
		wantZoned         index.ClientNode
		wantZoneless      index.ClientNode
	}{
		{"traffic_distribution", false, true, index.ClientNode{Name: "node-a", Zone: "zone-a"}, index.ClientNode{Name: "node-x"}},
		{"client_zone_first", true, false, index.ClientNode{Name: "node-a", Zone: "zone-a"}, index.ClientNode{}},
		{"both", true, true, index.ClientNode{Name: "node-a", Zone: "zone-a"}, index.ClientNode{Name: "node-x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.ClientZoneFirst, cfg.TrafficDistribution = tc.zoneFirst, tc.hinted
			r := newPodStateRig(t, cfg)
			nodeOf := func(v *index.View, ip string) index.ClientNode {
				n, _ := v.ClientNodes.Get(index.KeyOf(netip.MustParseAddr(ip)))
				return n
			}
			r.put(fixture.Node("node-a", "zone-a"), false)
			r.put(fixture.Node("node-x", ""), false)
			r.put(fixture.ClientPod("prod", "a", "node-a", "10.240.0.1"), false)
			r.put(fixture.ClientPod("prod", "x", "node-x", "10.240.0.2"), false)
			v := r.batch(func() { r.s.rebuild(r.st, r.w) })
			if got := nodeOf(v, "10.240.0.1"); got != tc.wantZoned {
				t.Errorf("pod on a zoned node: %+v, want %+v", got, tc.wantZoned)
			}
			if got := nodeOf(v, "10.240.0.2"); got != tc.wantZoneless {
				t.Errorf("pod on a node without zone: %+v, want %+v", got, tc.wantZoneless)
			}

			// The zoneless node gets a zone; then the pod goes.
			r.put(fixture.Node("node-x", "zone-x"), false)
			v = r.batch(func() { r.s.syncNode("node-x", r.st, r.w) })
			if got := nodeOf(v, "10.240.0.2"); got != (index.ClientNode{Name: "node-x", Zone: "zone-x"}) {
				t.Errorf("after node-x got a zone: %+v", got)
			}
			r.put(fixture.ClientPod("prod", "x", "node-x", "10.240.0.2"), true)
			v = r.batch(func() { r.s.sync("prod/x", r.st, r.w) })
			if got := nodeOf(v, "10.240.0.2"); got != (index.ClientNode{}) {
				t.Errorf("after the pod went: %+v", got)
			}
		})
	}
}

// TestSameSliceHints checks a change of hints alone is a change of the
// answers, so the service is built again.
func TestSameSliceHints(t *testing.T) {
	sl := object.Slimmer{KeepHints: true}
	slice := func(zone string) *object.EndpointSlice {
		return sl.EndpointSlice(fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil,
			fixture.Endpoint{IP: "10.244.0.1", Hints: fixture.Hints(nil, []string{zone})}))
	}
	if !sameSlice(slice("a"), slice("a")) {
		t.Error("equal slices differ")
	}
	if sameSlice(slice("a"), slice("b")) {
		t.Error("a slice whose hints changed is the same")
	}
}

// TestSnapshotOptionsHints checks a snapshot file names the hints only
// when they are kept: files written without traffic_distribution stay
// valid for servers without it, and a server with it does not read them.
func TestSnapshotOptionsHints(t *testing.T) {
	off := testConfig()
	on := testConfig()
	on.TrafficDistribution = true
	if strings.Contains(snapshotOptions(off), "hints") {
		t.Errorf("without the option: %q", snapshotOptions(off))
	}
	if !strings.HasSuffix(snapshotOptions(on), ";hints=true") || snapshotOptions(on) == snapshotOptions(off) {
		t.Errorf("with the option: %q", snapshotOptions(on))
	}
}
