package clusterdns

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// stores are the object caches the index is built from. They are filled by
// a source: informers on the API, or a file of objects.
type stores struct {
	services   cache.Indexer
	slices     cache.Indexer // nil with noendpoints
	namespaces cache.Indexer
	pods       cache.Indexer // nil unless `pods verified` or `client_zone_first`
	nodes      cache.Indexer // nil unless `client_zone_first`
	imports    cache.Indexer // ServiceImports as slim services; nil unless `multicluster`
}

func newStores(cfg *config) stores {
	st := stores{
		services:   cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}),
		namespaces: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
	}
	if !cfg.noEndpoints {
		st.slices = cache.NewIndexer(cache.MetaNamespaceKeyFunc, sliceIndexers())
	}
	if cfg.watchPods() {
		st.pods = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	}
	if cfg.clientZoneFirst {
		st.nodes = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	}
	if cfg.multicluster() {
		st.imports = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	return st
}

// sliceIndexers index slices by namespace only. An index by Service would
// hold a set per Service (about 200 bytes each); a Service's slices are
// found among its namespace's instead, and a full rebuild groups all
// slices in one pass (slicesByService).
func sliceIndexers() cache.Indexers {
	return cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
}

// slicesByService groups every slice of the store by its Service's key,
// and the slices derived for ServiceImports by their import's key.
func slicesByService(store cache.Store) (services, imports map[string][]*index.Slice) {
	services = make(map[string][]*index.Slice)
	imports = make(map[string][]*index.Slice)
	for _, o := range store.List() {
		if s, ok := o.(*object.EndpointSlice); ok {
			if key := sliceServiceKey(s); key != "" {
				services[key] = append(services[key], &s.Slice)
			} else if key := sliceImportKey(s); key != "" {
				imports[key] = append(imports[key], &s.Slice)
			}
		}
	}
	return services, imports
}

// sliceServiceKey returns the "<ns>/<svc>" key of a slice's Service, or "".
func sliceServiceKey(s *object.EndpointSlice) string {
	if s.Service == "" || s.Imported() {
		return ""
	}
	return s.Namespace + "/" + s.Service
}

// sliceImportKey returns the "<ns>/<svc>" key of the ServiceImport an
// imported slice belongs to, or "".
func sliceImportKey(s *object.EndpointSlice) string {
	if s.Service == "" || !s.Imported() {
		return ""
	}
	return s.Namespace + "/" + s.Service
}

// controller turns changes of the stores into published snapshots: it
// collects what changed (services, namespaces, pods) and rebuilds only that.
type controller struct {
	cfg *config
	st  stores
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
	stale  staleness
	b      *builder                  // the builder on st
	onSync func(time.Duration, bool) // observes each batch (duration, full)
	warm   atomic.Bool               // the index holds a snapshot file's content, until synced
	build  sync.Mutex                // serializes index builds of run and serveSnapshot
	// onPublish, if set, is told of each publication of live content.
	onPublish func()
	// onProgrammed observes the programming latency of each timed change
	// once it is published.
	onProgrammed func(ch change, kind string, published time.Time)
	// onPublished observes the size of each published snapshot.
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

func newController(cfg *config, st stores, ix *index.Index) *controller {
	c := &controller{
		cfg:      cfg,
		st:       st,
		w:        index.NewWriter(ix),
		services: make(map[string]change),
		nsKeys:   make(map[string]struct{}),
		podKeys:  make(map[string]struct{}),
		nodeKeys: make(map[string]struct{}),
		imports:  make(map[string]struct{}),
		kick:     make(chan struct{}, 1),
	}
	c.b = &builder{cfg: cfg, st: &c.st, w: c.w, opts: buildOptions(cfg), pods: newPodState(cfg)}
	return c
}

// buildOptions are the options of a configuration that shape entries.
func buildOptions(cfg *config) index.BuildOptions {
	return index.BuildOptions{IgnoreEmptyServices: cfg.ignoreEmptyServices, MaxAnswers: cfg.maxAnswers,
		FallbackTerminating: cfg.fallbackTerminating, Zonal: cfg.zonal, ClientZoneFirst: cfg.clientZoneFirst}
}

// markService queues the service with key "<ns>/<svc>" for a rebuild,
// timing the change from now.
func (c *controller) markService(key string) {
	c.markServiceAt(key, change{at: time.Now()})
}

// markServiceAt queues the service with key "<ns>/<svc>" for a rebuild
// after a change at ch.
func (c *controller) markServiceAt(key string, ch change) {
	if !c.synced.Load() {
		ch = change{}
	}
	c.mark(func() {
		if prev, ok := c.services[key]; ok {
			ch = prev.earlier(ch)
		}
		c.services[key] = ch
	})
}

// markImport queues the ServiceImport with key "<ns>/<svc>" for a rebuild.
func (c *controller) markImport(key string) {
	c.mark(func() { c.imports[key] = struct{}{} })
}

// markNamespace queues a namespace for a rebuild of its exposure.
func (c *controller) markNamespace(ns string) {
	c.mark(func() { c.nsKeys[ns] = struct{}{} })
}

// markPod queues a pod ("<ns>/<name>") for `pods verified`.
func (c *controller) markPod(key string) {
	c.mark(func() { c.podKeys[key] = struct{}{} })
}

// markNode queues a node whose zone may have changed.
func (c *controller) markNode(name string) {
	c.mark(func() { c.nodeKeys[name] = struct{}{} })
}

// markAll queues a rebuild of everything, e.g. after the file of objects changed.
func (c *controller) markAll() {
	c.mu.Lock()
	c.full = true
	c.mu.Unlock()
	c.wake()
}

// mark runs add under the lock that guards the queued sets, then wakes run.
func (c *controller) mark(add func()) {
	c.mu.Lock()
	add()
	c.mu.Unlock()
	c.wake()
}

func (c *controller) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// run publishes changes until ctx ends. hasSynced reports whether every
// store has its initial content; until then nothing is published, and the
// first publication is a full build, so a query never sees a partial cache.
func (c *controller) run(ctx context.Context, hasSynced func() bool) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-tick.C:
			if c.synced.Load() {
				continue
			}
		}
		if !c.synced.Load() {
			if hasSynced() {
				c.syncFirst()
			}
			continue
		}
		c.process()
	}
}

