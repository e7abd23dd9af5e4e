package source

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// With `namespaces`, each kind is watched by one informer per namespace, so
// the server needs only a namespaced Role in each of them and the API
// server sends nothing of any other namespace. The controller reads the
// per-namespace stores through one nsIndexer.

// watchScopes returns the namespaces each kind is watched in: every one
// listed in `namespaces`, in order, or all of them at once.
func (cfg *Config) watchScopes() []string {
	if len(cfg.Namespaces) == 0 {
		return []string{metav1.NamespaceAll}
	}
	scopes := make([]string, 0, len(cfg.Namespaces))
	for ns := range cfg.Namespaces {
		scopes = append(scopes, ns)
	}
	slices.Sort(scopes)
	return scopes
}

// listedNamespaces returns a store holding the namespaces of `namespaces`.
// Namespace objects are cluster-scoped, so a server limited to namespaced
// Roles cannot read them: a listed namespace is taken to exist, and
// `<ns>.svc.<zone>` answers NODATA for it even before it is created. Names
// in other namespaces never exist.
func (cfg *Config) listedNamespaces() cache.Indexer {
	st := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for ns := range cfg.Namespaces {
		_ = st.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	return st
}

// nsIndexer reads a store per namespace as one. Keys ("<ns>/<name>") start
// with the namespace, which picks the store; the slices' index by Service
// is read in the store of the Service's namespace (slicesOfService). The stores belong to
// their informers, which alone write them: the write methods of the
// embedded (nil) Indexer are never called and would panic.
type nsIndexer struct {
	cache.Indexer
	byNS map[string]cache.Indexer
}

// joinIndexers returns the one indexer, or an nsIndexer over several.
func joinIndexers(scopes []string, idx []cache.Indexer) cache.Indexer {
	if len(idx) == 1 {
		return idx[0]
	}
	m := make(map[string]cache.Indexer, len(idx))
	for i, ns := range scopes {
		m[ns] = idx[i]
	}
	return &nsIndexer{byNS: m}
}

// of returns the store of the namespace a key or index value starts with.
func (x *nsIndexer) of(keyOrValue string) cache.Indexer {
	ns, _, _ := strings.Cut(keyOrValue, "/")
	return x.byNS[ns]
}

// GetByKey implements cache.Store.
func (x *nsIndexer) GetByKey(key string) (any, bool, error) {
	if st := x.of(key); st != nil {
		return st.GetByKey(key)
	}
	return nil, false, nil
}

// ListKeys implements cache.Store.
func (x *nsIndexer) ListKeys() []string {
	var keys []string
	for _, st := range x.byNS {
		keys = append(keys, st.ListKeys()...)
	}
	return keys
}

// List implements cache.Store.
func (x *nsIndexer) List() []any {
	var objs []any
	for _, st := range x.byNS {
		objs = append(objs, st.List()...)
	}
	return objs
}

// ByIndex implements cache.Indexer.
func (x *nsIndexer) ByIndex(name, value string) ([]any, error) {
	if st := x.of(value); st != nil {
		return st.ByIndex(name, value)
	}
	return nil, nil
}

// IndexKeys implements cache.Indexer.
func (x *nsIndexer) IndexKeys(name, value string) ([]string, error) {
	if st := x.of(value); st != nil {
		return st.IndexKeys(name, value)
	}
	return nil, nil
}

// ListIndexFuncValues implements cache.Indexer.
func (x *nsIndexer) ListIndexFuncValues(name string) []string {
	var values []string
	for _, st := range x.byNS {
		values = append(values, st.ListIndexFuncValues(name)...)
	}
	return values
}
