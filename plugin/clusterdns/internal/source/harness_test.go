package source

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// init silences the plugin logger so test output shows only test failures.
func init() { clog.Discard() }

// testConfig is the source configuration of a default stanza for
// cluster.local.
func testConfig() *Config {
	return &Config{
		PrimaryZone:      "cluster.local.",
		PodMode:          index.PodsDisabled,
		ObjectsFilePoll:  time.Second,
		SnapshotInterval: 10 * time.Second,
	}
}

// verifiedConfig is testConfig with `pods verified`.
func verifiedConfig() *Config {
	cfg := testConfig()
	cfg.PodMode = index.PodsVerified
	return cfg
}

// loaded returns a controller that has published objs under cfg (nil:
// testConfig) at once, as the first sync of a source holding them would.
func loaded(tb testing.TB, cfg *Config, objs ...runtime.Object) *testRun {
	tb.Helper()
	if cfg == nil {
		cfg = testConfig()
	}
	st := NewStores(cfg)
	if err := st.Add(NewSlimmer(cfg), objs...); err != nil {
		tb.Fatal(err)
	}
	r := &testRun{cfg: cfg, index: index.New()}
	r.ctl = NewController(cfg, r.index)
	r.ctl.Load(st)
	return r
}

// testRun is a controller publishing to an index, started on a source or
// loaded; what a test sees of what the plugin runs.
type testRun struct {
	cfg             *Config
	index           *index.Index
	ctl             *Controller
	src             Source
	readyStaleLimit time.Duration // as the plugin's ready_stale_limit

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start starts a controller on src under cfg (nil: testConfig) and waits
// until it answers; the test's end stops it.
func start(t *testing.T, cfg *Config, src Source) *testRun {
	t.Helper()
	r := starting(t, cfg, src)
	fixture.Eventually(t, "the first sync", r.ctl.Answering)
	return r
}

// starting is start without the wait for the first sync.
func starting(t *testing.T, cfg *Config, src Source) *testRun {
	t.Helper()
	if cfg == nil {
		cfg = testConfig()
	}
	r := &testRun{cfg: cfg, index: index.New(), src: src}
	r.ctl = NewController(cfg, r.index)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if err := r.ctl.Start(ctx, &r.wg, src); err != nil {
		cancel()
		r.wg.Wait()
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r
}

// stop stops everything start started and waits for it; again is a no-op.
func (r *testRun) stop() {
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
	}
}

// Ready reports what the plugin's readiness would: answering, and not
// stale for longer than readyStaleLimit.
func (r *testRun) Ready() bool {
	return r.ctl.Answering() && !r.ctl.TooStale(r.readyStaleLimit, time.Now())
}

// startFake runs the API source against a fake clientset holding objs and
// waits for the first sync.
func startFake(t *testing.T, cfg *Config, objs ...runtime.Object) (*testRun, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	return startClientset(t, cfg, cs), cs
}

// startClientset is startFake on a clientset the caller prepared.
func startClientset(t *testing.T, cfg *Config, cs *fake.Clientset) *testRun {
	t.Helper()
	if cfg == nil {
		cfg = testConfig()
	}
	return start(t, cfg, NewAPISource(cfg, cs, nil))
}

// addrsOf returns the addresses published at a service name "<svc>.<ns>.svc".
func addrsOf(r *testRun, rel string) []string {
	svc, ns, _ := strings.Cut(strings.TrimSuffix(rel, ".svc"), ".")
	e, ok := r.index.Load().Services.Get(index.ServiceKey{Name: svc, Namespace: ns})
	if !ok {
		return nil
	}
	var out []string
	for _, ip := range append(index.Unpack(e.A4, 4), index.Unpack(e.A6, 16)...) {
		out = append(out, ip.String())
	}
	return out
}
