package source

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

func TestSliceChange(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	trig := now.Add(-3 * time.Second)
	withTrigger := &object.EndpointSlice{TriggerTime: trig.UnixNano()}
	other := &object.EndpointSlice{TriggerTime: trig.Add(-time.Second).UnixNano()}
	tests := []struct {
		name     string
		old, cur *object.EndpointSlice
		want     change
	}{
		{"new slice with annotation", nil, withTrigger, change{at: trig, trigger: true}},
		{"new slice without annotation", nil, &object.EndpointSlice{}, change{at: now}},
		{"annotation moved on", other, withTrigger, change{at: trig, trigger: true}},
		{"annotation carried over unchanged", withTrigger, withTrigger, change{at: now}},
		{"annotation removed", withTrigger, &object.EndpointSlice{}, change{at: now}},
		{"not a slice", nil, nil, change{at: now}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sliceChange(tc.old, tc.cur, now)
			if !got.at.Equal(tc.want.at) || got.trigger != tc.want.trigger {
				t.Errorf("got %v trigger=%v, want %v trigger=%v", got.at, got.trigger, tc.want.at, tc.want.trigger)
			}
		})
	}
}

func TestChangeEarlier(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, b := change{at: t0}, change{at: t0.Add(time.Second), trigger: true}
	tests := []struct {
		name     string
		ch, o    change
		wantTime time.Time
	}{
		{"first earlier", a, b, a.at},
		{"second earlier", b, a, a.at},
		{"untimed then timed", change{}, b, b.at},
		{"timed then untimed", b, change{}, b.at},
		{"both untimed", change{}, change{}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ch.earlier(tc.o); !got.at.Equal(tc.wantTime) {
				t.Errorf("got %v, want %v", got.at, tc.wantTime)
			}
		})
	}
}

// recordingController is a synced controller over empty stores whose
// programming and size observations are kept for the test to read.
type recordingController struct {
	*Controller
	programmed []change
	kinds      []string // service_kind of each programmed change
	sizes      [3]int   // services, endpoints, reverse of the last publication
}

func newRecordingController(t *testing.T) *recordingController {
	t.Helper()
	cfg := testConfig()
	r := &recordingController{Controller: NewController(cfg, index.New())}
	r.onProgrammed = func(ch change, kind string, published time.Time) {
		r.kinds = append(r.kinds, kind)
		if published.Before(ch.at) && !ch.trigger {
			t.Errorf("published at %v before the event at %v", published, ch.at)
		}
		r.programmed = append(r.programmed, ch)
	}
	r.onPublished = func(s, e, rev int) { r.sizes = [3]int{s, e, rev} }
	if err := r.st.Namespaces.Add(object.SlimNamespace(fixture.Namespace("prod"))); err != nil {
		t.Fatal(err)
	}
	r.markAll()
	r.process()
	r.setSynced()
	return r
}

