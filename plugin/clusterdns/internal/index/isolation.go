package index

import "net/netip"

// Isolation is the `isolate` policy: which namespaces a client sees. A
// client pod sees its own namespace, the shared ones and, with Tenants,
// those of its tenant; every other namespace answers as if it did not
// exist.
type Isolation struct {
	// Shared are the namespaces every client sees.
	Shared map[string]struct{}
	// Tenants lets namespaces with the same tenant (View.Tenants) see
	// each other.
	Tenants bool
	// AllowUnknown lets a client that is no known pod (a node, a
	// host-network pod, a pod whose address has not reached the index
	// yet) see every namespace; otherwise it sees the shared ones.
	AllowUnknown bool
}

// Audience is what one client may see of the namespaces. The zero
// Audience sees everything.
type Audience struct {
	iso     *Isolation
	limited bool
	ns      string // the client pod's namespace
	tenant  string // its tenant, "" for none
}

// AudienceOf returns what a client at addr sees of the view under iso; everything
// when iso is nil. A lookup with no client address (ok false, as in a zone
// transfer, for which the transfer plugin names no client) sees the shared
// namespaces only.
func (s *View) AudienceOf(iso *Isolation, addr netip.Addr, ok bool) Audience {
	if iso == nil {
		return Audience{}
	}
	a := Audience{iso: iso, limited: true}
	if !ok {
		return a
	}
	c, known := s.Clients.Get(KeyOf(addr))
	if !known {
		a.limited = !iso.AllowUnknown
		return a
	}
	a.ns = c.Namespace
	if iso.Tenants {
		a.tenant, _ = s.Tenants.Get(c.Namespace)
	}
	return a
}

// Sees reports whether the audience may see namespace ns of v.
func (a Audience) Sees(v *View, ns string) bool {
	if !a.limited || ns == a.ns {
		return true
	}
	if _, ok := a.iso.Shared[ns]; ok {
		return true
	}
	if a.tenant == "" {
		return false
	}
	t, _ := v.Tenants.Get(ns)
	return t == a.tenant
}

// Limited reports whether the audience misses some namespaces.
func (a Audience) Limited() bool { return a.limited }

// SetTenant records the tenant of namespace ns; "" forgets it.
func (w *Writer) SetTenant(ns, tenant string) {
	if setOrDelete(w.tenants, ns, tenant) {
		w.changed = true
	}
}
