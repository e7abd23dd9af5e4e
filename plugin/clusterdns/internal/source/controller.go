package source

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// Controller turns changes of the stores into published views: it
// collects what changed (services, namespaces, pods) and rebuilds only that.
type Controller struct {
	cfg *Config
	st  Stores
	w   *index.Writer

	mu       sync.Mutex
	services map[string]change // "<ns>/<svc>" keys, with their earliest unpublished change
	nsKeys   map[string]struct{}
	podKeys  map[string]struct{}
	nodeKeys map[string]struct{}
	imports  map[string]struct{} // "<ns>/<svc>" keys of ServiceImports
	full     bool
	kick     chan struct{}

	synced atomic.Bool
	// syncedCh is closed once synced is set, for those who wait for it.
	syncedCh chan struct{}
	started  time.Time // when Start started the source, for the sync log line
	stale    staleness
	b        *builder                  // the builder on st
	onSync   func(time.Duration, bool) // observes each batch (duration, full)
	warm     atomic.Bool               // the index holds a snapshot file's content, until synced
	build    sync.Mutex                // serializes index builds of run and serveSnapshot
	// onPublish, if set, is told of each publication of live content.
	onPublish func()
	// onProgrammed observes the programming latency of each timed change
	// once it is published.
	onProgrammed func(ch change, kind string, published time.Time)
	// onPublished observes the size of each published view.
	onPublished func(services, endpoints, reverse int)
}

// change is when a queued service change happened, for the DNS programming
// latency. The zero change is untimed: changes seen before the first sync
// are not measured, since they are the initial content, not changes.
type change struct {
	at      time.Time
	trigger bool // at is the slice's last-change-trigger-time, not the event's arrival
}

// earlier returns whichever of two changes is the earlier timed one: a
// service changed twice before a publication waited since the first change.
func (ch change) earlier(o change) change {
	if ch.at.IsZero() || (!o.at.IsZero() && o.at.Before(ch.at)) {
		return o
	}
	return ch
}

// NewController returns a controller that publishes to ix what the stores
// of cfg hold, once started or loaded.
func NewController(cfg *Config, ix *index.Index) *Controller {
	ctl := &Controller{
		cfg:      cfg,
		st:       NewStores(cfg),
		w:        index.NewWriter(ix),
		services: make(map[string]change),
		nsKeys:   make(map[string]struct{}),
		podKeys:  make(map[string]struct{}),
		nodeKeys: make(map[string]struct{}),
		imports:  make(map[string]struct{}),
		kick:     make(chan struct{}, 1),
		syncedCh: make(chan struct{}),
		// The published views and their timings go to the metrics.
		onSync:       observeSync,
		onProgrammed: observeProgramming,
		onPublished:  observeIndexSize,
	}
	ctl.b = &builder{cfg: cfg, st: &ctl.st, w: ctl.w, opts: buildOptions(cfg), pods: newPodState(cfg), counted: object.NewCounted()}
	return ctl
}

// Start starts src and the controller's run loop, and with a snapshot
// path the writer of the snapshot file; all of it stops when ctx ends, and
// every goroutine is counted in wg. The index is published once src has
// its initial content.
func (ctl *Controller) Start(ctx context.Context, wg *sync.WaitGroup, src Source) error {
	ctl.stale.own()
	ctl.started = time.Now()
	st, hasSynced, err := src.start(ctx, wg, ctl)
	if err != nil {
		return err
	}
	ctl.st = st
	if ctl.cfg.SnapshotPath != "" {
		w := newSnapshotWriter(ctl.cfg, ctl.st)
		ctl.onPublish = w.changed
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctl.run(ctx, hasSynced)
	}()
	return nil
}

// Load publishes the whole content of st at once as the synced state, with
// no source and no run loop: for callers that fill stores themselves, such
// as tests and benchmarks of the layers above.
func (ctl *Controller) Load(st Stores) {
	ctl.st = st
	ctl.markAll()
	ctl.process()
	ctl.setSynced()
}

// setSynced marks the index as holding the stores' complete content, once.
func (ctl *Controller) setSynced() {
	if !ctl.synced.Swap(true) {
		close(ctl.syncedCh)
	}
}

