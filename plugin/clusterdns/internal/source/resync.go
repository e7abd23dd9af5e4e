package source

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/watch"
)

// The `resync` option lists every watched kind again periodically. An
// informer's own resync only replays its local cache to the handlers, so
// it cannot repair a cache that missed an event; a new list from the API
// server can. It is done by ending the informer's watch and refusing the
// next one with errRelist, which makes the reflector list, as after an
// outage: the list replaces the informer's store, and the handlers see the
// differences as adds, updates and deletes, so only the services that
// really changed are rebuilt.

// resyncLoop relists every informer every period, once the index is
// synced, until ctx ends.
func resyncLoop(ctx context.Context, period time.Duration, contact *apiContact) {
	every(ctx, period, func() {
		if contact.synced != nil && contact.synced() {
			contact.resync()
		}
	})
}

// every calls fn every period until ctx ends.
func every(ctx context.Context, period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// resync makes every informer list again.
func (a *apiContact) resync() {
	resyncs.Inc()
	a.mu.Lock()
	guards := a.guards
	a.mu.Unlock()
	for _, g := range guards {
		g.resync()
	}
}

// resync ends the informer's watch and makes its next watch call fail with
// errRelist, so the reflector lists. client-go warns about a watch that
// ends without events within a second of opening, so a younger watch is
// ended when it is a second old.
func (g *relistGuard) resync() {
	g.mu.Lock()
	g.relistDue = true
	w, age := g.open, time.Since(g.openedAt)
	g.open = nil
	g.mu.Unlock()
	if w == nil {
		return
	}
	if wait := time.Second - age; wait > 0 {
		time.AfterFunc(wait, w.Stop)
		return
	}
	w.Stop()
}

// resyncDue reports whether a resync waits for a list.
func (g *relistGuard) resyncDue() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.relistDue
}

// listed records a complete list: a resync that was due is done.
func (g *relistGuard) listed() {
	g.mu.Lock()
	g.relistDue = false
	g.mu.Unlock()
}

// hold hands w to the reflector and keeps it for resync to end, unless a
// resync came while it was being opened.
func (g *relistGuard) hold(w watch.Interface) (watch.Interface, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.relistDue {
		w.Stop()
		return nil, errRelist
	}
	g.open, g.openedAt = w, time.Now()
	return w, nil
}
