package clusterdns

import (
	"context"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/source"
)

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
		c.source = source.New(&c.cfg.Config)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctl := source.NewController(&c.cfg.Config, c.index)
	run := &lifecycle{cancel: cancel}
	if err := ctl.Start(ctx, &run.wg, c.source); err != nil {
		cancel()
		run.wg.Wait()
		return err
	}
	c.ctl.Store(ctl)
	c.run = run
	if !c.waitForSync(ctx, ctl) && ctx.Err() == nil {
		c.startUnsynced(ctl)
	}
	return nil
}

// startUnsynced lets the server start before the caches synced: from the
// snapshot file if there is a usable one, else answering SERVFAIL.
func (c *ClusterDNS) startUnsynced(ctl *source.Controller) {
	if c.cfg.SnapshotPath != "" {
		if from, ok := ctl.ServeSnapshotFile(); ok {
			log.Warningf("starting server with unsynced caches after %s; answering from snapshot %s until synced", c.cfg.startupTimeout, from)
			return
		}
	}
	if c.cfg.startupTimeout > 0 {
		log.Warningf("starting server with unsynced caches after %s; answering SERVFAIL for cluster names until synced", c.cfg.startupTimeout)
	}
}

// waitForSync blocks until ctl has published the caches' first complete
// content or startup_timeout passes, and reports whether it has. The
// server starts the moment it has: no poll interval adds to start-up.
func (c *ClusterDNS) waitForSync(ctx context.Context, ctl *source.Controller) bool {
	if c.cfg.startupTimeout <= 0 {
		return c.answering()
	}
	deadline := time.NewTimer(c.cfg.startupTimeout)
	defer deadline.Stop()
	say := time.NewTicker(time.Second)
	defer say.Stop()
	for {
		select {
		case <-ctl.Synced():
			return true
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		case <-say.C:
			log.Info("waiting for the object caches to sync before starting server")
		}
	}
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
	return ctl != nil && ctl.Answering()
}

// Ready implements the ready plugin's Readiness: true once the index holds
// the caches' full initial content, unless ready_stale_limit is set and the
// answers have been stale for longer than that.
func (c *ClusterDNS) Ready() bool {
	if !c.answering() {
		return false
	}
	return !c.ctl.Load().TooStale(c.cfg.readyStaleLimit, time.Now())
}
