// Package index holds what clusterdns answers from: copy-on-write tables
// published as immutable views, and the entry of each service, built from
// plain inputs (Service, Slice). A query loads one View with an atomic
// load and reads it without locks; one Writer batches changes into the next
// view. It imports no Kubernetes package: the layers above turn API objects
// into its inputs.
package index

import (
	"net/netip"
	"slices"
	"sync/atomic"
	"time"
)

// Pod record modes of the `pods` option: whether the index holds pod
// records, and whether those stand for pods that exist.
const (
	PodsDisabled = "disabled"
	PodsInsecure = "insecure"
	PodsVerified = "verified"
)

// View is one published, immutable version of everything clusterdns serves.
// A query loads the current view once and answers from it alone.
type View struct {
	Serial uint32
	// services holds the served Services of exposed namespaces.
	Services *Map[ServiceKey, *Entry]
	// imports holds the served ServiceImports of exposed namespaces, the
	// services of multicluster zones; empty without `multicluster`.
	Imports *Map[ServiceKey, *Entry]
	// namespaces holds the exposed namespaces; only their names exist.
	Namespaces *Map[string, struct{}]
	// reverse maps an address to the services that own it (PTR).
	Reverse *Reverse
	// reverseTree counts the addresses under each octet (IPv4) or nibble
	// (IPv6) prefix, so partial reverse names are empty non-terminals.
	ReverseTree *Map[netip.Prefix, int32]
	// pods holds the (namespace, address) pairs of running pods, with `pods verified`.
	Pods *Map[PodKey, struct{}]
	// clients maps a pod address to the pod queries from it come from
	// (autopath, client metadata), with `pods verified`.
	Clients *Map[AddrKey, Client]
	// ClientNodes maps the addresses of pods to their node, with
	// `client_zone_first` (pods on nodes with a zone) or
	// `traffic_distribution` (pods on any node).
	ClientNodes *Map[AddrKey, ClientNode]
	// Unready holds the headless Services of exposed namespaces that have
	// no ready endpoint: their names do not exist (spec §2.4.1), and this
	// says why when one is asked for.
	Unready *Map[ServiceKey, struct{}]
	// Tenants maps a served namespace to its tenant, the value of its
	// `isolate` tenant label; namespaces without one are absent.
	Tenants *Map[string, string]
}

// Owner is a service that owns an address: as its ClusterIP, or as the
// address of one of its endpoints. The key pointer is stable for the life of
// the service, so an owner need not change when the service's entry does.
type Owner struct {
	Service   *ServiceKey
	ClusterIP bool
}

// AddrKey is an address as a reverse map key: 16 bytes, IPv4 in its
// IPv4-mapped form (a netip.Addr key would take 24).
type AddrKey [16]byte

// KeyOf returns the key of an address.
func KeyOf(a netip.Addr) AddrKey { return a.As16() }

// PodKey identifies a pod address in a namespace.
type PodKey struct {
	Namespace string
	Addr      netip.Addr
}

// Index publishes views. Reads are a single atomic load; all writes go
// through one Writer.
type Index struct {
	cur atomic.Pointer[View]
}

// New returns an index holding an empty view.
func New() *Index {
	ix := &Index{}
	ix.cur.Store(&View{
		Services:    &Map[ServiceKey, *Entry]{},
		Imports:     &Map[ServiceKey, *Entry]{},
		Namespaces:  &Map[string, struct{}]{},
		Reverse:     newReverse(),
		ReverseTree: &Map[netip.Prefix, int32]{},
		Pods:        &Map[PodKey, struct{}]{},
		Clients:     &Map[AddrKey, Client]{},
		ClientNodes: &Map[AddrKey, ClientNode]{},
		Unready:     &Map[ServiceKey, struct{}]{},
		Tenants:     &Map[string, string]{},
	})
	return ix
}

// ServicesIn returns the services of a zone: the ServiceImports in a
// multicluster zone, else the Services.
func (s *View) ServicesIn(multicluster bool) *Map[ServiceKey, *Entry] {
	if multicluster {
		return s.Imports
	}
	return s.Services
}

// Load returns the current view.
func (ix *Index) Load() *View { return ix.cur.Load() }

// Writer owns the write side of an Index and batches changes into one
// published view. It is not safe for concurrent use.
type Writer struct {
	ix *Index

	services    *MapEdit[ServiceKey, *Entry]
	imports     *MapEdit[ServiceKey, *Entry]
	namespaces  *MapEdit[string, struct{}]
	reverse     *ReverseEdit
	reverseTree *MapEdit[netip.Prefix, int32]
	pods        *MapEdit[PodKey, struct{}]
	clients     *MapEdit[AddrKey, Client]
	clientNodes *MapEdit[AddrKey, ClientNode]
	unready     *MapEdit[ServiceKey, struct{}]
	tenants     *MapEdit[string, string]
	changed     bool
	endpoints   int // endpoints of the served entries, for the index size metric
}

// NewWriter returns the writer of ix.
func NewWriter(ix *Index) *Writer {
	return &Writer{ix: ix}
}

