package clusterdns

import (
	"context"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// source fills stores of its own with Kubernetes objects and keeps them
// current until ctx ends, reporting what changed to the feed it is given.
// Every goroutine it starts is counted in wg. It returns the stores, which
// only it writes, and a function that reports whether they hold their
// initial content.
type source interface {
	start(ctx context.Context, wg *sync.WaitGroup, to feed) (st stores, hasSynced func() bool, err error)
}

// feed is all a source sees of the controller: where it reports what
// changed, and the state its contact with the API counts against.
type feed interface {
	markService(key string)              // a Service changed, now
	markServiceAt(key string, ch change) // a Service's endpoints changed, at ch
	markImport(key string)               // a ServiceImport or its slices changed
	markNamespace(ns string)             // a namespace appeared or went away
	markPod(key string)                  // a pod's addresses may have changed
	markNode(name string)                // a node's zone may have changed
	markAll()                            // everything may have changed
	staleState() *staleness              // marked stale while the API is out of reach
	isSynced() bool                      // whether the index holds the source's content
}

// newClusterDNS builds the plugin for a parsed configuration. Nothing runs
// until onStartup.
func newClusterDNS(cfg *config) *ClusterDNS {
	return &ClusterDNS{
		cfg:     cfg,
		index:   index.New(),
		answers: answerOptions(cfg),
	}
}

// lifecycle is the running part of a ClusterDNS between startup and shutdown.
type lifecycle struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// onStartup starts the source and the controller, then holds the server's
// start for up to startup_timeout while the caches sync.
func (c *ClusterDNS) onStartup() error {
	if c.source == nil {
		if c.cfg.objectsFile != "" {
			c.source = &fileSource{cfg: c.cfg}
		} else {
			c.source = &apiSource{cfg: c.cfg}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctl := newController(c.cfg, c.index)
	ctl.onSync = observeSync
	ctl.onProgrammed = observeProgramming
	ctl.onPublished = observeIndexSize
	ctl.stale.own()
	run := &lifecycle{cancel: cancel}
	st, hasSynced, err := c.source.start(ctx, &run.wg, ctl)
	if err != nil {
		cancel()
		run.wg.Wait()
		return err
	}
	ctl.st = st
	if c.cfg.snapshotPath != "" {
		w := newSnapshotWriter(c.cfg, ctl.st)
		ctl.onPublish = w.changed
		run.wg.Add(1)
		go func() {
			defer run.wg.Done()
			w.run(ctx)
		}()
	}
	c.ctl.Store(ctl)
	c.run = run
	c.run.wg.Add(1)
	go func() {
		defer c.run.wg.Done()
		ctl.run(ctx, hasSynced)
	}()
	if !c.waitForSync(ctx) && ctx.Err() == nil {
		c.startUnsynced(ctl)
	}
	return nil
}

// startUnsynced lets the server start before the caches synced: from the
// snapshot file if there is a usable one, else answering SERVFAIL.
func (c *ClusterDNS) startUnsynced(ctl *controller) {
	if c.cfg.snapshotPath != "" {
		if from, ok := serveSnapshotFile(c.cfg, ctl); ok {
			log.Warningf("starting server with unsynced caches after %s; answering from snapshot %s until synced", c.cfg.startupTimeout, from)
			return
		}
	}
	if c.cfg.startupTimeout > 0 {
		log.Warningf("starting server with unsynced caches after %s; answering SERVFAIL for cluster names until synced", c.cfg.startupTimeout)
	}
}

// waitForSync blocks until the index is ready or startup_timeout passes,
// and reports whether it is ready.
func (c *ClusterDNS) waitForSync(ctx context.Context) bool {
	if c.cfg.startupTimeout <= 0 {
		return c.answering()
	}
	deadline := time.NewTimer(c.cfg.startupTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	say := time.Now()
	for !c.answering() {
		select {
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		case now := <-poll.C:
			if now.Sub(say) >= time.Second {
				log.Info("waiting for the object caches to sync before starting server")
				say = now
			}
		}
	}
	return true
}

// onShutdown stops everything onStartup started and waits for it, so a
// reload leaves no goroutine or watch behind.
func (c *ClusterDNS) onShutdown() error {
	if c.run == nil {
		return nil
	}
	c.run.cancel()
	c.run.wg.Wait()
	c.run = nil
	return nil
}

// answering reports whether the index holds a complete state to answer
// from. It runs on every query.
func (c *ClusterDNS) answering() bool {
	ctl := c.ctl.Load()
	return ctl != nil && (ctl.synced.Load() || ctl.warm.Load())
}

// Ready implements the ready plugin's Readiness: true once the index holds
// the caches' full initial content, unless ready_stale_limit is set and the
// answers have been stale for longer than that.
func (c *ClusterDNS) Ready() bool {
	if !c.answering() {
		return false
	}
	return !c.ctl.Load().stale.tooStale(c.cfg.readyStaleLimit, time.Now())
}
