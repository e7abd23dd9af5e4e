package index

import (
	"bytes"
	"slices"
)

// ordered keys sort themselves; Table keeps its entries in their order.
type ordered[K any] interface {
	comparable
	compare(K) int
}

// Table is an immutable, sharded table like Map, stored as sorted
// arrays instead of hash maps: an entry costs its key and value and
// nothing more, which matters for the reverse index (one entry per
// address in the cluster). Lookups are binary searches in one shard.
type Table[K ordered[K], V any] struct {
	shards [shardCount][]tableEntry[K, V]
	n      int
}

type tableEntry[K ordered[K], V any] struct {
	key K
	val V
}

// Get returns the value stored under k.
func (t *Table[K, V]) Get(k K) (V, bool) {
	shard := t.shards[shardOf(k)]
	if i, ok := slices.BinarySearchFunc(shard, k, func(e tableEntry[K, V], k K) int { return e.key.compare(k) }); ok {
		return shard[i].val, true
	}
	var zero V
	return zero, false
}

// Len returns the number of entries.
func (t *Table[K, V]) Len() int { return t.n }

// tableChange is a pending set (del false) or delete of one key.
type tableChange[V any] struct {
	val V
	del bool
}

// TableEdit builds the next version of a Table. Changes wait in small
// maps and are merged into copies of the touched shards by done.
type TableEdit[K ordered[K], V any] struct {
	base    *Table[K, V]
	pending [shardCount]map[K]tableChange[V]
	n       int
}

// Edit starts a new version of t; t itself is never modified.
func (t *Table[K, V]) Edit() *TableEdit[K, V] {
	return &TableEdit[K, V]{base: t, n: t.n}
}

// Get reads the version being built.
func (e *TableEdit[K, V]) Get(k K) (V, bool) {
	if c, ok := e.pending[shardOf(k)][k]; ok {
		return c.val, !c.del
	}
	return e.base.Get(k)
}

func (e *TableEdit[K, V]) change(k K, c tableChange[V]) {
	i := shardOf(k)
	if e.pending[i] == nil {
		e.pending[i] = make(map[K]tableChange[V])
	}
	e.pending[i][k] = c
}

// Set stores v under k.
func (e *TableEdit[K, V]) Set(k K, v V) {
	if _, ok := e.Get(k); !ok {
		e.n++
	}
	e.change(k, tableChange[V]{val: v})
}

// insert stores v under k, which the caller found absent: Set without
// looking k up again.
func (e *TableEdit[K, V]) insert(k K, v V) {
	e.n++
	e.change(k, tableChange[V]{val: v})
}

// Delete removes k.
func (e *TableEdit[K, V]) Delete(k K) {
	if _, ok := e.Get(k); !ok {
		return
	}
	e.n--
	e.change(k, tableChange[V]{del: true})
}

// Done merges the changes and returns the new version. The edit must not
// be used afterwards.
func (e *TableEdit[K, V]) Done() *Table[K, V] {
	next := &Table[K, V]{shards: e.base.shards, n: e.n}
	for i, changes := range e.pending {
		if len(changes) > 0 {
			next.shards[i] = mergeShard(e.base.shards[i], changes)
		}
	}
	// The writer keeps its last edit until the next batch: let the changes go.
	e.pending = [shardCount]map[K]tableChange[V]{}
	return next
}

// mergeShard returns a new sorted shard: old with changes applied.
func mergeShard[K ordered[K], V any](old []tableEntry[K, V], changes map[K]tableChange[V]) []tableEntry[K, V] {
	keys := make([]K, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return a.compare(b) })
	out := make([]tableEntry[K, V], 0, len(old)+len(keys))
	j := 0
	for _, k := range keys {
		for j < len(old) && old[j].key.compare(k) < 0 {
			out = append(out, old[j])
			j++
		}
		if j < len(old) && old[j].key == k {
			j++ // replaced or deleted
		}
		if c := changes[k]; !c.del {
			out = append(out, tableEntry[K, V]{key: k, val: c.val})
		}
	}
	out = append(out, old[j:]...)
	return slices.Clip(out)
}

func (a AddrKey) compare(b AddrKey) int { return bytes.Compare(a[:], b[:]) }
