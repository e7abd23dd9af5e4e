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

// SetClientZone records the zone of a client address; "" forgets it.
func (w *Writer) SetClientZone(a netip.Addr, zone string) {
	k := KeyOf(a)
	cur, _ := w.clientZones.Get(k)
	if cur == zone {
		return
	}
	w.changed = true
	if zone == "" {
		w.clientZones.Delete(k)
	} else {
		w.clientZones.Set(k, zone)
	}
}
