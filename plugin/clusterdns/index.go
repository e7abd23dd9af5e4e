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
	// names maps a lower-case owner name relative to the zone
	// ("web.prod.svc", "_http._tcp.web.prod.svc", "prod.svc") to its records.
	names *cowMap[string, *node]
	// reverse maps an address to its PTR targets.
	reverse *cowMap[netip.Addr, []ptrRecord]
	// reverseTree counts the addresses under each octet (IPv4) or nibble
	// (IPv6) prefix, so partial reverse names are empty non-terminals.
	reverseTree *cowMap[netip.Prefix, int32]
	// pods holds the (namespace, address) pairs of running pods, with `pods verified`.
	pods *cowMap[podKey, struct{}]
}

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
		names:       &cowMap[string, *node]{},
		reverse:     &cowMap[netip.Addr, []ptrRecord]{},
		reverseTree: &cowMap[netip.Prefix, int32]{},
		pods:        &cowMap[podKey, struct{}]{},
	})
	return ix
}

// load returns the current snapshot.
func (ix *Index) load() *snapshot { return ix.cur.Load() }

// indexWriter owns the write side of an Index: it remembers what every
// service contributed so a change replaces exactly that, and batches changes
// into one published snapshot. It is not safe for concurrent use.
type indexWriter struct {
	ix       *Index
	services map[string]*serviceRecords // by "<svc>.<ns>.svc"
	exposed  map[string]bool            // namespaces whose names are served
	podNames bool                       // publish "<ns>.pod" names

	names       *cowEdit[string, *node]
	reverse     *cowEdit[netip.Addr, []ptrRecord]
	reverseTree *cowEdit[netip.Prefix, int32]
	pods        *cowEdit[podKey, struct{}]
	changed     bool
}

func newIndexWriter(ix *Index, podNames bool) *indexWriter {
	return &indexWriter{
		ix:       ix,
		services: make(map[string]*serviceRecords),
		exposed:  make(map[string]bool),
		podNames: podNames,
	}
}

// begin starts a batch on top of the published snapshot.
func (w *indexWriter) begin() {
	cur := w.ix.load()
	w.names = cur.names.edit()
	w.reverse = cur.reverse.edit()
	w.reverseTree = cur.reverseTree.edit()
	w.pods = cur.pods.edit()
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
		names:       w.names.done(),
		reverse:     w.reverse.done(),
		reverseTree: w.reverseTree.done(),
		pods:        w.pods.done(),
	})
	return true
}

// nextSerial returns the SOA serial of the next snapshot: one more than the
// last, and never behind the clock, so serials keep growing across restarts
// as long as changes average fewer than one per second.
func nextSerial(prev uint32, now time.Time) uint32 {
	return max(prev+1, uint32(now.Unix()))
}

// setService replaces everything the service named base contributed with
// recs; nil (or empty) removes the service.
func (w *indexWriter) setService(base string, recs *serviceRecords) {
	old := w.services[base]
	if old == nil && (recs == nil || len(recs.names) == 0) {
		return
	}
	w.changed = true
	if old != nil {
		for name := range old.names {
			if recs == nil || recs.names[name] == nil {
				w.names.del(name)
			}
		}
		for _, p := range old.ptrs {
			w.removePTR(p)
		}
	}
	if recs == nil || len(recs.names) == 0 {
		delete(w.services, base)
		return
	}
	for name, n := range recs.names {
		w.names.set(name, n)
	}
	for _, p := range recs.ptrs {
		w.addPTR(p)
	}
	w.services[base] = recs
}

// setNamespace marks a namespace as served or not; its own name
// ("<ns>.svc", and "<ns>.pod" when pod records are on) exists only while it is.
func (w *indexWriter) setNamespace(ns string, exposed bool) {
	if w.exposed[ns] == exposed {
		return
	}
	w.changed = true
	if exposed {
		w.exposed[ns] = true
		w.names.set(ns+".svc", entNode)
		if w.podNames {
			w.names.set(ns+".pod", entNode)
		}
		return
	}
	delete(w.exposed, ns)
	w.names.del(ns + ".svc")
	w.names.del(ns + ".pod")
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

func (w *indexWriter) addPTR(p addrPTR) {
	recs, _ := w.reverse.get(p.addr)
	if len(recs) == 0 {
		w.walkReverseTree(p.addr, 1)
	}
	next := make([]ptrRecord, 0, len(recs)+1)
	next = append(next, recs...)
	w.reverse.set(p.addr, append(next, p.ptrRecord))
}

func (w *indexWriter) removePTR(p addrPTR) {
	recs, _ := w.reverse.get(p.addr)
	i := slices.Index(recs, p.ptrRecord)
	if i < 0 {
		return
	}
	if len(recs) == 1 {
		w.reverse.del(p.addr)
		w.walkReverseTree(p.addr, -1)
		return
	}
	w.reverse.set(p.addr, slices.Delete(slices.Clone(recs), i, i+1))
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
