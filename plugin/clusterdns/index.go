package clusterdns

import (
	"net/netip"
	"slices"
	"sync/atomic"
	"time"
)

// snapshot is one published, immutable view of everything clusterdns serves.
// A query loads the current snapshot once and answers from it alone.
type snapshot struct {
	serial uint32
	// services holds the served Services of exposed namespaces.
	services *cowMap[svcKey, *svcEntry]
	// imports holds the served ServiceImports of exposed namespaces, the
	// services of multicluster zones; empty without `multicluster`.
	imports *cowMap[svcKey, *svcEntry]
	// namespaces holds the exposed namespaces; only their names exist.
	namespaces *cowMap[string, struct{}]
	// reverse maps an address to the services that own it (PTR); a sorted
	// table, as it has an entry for every address in the cluster.
	reverse *cowTable[addrKey, ptrOwners]
	// reverseTree counts the addresses under each octet (IPv4) or nibble
	// (IPv6) prefix, so partial reverse names are empty non-terminals.
	reverseTree *cowMap[netip.Prefix, int32]
	// pods holds the (namespace, address) pairs of running pods, with `pods verified`.
	pods *cowMap[podKey, struct{}]
	// clients maps a pod address to the pod queries from it come from
	// (autopath, client metadata), with `pods verified`.
	clients *cowMap[addrKey, clientPod]
	// clientZones maps the addresses of pods on nodes with a zone to that
	// zone, with `client_zone_first`.
	clientZones *cowMap[addrKey, string]
}

// ptrOwner is a service that owns an address: as its ClusterIP, or as the
// address of one of its endpoints. The key pointer is stable for the life of
// the service, so an owner need not change when the service's entry does.
type ptrOwner struct {
	svc       *svcKey
	clusterIP bool
}

// ptrOwners are the owners of one address; nearly always exactly one, so
// the rare others sit behind a pointer to keep the common entry small.
type ptrOwners struct {
	first ptrOwner
	more  *[]ptrOwner
}

// all returns every owner.
func (o ptrOwners) all() []ptrOwner {
	if o.more == nil {
		return []ptrOwner{o.first}
	}
	return append([]ptrOwner{o.first}, *o.more...)
}

// addrKey is an address as a reverse map key: 16 bytes, IPv4 in its
// IPv4-mapped form (a netip.Addr key would take 24).
type addrKey [16]byte

func keyOf(a netip.Addr) addrKey { return a.As16() }

// podKey identifies a pod address in a namespace.
type podKey struct {
	namespace string
	addr      netip.Addr
}

// Index publishes snapshots. Reads are a single atomic load; all writes go
// through one indexWriter.
type Index struct {
	cur atomic.Pointer[snapshot]
}

// newIndex returns an index holding an empty snapshot.
func newIndex() *Index {
	ix := &Index{}
	ix.cur.Store(&snapshot{
		services:    &cowMap[svcKey, *svcEntry]{},
		imports:     &cowMap[svcKey, *svcEntry]{},
		namespaces:  &cowMap[string, struct{}]{},
		reverse:     &cowTable[addrKey, ptrOwners]{},
		reverseTree: &cowMap[netip.Prefix, int32]{},
		pods:        &cowMap[podKey, struct{}]{},
		clients:     &cowMap[addrKey, clientPod]{},
		clientZones: &cowMap[addrKey, string]{},
	})
	return ix
}

// servicesIn returns the services of a zone: the ServiceImports in a
// multicluster zone, else the Services.
func (s *snapshot) servicesIn(multicluster bool) *cowMap[svcKey, *svcEntry] {
	if multicluster {
		return s.imports
	}
	return s.services
}

// load returns the current snapshot.
func (ix *Index) load() *snapshot { return ix.cur.Load() }

// indexWriter owns the write side of an Index and batches changes into one
// published snapshot. It is not safe for concurrent use.
type indexWriter struct {
	ix   *Index
	keys map[svcKey]*svcKey // the stable key pointer of every served service

	services    *cowEdit[svcKey, *svcEntry]
	imports     *cowEdit[svcKey, *svcEntry]
	namespaces  *cowEdit[string, struct{}]
	reverse     *cowTableEdit[addrKey, ptrOwners]
	reverseTree *cowEdit[netip.Prefix, int32]
	pods        *cowEdit[podKey, struct{}]
	clients     *cowEdit[addrKey, clientPod]
	clientZones *cowEdit[addrKey, string]
	changed     bool
	endpoints   int // endpoints of the served entries, for the index size metric
}

func newIndexWriter(ix *Index) *indexWriter {
	return &indexWriter{ix: ix, keys: make(map[svcKey]*svcKey)}
}

// begin starts a batch on top of the published snapshot.
func (w *indexWriter) begin() {
	cur := w.ix.load()
	w.services = cur.services.edit()
	w.imports = cur.imports.edit()
	w.namespaces = cur.namespaces.edit()
	w.reverse = cur.reverse.edit()
	w.reverseTree = cur.reverseTree.edit()
	w.pods = cur.pods.edit()
	w.clients = cur.clients.edit()
	w.clientZones = cur.clientZones.edit()
	w.changed = false
}

// commit publishes the batch if it changed anything and reports whether it did.
func (w *indexWriter) commit() bool {
	if !w.changed {
		return false
	}
	cur := w.ix.load()
	w.ix.cur.Store(&snapshot{
		serial:      nextSerial(cur.serial, time.Now()),
		services:    w.services.done(),
		imports:     w.imports.done(),
		namespaces:  w.namespaces.done(),
		reverse:     w.reverse.done(),
		reverseTree: w.reverseTree.done(),
		pods:        w.pods.done(),
		clients:     w.clients.done(),
		clientZones: w.clientZones.done(),
	})
	return true
}

