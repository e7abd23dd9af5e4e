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

	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/answer"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
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
	podsDisabled = answer.PodsDisabled
	podsInsecure = answer.PodsInsecure
	podsVerified = answer.PodsVerified
)

var log = clog.NewWithPlugin(pluginName)

// config holds everything parsed from a clusterdns stanza.
type config struct {
	zones       []string // normalized, lower-case zones; forward and reverse
	primaryZone string   // first forward zone; PTR targets are built under it

	endpoint            string
	tlsCert, tlsKey     string
	tlsCA               string
	kubeconfig          string
	kubeContext         string
	objectsFile         string        // serve from a file of objects instead of the API
	objectsFilePoll     time.Duration // how often objectsFile is checked for changes
	apiQPS              float32
	apiBurst            int
	apiMaxInflight      int
	startupTimeout      time.Duration
	readyStaleLimit     time.Duration   // 0: stale answers do not affect readiness
	resync              time.Duration   // 0: no periodic relist
	snapshotPath        string          // "": no snapshot file
	snapshotInterval    time.Duration   // least time between two writes of it
	labelSelector       labels.Selector // nil when unset
	namespaceSelector   labels.Selector // nil when unset
	namespaces          map[string]struct{}
	podMode             string
	endpointPodNames    bool
	ttl                 uint32
	noEndpoints         bool
	ignoreEmptyServices bool
	maxAnswers          int  // records per headless answer; 0: no cap
	fallbackTerminating bool // `fallback_terminating`
	zonal               bool // zone-scoped names of headless services
	clientZoneFirst     bool // `client_zone_first`: headless answers start with the client's zone
	fall                fall.F
	hostSearch          []string // the server's own search domains (autopath)
	// multiclusterZones are the zones (a subset of zones) whose services are
	// the MCS-API ServiceImports (`multicluster`).
	multiclusterZones []string
}

func defaultConfig() *config {
	return &config{
		ttl:              defaultTTL,
		startupTimeout:   defaultStartupTimeout,
		podMode:          podsDisabled,
		objectsFilePoll:  time.Second,
		snapshotInterval: defaultSnapshotInterval,
	}
}

// watchPods reports whether the Pods are watched.
func (cfg *config) watchPods() bool { return cfg.podMode == podsVerified || cfg.clientZoneFirst }

// multicluster reports whether the ServiceImports are watched.
func (cfg *config) multicluster() bool { return len(cfg.multiclusterZones) > 0 }

// keepZones reports whether endpoint zones are kept and grouped.
func (cfg *config) keepZones() bool { return cfg.zonal || cfg.clientZoneFirst }

// namespaceAllowed reports whether the static `namespaces` list lets ns be
// served; a name that cannot be a DNS label never is.
func (cfg *config) namespaceAllowed(ns string) bool {
	if !dnsname.IsDNSLabel(ns) {
		return false
	}
	if len(cfg.namespaces) == 0 {
		return true
	}
	_, ok := cfg.namespaces[ns]
	return ok
}

// buildOptions are the options of a configuration that shape entries.
func buildOptions(cfg *config) index.BuildOptions {
	return index.BuildOptions{IgnoreEmptyServices: cfg.ignoreEmptyServices, MaxAnswers: cfg.maxAnswers,
		FallbackTerminating: cfg.fallbackTerminating, Zonal: cfg.zonal, ClientZoneFirst: cfg.clientZoneFirst}
}

// newSlimmer returns the slimmer of a configuration.
func newSlimmer(cfg *config) object.Slimmer {
	return object.Slimmer{EndpointPodNames: cfg.endpointPodNames, KeepTerminating: cfg.fallbackTerminating,
		KeepZones: cfg.keepZones(), KeepNodes: cfg.clientZoneFirst, Multicluster: cfg.multicluster()}
}

// answerOptions are the settings of a configuration that answers depend on.
func answerOptions(cfg *config) *answer.Options {
	return &answer.Options{
		Zones: cfg.zones, PrimaryZone: cfg.primaryZone, TTL: cfg.ttl, Pods: cfg.podMode,
		Zonal: cfg.zonal, ClientZoneFirst: cfg.clientZoneFirst, MaxAnswers: cfg.maxAnswers,
		MulticlusterZones: cfg.multiclusterZones, Upstream: upstream.New(),
	}
}

// ClusterDNS is the plugin: it answers for its zones from the published index.
type ClusterDNS struct {
	Next plugin.Handler

	cfg     *config
	index   *index.Index
	answers *answer.Options            // what answers depend on, built from cfg
	source  source                     // where objects come from; chosen at startup unless set
	ctl     atomic.Pointer[controller] // set by onStartup; read by Ready
	run     *lifecycle                 // set between onStartup and onShutdown

	warnedNoPods atomic.Bool // the "needs pods verified" warning was logged
}

// Name implements plugin.Handler.
func (c *ClusterDNS) Name() string { return pluginName }
