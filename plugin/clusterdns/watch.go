package clusterdns

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// apiSource feeds the stores from informers on the Kubernetes API.
type apiSource struct {
	cfg     *config
	client  kubernetes.Interface // built from cfg at start unless set (tests)
	mcs     mcsclient.Interface  // with `multicluster`: built from cfg at start unless set (tests)
	contact *apiContact          // set by start
}

// start builds the client, starts one informer per watched kind and returns
// when they are running.
func (api *apiSource) start(ctx context.Context, wg *sync.WaitGroup, to feed) (stores, func() bool, error) {
	if err := api.clients(); err != nil {
		return stores{}, nil, err
	}
	cs := api.client
	var st stores // the informers' own stores; kinds not watched stay nil
	sel := metav1.ListOptions{}
	if api.cfg.labelSelector != nil {
		sel.LabelSelector = api.cfg.labelSelector.String()
	}
	nsSel := metav1.ListOptions{}
	if api.cfg.namespaceSelector != nil {
		nsSel.LabelSelector = api.cfg.namespaceSelector.String()
	}

	slim := newSlimmer(api.cfg)
	contact := &apiContact{stale: to.staleState(), synced: to.isSynced}
	scopes := api.cfg.watchScopes()
	var informers []cache.SharedIndexInformer
	// add starts an informer on lw and returns its store.
	add := func(lw *cache.ListWatch, example runtime.Object, idx cache.Indexers, resource string, h cache.ResourceEventHandler) cache.Indexer {
		inf := cache.NewSharedIndexInformerWithOptions(
			cache.ToListWatcherWithWatchListSemantics(lw, cs),
			example,
			cache.SharedIndexInformerOptions{Indexers: idx, ObjectDescription: fmt.Sprintf("%T", example)},
		)
		// The transform runs in the informer's queue, before the store, so
		// full objects never accumulate, not even during a relist.
		_ = inf.SetTransform(slim.Transform)
		_, _ = inf.AddEventHandler(stamped(resource, h))
		stampEvent(resource)
		informers = append(informers, inf)
		return inf.GetIndexer()
	}
	// perScope adds one informer per watched namespace (or one for all).
	perScope := func(lw func(ns string) *cache.ListWatch, example runtime.Object, idx cache.Indexers, resource string, h cache.ResourceEventHandler) cache.Indexer {
		stores := make([]cache.Indexer, len(scopes))
		for i, ns := range scopes {
			stores[i] = add(lw(ns), example, idx, resource, h)
		}
		return joinIndexers(scopes, stores)
	}

	st.services = perScope(func(ns string) *cache.ListWatch {
		return typedListWatch(contact, sel, cs.CoreV1().Services(ns))
	}, &corev1.Service{}, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, resourceServices, serviceHandler(to.markService))
	if len(api.cfg.namespaces) > 0 {
		st.namespaces = api.cfg.listedNamespaces()
	} else {
		st.namespaces = add(typedListWatch(contact, nsSel, cs.CoreV1().Namespaces()),
			&corev1.Namespace{}, cache.Indexers{}, resourceNamespaces, namespaceHandler(to))
	}
	if !api.cfg.noEndpoints {
		st.slices = perScope(func(ns string) *cache.ListWatch {
			return typedListWatch(contact, sel, cs.DiscoveryV1().EndpointSlices(ns))
		}, &discoveryv1.EndpointSlice{}, sliceIndexers(), resourceSlices, sliceHandler(to))
	}
	if api.cfg.watchPods() {
		podSel := sel
		// Finished pods keep their address in the API but no longer own it.
		podSel.FieldSelector = fields.AndSelectors(
			fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
			fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
			fields.OneTermNotEqualSelector("status.phase", string(corev1.PodUnknown)),
		).String()
		st.pods = perScope(func(ns string) *cache.ListWatch {
			return typedListWatch(contact, podSel, cs.CoreV1().Pods(ns))
		}, &corev1.Pod{}, cache.Indexers{}, resourcePods, podHandler(to))
	}
	if api.cfg.clientZoneFirst {
		// Nodes are cluster-scoped; the slimmer keeps their zone label only.
		st.nodes = add(typedListWatch(contact, metav1.ListOptions{}, cs.CoreV1().Nodes()),
			&corev1.Node{}, cache.Indexers{}, resourceNodes, nodeHandler(to))
	}
	if api.cfg.multicluster() {
		// The Services of the multicluster zones; `labels` applies to them
		// as to Services, and to the slices derived for them (above).
		mcs := api.mcs.MulticlusterV1alpha1()
		st.imports = perScope(func(ns string) *cache.ListWatch {
			return typedListWatch(contact, sel, mcs.ServiceImports(ns))
		}, &mcsv1alpha1.ServiceImport{}, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, resourceServiceImports,
			serviceHandler(to.markImport))
	}

	for _, inf := range informers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inf.RunWithContext(ctx)
		}()
	}
	if api.cfg.resync > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resyncLoop(ctx, api.cfg.resync, contact)
		}()
	}
	api.contact = contact
	return st, func() bool {
		for _, inf := range informers {
			if !inf.HasSynced() {
				return false
			}
		}
		return true
	}, nil
}

