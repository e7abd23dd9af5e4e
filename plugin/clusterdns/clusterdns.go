// Package clusterdns is a CoreDNS plugin that answers Kubernetes service
// discovery queries (the Kubernetes DNS-Based Service Discovery specification,
// schema 1.1.0) from an index of Services, EndpointSlices and Namespaces.
//
// The index is rebuilt per service when the watched objects change and is
// published copy-on-write, so the query path takes no lock a writer holds and
// assembles each answer from precomputed record data.
package clusterdns

import (
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/pkg/upstream"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/answer"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/source"
)

const (
	pluginName = "clusterdns"

	// Version is the version of clusterdns, reported by `coredns -version`.
	Version = "0.1.0"

	// DNSSchemaVersion is the schema version served at dns-version.<zone> (spec §2.2).
	DNSSchemaVersion = answer.SchemaVersion

	defaultTTL            = 5
	defaultStartupTimeout = 5 * time.Second
	maxTTL                = 3600

	// maxAnswersLimit bounds `max_answers`: more A records than this never
	// fit in one DNS message (65,535 bytes, RFC 1035 §4.2.2), so a larger
	// cap would cap nothing.
	maxAnswersLimit = 65535 / 16

	// defaultSnapshotInterval is the least time between two writes of the
	// snapshot file: changes come in bursts (a rollout), and one write per
	// burst is enough to start from.
	defaultSnapshotInterval = 10 * time.Second
)

// Pod record modes of the `pods` option.
const (
	podsDisabled = index.PodsDisabled
	podsInsecure = index.PodsInsecure
	podsVerified = index.PodsVerified
)

var log = clog.NewWithPlugin(pluginName)

// config holds everything parsed from a clusterdns stanza: what the
// sources and the index builder need, and what only the shell reads.
type config struct {
	source.Config

	zones           []string // normalized, lower-case zones; forward and reverse
	ttl             uint32
	startupTimeout  time.Duration
	readyStaleLimit time.Duration // 0: stale answers do not affect readiness
	fall            fall.F
	isolation       *index.Isolation // `isolate`; nil: every client sees everything
}

func defaultConfig() *config {
	return &config{
		Config: source.Config{
			PodMode:          podsDisabled,
			UserAgent:        "clusterdns/" + Version,
			ObjectsFilePoll:  time.Second,
			SnapshotInterval: defaultSnapshotInterval,
		},
		ttl:            defaultTTL,
		startupTimeout: defaultStartupTimeout,
	}
}

// answerOptions are the settings of a configuration that answers depend on.
func answerOptions(cfg *config) *answer.Options {
	return (&answer.Options{
		Zones: cfg.zones, PrimaryZone: cfg.PrimaryZone, TTL: cfg.ttl, Pods: cfg.PodMode,
		Zonal: cfg.Zonal, ClientZoneFirst: cfg.ClientZoneFirst, MaxAnswers: cfg.MaxAnswers,
		MulticlusterZones: cfg.MulticlusterZones, Upstream: upstream.New(), Isolation: cfg.isolation,
	}).Prepare()
}

// ClusterDNS is the plugin: it answers for its zones from the published index.
type ClusterDNS struct {
	Next plugin.Handler

	cfg     *config
	index   *index.Index
	answers *answer.Options                   // what answers depend on, built from cfg
	source  source.Source                     // where objects come from; chosen at startup unless set
	ctl     atomic.Pointer[source.Controller] // set by onStartup; read by Ready
	run     *lifecycle                        // set between onStartup and onShutdown

	warnedNoPods atomic.Bool // the "needs pods verified" warning was logged
}

// Name implements plugin.Handler.
func (c *ClusterDNS) Name() string { return pluginName }
