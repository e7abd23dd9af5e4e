package source

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// builder brings the index in line with a set of stores: the informers'
// (the controller's), or a snapshot file's. It rebuilds what it is asked
// to, one service, namespace, ServiceImport or pod at a time, or all of
// it, through the index writer; the controller decides what and when.
type builder struct {
	cfg  *Config
	st   *Stores
	w    *index.Writer
	opts index.BuildOptions
	pods *podState // what pods and nodes contribute; shared by every builder of one index
	// counted holds the slice versions counted as of an unknown service.
	counted *object.Counted

	// grouped holds every slice by Service during a full rebuild, and
	// groupedImports every imported slice by ServiceImport; nil otherwise.
	grouped, groupedImports map[string][]*index.Slice
}

// syncPod updates what one pod ("<ns>/<name>") contributes.
func (b *builder) syncPod(key string) { b.pods.sync(key, *b.st, b.w) }

// syncNode updates the zone of every pod on a node.
func (b *builder) syncNode(name string) { b.pods.syncNode(name, *b.st, b.w) }

// serviceKind returns the service_kind of the service with key "<ns>/<svc>".
func (b *builder) serviceKind(key string) string {
	obj, ok, _ := b.st.Services.GetByKey(key)
	svc, _ := obj.(*object.Service)
	switch {
	case !ok || svc == nil:
		return kindUnknown
	case svc.ExternalName != "":
		return kindExternalName
	case !svc.Headless:
		return kindClusterIP
	case svc.Selector:
		return kindHeadlessSelector
	}
	return kindHeadlessManual
}

// rebuildAll brings the index in line with the whole content of the stores.
func (b *builder) rebuildAll() {
	b.w.MarkChanged() // the first build publishes even an empty cluster
	for _, ns := range b.w.NamespaceKeys() {
		if _, ok, _ := b.st.Namespaces.GetByKey(ns); !ok {
			b.syncNamespace(ns)
		}
	}
	for _, ns := range b.st.Namespaces.ListKeys() {
		b.w.SetNamespace(ns, b.cfg.NamespaceAllowed(ns))
		b.syncTenant(ns)
	}
	for _, k := range append(b.w.ServiceKeys(), b.w.UnreadyKeys()...) {
		if _, ok, _ := b.st.Services.GetByKey(k.Namespace + "/" + k.Name); !ok {
			b.w.SetService(k, nil)
		}
	}
	if b.st.Slices != nil {
		b.grouped, b.groupedImports = slicesByService(b.st.Slices)
		defer func() { b.grouped, b.groupedImports = nil, nil }()
	}
	for _, key := range b.st.Services.ListKeys() {
		b.syncService(key)
	}
	// Visit the Services that slices name but that do not exist, so their
	// slices are counted as skipped.
	for key := range b.grouped {
		if _, ok, _ := b.st.Services.GetByKey(key); !ok {
			b.syncService(key)
		}
	}
	b.rebuildImports()
	b.pods.rebuild(*b.st, b.w)
}

// syncNamespace updates whether ns is served and, if that changed, every
// service in it.
func (b *builder) syncNamespace(ns string) {
	_, exists, _ := b.st.Namespaces.GetByKey(ns)
	exposed := exists && b.cfg.NamespaceAllowed(ns)
	b.syncTenant(ns)
	if b.w.Exposed(ns) == exposed {
		return
	}
	b.w.SetNamespace(ns, exposed)
	for _, key := range keysIn(b.st.Services, ns) {
		b.syncService(key)
	}
	b.syncNamespaceImports(ns, exposed)
	if !exposed {
		// Services the store no longer has are gone already; make sure none
		// of this namespace stays behind.
		for _, k := range append(b.w.ServiceKeys(), b.w.UnreadyKeys()...) {
			if k.Namespace == ns {
				b.w.SetService(k, nil)
			}
		}
	}
}

// syncTenant updates the tenant of namespace ns (`isolate`): the value of
// its tenant label while it is served, else none.
func (b *builder) syncTenant(ns string) {
	if b.cfg.TenantLabel == "" {
		return
	}
	tenant := ""
	if obj, ok, _ := b.st.Namespaces.GetByKey(ns); ok && b.cfg.NamespaceAllowed(ns) {
		if n, _ := obj.(*corev1.Namespace); n != nil {
			tenant = n.Labels[b.cfg.TenantLabel]
		}
	}
	b.w.SetTenant(ns, tenant)
}

// unknownServiceKind is the kind under which counted remembers the slices
// counted as of an unknown service.
const unknownServiceKind = object.KindSlice + "/" + object.ReasonUnknownService

// countUnknownService counts the n slices of a Service ns/name that does not
// exist, each version once: a rebuild of the same slices counts nothing.
func (b *builder) countUnknownService(ns, name string, n int) {
	if n == 0 || b.st.Slices == nil {
		return
	}
	for _, s := range slicesOfService(b.st.Slices, ns, name) {
		if s.Imported() {
			continue
		}
		if b.counted.First(object.CountedKey{Kind: unknownServiceKind, Namespace: s.Namespace, Name: s.Name}, s.ResourceVersion) {
			skipped(object.KindSlice, object.ReasonUnknownService)
		}
	}
}

// slicesOf returns the slices of the Service key (ns/name).
func (b *builder) slicesOf(key string) []*index.Slice {
	return b.slicesIn(b.grouped, key, false)
}

// slicesIn returns the slices of the Service (or, imported, the
// ServiceImport) key (ns/name): from grouped during a full rebuild, else
// from the store's index by Service.
func (b *builder) slicesIn(grouped map[string][]*index.Slice, key string, imported bool) []*index.Slice {
	if b.st.Slices == nil {
		return nil
	}
	if grouped != nil {
		return grouped[key]
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	var out []*index.Slice
	for _, s := range slicesOfService(b.st.Slices, ns, name) {
		if s.Imported() == imported {
			out = append(out, &s.Slice)
		}
	}
	return out
}

// syncService rebuilds the records of one service from the stores.
func (b *builder) syncService(key string) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return
	}
	k := index.ServiceKey{Name: strings.ToLower(name), Namespace: strings.ToLower(ns)}
	obj, exists, _ := b.st.Services.GetByKey(key)
	svc, _ := obj.(*object.Service)
	slices := b.slicesOf(key)
	if !exists || svc == nil {
		// Slices of a Service that does not exist serve nothing (also
		// briefly while a Service is being created or deleted).
		b.countUnknownService(ns, name, len(slices))
	}
	if !exists || svc == nil || !b.w.Exposed(ns) {
		b.w.SetService(k, nil)
		return
	}
	e := index.Build(k, &svc.Service, slices, b.opts)
	b.w.SetService(k, e)
	if e == nil && svc.Headless && !svc.Invalid {
		b.w.SetUnready(k, true)
	}
}
