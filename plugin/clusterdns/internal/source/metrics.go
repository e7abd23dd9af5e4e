package source

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

var (
	// publishDuration is how long building and publishing one view took.
	publishDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "publish_duration_seconds",
		Buckets:   prometheus.ExponentialBuckets(0.0001, 2, 18),
		Help:      "Time to rebuild and publish the index after a change, by kind (full or incremental).",
	}, []string{"kind"})

	// publishes counts published views.
	publishes = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "publishes_total",
		Help:      "Views of the index published, by kind (full or incremental).",
	}, []string{"kind"})

	// programmingDuration is the DNS programming latency: from a change of a
	// Service or EndpointSlice to the publication of the answers that show
	// it. Its buckets are those of kube-proxy's network programming SLI
	// (kubeproxy_network_programming_duration_seconds), so the two compare.
	programmingDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "dns_programming_duration_seconds",
		Buckets:   programmingBuckets(),
		Help:      "Time from a Service or EndpointSlice change to the publication of the answers that show it, by service kind and origin of the change time (trigger_time or event).",
	}, []string{"service_kind", "origin"})

	// indexSize is the size of the published index.
	indexSize = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "index_entries",
		Help:      "Entries of the published index, by kind (services, endpoints, reverse).",
	}, []string{"kind"})

	// resyncs counts the relists started by the resync option.
	resyncs = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "resyncs_total",
		Help:      "Periodic relists of every watched kind started by the resync option.",
	})

	// snapshotWrites counts writes of the snapshot file.
	snapshotWrites = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "snapshot_writes_total",
		Help:      "Writes of the snapshot file, by result (ok or error).",
	}, []string{"result"})

	// staleGauge is 1 while answers come from a state that may be behind the API.
	staleGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "stale",
		Help:      "1 while answers come from a state that may be behind the API server (contact lost, or a snapshot file served before the first sync), else 0.",
	})

	// staleSinceGauge is the Unix time the served state went stale.
	staleSinceGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "stale_since_timestamp_seconds",
		Help:      "Unix time at which the served state went stale (contact with the API server lost, or a snapshot file loaded); 0 while it is current.",
	})
)

// programmingBuckets are kube-proxy's network programming latency buckets:
// 0.25 s to 5 s in quarter seconds, then coarser up to 30 minutes. Finer
// buckets below 0.25 s show the part clusterdns itself adds.
func programmingBuckets() []float64 {
	b := []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1}
	b = append(b, prometheus.LinearBuckets(0.25, 0.25, 20)...)
	b = append(b, prometheus.LinearBuckets(6, 1, 25)...)
	b = append(b, prometheus.LinearBuckets(32, 2, 15)...)
	b = append(b, prometheus.LinearBuckets(65, 5, 8)...)
	return append(b, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600, 900, 1200, 1500, 1800)
}

// Origins of the change time of the programming latency.
const (
	originTrigger = "trigger_time" // the EndpointSlice's last-change-trigger-time annotation
	originEvent   = "event"        // when the watch event arrived
)

var (
	// skippedObjects counts objects, or parts of objects, left out because
	// DNS cannot serve them.
	skippedObjects = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "skipped_objects_total",
		Help:      "Objects or parts of objects skipped as unusable, by kind and reason.",
	}, []string{"kind", "reason"})
)

// skipped counts one object, or part of one, of kind left out for reason.
func skipped(kind, reason string) {
	skippedObjects.WithLabelValues(kind, reason).Inc()
}

// The slimmer counts what it leaves out here.
func init() { object.Skipped = skipped }

// observeSync records one published view.
func observeSync(d time.Duration, full bool) {
	kind := "incremental"
	if full {
		kind = "full"
	}
	publishDuration.WithLabelValues(kind).Observe(d.Seconds())
	publishes.WithLabelValues(kind).Inc()
}

// observeProgramming records the programming latency of one change that was
// just published.
func observeProgramming(ch change, kind string, published time.Time) {
	origin := originEvent
	if ch.trigger {
		origin = originTrigger
	}
	// The trigger time comes from another machine's clock; one ahead of
	// ours must not give a negative latency.
	programmingDuration.WithLabelValues(kind, origin).Observe(max(published.Sub(ch.at), 0).Seconds())
}

// observeIndexSize records the size of a published view.
func observeIndexSize(services, endpoints, reverse int) {
	indexSize.WithLabelValues("services").Set(float64(services))
	indexSize.WithLabelValues("endpoints").Set(float64(endpoints))
	indexSize.WithLabelValues("reverse").Set(float64(reverse))
}

// Watched resources, the label values of watch_event_age_seconds.
const (
	resourceServices   = "services"
	resourceSlices     = "endpointslices"
	resourceNamespaces = "namespaces"
	resourcePods       = "pods"
	resourceNodes      = "nodes"
	// resourceServiceImports is watched with `multicluster`.
	resourceServiceImports = "serviceimports"
)

// lastEvent holds, per watched resource, when its watch last delivered an
// event (or started), as Unix nanoseconds.
var lastEvent sync.Map // resource -> *atomic.Int64

// stampEvent records that resource's watch delivered an event now. The
// first stamp of a resource registers its age gauge, so resources that are
// not watched are not exported.
func stampEvent(resource string) {
	now := time.Now().UnixNano()
	if v, ok := lastEvent.Load(resource); ok {
		v.(*atomic.Int64).Store(now)
		return
	}
	at := new(atomic.Int64)
	at.Store(now)
	if v, loaded := lastEvent.LoadOrStore(resource, at); loaded {
		v.(*atomic.Int64).Store(now)
		return
	}
	registerEventAge(resource, at)
}

// registerEventAge exports the age of a resource's last watch event, computed
// when scraped.
func registerEventAge(resource string, at *atomic.Int64) {
	promauto.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace:   plugin.Namespace,
		Subsystem:   pluginName,
		Name:        "watch_event_age_seconds",
		Help:        "Seconds since the watch of a resource last delivered an event, or started.",
		ConstLabels: prometheus.Labels{"resource": resource},
	}, func() float64 {
		return time.Since(time.Unix(0, at.Load())).Seconds()
	})
}
