package source

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

func TestWatchLifecycle(t *testing.T) {
	ctx := context.Background()
	c, cs := startFake(t, nil,
		fixture.Namespace("prod"),
		fixture.Service("prod", "web", []string{"10.96.0.20"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Service("prod", "db", []string{"None"}),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.1"}),
	)
	if got := addrsOf(c, "web.prod.svc"); len(got) != 1 || got[0] != "10.96.0.20" {
		t.Fatalf("initial web: %v", got)
	}
	serial := c.index.Load().Serial

	// Service added.
	_, err := cs.CoreV1().Services("prod").Create(ctx, fixture.Service("prod", "api", []string{"10.96.0.21"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "api added", func() bool { return len(addrsOf(c, "api.prod.svc")) == 1 })
	if c.index.Load().Serial == serial {
		t.Error("serial did not change with the data")
	}

	// Slice added to the headless service, then updated, then deleted.
	_, err = cs.DiscoveryV1().EndpointSlices("prod").Create(ctx, fixture.Slice("prod", "db", "db-b", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.2"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "second slice merged", func() bool { return len(addrsOf(c, "db.prod.svc")) == 2 })
	_, err = cs.DiscoveryV1().EndpointSlices("prod").Update(ctx, fixture.Slice("prod", "db", "db-b", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.3", Ready: fixture.Bool(false)}), metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "not-ready endpoint dropped", func() bool { return len(addrsOf(c, "db.prod.svc")) == 1 })
	if err := cs.DiscoveryV1().EndpointSlices("prod").Delete(ctx, "db-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "headless without ready endpoints gone", func() bool { return addrsOf(c, "db.prod.svc") == nil })
	if _, ok := c.index.Load().Reverse.Get(netip.MustParseAddr("10.244.1.1")); ok {
		t.Error("PTR of a deleted endpoint is still served")
	}

	// Service type change: ClusterIP to ExternalName.
	ext := fixture.ExternalName("prod", "web", "web.example.com")
	ext.ResourceVersion = "2"
	if _, err := cs.CoreV1().Services("prod").Update(ctx, ext, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "web became a CNAME", func() bool {
		e, ok := c.index.Load().Services.Get(index.ServiceKey{Name: "web", Namespace: "prod"})
		return ok && e.CNAME == "web.example.com."
	})
	if _, ok := c.index.Load().Reverse.Get(netip.MustParseAddr("10.96.0.20")); ok {
		t.Error("PTR of the old ClusterIP is still served")
	}

	// Service deleted.
	if err := cs.CoreV1().Services("prod").Delete(ctx, "api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "api deleted", func() bool { return addrsOf(c, "api.prod.svc") == nil })

	// Namespace deleted: everything in it goes.
	if err := cs.CoreV1().Namespaces().Delete(ctx, "prod", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "namespace gone", func() bool {
		_, ok := c.index.Load().Services.Get(index.ServiceKey{Name: "web", Namespace: "prod"})
		_, ns := c.index.Load().Namespaces.Get("prod")
		return !ok && !ns
	})
}

// TestWatchNamespaceAppears checks the Services of a namespace created
// after them are served once it exists, and those of a namespace whose
// name starts the same are not touched.
func TestWatchNamespaceAppears(t *testing.T) {
	ctx := context.Background()
	c, cs := startFake(t, nil,
		fixture.Namespace("prod-2"),
		fixture.Service("prod", "web", []string{"10.96.0.20"}),
		fixture.Service("prod-2", "web", []string{"10.96.0.21"}),
	)
	if addrsOf(c, "web.prod.svc") != nil || addrsOf(c, "web.prod-2.svc") == nil {
		t.Fatalf("before prod exists: web.prod %v, web.prod-2 %v", addrsOf(c, "web.prod.svc"), addrsOf(c, "web.prod-2.svc"))
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, fixture.Namespace("prod"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "web.prod served", func() bool { return len(addrsOf(c, "web.prod.svc")) == 1 })
	if err := cs.CoreV1().Namespaces().Delete(ctx, "prod", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "web.prod gone", func() bool { return addrsOf(c, "web.prod.svc") == nil })
	if got := addrsOf(c, "web.prod-2.svc"); len(got) != 1 || got[0] != "10.96.0.21" {
		t.Errorf("web.prod-2: %v, want 10.96.0.21", got)
	}
}

func TestWatchNamespaceScope(t *testing.T) {
	cfg := testConfig()
	cfg.Namespaces = map[string]struct{}{"prod": {}}
	c, _ := startFake(t, cfg,
		fixture.Namespace("prod"), fixture.Namespace("dev"),
		fixture.Service("prod", "web", []string{"10.96.0.20"}),
		fixture.Service("dev", "web", []string{"10.96.0.30"}),
	)
	if addrsOf(c, "web.prod.svc") == nil {
		t.Error("prod/web not served")
	}
	if addrsOf(c, "web.dev.svc") != nil {
		t.Error("dev/web served although dev is not in namespaces")
	}
	if _, ok := c.index.Load().Reverse.Get(netip.MustParseAddr("10.96.0.30")); ok {
		t.Error("PTR reveals a service of a namespace that is not served")
	}
}

// TestWatchNamespaceScopes checks a slice change is applied with one
// informer per namespace of `namespaces`, in each of them: a Service's
// slices are found in its namespace's store.
func TestWatchNamespaceScopes(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.Namespaces = map[string]struct{}{"prod": {}, "dev": {}}
	c, cs := startFake(t, cfg,
		fixture.Namespace("prod"), fixture.Namespace("dev"),
		fixture.Service("prod", "db", []string{"None"}),
		fixture.Service("dev", "db", []string{"None"}),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.1"}),
		fixture.Slice("dev", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.2.1"}),
	)
	for _, ns := range []string{"prod", "dev"} {
		if got := addrsOf(c, "db."+ns+".svc"); len(got) != 1 {
			t.Fatalf("db.%s: %v, want one address", ns, got)
		}
		_, err := cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, fixture.Slice(ns, "db", "db-b", discoveryv1.AddressTypeIPv4, nil,
			fixture.Endpoint{IP: "10.244.3.1"}, fixture.Endpoint{IP: "10.244.3.2"}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fixture.Eventually(t, "second slice of db."+ns, func() bool { return len(addrsOf(c, "db."+ns+".svc")) == 3 })
	}
}

func TestWatchPodsVerified(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.PodMode = index.PodsVerified
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "p1"}}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.244.0.9"}}
	c, cs := startFake(t, cfg, fixture.Namespace("prod"), pod)
	key := index.PodKey{Namespace: "prod", Addr: netip.MustParseAddr("10.244.0.9")}
	if _, ok := c.index.Load().Pods.Get(key); !ok {
		t.Fatal("running pod not indexed")
	}
	if err := cs.CoreV1().Pods("prod").Delete(ctx, "p1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "pod forgotten", func() bool { _, ok := c.index.Load().Pods.Get(key); return !ok })
}

func TestWatchShutdownStops(t *testing.T) {
	cs := fake.NewClientset(fixture.Namespace("prod"))
	// Every watch the informers open goes through here, so the test holds
	// the tracker's watchers and can see whether shutdown stopped them.
	var (
		mu      sync.Mutex
		watches []*watch.RaceFreeFakeWatcher
	)
	cs.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		// As the clientset's own reactor does, with the request's options.
		w, err := cs.Tracker().Watch(a.GetResource(), a.GetNamespace(), a.(k8stesting.WatchActionImpl).ListOptions)
		if fw, ok := w.(*watch.RaceFreeFakeWatcher); ok {
			mu.Lock()
			watches = append(watches, fw)
			mu.Unlock()
		} else if err == nil {
			t.Errorf("tracker watch is a %T, want *watch.RaceFreeFakeWatcher", w)
		}
		return true, w, err
	})
	c := startClientset(t, nil, cs)
	// Services, namespaces and slices each have an informer with a watch.
	fixture.Eventually(t, "three watches open", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(watches) >= 3
	})

	c.stop()
	mu.Lock()
	opened := len(watches)
	for i, w := range watches {
		if !w.IsStopped() {
			t.Errorf("watch %d of %d is still open after shutdown", i+1, len(watches))
		}
	}
	mu.Unlock()

	// onShutdown has waited for the informers, so a change now meets no
	// watch, causes no list or watch request and does not reach the index.
	seen := len(cs.Actions())
	if _, err := cs.CoreV1().Services("prod").Create(context.Background(), fixture.Service("prod", "late", []string{"10.96.0.99"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, a := range cs.Actions()[seen:] {
		if a.GetVerb() == "list" || a.GetVerb() == "watch" {
			t.Errorf("%s %s after shutdown", a.GetVerb(), a.GetResource().Resource)
		}
	}
	mu.Lock()
	if len(watches) != opened {
		t.Errorf("%d watches opened after shutdown", len(watches)-opened)
	}
	mu.Unlock()
	if addrsOf(c, "late.prod.svc") != nil {
		t.Error("index changed after shutdown")
	}
}
