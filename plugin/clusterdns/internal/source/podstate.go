package source

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// podState is everything clusterdns derives from pods and nodes, kept from
// one build of the index to the next, so a changed pod costs only its own
// addresses:
//
//   - with `pods verified`, the addresses each pod holds (the names
//     <dashed-ip>.<ns>.pod);
//   - with `pods verified` or `isolate`, which pod a query from each
//     address comes from (autopath's search path, the client metadata,
//     the namespaces `isolate` lets it see);
//   - with `client_zone_first` or `traffic_distribution`, the node of each
//     client address and its zone: client address -> pod -> node -> the
//     node's topology.kubernetes.io/zone label.
//
// It reads pods and nodes from whichever stores it is given (the
// informers', or a snapshot file's) and writes what it derives through the
// index writer. It is not safe for concurrent use; the controller's build
// lock serializes it.
type podState struct {
	verified   bool     // `pods verified`
	identify   bool     // which pod each client address is (`pods verified`, `isolate`)
	nodes      bool     // `client_zone_first` or `traffic_distribution`
	zoneless   bool     // `traffic_distribution`: pods on nodes without a zone too
	zone       string   // the primary zone, of the autopath search paths
	hostSearch []string // the server's own search domains, after the cluster's

	refs map[index.PodKey]int    // how many pods hold each address
	have map[string][]netip.Addr // addresses published per pod key
	// clients lists the pods (keys) holding each address, host-network
	// pods excepted, to pick the one a query from that address comes from.
	clients  map[netip.Addr][]string
	searches map[string][]string // autopath search path per namespace
	zoned    zoneClients
}

// zoneClients is what was published of each pod's node.
type zoneClients struct {
	have   map[string]zonedPod            // by pod key, pods with a node
	refs   map[netip.Addr]int             // how many pods hold each published address (host-network pods share one)
	byNode map[string]map[string]struct{} // pod keys by node name
}

// zonedPod is one pod's addresses, node and the node's zone.
type zonedPod struct {
	addrs      []netip.Addr
	node, zone string
}

func newPodState(cfg *Config) *podState {
	return &podState{
		verified:   cfg.PodMode == index.PodsVerified,
		identify:   cfg.IdentifyClients(),
		nodes:      cfg.WatchNodes(),
		zoneless:   cfg.TrafficDistribution,
		zone:       cfg.PrimaryZone,
		hostSearch: cfg.HostSearch,
		refs:       make(map[index.PodKey]int),
		have:       make(map[string][]netip.Addr),
		clients:    make(map[netip.Addr][]string),
		searches:   make(map[string][]string),
		zoned: zoneClients{
			have:   make(map[string]zonedPod),
			refs:   make(map[netip.Addr]int),
			byNode: make(map[string]map[string]struct{}),
		},
	}
}

// rebuild brings what is published of pods in line with the whole content
// of st: pods that are gone are forgotten, every other pod synced again.
func (ps *podState) rebuild(st Stores, w *index.Writer) {
	if st.Pods == nil {
		return
	}
	for key := range ps.have {
		if _, ok, _ := st.Pods.GetByKey(key); !ok {
			ps.sync(key, st, w)
		}
	}
	for key := range ps.zoned.have {
		if _, ok, _ := st.Pods.GetByKey(key); !ok {
			ps.sync(key, st, w)
		}
	}
	for _, key := range st.Pods.ListKeys() {
		ps.sync(key, st, w)
	}
}

// sync updates what the pod with key ("<ns>/<name>") contributes, as st
// now holds it.
func (ps *podState) sync(key string, st Stores, w *index.Writer) {
	var p *object.Pod
	if obj, exists, _ := st.Pods.GetByKey(key); exists {
		p, _ = obj.(*object.Pod)
	}
	if ps.identify {
		ps.syncRecords(key, p, st, w)
	}
	if ps.nodes {
		ps.syncZone(key, p, st, w)
	}
}

// syncNode updates the zone of every pod on a node.
func (ps *podState) syncNode(name string, st Stores, w *index.Writer) {
	for key := range ps.zoned.byNode[name] {
		obj, _, _ := st.Pods.GetByKey(key)
		p, _ := obj.(*object.Pod)
		ps.syncZone(key, p, st, w)
	}
}

// syncRecords updates the addresses one pod holds (p nil: gone), its pod
// names with `pods verified`, and the clients its addresses identify.
func (ps *podState) syncRecords(key string, p *object.Pod, st Stores, w *index.Writer) {
	ns, _, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return
	}
	addrs := podAddrs(p)
	old := ps.have[key]
	if ps.verified {
		ps.syncPodNames(ns, old, addrs, w)
	}
	delete(ps.have, key)
	if len(addrs) > 0 {
		ps.have[key] = addrs
	}
	ps.syncClients(key, old, addrs, p, st, w)
}

// syncPodNames moves the pod names <dashed-ip>.<ns>.pod of a pod in ns
// from the addresses it held (old) to those it holds now (cur).
func (ps *podState) syncPodNames(ns string, old, cur []netip.Addr, w *index.Writer) {
	for _, a := range old {
		k := index.PodKey{Namespace: ns, Addr: a}
		ps.refs[k]--
		if ps.refs[k] <= 0 {
			delete(ps.refs, k)
			w.SetPod(k, false)
		}
	}
	for _, a := range cur {
		k := index.PodKey{Namespace: ns, Addr: a}
		ps.refs[k]++
		w.SetPod(k, true)
	}
}