// clients builds the API clients the configuration needs, unless set.
// ServiceImports are custom resources, which the API serves as JSON only.
func (api *apiSource) clients() error {
	needMCS := api.cfg.multicluster() && api.mcs == nil
	if api.client != nil && !needMCS {
		return nil
	}
	rc, err := restConfig(api.cfg)
	if err != nil {
		return fmt.Errorf("kubernetes API client: %w", err)
	}
	if api.client == nil {
		if api.client, err = kubernetes.NewForConfig(rc); err != nil {
			return fmt.Errorf("kubernetes API client: %w", err)
		}
	}
	if needMCS {
		rc = rest.CopyConfig(rc)
		rc.ContentType, rc.AcceptContentTypes = "application/json", "application/json"
		if api.mcs, err = mcsclient.NewForConfig(rc); err != nil {
			return fmt.Errorf("multicluster API client: %w", err)
		}
	}
	return nil
}

// typedClient is a typed client of one kind in one scope, such as
// CoreV1().Services(ns).
type typedClient[L runtime.Object] interface {
	List(ctx context.Context, o metav1.ListOptions) (L, error)
	Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
}

// typedListWatch is listWatch on a typed client.
func typedListWatch[L runtime.Object](contact *apiContact, base metav1.ListOptions, c typedClient[L]) *cache.ListWatch {
	return listWatch(contact, base,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) },
		c.Watch)
}

// listWatch builds a ListWatch whose requests carry base's selectors and
// that lists again after the API server was unreachable (relistGuard).
func listWatch(contact *apiContact, base metav1.ListOptions,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
) *cache.ListWatch {
	with := func(o metav1.ListOptions) metav1.ListOptions {
		o.LabelSelector, o.FieldSelector = base.LabelSelector, base.FieldSelector
		return o
	}
	g := contact.guard()
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return g.list(ctx, with(o), list)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return g.watch(ctx, with(o), watchFn)
		},
	}
}

// serviceHandler queues a service (or a ServiceImport, as a slim service)
// with mark when it is added, changed or deleted.
func serviceHandler(markService func(string)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { markKey(obj, markService) },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*object.Service)
			n, ok2 := cur.(*object.Service)
			if ok1 && ok2 && o.Invalid == n.Invalid && o.ExternalName == n.ExternalName && o.Headless == n.Headless &&
				slices.Equal(o.ClusterIPs, n.ClusterIPs) && slices.Equal(o.Ports, n.Ports) {
				return
			}
			markKey(cur, markService)
		},
		DeleteFunc: func(obj any) { markKey(obj, markService) },
	}
}

// stamped wraps h so every event of resource's watch is recorded for the
// watch_event_age_seconds metric.
func stamped(resource string, h cache.ResourceEventHandler) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			stampEvent(resource)
			h.OnAdd(obj, initial)
		},
		UpdateFunc: func(old, cur any) {
			stampEvent(resource)
			h.OnUpdate(old, cur)
		},
		DeleteFunc: func(obj any) {
			stampEvent(resource)
			h.OnDelete(obj)
		},
	}
}

// sliceHandler queues the service(s) a slice belongs to, before and after a
// change, timed from the change the slice says triggered it.
func sliceHandler(to feed) cache.ResourceEventHandler {
	mark := func(obj any, ch change) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if s, ok := obj.(*object.EndpointSlice); ok {
			if key := sliceServiceKey(s); key != "" {
				to.markServiceAt(key, ch)
			} else if key := sliceImportKey(s); key != "" {
				to.markImport(key)
			}
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			s, _ := obj.(*object.EndpointSlice)
			mark(obj, sliceChange(nil, s, time.Now()))
		},
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*object.EndpointSlice)
			n, ok2 := cur.(*object.EndpointSlice)
			if ok1 && ok2 && sameSlice(o, n) {
				return
			}
			ch := sliceChange(o, n, time.Now())
			mark(old, ch)
			mark(cur, ch)
		},
		DeleteFunc: func(obj any) { mark(obj, change{at: time.Now()}) },
	}
}