// TestProgrammingLatencyPaths checks every kind of change is timed once it
// is published, from the slice's trigger time when it has one, from the
// event otherwise: a ClusterIP service, a headless service whose slice the
// controller writes (with the annotation), and a headless service without
// selector whose slice is written by hand (without it).
func TestProgrammingLatencyPaths(t *testing.T) {
	r := newRecordingController(t)
	svcs, slices := serviceHandler(r.markService), sliceHandler(r.Controller)
	sl := object.Slimmer{}
	trig := time.Now().Add(-2 * time.Second).Truncate(time.Microsecond)

	annotated := fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.1"}, fixture.Endpoint{IP: "10.244.1.2"})
	annotated.Annotations = map[string]string{corev1.EndpointsLastChangeTriggerTime: trig.Format(time.RFC3339Nano)}
	manual := fixture.Slice("prod", "manual", "manual-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.2.1"})

	steps := []struct {
		name        string
		objs        []any
		wantTrigger bool
		wantKind    string
		wantSizes   [3]int
	}{
		{"ClusterIP service created", []any{fixture.Service("prod", "web", []string{"10.96.0.20"})}, false, kindClusterIP, [3]int{1, 0, 1}},
		{"headless service created", []any{withSelector(fixture.Service("prod", "db", []string{"None"}))}, false, kindHeadlessSelector, [3]int{1, 0, 1}},
		{"controller's slice", []any{annotated}, true, kindHeadlessSelector, [3]int{2, 2, 3}},
		{"selectorless service created", []any{fixture.Service("prod", "manual", []string{"None"})}, false, kindHeadlessManual, [3]int{2, 2, 3}},
		{"hand-written slice", []any{manual}, false, kindHeadlessManual, [3]int{3, 3, 4}},
		{"ExternalName created", []any{fixture.ExternalName("prod", "ext", "example.com")}, false, kindExternalName, [3]int{4, 3, 4}},
		{"slice of a service not seen yet", []any{fixture.Slice("prod", "later", "later-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.3.1"})}, false, kindUnknown, [3]int{4, 3, 4}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r.programmed, r.kinds = nil, nil
			for _, o := range s.objs {
				slim, _ := sl.Transform(o)
				switch slim.(type) {
				case *object.Service:
					if err := r.st.Services.Add(slim); err != nil {
						t.Fatal(err)
					}
					svcs.OnAdd(slim, false)
				case *object.EndpointSlice:
					if err := r.st.Slices.Add(slim); err != nil {
						t.Fatal(err)
					}
					slices.OnAdd(slim, false)
				}
			}
			r.process()
			if len(r.programmed) != 1 {
				t.Fatalf("%d changes timed, want 1", len(r.programmed))
			}
			ch := r.programmed[0]
			if r.kinds[0] != s.wantKind {
				t.Errorf("service_kind %q, want %q", r.kinds[0], s.wantKind)
			}
			if ch.trigger != s.wantTrigger {
				t.Errorf("trigger %v, want %v", ch.trigger, s.wantTrigger)
			}
			if s.wantTrigger && !ch.at.Equal(trig) {
				t.Errorf("timed from %v, want the annotation's %v", ch.at, trig)
			}
			if r.sizes != s.wantSizes {
				t.Errorf("index size (services, endpoints, reverse) %v, want %v", r.sizes, s.wantSizes)
			}
		})
	}
}

// TestProgrammingLatencyNotBeforeSync checks the initial content is not
// timed: it is not a change.
func TestProgrammingLatencyNotBeforeSync(t *testing.T) {
	cfg := testConfig()
	ctl := NewController(cfg, index.New())
	var timed int
	ctl.onProgrammed = func(change, string, time.Time) { timed++ }
	svc := object.SlimService(fixture.Service("prod", "web", []string{"10.96.0.20"}))
	if err := ctl.st.Services.Add(svc); err != nil {
		t.Fatal(err)
	}
	serviceHandler(ctl.markService).OnAdd(svc, true)
	ctl.markAll()
	ctl.process()
	if timed != 0 {
		t.Errorf("%d changes of the initial list timed", timed)
	}
}

// withSelector gives a service the selector app=<name>.
func withSelector(s *corev1.Service) *corev1.Service {
	s.Spec.Selector = map[string]string{"app": s.Name}
	return s
}

// histogramCount returns how many observations a histogram holds.
func histogramCount(t *testing.T, h prometheus.Observer) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// gaugeValue returns the value of a gauge.
func gaugeValue(t *testing.T, g prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// TestMetricsThroughWatch checks the exported metrics move with a change
// that comes through the watches: the histogram counts it, the index size
// follows, and the services watch's event time moves on.
func TestMetricsThroughWatch(t *testing.T) {
	ctx := context.Background()
	c, cs := startFake(t, nil, fixture.Namespace("prod"))
	before := histogramCount(t, programmingDuration.WithLabelValues(kindClusterIP, originEvent))
	stamp, ok := lastEvent.Load(resourceServices)
	if !ok {
		t.Fatal("the services watch's start was not recorded")
	}
	startedAt := stamp.(*atomic.Int64).Load()

	if _, err := cs.CoreV1().Services("prod").Create(ctx, fixture.Service("prod", "api", []string{"10.96.0.21"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "api added", func() bool { return len(addrsOf(c, "api.prod.svc")) == 1 })
	fixture.Eventually(t, "the change is counted", func() bool {
		return histogramCount(t, programmingDuration.WithLabelValues(kindClusterIP, originEvent)) > before
	})
	if got := gaugeValue(t, indexSize.WithLabelValues("services")); got != 1 {
		t.Errorf("index_entries{kind=services} = %v, want 1", got)
	}
	if now := stamp.(*atomic.Int64).Load(); now <= startedAt {
		t.Errorf("services event time did not move on: %d, then %d", startedAt, now)
	}
}
