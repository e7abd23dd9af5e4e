package source

import (
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// podStateRig is a podState over stores of its own, publishing into an
// index, as the controller drives it.
type podStateRig struct {
	t   *testing.T
	cfg *Config
	st  Stores
	s   *podState
	ix  *index.Index
	w   *index.Writer
}

func newPodStateRig(t *testing.T, cfg *Config) *podStateRig {
	ix := index.New()
	return &podStateRig{t: t, cfg: cfg, st: NewStores(cfg), s: newPodState(cfg), ix: ix, w: index.NewWriter(ix)}
}

// put stores the slim form of obj (a Pod or Node), or, with del, removes it.
func (r *podStateRig) put(obj runtime.Object, del bool) {
	r.t.Helper()
	slim, _ := NewSlimmer(r.cfg).Transform(obj)
	store := r.st.Pods
	if _, ok := obj.(*corev1.Node); ok {
		store = r.st.Nodes
	}
	var err error
	if del {
		err = store.Delete(slim)
	} else {
		err = store.Update(slim)
	}
	if err != nil {
		r.t.Fatal(err)
	}
}

// batch runs fn as one publication and returns the view it published.
func (r *podStateRig) batch(fn func()) *index.View {
	r.w.Begin()
	fn()
	r.w.Commit()
	return r.ix.Load()
}

func clientIn(v *index.View, ip string) string {
	c, ok := v.Clients.Get(index.KeyOf(netip.MustParseAddr(ip)))
	if !ok {
		return ""
	}
	return c.Namespace + "/" + c.Name
}

func hasPodRecord(v *index.View, ns, ip string) bool {
	_, ok := v.Pods.Get(index.PodKey{Namespace: ns, Addr: netip.MustParseAddr(ip)})
	return ok
}

func TestPodStateRecordsAndClients(t *testing.T) {
	r := newPodStateRig(t, verifiedConfig())
	const ip = "10.244.0.9"
	r.put(fixture.Pod("prod", "old", corev1.PodRunning, 1, ip), false)
	v := r.batch(func() { r.s.sync("prod/old", r.st, r.w) })
	if !hasPodRecord(v, "prod", ip) || clientIn(v, ip) != "prod/old" {
		t.Fatalf("after the first pod: record %v, client %q", hasPodRecord(v, "prod", ip), clientIn(v, ip))
	}
	c, _ := v.Clients.Get(index.KeyOf(netip.MustParseAddr(ip)))
	if want := []string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", ""}; !slices.Equal(c.Search, want) {
		t.Errorf("search path %q, want %q", c.Search, want)
	}

	// A newer pod takes the address over; its own namespace gets a record.
	r.put(fixture.Pod("dev", "new", corev1.PodRunning, 2, ip), false)
	v = r.batch(func() { r.s.sync("dev/new", r.st, r.w) })
	if clientIn(v, ip) != "dev/new" || !hasPodRecord(v, "dev", ip) || !hasPodRecord(v, "prod", ip) {
		t.Errorf("after the newer pod: client %q, records dev %v prod %v", clientIn(v, ip), hasPodRecord(v, "dev", ip), hasPodRecord(v, "prod", ip))
	}

	// It goes: the address is the old pod's again.
	r.put(fixture.Pod("dev", "new", corev1.PodRunning, 2, ip), true)
	v = r.batch(func() { r.s.sync("dev/new", r.st, r.w) })
	if clientIn(v, ip) != "prod/old" || hasPodRecord(v, "dev", ip) {
		t.Errorf("after the newer pod left: client %q, dev record %v", clientIn(v, ip), hasPodRecord(v, "dev", ip))
	}

	// A finished pod holds no address.
	r.put(fixture.Pod("prod", "old", corev1.PodSucceeded, 1, ip), false)
	v = r.batch(func() { r.s.sync("prod/old", r.st, r.w) })
	if clientIn(v, ip) != "" || hasPodRecord(v, "prod", ip) || v.Pods.Len() != 0 || v.Clients.Len() != 0 {
		t.Errorf("after the pod finished: client %q, %d records, %d clients", clientIn(v, ip), v.Pods.Len(), v.Clients.Len())
	}
	if len(r.s.have) != 0 || len(r.s.refs) != 0 || len(r.s.clients) != 0 {
		t.Errorf("state kept for a finished pod: %d have, %d refs, %d clients", len(r.s.have), len(r.s.refs), len(r.s.clients))
	}
}