// Begin starts a batch on top of the published view.
func (w *Writer) Begin() {
	cur := w.ix.Load()
	w.services = cur.Services.Edit()
	w.imports = cur.Imports.Edit()
	w.namespaces = cur.Namespaces.Edit()
	w.reverse = cur.Reverse.Edit()
	w.reverseTree = cur.ReverseTree.Edit()
	w.pods = cur.Pods.Edit()
	w.clients = cur.Clients.Edit()
	w.clientNodes = cur.ClientNodes.Edit()
	w.unready = cur.Unready.Edit()
	w.tenants = cur.Tenants.Edit()
	w.changed = false
}

// Commit publishes the batch if it changed anything and reports whether it did.
func (w *Writer) Commit() bool {
	if !w.changed {
		return false
	}
	cur := w.ix.Load()
	w.ix.cur.Store(&View{
		Serial:      nextSerial(cur.Serial, time.Now()),
		Services:    w.services.Done(),
		Imports:     w.imports.Done(),
		Namespaces:  w.namespaces.Done(),
		Reverse:     w.reverse.Done(),
		ReverseTree: w.reverseTree.Done(),
		Pods:        w.pods.Done(),
		Clients:     w.clients.Done(),
		ClientNodes: w.clientNodes.Done(),
		Unready:     w.unready.Done(),
		Tenants:     w.tenants.Done(),
	})
	return true
}

// nextSerial returns the SOA serial of the next view: one more than the
// last, and never behind the clock, so serials keep growing across restarts
// as long as changes average fewer than one per second.
func nextSerial(prev uint32, now time.Time) uint32 {
	return max(prev+1, uint32(now.Unix()))
}

// Exposed reports whether a namespace's names are served.
func (w *Writer) Exposed(ns string) bool {
	_, ok := w.namespaces.Get(ns)
	return ok
}

// SetNamespace marks a namespace as served or not.
func (w *Writer) SetNamespace(ns string, exposed bool) {
	if w.Exposed(ns) == exposed {
		return
	}
	w.changed = true
	if exposed {
		w.namespaces.Set(ns, struct{}{})
	} else {
		w.namespaces.Delete(ns)
	}
}

// SetUnready records whether k is a headless Service with no ready
// endpoint. SetService clears it, so set it after the service's entry.
func (w *Writer) SetUnready(k ServiceKey, unready bool) {
	if _, ok := w.unready.Get(k); ok == unready {
		return
	}
	w.changed = true
	if unready {
		w.unready.Set(k, struct{}{})
	} else {
		w.unready.Delete(k)
	}
}

// SetService replaces the entry of a service; nil removes it. Only the
// addresses whose ownership changed touch the reverse maps.
func (w *Writer) SetService(k ServiceKey, e *Entry) {
	w.SetUnready(k, false)
	old, _ := w.services.Get(k)
	if old == nil && e == nil {
		return
	}
	w.changed = true
	w.endpoints += entryEndpoints(e) - entryEndpoints(old)
	if old == nil {
		// A service not served before, as every one in the first build:
		// its addresses are all new to it.
		id := newOwnedBy(k)
		w.addOwned(id, e)
		e.owned = id
		w.services.Set(k, e)
		return
	}
	// The owner record lives as long as the service: each entry hands it
	// on to the next.
	id := old.owned
	before, after := ownedAddrs(old), ownedAddrs(e)
	for a, clusterIP := range before {
		if now, ok := after[a]; !ok || now != clusterIP {
			w.removeOwner(a, id.single(clusterIP).All()[0])
		}
	}
	for a, clusterIP := range after {
		if was, ok := before[a]; !ok || was != clusterIP {
			w.addOwner(a, id, clusterIP)
		}
	}
	if e == nil {
		w.services.Delete(k)
		return
	}
	e.owned = id
	w.services.Set(k, e)
}

// SetImport replaces the entry of a ServiceImport; nil removes it.
// Imports own no addresses: PTR records name the Services of this cluster
// only, as with the kubernetes plugin.
func (w *Writer) SetImport(k ServiceKey, e *Entry) {
	old, _ := w.imports.Get(k)
	if old == nil && e == nil {
		return
	}
	w.changed = true
	w.endpoints += entryEndpoints(e) - entryEndpoints(old)
	if e == nil {
		w.imports.Delete(k)
		return
	}
	w.imports.Set(k, e)
}

// entryEndpoints returns how many endpoints an entry (or nil) serves.
func entryEndpoints(e *Entry) int {
	if e == nil {
		return 0
	}
	return len(e.Endpoints)
}

// ownedAddrs returns the addresses an entry answers PTR for: true for its
// ClusterIPs, false for its endpoints.
func ownedAddrs(e *Entry) map[netip.Addr]bool {
	if e == nil {
		return nil
	}
	owned := make(map[netip.Addr]bool, len(e.Endpoints)+2)
	for _, ep := range e.Endpoints {
		owned[ep.Addr()] = false
	}
	if !e.Headless {
		for _, ip := range Unpack(e.A4, 4) {
			owned[ip] = true
		}
		for _, ip := range Unpack(e.A6, 16) {
			owned[ip] = true
		}
	}
	return owned
}

