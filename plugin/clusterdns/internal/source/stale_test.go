package source

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

func TestStaleness(t *testing.T) {
	s := &staleness{}
	s.own()
	t0 := time.Unix(1_700_000_000, 0)
	if s.staleFor(t0) != 0 || s.tooStale(time.Second, t0) {
		t.Fatal("a new state is stale")
	}
	if gaugeValue(t, staleGauge) != 0 || gaugeValue(t, staleSinceGauge) != 0 {
		t.Error("gauges not 0 for a current state")
	}
	if !s.mark(t0) || s.mark(t0.Add(time.Minute)) {
		t.Fatal("mark: want a change the first time only")
	}
	if got := s.staleFor(t0.Add(3 * time.Second)); got != 3*time.Second {
		t.Errorf("staleFor = %s, want 3s: a later mark must not move the start", got)
	}
	if gaugeValue(t, staleGauge) != 1 || gaugeValue(t, staleSinceGauge) != float64(t0.Unix()) {
		t.Errorf("gauges %v %v, want 1 and %d", gaugeValue(t, staleGauge), gaugeValue(t, staleSinceGauge), t0.Unix())
	}
	for _, tc := range []struct {
		limit time.Duration
		after time.Duration
		want  bool
	}{
		{0, time.Hour, false}, // no limit: never unready
		{time.Minute, 59 * time.Second, false},
		{time.Minute, time.Minute, false},
		{time.Minute, 61 * time.Second, true},
	} {
		if got := s.tooStale(tc.limit, t0.Add(tc.after)); got != tc.want {
			t.Errorf("tooStale(limit %s) %s after losing contact = %v, want %v", tc.limit, tc.after, got, tc.want)
		}
	}
	if d, ok := s.clear(t0.Add(90 * time.Second)); !ok || d != 90*time.Second {
		t.Errorf("clear = %s %v, want 1m30s true", d, ok)
	}
	if _, ok := s.clear(t0); ok {
		t.Error("clearing a current state changed it")
	}
	if s.tooStale(time.Minute, t0.Add(time.Hour)) || gaugeValue(t, staleGauge) != 0 || gaugeValue(t, staleSinceGauge) != 0 {
		t.Error("still stale after clear")
	}

	// An instance that is not the one the gauges follow leaves them alone.
	other := &staleness{}
	other.mark(t0)
	if gaugeValue(t, staleGauge) != 0 {
		t.Error("an instance that does not own the gauges set them")
	}
}

// TestAPIContactStale walks an outage through the contact tracker: no
// stale mark before the first sync, a mark on losing contact, and current
// again only once every informer has listed.
func TestAPIContactStale(t *testing.T) {
	synced := false
	a := &apiContact{stale: &staleness{}, synced: func() bool { return synced }}
	services, slices := a.guard(), a.guard()
	ctx := context.Background()

	services.failed(ctx, errRefused)
	if a.stale.staleFor(time.Now()) != 0 {
		t.Fatal("stale before the first sync: there was no state yet")
	}
	services.stale.Store(false)
	a.reached()

	synced = true
	services.failed(ctx, errRefused)
	slices.failed(ctx, errRefused)
	if a.stale.staleFor(time.Now()) == 0 || !a.lost {
		t.Fatal("losing contact did not mark the state stale")
	}
	a.reached() // a watch opened again: reachable, but not listed yet
	if a.lost || a.stale.staleFor(time.Now()) == 0 {
		t.Fatal("contact back: want reachable and still stale until the relists")
	}
	services.stale.Store(false)
	a.reached()
	if a.stale.staleFor(time.Now()) == 0 {
		t.Fatal("current again with one informer still to list")
	}
	slices.stale.Store(false)
	a.reached()
	if a.stale.staleFor(time.Now()) != 0 {
		t.Fatal("still stale after every informer listed again")
	}
}

// TestStaleOutage cuts a fake API server off a running plugin: the answers
// stay, the gauge goes to 1 and, with ready_stale_limit, /ready says no;
// after the server returns and the informers relist, all goes back.
func TestStaleOutage(t *testing.T) {
	cfg := testConfig()
	cs := fake.NewClientset(fixture.Namespace("prod"), fixture.Service("prod", "web", []string{"10.96.0.20"}, fixture.Port("http", corev1.ProtocolTCP, 80)))
	api := newFakeAPI(cs)
	logs := fixture.CaptureLog(t)
	c := startClientset(t, cfg, cs)
	c.readyStaleLimit = time.Nanosecond
	if gaugeValue(t, staleGauge) != 0 {
		t.Fatal("stale right after sync")
	}

	api.cut()
	waitLong(t, "unready after losing contact", func() bool { return !c.Ready() })
	if gaugeValue(t, staleGauge) != 1 || gaugeValue(t, staleSinceGauge) == 0 {
		t.Errorf("gauges %v %v during the outage, want 1 and a time", gaugeValue(t, staleGauge), gaugeValue(t, staleSinceGauge))
	}
	if !c.ctl.Answering() || !slices.Equal(addrsOf(c, "web.prod.svc"), []string{"10.96.0.20"}) {
		t.Error("answers changed during the outage")
	}

	api.restore()
	waitLong(t, "ready after the relist", c.Ready)
	if gaugeValue(t, staleGauge) != 0 || gaugeValue(t, staleSinceGauge) != 0 {
		t.Error("gauges still stale after the relist")
	}
	for i := 0; i < 10; i++ {
		c.Ready() // asked again and again, as /ready is
	}
	// One line per change of state, however many informers and retries.
	for _, line := range []string{"lost contact with the Kubernetes API", "Kubernetes API reachable again", "not ready: answers have been stale", "every watch has listed again"} {
		if n := logs.Count(line); n != 1 {
			t.Errorf("%d log lines %q, want 1", n, line)
		}
	}
}

// waitLong is eventually with room for client-go's backoff before a relist.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	fixture.EventuallyWithin(t, 30*time.Second, what, cond)
}