func TestPodStateHostNetwork(t *testing.T) {
	r := newPodStateRig(t, verifiedConfig())
	const ip = "10.0.0.5" // the node's address
	r.put(fixture.HostNetwork(fixture.Pod("kube-system", "proxy", corev1.PodRunning, 1, ip)), false)
	v := r.batch(func() { r.s.sync("kube-system/proxy", r.st, r.w) })
	if !hasPodRecord(v, "kube-system", ip) {
		t.Error("a host-network pod's address has no pod record")
	}
	if got := clientIn(v, ip); got != "" {
		t.Errorf("queries from a node's address are taken as pod %s's", got)
	}
}

func TestPodStateZones(t *testing.T) {
	cfg := testConfig()
	cfg.ClientZoneFirst = true
	r := newPodStateRig(t, cfg)
	zoneOf := func(v *index.View, ip string) string {
		n, _ := v.ClientNodes.Get(index.KeyOf(netip.MustParseAddr(ip)))
		return n.Zone
	}
	r.put(fixture.Node("node-a", "zone-a"), false)
	r.put(fixture.ClientPod("prod", "a", "node-a", "10.240.0.1"), false)
	r.put(fixture.ClientPod("prod", "b", "node-a", "10.240.0.2"), false)
	v := r.batch(func() { r.s.rebuild(r.st, r.w) })
	if zoneOf(v, "10.240.0.1") != "zone-a" || zoneOf(v, "10.240.0.2") != "zone-a" {
		t.Fatalf("zones %q %q, want zone-a", zoneOf(v, "10.240.0.1"), zoneOf(v, "10.240.0.2"))
	}
	if v.Clients.Len() != 0 || v.Pods.Len() != 0 {
		t.Error("client_zone_first alone published pod records or client pods")
	}

	// The node moves zone: every pod on it follows.
	r.put(fixture.Node("node-a", "zone-b"), false)
	v = r.batch(func() { r.s.syncNode("node-a", r.st, r.w) })
	if zoneOf(v, "10.240.0.1") != "zone-b" || zoneOf(v, "10.240.0.2") != "zone-b" {
		t.Errorf("after the node moved: zones %q %q, want zone-b", zoneOf(v, "10.240.0.1"), zoneOf(v, "10.240.0.2"))
	}

	// A rebuild from stores without pod a forgets it, and only it.
	r.put(fixture.ClientPod("prod", "a", "node-a", "10.240.0.1"), true)
	v = r.batch(func() { r.s.rebuild(r.st, r.w) })
	if zoneOf(v, "10.240.0.1") != "" || zoneOf(v, "10.240.0.2") != "zone-b" {
		t.Errorf("after a rebuild without pod a: zones %q %q", zoneOf(v, "10.240.0.1"), zoneOf(v, "10.240.0.2"))
	}
	if _, ok := r.s.zoned.byNode["node-a"]["prod/a"]; ok {
		t.Error("pod a is still listed on its node")
	}
}

// TestSlimNodeAndPod checks the client_zone_first watches keep only what
// they need.
func TestSlimNodeAndPod(t *testing.T) {
	if n := object.SlimNode(fixture.Node("node-a", "Zone-A")); n.Zone != "zone-a" || n.Name != "node-a" {
		t.Errorf("slim node %q zone %q, want node-a in zone-a", n.Name, n.Zone)
	}
	if n := object.SlimNode(fixture.Node("node-x", "")); n.Zone != "" {
		t.Errorf("slim node without zone label has zone %q", n.Zone)
	}
	p := fixture.ClientPod("prod", "p", "node-a", "10.0.0.1")
	if got := (object.Slimmer{}).Pod(p); got.Node != "" || len(got.Addrs) != 1 {
		t.Errorf("without client_zone_first: node %q addrs %v, want no node and one address", got.Node, got.Addrs)
	}
	if got := (object.Slimmer{KeepNodes: true}).Pod(p); got.Node != "node-a" {
		t.Errorf("node name %q, want node-a", got.Node)
	}
	p.Status.Phase = corev1.PodSucceeded
	if got := podAddrs((object.Slimmer{}).Pod(p)); got != nil {
		t.Errorf("a finished pod holds addresses %v", got)
	}
}