// sliceChange returns when the change to slice cur (from old, nil if new)
// happened: its last-change-trigger-time annotation, as kube-proxy's
// programming latency uses it, else now, when the event arrived. An
// annotation the old version had already does not date this change, as
// when a slice is edited by hand with the annotation copied along.
func sliceChange(old, cur *object.EndpointSlice, now time.Time) change {
	if cur == nil || cur.TriggerTime == 0 || (old != nil && old.TriggerTime == cur.TriggerTime) {
		return change{at: now}
	}
	return change{at: time.Unix(0, cur.TriggerTime), trigger: true}
}

// sameSlice reports whether two versions of a slice give the same answers.
func sameSlice(a, b *object.EndpointSlice) bool {
	same := func(x, y index.Endpoint) bool { return x.Addr == y.Addr && x.Name == y.Name }
	return a.Service == b.Service && a.Cluster == b.Cluster && slices.Equal(a.Ports, b.Ports) &&
		slices.EqualFunc(a.Ready, b.Ready, same) && slices.EqualFunc(a.Terminating, b.Terminating, same) &&
		slices.Equal(a.Zones, b.Zones) && slices.Equal(a.TermZones, b.TermZones)
}

// namespaceHandler queues a namespace when it appears or goes away.
func namespaceHandler(to feed) cache.ResourceEventHandler {
	mark := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if ns, ok := obj.(*corev1.Namespace); ok {
			to.markNamespace(ns.Name)
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: mark, DeleteFunc: mark}
}

// podHandler queues a pod whose addresses may have changed.
func podHandler(to feed) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { markKey(obj, to.markPod) },
		UpdateFunc: func(_, cur any) { markKey(cur, to.markPod) },
		DeleteFunc: func(obj any) { markKey(obj, to.markPod) },
	}
}

// nodeHandler queues a node whose zone may have changed.
func nodeHandler(to feed) cache.ResourceEventHandler {
	mark := func(obj any) { markKey(obj, to.markNode) }
	return cache.ResourceEventHandlerFuncs{
		AddFunc: mark,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*object.Node)
			n, ok2 := cur.(*object.Node)
			if ok1 && ok2 && nodeZone(o) == nodeZone(n) {
				return
			}
			mark(cur)
		},
		DeleteFunc: mark,
	}
}

// markKey passes the "<ns>/<name>" key of obj (or of a tombstone's object) to mark.
func markKey(obj any, mark func(string)) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		mark(key)
	}
}

// restConfig builds the API client configuration from the stanza: a
// kubeconfig, else an endpoint (with optional client TLS), else the pod's
// in-cluster service account.
func restConfig(cfg *config) (*rest.Config, error) {
	var (
		rc  *rest.Config
		err error
	)
	switch {
	case cfg.kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.kubeconfig}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.kubeContext}
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	case cfg.endpoint != "":
		rc = &rest.Config{Host: cfg.endpoint}
		rc.TLSClientConfig = rest.TLSClientConfig{CertFile: cfg.tlsCert, KeyFile: cfg.tlsKey, CAFile: cfg.tlsCA}
	default:
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, err
	}
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	rc.UserAgent = "clusterdns/" + Version
	if cfg.apiQPS > 0 {
		rc.QPS = cfg.apiQPS
	}
	if cfg.apiBurst > 0 {
		rc.Burst = cfg.apiBurst
	}
	if n := cfg.apiMaxInflight; n > 0 {
		rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return newInflightLimiter(rt, n) })
	}
	return rc, nil
}

// inflightLimiter caps concurrent API requests. A slot is held until the
// response headers arrive, so long-running watches do not keep one.
type inflightLimiter struct {
	next  http.RoundTripper
	slots chan struct{}
}

func newInflightLimiter(next http.RoundTripper, n int) *inflightLimiter {
	return &inflightLimiter{next: next, slots: make(chan struct{}, n)}
}

// RoundTrip implements http.RoundTripper.
func (l *inflightLimiter) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case l.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	defer func() { <-l.slots }()
	return l.next.RoundTrip(r)
}
