package source

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// apiContact follows whether the API server answers the informers, and
// logs each change once: client-go itself retries silently. While a synced
// instance has no contact, and until every informer has listed again after
// it, the served state is marked stale.
type apiContact struct {
	stale  *staleness  // nil: no staleness tracking (tests)
	synced func() bool // whether the index holds the informers' content

	mu      sync.Mutex
	lost    bool
	refused map[string]bool // denial messages already logged
	guards  []*relistGuard  // one per informer
}

// guard returns a new relistGuard reporting to a.
func (a *apiContact) guard() *relistGuard {
	g := &relistGuard{contact: a}
	a.mu.Lock()
	a.guards = append(a.guards, g)
	a.mu.Unlock()
	return g
}

// failed records a failed request. A refusal (no permission, bad
// credentials) is not an outage: it is logged once per message, naming
// what is missing, since it lasts until someone fixes the RBAC. Nor is a
// resource the server does not serve (a CRD not installed).
func (a *apiContact) failed(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	refusal := apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
	if refusal || apierrors.IsNotFound(err) {
		if a.refused == nil {
			a.refused = make(map[string]bool)
		}
		if msg := err.Error(); !a.refused[msg] {
			a.refused[msg] = true
			if refusal {
				log.Errorf("the Kubernetes API refused a request: %v; clusterdns needs list and watch on services, endpointslices and namespaces (and pods with `pods verified`, `isolate`, `client_zone_first` or `traffic_distribution`, nodes with the last two, serviceimports.multicluster.x-k8s.io with `multicluster`); with `namespaces`, on services and endpointslices (and pods) in each listed namespace", err)
			} else {
				// A resource the server does not serve: with `multicluster`,
				// a cluster without the ServiceImport CRD.
				log.Errorf("the Kubernetes API does not serve a watched resource: %v; `multicluster` needs the ServiceImport CRD (multicluster.x-k8s.io) installed", err)
			}
		}
		return
	}
	// Marked on every failure, not only the first: the first may come
	// before the initial sync, when there was no state to go stale.
	if a.stale != nil && a.synced != nil && a.synced() {
		a.stale.mark(time.Now())
	}
	if !a.lost {
		a.lost = true
		log.Warningf("lost contact with the Kubernetes API, answering from the last known state: %v", err)
	}
}

// reached records a successful request. Once every informer has listed
// again, the state is current again.
func (a *apiContact) reached() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lost {
		a.lost = false
		log.Info("Kubernetes API reachable again; relisting")
	}
	if a.stale == nil || a.synced == nil || !a.synced() {
		return
	}
	for _, g := range a.guards {
		if g.stale.Load() {
			return
		}
	}
	if d, ok := a.stale.clear(time.Now()); ok {
		log.Infof("every watch has listed again: answers are current after %s stale", d.Round(time.Millisecond))
	}
}

// relistGuard makes an informer list again after the API server was
// unreachable, instead of resuming its watch from the last resource
// version. Resuming is only sound when the API server's revision history
// survived the outage; after an etcd restore it did not, and a resumed
// watch would silently skip every change made in the new history up to
// that version. A relist costs one list per informer per outage.
//
// It also keeps an unreachable API server out of client-go's backoff: a
// request that cannot reach the server is retried here every retry
// interval (doubling up to maxRetry), so the informers reconnect within
// about a second of the server's return, where client-go's own backoff
// (doubling from 0.8 s up to 30 s, with jitter) took 20 s and more after a
// 15 s outage.
type relistGuard struct {
	contact  *apiContact
	stale    atomic.Bool
	retry    time.Duration // first wait between attempts; 0 means defaultRetry
	maxRetry time.Duration // longest wait; 0 means defaultMaxRetry

	mu        sync.Mutex
	open      watch.Interface // the watch the reflector reads, for resync to end
	openedAt  time.Time       // when open was opened
	relistDue bool            // resync asked for a list
}

const (
	defaultRetry    = 250 * time.Millisecond
	defaultMaxRetry = 2 * time.Second
)

// errRelist is what a resumed watch gets after an outage: the reflector
// treats an expired resource version by listing again.
var errRelist = apierrors.NewResourceExpired("the API server was unreachable; listing again")

// list wraps a list call.
func (g *relistGuard) list(ctx context.Context, o metav1.ListOptions, list func(context.Context, metav1.ListOptions) (runtime.Object, error)) (runtime.Object, error) {
	var obj runtime.Object
	err := g.untilReachable(ctx, func() (err error) {
		obj, err = list(ctx, o)
		return err
	})
	if err != nil {
		g.failed(ctx, err)
		return nil, err
	}
	g.stale.Store(false)
	g.listed()
	g.contact.reached()
	return obj, nil
}

// watch wraps a watch call. A watch that resumes from a resource version
// after a failure is opened (so the API server is known to answer again),
// then closed and refused with errRelist. Streaming lists (watches that send
// the initial state) are a relist already. A resync that is due refuses the
// watch without asking the server.
func (g *relistGuard) watch(ctx context.Context, o metav1.ListOptions, watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) (watch.Interface, error) {
	streaming := o.SendInitialEvents != nil && *o.SendInitialEvents
	if !streaming && g.resyncDue() {
		return nil, errRelist
	}
	var w watch.Interface
	err := g.untilReachable(ctx, func() (err error) {
		w, err = watchFn(ctx, o)
		return err
	})
	if err != nil {
		g.failed(ctx, err)
		return nil, err
	}
	if streaming {
		g.stale.Store(false)
		g.listed()
		g.contact.reached()
		return g.hold(w)
	}
	g.contact.reached()
	if g.stale.Load() {
		w.Stop()
		return nil, errRelist
	}
	return g.hold(w)
}

// untilReachable runs call until it gets through to the API server: it
// returns its result unless the server could not be reached, and then
// retries. Answers of the server, errors included, go back to the reflector.
func (g *relistGuard) untilReachable(ctx context.Context, call func() error) error {
	wait := cmp.Or(g.retry, defaultRetry)
	for {
		err := call()
		if err == nil || !unreachable(err) || ctx.Err() != nil {
			return err
		}
		g.failed(ctx, err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, cmp.Or(g.maxRetry, defaultMaxRetry))
	}
}

// unreachable reports whether err means the API server did not answer (a
// transport error, or 503 while it starts) rather than answered with an error.
func unreachable(err error) bool {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code == http.StatusServiceUnavailable
	}
	return true
}

// failed marks the informer stale unless the request merely ended with its context.
func (g *relistGuard) failed(ctx context.Context, err error) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	g.stale.Store(true)
	g.contact.failed(err)
}
