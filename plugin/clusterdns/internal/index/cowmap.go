package index

import (
	"hash/maphash"
	"maps"
)

// shardCount is the number of shards of a Map. A write batch clones only
// the shards it touches, so publishing a change to one service costs about
// 1/shardCount of the map instead of all of it.
const shardCount = 64

// Map is an immutable, sharded map. Readers use it without locks; a writer
// derives the next version with edit, which shares every untouched shard.
type Map[K comparable, V any] struct {
	shards [shardCount]map[K]V
	n      int
}

var hashSeed = maphash.MakeSeed()

func shardOf[K comparable](k K) int {
	return int(maphash.Comparable(hashSeed, k) % shardCount)
}

// Get returns the value stored under k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	v, ok := m.shards[shardOf(k)][k]
	return v, ok
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int { return m.n }

// MapEdit builds the next version of a Map. It must not be used after the
// map it returns from done has been published.
type MapEdit[K comparable, V any] struct {
	m     *Map[K, V]
	owned [shardCount]bool
}

// Edit starts a new version of m; m itself is never modified.
func (m *Map[K, V]) Edit() *MapEdit[K, V] {
	next := &Map[K, V]{shards: m.shards, n: m.n}
	return &MapEdit[K, V]{m: next}
}

func (e *MapEdit[K, V]) shard(k K) map[K]V {
	i := shardOf(k)
	if !e.owned[i] {
		e.m.shards[i] = maps.Clone(e.m.shards[i])
		if e.m.shards[i] == nil {
			e.m.shards[i] = make(map[K]V)
		}
		e.owned[i] = true
	}
	return e.m.shards[i]
}

// Get reads the version being built.
func (e *MapEdit[K, V]) Get(k K) (V, bool) { return e.m.Get(k) }

// Set stores v under k.
func (e *MapEdit[K, V]) Set(k K, v V) {
	s := e.shard(k)
	if _, ok := s[k]; !ok {
		e.m.n++
	}
	s[k] = v
}

// Delete removes k.
func (e *MapEdit[K, V]) Delete(k K) {
	if _, ok := e.m.Get(k); !ok {
		return
	}
	delete(e.shard(k), k)
	e.m.n--
}

// setOrDelete sets k to v in m, or deletes k when v is the zero value, and
// reports whether m changed.
func setOrDelete[K, V comparable](m *MapEdit[K, V], k K, v V) bool {
	if cur, _ := m.Get(k); cur == v {
		return false
	}
	var zero V
	if v == zero {
		m.Delete(k)
	} else {
		m.Set(k, v)
	}
	return true
}

// addCount adds delta to the count under k, which is absent while it is
// zero or less: one hash of k for its shard and one lookup, where a Get
// and a Set take two and three (every address adds to 3 or 31 counts of
// the reverse tree).
func addCount[K comparable](e *MapEdit[K, int32], k K, delta int32) {
	s := e.shard(k)
	old := s[k]
	switch n := old + delta; {
	case n > 0:
		if old <= 0 {
			e.m.n++
		}
		s[k] = n
	case old > 0:
		delete(s, k)
		e.m.n--
	}
}

// Done returns the new version.
func (e *MapEdit[K, V]) Done() *Map[K, V] { return e.m }

// Keys returns every key of the version being built.
func (e *MapEdit[K, V]) Keys() []K { return e.m.Keys() }

// Keys returns every key, in no particular order.
func (m *Map[K, V]) Keys() []K {
	out := make([]K, 0, m.n)
	for _, s := range m.shards {
		for k := range s {
			out = append(out, k)
		}
	}
	return out
}
