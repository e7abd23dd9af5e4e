package clusterdns

import (
	"strings"

	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// The controller's side of `multicluster`: ServiceImports and the slices
// derived for them become the entries of the multicluster zones, built as
// Services' entries are (buildEntry), in a map of their own.

// importOptions are the build options of imports: zone-scoped names and
// the client's zone first are not defined in multicluster zones.
func (c *controller) importOptions() index.BuildOptions {
	o := c.opts
	o.Zonal, o.ClientZoneFirst = false, false
	return o
}

// syncImport rebuilds the entry of one ServiceImport from the stores.
func (c *controller) syncImport(key string) {
	if c.st.imports == nil {
		return
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return
	}
	k := index.ServiceKey{Name: strings.ToLower(name), Namespace: strings.ToLower(ns)}
	obj, exists, _ := c.st.imports.GetByKey(key)
	imp, _ := obj.(*service)
	if !exists || imp == nil || !c.w.Exposed(ns) {
		c.w.SetImport(k, nil)
		return
	}
	c.w.SetImport(k, index.Build(k, &imp.Service, c.importedSlicesOf(key, ns, name), c.importOptions()))
}

// importedSlicesOf returns the slices derived for the ServiceImport key (ns/name).
func (c *controller) importedSlicesOf(key, ns, name string) []*index.Slice {
	return c.slicesIn(c.groupedImports, key, ns, name, true)
}

// rebuildImports brings the imports of the index in line with the store,
// during a full rebuild.
func (c *controller) rebuildImports() {
	if c.st.imports == nil {
		return
	}
	for _, k := range c.w.ImportKeys() {
		if _, ok, _ := c.st.imports.GetByKey(k.Namespace + "/" + k.Name); !ok {
			c.w.SetImport(k, nil)
		}
	}
	for _, key := range c.st.imports.ListKeys() {
		c.syncImport(key)
	}
}

// syncNamespaceImports follows a change of whether ns is served.
func (c *controller) syncNamespaceImports(ns string, exposed bool) {
	if c.st.imports == nil {
		return
	}
	keys, _ := c.st.imports.IndexKeys(cache.NamespaceIndex, ns)
	for _, key := range keys {
		c.syncImport(key)
	}
	if !exposed {
		for _, k := range c.w.ImportKeys() {
			if k.Namespace == ns {
				c.w.SetImport(k, nil)
			}
		}
	}
}
