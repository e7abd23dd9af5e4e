package source

import (
	"context"
	"slices"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"

	dto "github.com/prometheus/client_model/go"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// missSliceChange starts the plugin on a fake API whose watches lose the
// change of a headless service's EndpointSlice, and returns once later
// changes have been answered while that one was missed.
func missSliceChange(t *testing.T, cfg *Config) *testRun {
	t.Helper()
	cs := fake.NewClientset(fixture.Namespace("prod"),
		fixture.Service("prod", "db", []string{"None"}),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.1"}))
	api := newFakeAPI(cs)
	c := startClientset(t, cfg, cs)
	ctx := context.Background()

	dropped := make(chan struct{})
	api.dropNext(func(e watch.Event) bool {
		s, ok := e.Object.(*discoveryv1.EndpointSlice)
		if ok && e.Type == watch.Modified && s.Name == "db-a" {
			close(dropped)
			return true
		}
		return false
	})
	moved := fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.2"})
	if _, err := cs.DiscoveryV1().EndpointSlices("prod").Update(ctx, moved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	<-dropped
	// A later change arrives, so the watch is alive and past the gap.
	if _, err := cs.CoreV1().Services("prod").Create(ctx, fixture.Service("prod", "later", []string{"10.96.0.30"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "the change after the gap", func() bool { return addrsOf(c, "later.prod.svc") != nil })
	return c
}

// TestResyncRepairsMissedEvent loses an event on the watch: the cache keeps
// the old endpoint until a resync lists again, and then has the new one.
func TestResyncRepairsMissedEvent(t *testing.T) {
	cfg := testConfig()
	cfg.Resync = time.Hour // started by hand below
	c := missSliceChange(t, cfg)
	if got := addrsOf(c, "db.prod.svc"); !slices.Equal(got, []string{"10.244.1.1"}) {
		t.Fatalf("before the resync db answers %v, want the stale 10.244.1.1 (the gap was not injected)", got)
	}
	c.src.(*APISource).Resync()
	waitLong(t, "the missed change repaired by the resync", func() bool {
		return slices.Equal(addrsOf(c, "db.prod.svc"), []string{"10.244.1.2"})
	})
	if !c.Ready() || gaugeValue(t, staleGauge) != 0 {
		t.Error("a resync made the plugin unready or stale")
	}
}

// TestResyncPeriodic checks the option's timer makes every informer list
// again, over and over (that a list repairs a gap is shown above).
func TestResyncPeriodic(t *testing.T) {
	cfg := testConfig()
	cfg.Resync = 20 * time.Millisecond
	cs := fake.NewClientset(fixture.Namespace("prod"))
	before := resyncCount(t)
	startClientset(t, cfg, cs)
	lists := func(resource string) int {
		n := 0
		for _, a := range cs.Actions() {
			if a.GetVerb() == "list" && a.GetResource().Resource == resource {
				n++
			}
		}
		return n
	}
	waitLong(t, "three lists of each kind", func() bool {
		return lists("services") >= 3 && lists("endpointslices") >= 3 && lists("namespaces") >= 3
	})
	if now := resyncCount(t); now < before+2 {
		t.Errorf("resyncs_total went from %v to %v, want it counting", before, now)
	}
}

// resyncCount reads resyncs_total as a scrape would.
func resyncCount(t *testing.T) float64 {
	t.Helper()
	var m dto.Metric
	if err := resyncs.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