// syncClients moves pod key from the addresses it held (old) to those it
// holds now (cur) and picks again the client pod of each of them. Pods on
// the host network are never clients: their address is their node's, which
// every host-network pod and the node itself share.
func (ps *podState) syncClients(key string, old, cur []netip.Addr, p *object.Pod, st Stores, w *index.Writer) {
	for _, a := range old {
		keys := slices.DeleteFunc(ps.clients[a], func(k string) bool { return k == key })
		if len(keys) == 0 {
			delete(ps.clients, a)
		} else {
			ps.clients[a] = keys
		}
	}
	if p != nil && !p.HostNetwork {
		for _, a := range cur {
			ps.clients[a] = append(ps.clients[a], key)
		}
	}
	for _, a := range old {
		ps.pickClient(a, st, w)
	}
	for _, a := range cur {
		if !slices.Contains(old, a) {
			ps.pickClient(a, st, w)
		}
	}
}

// pickClient publishes the pod that best explains a query from addr.
func (ps *podState) pickClient(addr netip.Addr, st Stores, w *index.Writer) {
	var best *object.Pod
	for _, key := range ps.clients[addr] {
		obj, ok, _ := st.Pods.GetByKey(key)
		if p, _ := obj.(*object.Pod); ok && p != nil && (best == nil || preferClient(p, best)) {
			best = p
		}
	}
	if best == nil {
		w.SetClient(addr, index.Client{}, false)
		return
	}
	w.SetClient(addr, index.Client{Namespace: best.Namespace, Name: best.Name, Search: ps.searchOf(best.Namespace)}, true)
}

// searchOf returns the search path of the pods of namespace ns, built once
// per namespace.
func (ps *podState) searchOf(ns string) []string {
	path, ok := ps.searches[ns]
	if !ok {
		path = dnsname.SearchPath(ns, ps.zone, ps.hostSearch)
		ps.searches[ns] = path
	}
	return path
}

// syncZone publishes the node and zone of one pod's addresses (p nil:
// gone).
func (ps *podState) syncZone(key string, p *object.Pod, st Stores, w *index.Writer) {
	var now zonedPod
	if p != nil && p.Node != "" {
		now = zonedPod{addrs: podAddrs(p), node: p.Node, zone: zoneOfNode(st, p.Node)}
	}
	old := ps.zoned.have[key]
	if now.zone == old.zone && now.node == old.node && slices.Equal(now.addrs, old.addrs) {
		return
	}
	if ps.published(old) {
		for _, a := range old.addrs {
			ps.zoned.refs[a]--
			if ps.zoned.refs[a] <= 0 {
				delete(ps.zoned.refs, a)
				w.SetClientNode(a, index.ClientNode{})
			}
		}
	}
	if old.node != "" {
		delete(ps.zoned.byNode[old.node], key)
		if len(ps.zoned.byNode[old.node]) == 0 {
			delete(ps.zoned.byNode, old.node)
		}
	}
	delete(ps.zoned.have, key)
	if now.node == "" {
		return
	}
	ps.zoned.have[key] = now
	if ps.zoned.byNode[now.node] == nil {
		ps.zoned.byNode[now.node] = make(map[string]struct{})
	}
	ps.zoned.byNode[now.node][key] = struct{}{}
	if !ps.published(now) {
		return
	}
	for _, a := range now.addrs {
		ps.zoned.refs[a]++
		w.SetClientNode(a, index.ClientNode{Name: now.node, Zone: now.zone})
	}
}

// published reports whether the node of pod z is published: client_zone_first
// needs a zone, traffic_distribution a node name alone (forNodes hints).
func (ps *podState) published(z zonedPod) bool {
	return z.zone != "" || (ps.zoneless && z.node != "")
}

// zoneOfNode returns the zone of the named node in st, or "".
func zoneOfNode(st Stores, name string) string {
	if name == "" || st.Nodes == nil {
		return ""
	}
	obj, _, _ := st.Nodes.GetByKey(name)
	n, _ := obj.(*object.Node)
	return nodeZone(n)
}

// nodeZone returns a node's zone, or "".
func nodeZone(n *object.Node) string {
	if n == nil {
		return ""
	}
	return n.Zone
}

// podAddrs returns the addresses of a pod that is not finished; none for nil.
func podAddrs(p *object.Pod) []netip.Addr {
	if p == nil {
		return nil
	}
	switch p.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown:
		return nil
	}
	return p.Addrs
}

// preferClient reports whether a, rather than b, is the pod a query from an
// address both hold comes from. Addresses are reused once a pod is gone,
// but the old pod's object can outlive it for a while (graceful deletion,
// a slow kubelet), so a pod being deleted loses to one that is not, a
// running pod wins over a pending one, and then the newest wins. The names
// break ties so the choice does not depend on event order.
func preferClient(a, b *object.Pod) bool {
	if a.Deleting != b.Deleting {
		return !a.Deleting
	}
	if ar, br := a.Phase == corev1.PodRunning, b.Phase == corev1.PodRunning; ar != br {
		return ar
	}
	if a.Created != b.Created {
		return a.Created > b.Created
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}