// Synced returns a channel closed once the index holds the stores' first
// complete content.
func (ctl *Controller) Synced() <-chan struct{} { return ctl.syncedCh }

// Answering reports whether the index holds a complete state to answer
// from: the source's, or a snapshot file's until the source has synced.
func (ctl *Controller) Answering() bool { return ctl.synced.Load() || ctl.warm.Load() }

// TooStale reports whether the answers have been stale for longer than
// limit at now; a limit of 0 never is.
func (ctl *Controller) TooStale(limit time.Duration, now time.Time) bool {
	return ctl.stale.tooStale(limit, now)
}

// markService queues the service with key "<ns>/<svc>" for a rebuild,
// timing the change from now.
func (ctl *Controller) markService(key string) {
	ctl.markServiceAt(key, change{at: time.Now()})
}

// markServiceAt queues the service with key "<ns>/<svc>" for a rebuild
// after a change at ch.
func (ctl *Controller) markServiceAt(key string, ch change) {
	if !ctl.synced.Load() {
		ch = change{}
	}
	ctl.mark(func() {
		if prev, ok := ctl.services[key]; ok {
			ch = prev.earlier(ch)
		}
		ctl.services[key] = ch
	})
}

// markImport queues the ServiceImport with key "<ns>/<svc>" for a rebuild.
func (ctl *Controller) markImport(key string) {
	ctl.mark(func() { ctl.imports[key] = struct{}{} })
}

// markNamespace queues a namespace for a rebuild of its exposure.
func (ctl *Controller) markNamespace(ns string) {
	ctl.mark(func() { ctl.nsKeys[ns] = struct{}{} })
}

// markPod queues a pod ("<ns>/<name>") for `pods verified`.
func (ctl *Controller) markPod(key string) {
	ctl.mark(func() { ctl.podKeys[key] = struct{}{} })
}

// markNode queues a node whose zone may have changed.
func (ctl *Controller) markNode(name string) {
	ctl.mark(func() { ctl.nodeKeys[name] = struct{}{} })
}

// staleState returns the staleness of the served state.
func (ctl *Controller) staleState() *staleness { return &ctl.stale }

// skipsCounted returns the versions of objects whose skipped parts have
// been counted, shared by the sources' transforms and the builder.
func (ctl *Controller) skipsCounted() *object.Counted { return ctl.b.counted }

// isSynced reports whether the index holds the stores' content.
func (ctl *Controller) isSynced() bool { return ctl.synced.Load() }

// markAll queues a rebuild of everything, e.g. after the file of objects changed.
func (ctl *Controller) markAll() {
	ctl.mu.Lock()
	ctl.full = true
	ctl.mu.Unlock()
	ctl.wake()
}

// mark runs add under the lock that guards the queued sets, then wakes run.
func (ctl *Controller) mark(add func()) {
	ctl.mu.Lock()
	add()
	ctl.mu.Unlock()
	ctl.wake()
}

func (ctl *Controller) wake() {
	select {
	case ctl.kick <- struct{}{}:
	default:
	}
}

// syncPoll is how often run asks whether the stores have their initial
// content. The informers say so shortly after their last event, which
// wakes run too early; every millisecond between the two is start-up time,
// and asking costs a few atomic loads.
const syncPoll = 5 * time.Millisecond

// run publishes changes until ctx ends. hasSynced reports whether every
// store has its initial content; until then nothing is published, and the
// first publication is a full build, so a query never sees a partial cache.
func (ctl *Controller) run(ctx context.Context, hasSynced func() bool) {
	tick := time.NewTicker(syncPoll)
	defer tick.Stop()
	for !ctl.synced.Load() {
		select {
		case <-ctx.Done():
			return
		case <-ctl.kick:
		case <-tick.C:
		}
		if hasSynced() {
			ctl.syncFirst()
		}
	}
	tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ctl.kick:
		}
		ctl.process()
	}
}

