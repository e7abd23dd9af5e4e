package source

import (
	"sync/atomic"
	"time"
)

// staleness says whether the answers come from a state that may be behind
// the API server (contact with it was lost, or a snapshot file is served
// before the first sync), and since when. It is read on every /ready
// request, so it is a pair of atomics.
type staleness struct {
	since   atomic.Int64 // Unix nanoseconds the state went stale; 0 while current
	unready atomic.Bool  // Ready last said no because of ready_stale_limit
}

// staleOwner is the staleness the stale gauges show: that of the instance
// started last, so an instance stopping after a reload started its
// successor does not overwrite the successor's values.
var staleOwner atomic.Pointer[staleness]

// own makes the gauges show s.
func (stale *staleness) own() {
	staleOwner.Store(stale)
	stale.publish()
}

// mark records that the state is stale from t on, unless it already is,
// and reports whether that changed anything.
func (stale *staleness) mark(t time.Time) bool {
	if !stale.since.CompareAndSwap(0, t.UnixNano()) {
		return false
	}
	stale.publish()
	return true
}

// clear records that the state is current again and returns how long it
// was stale; ok is false if it was not.
func (stale *staleness) clear(now time.Time) (d time.Duration, ok bool) {
	old := stale.since.Swap(0)
	if old == 0 {
		return 0, false
	}
	stale.unready.Store(false)
	stale.publish()
	return now.Sub(time.Unix(0, old)), true
}

// staleFor returns how long the state has been stale at now; 0 if it is current.
func (stale *staleness) staleFor(now time.Time) time.Duration {
	since := stale.since.Load()
	if since == 0 {
		return 0
	}
	return max(now.Sub(time.Unix(0, since)), time.Nanosecond)
}

// tooStale reports whether the state has been stale for longer than limit
// (never, when limit is 0), and logs when that answer changes.
func (stale *staleness) tooStale(limit time.Duration, now time.Time) bool {
	d := stale.staleFor(now)
	over := limit > 0 && d > limit
	if over && stale.unready.CompareAndSwap(false, true) {
		log.Warningf("not ready: answers have been stale for %s, longer than ready_stale_limit %s", d.Round(time.Millisecond), limit)
	}
	return over
}

// publish sets the gauges, if s is the instance they follow.
func (stale *staleness) publish() {
	if staleOwner.Load() != stale {
		return
	}
	since := stale.since.Load()
	if since == 0 {
		staleGauge.Set(0)
		staleSinceGauge.Set(0)
		return
	}
	staleGauge.Set(1)
	staleSinceGauge.Set(float64(since) / 1e9)
}
