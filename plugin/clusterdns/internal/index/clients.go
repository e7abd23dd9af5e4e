package index

import "net/netip"

// Client is the pod a query came from: autopath needs its namespace for
// its search path, and the metadata plugin offers its namespace and name.
type Client struct {
	Namespace, Name string
	// Search is the pod's search path in the primary zone, for autopath;
	// shared by every pod of the namespace and never modified.
	Search []string
}

// SetClient records which pod holds addr, or that none does.
func (w *Writer) SetClient(addr netip.Addr, p Client, present bool) {
	k := KeyOf(addr)
	cur, had := w.clients.Get(k)
	if had == present && cur.Namespace == p.Namespace && cur.Name == p.Name {
		return
	}
	w.changed = true
	if present {
		w.clients.Set(k, p)
	} else {
		w.clients.Delete(k)
	}
}

// ClientNode is the node of the pod behind a client address: its name
// (the pod's spec.nodeName) and its topology.kubernetes.io/zone label,
// lower case; "" when unknown.
type ClientNode struct {
	Name, Zone string
}

// SetClientNode records the node of a client address; the zero ClientNode
// forgets it.
func (w *Writer) SetClientNode(a netip.Addr, n ClientNode) {
	if setOrDelete(w.clientNodes, KeyOf(a), n) {
		w.changed = true
	}
}