// Unpack returns the addresses of a packed list.
func Unpack(packed []byte, size int) []netip.Addr {
	var out []netip.Addr
	for i := 0; i+size <= len(packed); i += size {
		a, _ := netip.AddrFromSlice(packed[i : i+size])
		out = append(out, a)
	}
	return out
}

// SetPod records or forgets a pod address, for `pods verified`.
func (w *Writer) SetPod(k PodKey, present bool) {
	_, had := w.pods.Get(k)
	if had == present {
		return
	}
	w.changed = true
	if present {
		w.pods.Set(k, struct{}{})
	} else {
		w.pods.Delete(k)
	}
}

// addOwner makes the service of id an owner of address a, as its
// ClusterIP or as an endpoint's address.
func (w *Writer) addOwner(a netip.Addr, id *ownedBy, clusterIP bool) {
	cur, ok := w.reverse.Get(a)
	w.addOwnerTo(a, cur, ok, id, clusterIP)
}

// addOwnerTo adds the service of id to cur, the owners of a (none unless
// ok), as addOwner does once it has looked a up.
func (w *Writer) addOwnerTo(a netip.Addr, cur Owners, ok bool, id *ownedBy, clusterIP bool) {
	if !ok {
		w.walkReverseTree(a, 1)
		w.reverse.insert(a, id.single(clusterIP))
		return
	}
	// Lists are shared and published: a change makes a new one.
	all := slices.Concat(cur.All(), id.single(clusterIP).All())
	w.reverse.Set(a, Owners{list: &all})
}

// ownedBy returns the owner record of the served service k, nil if none.
func (w *Writer) ownedBy(k ServiceKey) *ownedBy {
	if e, ok := w.services.Get(k); ok {
		return e.owned
	}
	return nil
}

// addOwned makes the service of id own the addresses of e, which it
// owned none of: what ownedAddrs and addOwner do, without the map of
// addresses. An address e has twice is owned once, as a ClusterIP if it is
// one (ClusterIPs come first).
func (w *Writer) addOwned(id *ownedBy, e *Entry) {
	if !e.Headless {
		for i := 0; i+4 <= len(e.A4); i += 4 {
			w.addOwnerOnce(netip.AddrFrom4([4]byte(e.A4[i:i+4])), id, true)
		}
		for i := 0; i+16 <= len(e.A6); i += 16 {
			w.addOwnerOnce(netip.AddrFrom16([16]byte(e.A6[i:i+16])), id, true)
		}
	}
	for _, ep := range e.Endpoints {
		w.addOwnerOnce(ep.Addr(), id, false)
	}
}

// addOwnerOnce is addOwner unless the service of id owns a already.
func (w *Writer) addOwnerOnce(a netip.Addr, id *ownedBy, clusterIP bool) {
	cur, ok := w.reverse.Get(a)
	for _, o := range cur.All() {
		if o.Service == &id.key {
			return
		}
	}
	w.addOwnerTo(a, cur, ok, id, clusterIP)
}

func (w *Writer) removeOwner(a netip.Addr, p Owner) {
	cur, ok := w.reverse.Get(a)
	if !ok {
		return
	}
	all := cur.All()
	i := slices.Index(all, p)
	if i < 0 {
		return
	}
	rest := slices.Concat(all[:i], all[i+1:])
	switch {
	case len(rest) == 0:
		w.reverse.Delete(a)
		w.walkReverseTree(a, -1)
	case len(rest) == 1 && w.ownedBy(*rest[0].Service) != nil:
		// Back to one owner: the list that owner's other addresses share.
		w.reverse.Set(a, w.ownedBy(*rest[0].Service).single(rest[0].ClusterIP))
	default:
		w.reverse.Set(a, Owners{list: &rest})
	}
}

// walkReverseTree adds delta to the count of every proper prefix of addr
// that a reverse name can spell: octets for IPv4, nibbles for IPv6.
func (w *Writer) walkReverseTree(addr netip.Addr, delta int32) {
	step, bits := 8, 32
	if addr.Is6() {
		step, bits = 4, 128
	}
	for l := step; l < bits; l += step {
		p, _ := addr.Prefix(l)
		addCount(w.reverseTree, p, delta)
	}
}

// Published returns the view last published.
func (w *Writer) Published() *View { return w.ix.Load() }

// Endpoints returns how many endpoints the served entries have.
func (w *Writer) Endpoints() int { return w.endpoints }

// MarkChanged makes the batch publish even if nothing in it changed, as
// the first build must, for an empty cluster too.
func (w *Writer) MarkChanged() { w.changed = true }

// NamespaceKeys returns the exposed namespaces of the batch.
func (w *Writer) NamespaceKeys() []string { return w.namespaces.Keys() }

// ServiceKeys returns the services of the batch.
func (w *Writer) ServiceKeys() []ServiceKey { return w.services.Keys() }

// ImportKeys returns the ServiceImports of the batch.
func (w *Writer) ImportKeys() []ServiceKey { return w.imports.Keys() }

// UnreadyKeys returns the keys of the headless Services recorded unready.
func (w *Writer) UnreadyKeys() []ServiceKey { return w.unready.Keys() }