// syncFirst publishes the stores' first complete content, replacing
// whatever a snapshot file put in the index.
func (c *controller) syncFirst() {
	c.markAll()
	c.build.Lock()
	c.apply()
	c.synced.Store(true)
	c.warm.Store(false)
	c.build.Unlock()
	log.Infof("synced: serving %d services", c.w.Published().Services.Len())
	if d, ok := c.stale.clear(time.Now()); ok {
		log.Infof("the snapshot file's answers are replaced by the API's after %s", d.Round(time.Millisecond))
	}
	if c.onPublish != nil {
		c.onPublish()
	}
}

// serveSnapshot publishes the content of a snapshot file, marked stale,
// unless the stores have synced already; it reports whether it did.
func (c *controller) serveSnapshot(s *snapshotContent) (bool, error) {
	st := newStores(c.cfg)
	if err := s.fill(st); err != nil {
		return false, err
	}
	// A builder on the file's stores, writing to the same index with the
	// same pod state.
	from := &builder{cfg: c.cfg, st: &st, w: c.w, opts: c.b.opts, pods: c.b.pods}
	c.build.Lock()
	defer c.build.Unlock()
	if c.synced.Load() {
		return false, nil
	}
	c.w.Begin()
	from.rebuildAll()
	c.w.Commit()
	c.observeIndex()
	c.warm.Store(true)
	c.stale.mark(time.Now())
	return true, nil
}

// process applies everything queued since the last call as one snapshot.
func (c *controller) process() {
	c.build.Lock()
	published := c.apply()
	c.build.Unlock()
	if published && c.onPublish != nil && c.synced.Load() {
		c.onPublish()
	}
}

// apply is process with the build lock held; it reports whether it published.
func (c *controller) apply() bool {
	c.mu.Lock()
	full, services, nsKeys, podKeys, nodeKeys, imports := c.full, c.services, c.nsKeys, c.podKeys, c.nodeKeys, c.imports
	c.full = false
	c.services, c.nsKeys, c.podKeys = make(map[string]change), make(map[string]struct{}), make(map[string]struct{})
	c.nodeKeys, c.imports = make(map[string]struct{}), make(map[string]struct{})
	c.mu.Unlock()

	start := time.Now()
	c.w.Begin()
	if full {
		c.b.rebuildAll()
	} else {
		for ns := range nsKeys {
			c.b.syncNamespace(ns)
		}
		for key := range services {
			c.b.syncService(key)
		}
		for key := range podKeys {
			c.b.syncPod(key)
		}
		for name := range nodeKeys {
			c.b.syncNode(name)
		}
		for key := range imports {
			c.b.syncImport(key)
		}
	}
	published := c.w.Commit()
	if published {
		if c.onSync != nil {
			c.onSync(time.Since(start), full)
		}
		c.observeIndex()
	}
	// A change that left the answers as they were is programmed too: the
	// published index reflects it.
	if c.onProgrammed != nil {
		now := time.Now()
		for key, ch := range services {
			if !ch.at.IsZero() {
				c.onProgrammed(ch, c.b.serviceKind(key), now)
			}
		}
	}
	return published
}

// observeIndex reports the size of the published index to onPublished.
func (c *controller) observeIndex() {
	if c.onPublished != nil {
		snap := c.w.Published()
		c.onPublished(snap.Services.Len(), c.w.Endpoints(), snap.Reverse.Len())
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
