package source

import (
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// Stores are the object caches the index is built from. They are filled by
// a source: informers on the API, or a file of objects.
type Stores struct {
	Services   cache.Indexer
	Slices     cache.Indexer // nil with noendpoints
	Namespaces cache.Indexer
	Pods       cache.Indexer // nil unless `pods verified`, `client_zone_first` or `traffic_distribution`
	Nodes      cache.Indexer // nil unless `client_zone_first` or `traffic_distribution`
	Imports    cache.Indexer // ServiceImports as slim services; nil unless `multicluster`
}

// NewStores returns empty stores for the kinds cfg watches; the others
// stay nil.
func NewStores(cfg *Config) Stores {
	st := Stores{
		Services:   cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		Namespaces: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
	}
	if !cfg.NoEndpoints {
		st.Slices = cache.NewIndexer(cache.MetaNamespaceKeyFunc, sliceIndexers())
	}
	if cfg.WatchPods() {
		st.Pods = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	}
	if cfg.WatchNodes() {
		st.Nodes = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	}
	if cfg.Multicluster() {
		st.Imports = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	}
	return st
}

// sliceServiceIndex indexes slices by a hash of the key ("<ns>/<name>")
// of the Service (or ServiceImport) they belong to: sliceBuckets groups.
const sliceServiceIndex = "service"

// sliceBuckets is how many groups sliceServiceIndex has. The index keeps a
// set per value (about 200 bytes even for one slice): one per Service
// would cost more than the slim slices themselves take at 10,000 Services.
// With a fixed number of groups a change still costs the same in a
// namespace of 10,000 services as in one of 10 (a few dozen slices to
// filter even at 50,000 Services), where finding a Service's slices among
// its namespace's would cost a scan of all of those per change. A full
// rebuild groups every slice in one pass instead (slicesByService).
const sliceBuckets = 1024

// sliceBucketNames are the index values of the groups, made once: the
// index function allocates nothing per slice.
var sliceBucketNames = func() (names [sliceBuckets]string) {
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}()

var sliceBucketSeed = maphash.MakeSeed()

// sliceBucket returns the index value of the slices of Service ns/svc.
func sliceBucket(ns, svc string) string {
	return sliceBucketNames[maphash.Comparable(sliceBucketSeed, [2]string{ns, svc})%sliceBuckets]
}

// sliceIndexers index slices by their Service's group (sliceBucket).
func sliceIndexers() cache.Indexers {
	return cache.Indexers{sliceServiceIndex: sliceServiceIndexFunc}
}

// sliceServiceIndexFunc returns the group of a slim slice's Service.
func sliceServiceIndexFunc(obj any) ([]string, error) {
	s, ok := obj.(*object.EndpointSlice)
	if !ok {
		return nil, nil
	}
	if s.Service == "" {
		return nil, nil
	}
	return []string{sliceBucket(s.Namespace, s.Service)}, nil
}

// slicesOfService returns the slices in store of the Service (or
// ServiceImport) ns/svc, imported or not.
func slicesOfService(store cache.Indexer, ns, svc string) []*object.EndpointSlice {
	if x, ok := store.(*nsIndexer); ok {
		// A group holds Services of every namespace: ask the store of the
		// Service's own.
		if store = x.byNS[ns]; store == nil {
			return nil
		}
	}
	objs, _ := store.ByIndex(sliceServiceIndex, sliceBucket(ns, svc))
	var out []*object.EndpointSlice
	for _, o := range objs {
		if s, ok := o.(*object.EndpointSlice); ok && s.Service == svc && s.Namespace == ns {
			out = append(out, s)
		}
	}
	return out
}

// keysIn returns the keys of the objects of store in namespace ns. It
// scans the store: it runs only when a namespace starts or stops being
// served, where an index by namespace would cost an entry per Service (or
// ServiceImport) all the time.
func keysIn(store cache.Store, ns string) []string {
	prefix := ns + "/"
	var out []string
	for _, k := range store.ListKeys() {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
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

// Add slims objs as the informers' transform does and adds each to the
// store of its kind. Objects of a kind the stores do not keep are left out.
func (st Stores) Add(sl object.Slimmer, objs ...runtime.Object) error {
	for _, o := range objs {
		var store cache.Indexer
		switch o.(type) {
		case *corev1.Service:
			store = st.Services
		case *discoveryv1.EndpointSlice:
			store = st.Slices
		case *corev1.Namespace:
			store = st.Namespaces
		case *corev1.Pod:
			store = st.Pods
		case *corev1.Node:
			store = st.Nodes
		case *mcsv1alpha1.ServiceImport:
			store = st.Imports
		default:
			return fmt.Errorf("no store for %T", o)
		}
		if store == nil {
			continue
		}
		slim, err := sl.Transform(o)
		if err != nil {
			return err
		}
		if err := store.Add(slim); err != nil {
			return err
		}
	}
	return nil
}
