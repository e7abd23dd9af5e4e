package clusterdns

import (
	"time"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	// publishDuration is how long building and publishing one snapshot took.
	publishDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "publish_duration_seconds",
		Buckets:   prometheus.ExponentialBuckets(0.0001, 2, 18),
		Help:      "Time to rebuild and publish the index after a change, by kind (full or incremental).",
	}, []string{"kind"})

	// publishes counts published snapshots.
	publishes = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "publishes_total",
		Help:      "Snapshots of the index published, by kind (full or incremental).",
	}, []string{"kind"})
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

// observeSync records one published snapshot.
func observeSync(d time.Duration, full bool) {
	kind := "incremental"
	if full {
		kind = "full"
	}
	publishDuration.WithLabelValues(kind).Observe(d.Seconds())
	publishes.WithLabelValues(kind).Inc()
}