// syncFirst publishes the stores' first complete content, replacing
// whatever a snapshot file put in the index.
func (ctl *Controller) syncFirst() {
	filled := time.Now()
	ctl.markAll()
	ctl.build.Lock()
	ctl.apply()
	// Where start-up time goes: listing and slimming into the stores, then
	// building the first index. Logged before Synced is closed, so that
	// whoever waits for it finds the line.
	log.Infof("synced: serving %d services after %s (stores filled in %s, index built in %s)",
		ctl.w.Published().Services.Len(), time.Since(ctl.started).Round(time.Millisecond),
		filled.Sub(ctl.started).Round(time.Millisecond), time.Since(filled).Round(time.Millisecond))
	ctl.setSynced()
	ctl.warm.Store(false)
	ctl.build.Unlock()
	if d, ok := ctl.stale.clear(time.Now()); ok {
		log.Infof("the snapshot file's answers are replaced by the API's after %s", d.Round(time.Millisecond))
	}
	if ctl.onPublish != nil {
		ctl.onPublish()
	}
}

// serveSnapshot publishes the content of a snapshot file, marked stale,
// unless the stores have synced already; it reports whether it did.
func (ctl *Controller) serveSnapshot(s *snapshotContent) (bool, error) {
	st := NewStores(ctl.cfg)
	if err := s.fill(st); err != nil {
		return false, err
	}
	// A builder on the file's stores, writing to the same index with the
	// same pod state.
	from := &builder{cfg: ctl.cfg, st: &st, w: ctl.w, opts: ctl.b.opts, pods: ctl.b.pods, counted: ctl.b.counted}
	ctl.build.Lock()
	defer ctl.build.Unlock()
	if ctl.synced.Load() {
		return false, nil
	}
	ctl.w.Begin()
	from.rebuildAll()
	ctl.w.Commit()
	ctl.observeIndex()
	ctl.warm.Store(true)
	ctl.stale.mark(time.Now())
	return true, nil
}

// process applies everything queued since the last call as one view.
func (ctl *Controller) process() {
	ctl.build.Lock()
	published := ctl.apply()
	ctl.build.Unlock()
	if published && ctl.onPublish != nil && ctl.synced.Load() {
		ctl.onPublish()
	}
}

// apply is process with the build lock held; it reports whether it published.
func (ctl *Controller) apply() bool {
	ctl.mu.Lock()
	full, services, nsKeys, podKeys, nodeKeys, imports := ctl.full, ctl.services, ctl.nsKeys, ctl.podKeys, ctl.nodeKeys, ctl.imports
	ctl.full = false
	ctl.services, ctl.nsKeys, ctl.podKeys = make(map[string]change), make(map[string]struct{}), make(map[string]struct{})
	ctl.nodeKeys, ctl.imports = make(map[string]struct{}), make(map[string]struct{})
	ctl.mu.Unlock()

	start := time.Now()
	ctl.w.Begin()
	if full {
		ctl.b.rebuildAll()
	} else {
		for ns := range nsKeys {
			ctl.b.syncNamespace(ns)
		}
		for key := range services {
			ctl.b.syncService(key)
		}
		for key := range podKeys {
			ctl.b.syncPod(key)
		}
		for name := range nodeKeys {
			ctl.b.syncNode(name)
		}
		for key := range imports {
			ctl.b.syncImport(key)
		}
	}
	published := ctl.w.Commit()
	if published {
		if ctl.onSync != nil {
			ctl.onSync(time.Since(start), full)
		}
		ctl.observeIndex()
	}
	// A change that left the answers as they were is programmed too: the
	// published index reflects it.
	if ctl.onProgrammed != nil {
		now := time.Now()
		for key, ch := range services {
			if !ch.at.IsZero() {
				ctl.onProgrammed(ch, ctl.b.serviceKind(key), now)
			}
		}
	}
	return published
}

// observeIndex reports the size of the published index to onPublished.
func (ctl *Controller) observeIndex() {
	if ctl.onPublished != nil {
		view := ctl.w.Published()
		ctl.onPublished(view.Services.Len(), ctl.w.Endpoints(), view.Reverse.Len())
	}
}

// Service kinds of the programming latency, the kubernetes plugin's
// service_kind values plus external_name and unknown.
const (
	kindClusterIP        = "cluster_ip"
	kindHeadlessSelector = "headless_with_selector"
	kindHeadlessManual   = "headless_without_selector"
	kindExternalName     = "external_name"
	kindUnknown          = "unknown" // deleted, or not (yet) seen
)
