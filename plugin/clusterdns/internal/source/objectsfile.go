package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// fileSource feeds the stores from a file of Kubernetes objects, such as the
// output of `kubectl get services,endpointslices,namespaces -A -o yaml`, and
// reloads it when it changes. A file that cannot be read or decoded on
// reload is reported and the last good content keeps being served.
type fileSource struct {
	cfg *Config
}

// start loads the file once (an error here stops the server from starting)
// and then watches it for changes.
func (fs *fileSource) start(ctx context.Context, wg *sync.WaitGroup, to feed) (Stores, func() bool, error) {
	stamp, err := fileStamp(fs.cfg.ObjectsFile)
	if err != nil {
		return Stores{}, nil, fmt.Errorf("objects_file: %w", err)
	}
	objs, err := loadObjectsFile(fs.cfg.ObjectsFile, fs.cfg)
	if err != nil {
		return Stores{}, nil, fmt.Errorf("objects_file: %w", err)
	}
	st := NewStores(fs.cfg)
	fs.replace(st, to, objs)
	wg.Add(1)
	go func() {
		defer wg.Done()
		fs.watch(ctx, st, to, stamp)
	}()
	return st, func() bool { return true }, nil
}

// watch polls the file and reloads it when its size or modification time changes.
func (fs *fileSource) watch(ctx context.Context, st Stores, to feed, stamp string) {
	every(ctx, fs.cfg.ObjectsFilePoll, func() {
		now, err := fileStamp(fs.cfg.ObjectsFile)
		if err != nil || now == stamp {
			return
		}
		stamp = now
		if strings.HasPrefix(now, "0/") {
			// Most writers truncate the file before they write it: an empty
			// file is one being replaced, not a cluster without objects.
			log.Warningf("objects_file: %s is empty; keeping the previous objects", fs.cfg.ObjectsFile)
			return
		}
		objs, err := loadObjectsFile(fs.cfg.ObjectsFile, fs.cfg)
		if err != nil {
			log.Errorf("objects_file: keeping the previous objects: %v", err)
			return
		}
		log.Infof("objects_file: reloaded %s", fs.cfg.ObjectsFile)
		fs.replace(st, to, objs)
	})
}

// replace swaps the stores' content for objs and queues a full rebuild.
func (fs *fileSource) replace(st Stores, to feed, objs *fileObjects) {
	_ = objs.fill(st) // fails only if a key function does, and every object has a name
	if objs.ignored > 0 {
		log.Infof("objects_file: ignored %d objects of kinds clusterdns does not use", objs.ignored)
	}
	to.markAll()
}

// fileStamp is "<size>/<modification time>" of path.
func fileStamp(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano()), nil
}

// loadObjectsFile reads a YAML or JSON file of objects: single objects,
// `kind: List` documents, or several documents separated by ---. The
// stanza's label selectors apply as they would to the API's watches. When
// the file has no Namespace objects, every namespace its objects use is
// taken to exist.
func loadObjectsFile(path string, cfg *Config) (*fileObjects, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: closing cannot lose data

	l := newObjectLoader(cfg, true)
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, doc, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if err := l.add(raw); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, doc, err)
		}
	}
	return l.objects(true), nil
}
