package source

import (
	"strings"

	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// The builder's side of `multicluster`: ServiceImports and the slices
// derived for them become the entries of the multicluster zones, built as
// Services' entries are (index.Build), in a map of their own.

// importOptions are the build options of imports: zone-scoped names, the
// client's zone first and topology hints are not defined in multicluster
// zones.
func (b *builder) importOptions() index.BuildOptions {
	o := b.opts
	o.Zonal, o.ClientZoneFirst, o.TrafficDistribution = false, false, false
	return o
}

// syncImport rebuilds the entry of one ServiceImport from the stores.
func (b *builder) syncImport(key string) {
	if b.st.Imports == nil {
		return
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return
	}
	k := index.ServiceKey{Name: strings.ToLower(name), Namespace: strings.ToLower(ns)}
	obj, exists, _ := b.st.Imports.GetByKey(key)
	imp, _ := obj.(*object.Service)
	if !exists || imp == nil || !b.w.Exposed(ns) {
		b.w.SetImport(k, nil)
		return
	}
	b.w.SetImport(k, index.Build(k, &imp.Service, b.importedSlicesOf(key), b.importOptions()))
}

// importedSlicesOf returns the slices derived for the ServiceImport key (ns/name).
func (b *builder) importedSlicesOf(key string) []*index.Slice {
	return b.slicesIn(b.groupedImports, key, true)
}

// rebuildImports brings the imports of the index in line with the store,
// during a full rebuild.
func (b *builder) rebuildImports() {
	if b.st.Imports == nil {
		return
	}
	for _, k := range b.w.ImportKeys() {
		if _, ok, _ := b.st.Imports.GetByKey(k.Namespace + "/" + k.Name); !ok {
			b.w.SetImport(k, nil)
		}
	}
	for _, key := range b.st.Imports.ListKeys() {
		b.syncImport(key)
	}
}

// syncNamespaceImports follows a change of whether ns is served.
func (b *builder) syncNamespaceImports(ns string, exposed bool) {
	if b.st.Imports == nil {
		return
	}
	for _, key := range keysIn(b.st.Imports, ns) {
		b.syncImport(key)
	}
	if !exposed {
		for _, k := range b.w.ImportKeys() {
			if k.Namespace == ns {
				b.w.SetImport(k, nil)
			}
		}
	}
}
