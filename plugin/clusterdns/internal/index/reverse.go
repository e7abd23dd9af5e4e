package index

import (
	"bytes"
	"net/netip"
)

// Reverse maps an address to the services that own it (PTR). It has an
// entry for every address in the cluster, so an entry is kept small: IPv4
// addresses in a table of their own with 4-byte keys, and the owners
// behind one pointer (Owners).
type Reverse struct {
	v4 *Table[addr4, Owners]
	v6 *Table[AddrKey, Owners]
}

// addr4 is an IPv4 address as a reverse table key.
type addr4 [4]byte

func (a addr4) compare(b addr4) int { return bytes.Compare(a[:], b[:]) }

// newReverse returns an empty reverse table.
func newReverse() *Reverse {
	return &Reverse{v4: &Table[addr4, Owners]{}, v6: &Table[AddrKey, Owners]{}}
}

// Get returns the owners of an address; an IPv4-mapped IPv6 address is
// its IPv4 address.
func (r *Reverse) Get(a netip.Addr) (Owners, bool) {
	if a = a.Unmap(); a.Is4() {
		return r.v4.Get(a.As4())
	}
	return r.v6.Get(a.As16())
}

// Len returns the number of addresses.
func (r *Reverse) Len() int { return r.v4.Len() + r.v6.Len() }

// ReverseEdit builds the next version of a Reverse table.
type ReverseEdit struct {
	v4 *TableEdit[addr4, Owners]
	v6 *TableEdit[AddrKey, Owners]
}

// Edit starts a new version of r; r itself is never modified.
func (r *Reverse) Edit() *ReverseEdit {
	return &ReverseEdit{v4: r.v4.Edit(), v6: r.v6.Edit()}
}

// Get reads the version being built.
func (e *ReverseEdit) Get(a netip.Addr) (Owners, bool) {
	if a = a.Unmap(); a.Is4() {
		return e.v4.Get(a.As4())
	}
	return e.v6.Get(a.As16())
}

// Set stores the owners of an address.
func (e *ReverseEdit) Set(a netip.Addr, o Owners) {
	if a = a.Unmap(); a.Is4() {
		e.v4.Set(a.As4(), o)
	} else {
		e.v6.Set(a.As16(), o)
	}
}

// insert stores the owners of an address the caller found absent: Set
// without looking it up again.
func (e *ReverseEdit) insert(a netip.Addr, o Owners) {
	if a = a.Unmap(); a.Is4() {
		e.v4.insert(a.As4(), o)
	} else {
		e.v6.insert(a.As16(), o)
	}
}

// Delete removes an address.
func (e *ReverseEdit) Delete(a netip.Addr) {
	if a = a.Unmap(); a.Is4() {
		e.v4.Delete(a.As4())
	} else {
		e.v6.Delete(a.As16())
	}
}

// Done merges the changes and returns the new version.
func (e *ReverseEdit) Done() *Reverse {
	return &Reverse{v4: e.v4.Done(), v6: e.v6.Done()}
}

// Owners are the owners of one address, behind one pointer: nearly always
// a list of one, which every address a service owns in the same way
// (as ClusterIP, or as endpoint) shares (ownedBy). The zero Owners has none.
type Owners struct {
	list *[]Owner
}

// All returns every owner. The list is shared: callers must not modify it.
func (o Owners) All() []Owner {
	if o.list == nil {
		return nil
	}
	return *o.list
}

// ownedBy is what the writer keeps of each served service, in its entry:
// its stable key, and the lists of one owner that the addresses it alone
// owns share.
type ownedBy struct {
	key   ServiceKey
	owner [2]Owner   // as an endpoint's address, as a ClusterIP
	lists [2][]Owner // owner[0:1] and owner[1:2]
}

// newOwnedBy returns the owner record of the service k.
func newOwnedBy(k ServiceKey) *ownedBy {
	o := &ownedBy{key: k}
	for i, clusterIP := range []bool{false, true} {
		o.owner[i] = Owner{Service: &o.key, ClusterIP: clusterIP}
		o.lists[i] = o.owner[i : i+1 : i+1]
	}
	return o
}

// single returns the shared Owners of an address the service alone owns.
func (o *ownedBy) single(clusterIP bool) Owners {
	if clusterIP {
		return Owners{list: &o.lists[1]}
	}
	return Owners{list: &o.lists[0]}
}
