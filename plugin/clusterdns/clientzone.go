package clusterdns

import (
	"net/netip"
	"slices"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// client_zone_first orders the addresses of a headless service so that
// those in the querying pod's own zone come first: client address -> pod
// -> node -> the node's topology.kubernetes.io/zone label. The controller
// keeps the address -> zone map in the index; the query path looks the
// client up once.

// nodeZone returns a node's zone, or "".
func nodeZone(n *node) string {
	if n == nil {
		return ""
	}
	return n.zone
}

// zoneClients is what the controller published of each pod for
// client_zone_first.
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

func newZoneClients() zoneClients {
	return zoneClients{have: make(map[string]zonedPod), refs: make(map[netip.Addr]int), byNode: make(map[string]map[string]struct{})}
}

// markNode queues a node whose zone may have changed.
func (c *controller) markNode(name string) {
	c.mark(func() { c.nodeKeys[name] = struct{}{} })
}

// syncNode updates the zone of every pod on a node.
func (c *controller) syncNode(name string) {
	for key := range c.zoned.byNode[name] {
		obj, _, _ := c.st.pods.GetByKey(key)
		p, _ := obj.(*pod)
		c.syncClientPod(key, p)
	}
}

// zoneOfNode returns the zone of the named node, or "".
func (c *controller) zoneOfNode(name string) string {
	if name == "" {
		return ""
	}
	obj, _, _ := c.st.nodes.GetByKey(name)
	n, _ := obj.(*node)
	return nodeZone(n)
}

// syncClientPod publishes the zone of one pod's addresses (p nil: gone).
func (c *controller) syncClientPod(key string, p *pod) {
	var now zonedPod
	if p != nil && p.node != "" {
		now = zonedPod{addrs: podAddrs(p), node: p.node, zone: c.zoneOfNode(p.node)}
	}
	old := c.zoned.have[key]
	if now.zone == old.zone && now.node == old.node && slices.Equal(now.addrs, old.addrs) {
		return
	}
	if old.zone != "" {
		for _, a := range old.addrs {
			c.zoned.refs[a]--
			if c.zoned.refs[a] <= 0 {
				delete(c.zoned.refs, a)
				c.w.SetClientZone(a, "")
			}
		}
	}
	if old.node != "" {
		delete(c.zoned.byNode[old.node], key)
		if len(c.zoned.byNode[old.node]) == 0 {
			delete(c.zoned.byNode, old.node)
		}
	}
	delete(c.zoned.have, key)
	if now.node == "" {
		return
	}
	c.zoned.have[key] = now
	if c.zoned.byNode[now.node] == nil {
		c.zoned.byNode[now.node] = make(map[string]struct{})
	}
	c.zoned.byNode[now.node][key] = struct{}{}
	if now.zone == "" {
		return
	}
	for _, a := range now.addrs {
		c.zoned.refs[a]++
		c.w.SetClientZone(a, now.zone)
	}
}

// clientZone returns the zone of the pod that sent the query, or "".
func (l *lookup) clientZone() string {
	a, ok := clientAddr(l.state.W)
	if !ok {
		return ""
	}
	zone, _ := l.snap.ClientZones.Get(index.KeyOf(a))
	return zone
}