// nextSerial returns the SOA serial of the next snapshot: one more than the
// last, and never behind the clock, so serials keep growing across restarts
// as long as changes average fewer than one per second.
func nextSerial(prev uint32, now time.Time) uint32 {
	return max(prev+1, uint32(now.Unix()))
}

// exposed reports whether a namespace's names are served.
func (w *indexWriter) exposed(ns string) bool {
	_, ok := w.namespaces.get(ns)
	return ok
}

// setNamespace marks a namespace as served or not.
func (w *indexWriter) setNamespace(ns string, exposed bool) {
	if w.exposed(ns) == exposed {
		return
	}
	w.changed = true
	if exposed {
		w.namespaces.set(ns, struct{}{})
	} else {
		w.namespaces.del(ns)
	}
}

// setService replaces the entry of a service; nil removes it. Only the
// addresses whose ownership changed touch the reverse maps.
func (w *indexWriter) setService(k svcKey, e *svcEntry) {
	old, _ := w.services.get(k)
	if old == nil && e == nil {
		return
	}
	w.changed = true
	w.endpoints += entryEndpoints(e) - entryEndpoints(old)
	id := w.keys[k]
	if id == nil {
		id = &svcKey{name: k.name, namespace: k.namespace}
		w.keys[k] = id
	}
	before, after := ownedAddrs(old), ownedAddrs(e)
	for a, clusterIP := range before {
		if now, ok := after[a]; !ok || now != clusterIP {
			w.removeOwner(a, ptrOwner{svc: id, clusterIP: clusterIP})
		}
	}
	for a, clusterIP := range after {
		if was, ok := before[a]; !ok || was != clusterIP {
			w.addOwner(a, ptrOwner{svc: id, clusterIP: clusterIP})
		}
	}
	if e == nil {
		w.services.del(k)
		delete(w.keys, k)
		return
	}
	w.services.set(k, e)
}

// setImport replaces the entry of a ServiceImport; nil removes it.
// Imports own no addresses: PTR records name the Services of this cluster
// only, as with the kubernetes plugin.
func (w *indexWriter) setImport(k svcKey, e *svcEntry) {
	old, _ := w.imports.get(k)
	if old == nil && e == nil {
		return
	}
	w.changed = true
	w.endpoints += entryEndpoints(e) - entryEndpoints(old)
	if e == nil {
		w.imports.del(k)
		return
	}
	w.imports.set(k, e)
}

// entryEndpoints returns how many endpoints an entry (or nil) serves.
func entryEndpoints(e *svcEntry) int {
	if e == nil {
		return 0
	}
	return len(e.eps)
}

// ownedAddrs returns the addresses an entry answers PTR for: true for its
// ClusterIPs, false for its endpoints.
func ownedAddrs(e *svcEntry) map[netip.Addr]bool {
	if e == nil {
		return nil
	}
	owned := make(map[netip.Addr]bool, len(e.eps)+2)
	for _, ep := range e.eps {
		owned[ep.addr] = false
	}
	if !e.headless {
		for _, ip := range unpack(e.a4, 4) {
			owned[ip] = true
		}
		for _, ip := range unpack(e.a6, 16) {
			owned[ip] = true
		}
	}
	return owned
}

// unpack returns the addresses of a packed list.
func unpack(packed []byte, size int) []netip.Addr {
	var out []netip.Addr
	for i := 0; i+size <= len(packed); i += size {
		a, _ := netip.AddrFromSlice(packed[i : i+size])
		out = append(out, a)
	}
	return out
}

// setPod records or forgets a pod address, for `pods verified`.
func (w *indexWriter) setPod(k podKey, present bool) {
	_, had := w.pods.get(k)
	if had == present {
		return
	}
	w.changed = true
	if present {
		w.pods.set(k, struct{}{})
	} else {
		w.pods.del(k)
	}
}

func (w *indexWriter) addOwner(a netip.Addr, p ptrOwner) {
	k := keyOf(a)
	cur, ok := w.reverse.get(k)
	if !ok {
		w.walkReverseTree(a, 1)
		w.reverse.set(k, ptrOwners{first: p})
		return
	}
	w.reverse.set(k, owners(append(cur.all(), p)))
}

func (w *indexWriter) removeOwner(a netip.Addr, p ptrOwner) {
	k := keyOf(a)
	cur, ok := w.reverse.get(k)
	if !ok {
		return
	}
	all := cur.all()
	i := slices.Index(all, p)
	if i < 0 {
		return
	}
	all = slices.Delete(all, i, i+1)
	if len(all) == 0 {
		w.reverse.del(k)
		w.walkReverseTree(a, -1)
		return
	}
	w.reverse.set(k, owners(all))
}

// owners packs a non-empty list of owners.
func owners(all []ptrOwner) ptrOwners {
	o := ptrOwners{first: all[0]}
	if len(all) > 1 {
		more := slices.Clone(all[1:])
		o.more = &more
	}
	return o
}

// walkReverseTree adds delta to the count of every proper prefix of addr
// that a reverse name can spell: octets for IPv4, nibbles for IPv6.
func (w *indexWriter) walkReverseTree(addr netip.Addr, delta int32) {
	step, bits := 8, 32
	if addr.Is6() {
		step, bits = 4, 128
	}
	for l := step; l < bits; l += step {
		p, _ := addr.Prefix(l)
		n, _ := w.reverseTree.get(p)
		if n+delta <= 0 {
			w.reverseTree.del(p)
		} else {
			w.reverseTree.set(p, n+delta)
		}
	}
}
