package index

import "sync/atomic"

// Rotation remembers, per record type, where the next capped answer of a
// headless service starts, so that successive queries walk through all of
// its endpoints (`max_answers`). Its counters are the only part of an entry
// that changes after publication; they advance with one atomic add per
// query and take no lock.
type Rotation struct {
	A, AAAA, SRV atomic.Uint32
}

// windowStart returns where an answer of k records out of n starts, and moves the
// counter on by k so the next answer starts where this one ended.
func windowStart(ctr *atomic.Uint32, k, n int) int {
	return int((ctr.Add(uint32(k)) - uint32(k)) % uint32(n))
}

// PackedWindow returns k of the n records of a packed address list (size
// bytes each), from the counter's next start and wrapping around, as at
// most two pieces that share the list's storage. With k <= 0 or n <= k the
// whole list is returned and the counter is left alone.
func PackedWindow(packed []byte, size, k int, ctr *atomic.Uint32) (first, second []byte) {
	n := len(packed) / size
	if ctr == nil || k <= 0 || n <= k {
		return packed, nil
	}
	off := windowStart(ctr, k, n)
	if end := off + k; end > n {
		return packed[off*size:], packed[:(end-n)*size]
	}
	return packed[off*size : (off+k)*size], nil
}
