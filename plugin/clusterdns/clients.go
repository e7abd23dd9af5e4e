package clusterdns

import (
	"net/netip"
	"slices"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// A query's source address tells which pod asked: autopath needs the pod's
// namespace for its search path, and the metadata plugin offers the pod's
// namespace and name to log, acl, rewrite and others. The mapping comes
// from the pod watch of `pods verified`.

// syncClients moves pod key from the addresses it held (old) to those it
// holds now (cur) and picks again the client pod of each of them. Pods on
// the host network are never clients: their address is their node's, which
// every host-network pod and the node itself share.
func (c *controller) syncClients(key string, old, cur []netip.Addr, p *pod) {
	for _, a := range old {
		keys := slices.DeleteFunc(c.clientPods[a], func(k string) bool { return k == key })
		if len(keys) == 0 {
			delete(c.clientPods, a)
		} else {
			c.clientPods[a] = keys
		}
	}
	if p != nil && !p.hostNetwork {
		for _, a := range cur {
			c.clientPods[a] = append(c.clientPods[a], key)
		}
	}
	for _, a := range old {
		c.pickClient(a)
	}
	for _, a := range cur {
		if !slices.Contains(old, a) {
			c.pickClient(a)
		}
	}
}

// pickClient publishes the pod that best explains a query from addr.
func (c *controller) pickClient(addr netip.Addr) {
	var best *pod
	for _, key := range c.clientPods[addr] {
		obj, ok, _ := c.st.pods.GetByKey(key)
		if p, _ := obj.(*pod); ok && p != nil && (best == nil || preferClient(p, best)) {
			best = p
		}
	}
	if best == nil {
		c.w.SetClient(addr, index.Client{}, false)
		return
	}
	c.w.SetClient(addr, index.Client{Namespace: best.Namespace, Name: best.Name, Search: c.searchOf(best.Namespace)}, true)
}

// searchOf returns the search path of the pods of namespace ns, built once
// per namespace.
func (c *controller) searchOf(ns string) []string {
	s, ok := c.searches[ns]
	if !ok {
		s = dnsname.SearchPath(ns, c.cfg.primaryZone, c.cfg.hostSearch)
		c.searches[ns] = s
	}
	return s
}

// preferClient reports whether a, rather than b, is the pod a query from an
// address both hold comes from. Addresses are reused once a pod is gone,
// but the old pod's object can outlive it for a while (graceful deletion,
// a slow kubelet), so a pod being deleted loses to one that is not, a
// running pod wins over a pending one, and then the newest wins. The names
// break ties so the choice does not depend on event order.
func preferClient(a, b *pod) bool {
	if a.deleting != b.deleting {
		return !a.deleting
	}
	if ar, br := a.phase == corev1.PodRunning, b.phase == corev1.PodRunning; ar != br {
		return ar
	}
	if a.created != b.created {
		return a.created > b.created
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// clientOf returns the pod a query written to w came from.
func (c *ClusterDNS) clientOf(w dns.ResponseWriter) (index.Client, bool) {
	addr, ok := clientAddr(w)
	if !ok {
		return index.Client{}, false
	}
	return c.index.Load().Clients.Get(index.KeyOf(addr))
}
