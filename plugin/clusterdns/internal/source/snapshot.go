package source

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// The `snapshot` option keeps a file of the served objects (format in
// snapshotfile.go), so that a server starting while the API server is out
// of reach answers from the last known state instead of SERVFAIL.

// snapshotWriter keeps the snapshot file in step with the stores: after a
// publication of live content it writes, at most once per interval.
type snapshotWriter struct {
	path     string
	interval time.Duration
	options  string
	st       Stores
	kick     chan struct{}

	wrote   bool // a write succeeded (the first is logged)
	failing bool // the last write failed (logged once until one succeeds)
}

func newSnapshotWriter(cfg *Config, st Stores) *snapshotWriter {
	return &snapshotWriter{
		path:     cfg.SnapshotPath,
		interval: cfg.SnapshotInterval,
		options:  snapshotOptions(cfg),
		st:       st,
		kick:     make(chan struct{}, 1),
	}
}

// changed tells the writer the stores changed; it never blocks.
func (w *snapshotWriter) changed() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// run writes after each change, waiting out the interval since the last
// write, until ctx ends; a change still waiting then is written at once.
func (w *snapshotWriter) run(ctx context.Context) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			select {
			case <-w.kick:
				w.write()
			default:
			}
			return
		case <-w.kick:
		}
		if wait := time.Until(last.Add(w.interval)); wait > 0 {
			select {
			case <-ctx.Done():
				w.write()
				return
			case <-time.After(wait):
			}
		}
		w.write()
		last = time.Now()
	}
}

// write writes the stores' content to the file.
func (w *snapshotWriter) write() {
	now := time.Now()
	data, services, err := encodeSnapshot(w.st, now, w.options)
	if err == nil {
		err = writeFileAtomic(w.path, data)
	}
	if err != nil {
		snapshotWrites.WithLabelValues("error").Inc()
		if !w.failing {
			w.failing = true
			log.Errorf("snapshot: cannot write %s: %v", w.path, err)
		}
		return
	}
	snapshotWrites.WithLabelValues("ok").Inc()
	switch {
	case w.failing:
		w.failing = false
		log.Infof("snapshot: writing %s again", w.path)
	case !w.wrote:
		log.Infof("snapshot: wrote %s, %d bytes", describeSnapshot(w.path, services, now), len(data))
	}
	w.wrote = true
}

// writeFileAtomic replaces path with data so that a reader, or a crash at
// any moment, sees either the old file or the new one: it writes a
// temporary file beside it, flushes it to disk, renames it over path and
// flushes the directory, which holds the rename.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil { // err is the one to report; the rest is cleanup
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil // the file is in place; only its durability is less sure
	}
	_ = d.Sync() // as above: the file is in place either way
	_ = d.Close()
	return nil
}

// ServeSnapshotFile loads the snapshot file into the index, marked stale,
// and returns how to name it in the log. A file that is missing, damaged,
// of another format version or written under other options is not used,
// and that is logged once, with why.
func (ctl *Controller) ServeSnapshotFile() (string, bool) {
	cfg := ctl.cfg
	data, err := os.ReadFile(cfg.SnapshotPath)
	var s *snapshotContent
	if err == nil {
		s, err = decodeSnapshot(data, cfg)
	}
	served := false
	if err == nil {
		served, err = ctl.serveSnapshot(s)
	}
	if err != nil {
		log.Warningf("snapshot %s ignored: %v", cfg.SnapshotPath, err)
		return "", false
	}
	if !served {
		return "", false // synced meanwhile
	}
	return describeSnapshot(cfg.SnapshotPath, len(s.objects.services), s.written), true
}
