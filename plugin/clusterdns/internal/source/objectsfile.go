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

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// fileSource feeds the stores from a file of Kubernetes objects, such as the
// output of `kubectl get services,endpointslices,namespaces -A -o yaml`, and
// reloads it when it changes. A file that cannot be read or decoded on
// reload is reported and the last good content keeps being served.
type fileSource struct {
	cfg *Config
}

// fileObjects is the decoded content of an objects file.
type fileObjects struct {
	services, slices, namespaces, pods []any
	ignored                            int // objects of other kinds
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
	_ = st.Services.Replace(objs.services, "")
	_ = st.Namespaces.Replace(objs.namespaces, "")
	if st.Slices != nil {
		_ = st.Slices.Replace(objs.slices, "")
	}
	if st.Pods != nil {
		_ = st.Pods.Replace(objs.pods, "")
	}
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

	out := &fileObjects{}
	used := make(map[string]bool)
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
		if err := out.add(raw, cfg, used); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, doc, err)
		}
	}
	if len(out.namespaces) == 0 && cfg.NamespaceSelector == nil {
		for ns := range used {
			out.namespaces = append(out.namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		}
	}
	return out, nil
}

// add decodes one document and files its objects.
func (o *fileObjects) add(raw []byte, cfg *Config, used map[string]bool) error {
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw, nil, nil)
	if err != nil {
		if runtime.IsNotRegisteredError(err) {
			o.ignored++
			return nil
		}
		return err
	}
	if list, ok := obj.(*corev1.List); ok {
		for i, item := range list.Items {
			if err := o.add(item.Raw, cfg, used); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		return nil
	}
	match := func(sel labels.Selector, l map[string]string) bool {
		return sel == nil || sel.Matches(labels.Set(l))
	}
	switch t := obj.(type) {
	case *corev1.Service:
		if match(cfg.LabelSelector, t.Labels) {
			o.services = append(o.services, object.SlimService(t))
			used[t.Namespace] = true
		}
	case *discoveryv1.EndpointSlice:
		if match(cfg.LabelSelector, t.Labels) {
			o.slices = append(o.slices, NewSlimmer(cfg).EndpointSlice(t))
			used[t.Namespace] = true
		}
	case *corev1.Namespace:
		if match(cfg.NamespaceSelector, t.Labels) {
			o.namespaces = append(o.namespaces, object.SlimNamespace(t))
		}
	case *corev1.Pod:
		if match(cfg.LabelSelector, t.Labels) {
			o.pods = append(o.pods, NewSlimmer(cfg).Pod(t))
		}
	default:
		o.ignored++
	}
	return nil
}
