package source

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned"
)

// APISource feeds the stores from informers on the Kubernetes API.
type APISource struct {
	cfg     *Config
	client  kubernetes.Interface // built from cfg at start unless set (tests)
	mcs     mcsclient.Interface  // with `multicluster`: built from cfg at start unless set (tests)
	contact *apiContact          // set by start
}

// start builds the client, starts one informer per watched kind and returns
// when they are running.
func (api *APISource) start(ctx context.Context, wg *sync.WaitGroup, to feed) (Stores, func() bool, error) {
	if err := api.clients(); err != nil {
		return Stores{}, nil, err
	}
	cs := api.client
	var st Stores // the informers' own stores; kinds not watched stay nil
	sel := metav1.ListOptions{}
	if api.cfg.LabelSelector != nil {
		sel.LabelSelector = api.cfg.LabelSelector.String()
	}
	nsSel := metav1.ListOptions{}
	if api.cfg.NamespaceSelector != nil {
		nsSel.LabelSelector = api.cfg.NamespaceSelector.String()
	}

	slim := NewSlimmer(api.cfg)
	slim.Counted = to.skipsCounted() // a relist counts nothing twice
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

	st.Services = perScope(func(ns string) *cache.ListWatch {
		return typedListWatch(contact, sel, cs.CoreV1().Services(ns))
	}, &corev1.Service{}, cache.Indexers{}, resourceServices, serviceHandler(to.markService))
	if len(api.cfg.Namespaces) > 0 {
		st.Namespaces = api.cfg.listedNamespaces()
	} else {
		st.Namespaces = add(typedListWatch(contact, nsSel, cs.CoreV1().Namespaces()),
			&corev1.Namespace{}, cache.Indexers{}, resourceNamespaces, namespaceHandler(to))
	}
	if !api.cfg.NoEndpoints {
		st.Slices = perScope(func(ns string) *cache.ListWatch {
			return typedListWatch(contact, sel, cs.DiscoveryV1().EndpointSlices(ns))
		}, &discoveryv1.EndpointSlice{}, sliceIndexers(), resourceSlices, sliceHandler(to))
	}
	if api.cfg.WatchPods() {
		podSel := sel
		// Finished pods keep their address in the API but no longer own it.
		podSel.FieldSelector = fields.AndSelectors(
			fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
			fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
			fields.OneTermNotEqualSelector("status.phase", string(corev1.PodUnknown)),
		).String()
		st.Pods = perScope(func(ns string) *cache.ListWatch {
			return typedListWatch(contact, podSel, cs.CoreV1().Pods(ns))
		}, &corev1.Pod{}, cache.Indexers{}, resourcePods, podHandler(to))
	}
	if api.cfg.WatchNodes() {
		// Nodes are cluster-scoped; the slimmer keeps their zone label only.
		st.Nodes = add(typedListWatch(contact, metav1.ListOptions{}, cs.CoreV1().Nodes()),
			&corev1.Node{}, cache.Indexers{}, resourceNodes, nodeHandler(to))
	}
	if api.cfg.Multicluster() {
		// The Services of the multicluster zones; `labels` applies to them
		// as to Services, and to the slices derived for them (above).
		mcs := api.mcs.MulticlusterV1alpha1()
		st.Imports = perScope(func(ns string) *cache.ListWatch {
			return typedListWatch(contact, sel, mcs.ServiceImports(ns))
		}, &mcsv1alpha1.ServiceImport{}, cache.Indexers{}, resourceServiceImports,
			serviceHandler(to.markImport))
	}

	for _, inf := range informers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inf.RunWithContext(ctx)
		}()
	}
	if api.cfg.Resync > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resyncLoop(ctx, api.cfg.Resync, contact)
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
func (api *APISource) clients() error {
	needMCS := api.cfg.Multicluster() && api.mcs == nil
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
