package source

import (
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// Config is what the sources, the controller and the index builder read
// of a clusterdns stanza. The plugin's setup fills it.
type Config struct {
	PrimaryZone string // first forward zone; PTR targets are built under it
	UserAgent   string // of the API client; client-go's default when empty

	Endpoint            string
	TLSCert, TLSKey     string
	TLSCA               string
	Kubeconfig          string
	KubeContext         string
	ObjectsFile         string        // serve from a file of objects instead of the API
	ObjectsFilePoll     time.Duration // how often ObjectsFile is checked for changes
	APIQPS              float32
	APIBurst            int
	APIMaxInflight      int
	Resync              time.Duration   // 0: no periodic relist
	SnapshotPath        string          // "": no snapshot file
	SnapshotInterval    time.Duration   // least time between two writes of it
	LabelSelector       labels.Selector // nil when unset
	NamespaceSelector   labels.Selector // nil when unset
	Namespaces          map[string]struct{}
	PodMode             string
	EndpointPodNames    bool
	NoEndpoints         bool
	IgnoreEmptyServices bool
	MaxAnswers          int      // records per headless answer; 0: no cap
	FallbackTerminating bool     // `fallback_terminating`
	Zonal               bool     // zone-scoped names of headless services
	ClientZoneFirst     bool     // `client_zone_first`: headless answers start with the client's zone
	TrafficDistribution bool     // `traffic_distribution`: headless answers follow the hints for the client's node
	HostSearch          []string // the server's own search domains (autopath)
	// Isolate watches pods to know which namespace each client is in
	// (`isolate`); TenantLabel is the namespace label naming tenants.
	Isolate     bool
	TenantLabel string
	// MulticlusterZones are the zones (a subset of the stanza's) whose
	// services are the MCS-API ServiceImports (`multicluster`).
	MulticlusterZones []string
}

// WatchPods reports whether the Pods are watched.
func (cfg *Config) WatchPods() bool {
	return cfg.PodMode == index.PodsVerified || cfg.ClientZoneFirst || cfg.TrafficDistribution || cfg.Isolate
}

// IdentifyClients reports whether the index maps client addresses to pods.
func (cfg *Config) IdentifyClients() bool { return cfg.PodMode == index.PodsVerified || cfg.Isolate }

// WatchNodes reports whether the Nodes are watched, for the node and zone
// of each client pod.
func (cfg *Config) WatchNodes() bool { return cfg.ClientZoneFirst || cfg.TrafficDistribution }

// Multicluster reports whether the ServiceImports are watched.
func (cfg *Config) Multicluster() bool { return len(cfg.MulticlusterZones) > 0 }

// KeepZones reports whether endpoint zones are kept and grouped.
func (cfg *Config) KeepZones() bool { return cfg.Zonal || cfg.ClientZoneFirst }

// NamespaceAllowed reports whether the static `namespaces` list lets ns be
// served; a name that cannot be a DNS label never is.
func (cfg *Config) NamespaceAllowed(ns string) bool {
	if !dnsname.IsDNSLabel(ns) {
		return false
	}
	if len(cfg.Namespaces) == 0 {
		return true
	}
	_, ok := cfg.Namespaces[ns]
	return ok
}

// buildOptions are the options of a configuration that shape entries.
func buildOptions(cfg *Config) index.BuildOptions {
	return index.BuildOptions{IgnoreEmptyServices: cfg.IgnoreEmptyServices, MaxAnswers: cfg.MaxAnswers,
		FallbackTerminating: cfg.FallbackTerminating, Zonal: cfg.Zonal, ClientZoneFirst: cfg.ClientZoneFirst,
		TrafficDistribution: cfg.TrafficDistribution}
}

// NewSlimmer returns the slimmer of a configuration.
func NewSlimmer(cfg *Config) object.Slimmer {
	return object.Slimmer{EndpointPodNames: cfg.EndpointPodNames, KeepTerminating: cfg.FallbackTerminating,
		KeepZones: cfg.KeepZones(), KeepNodes: cfg.WatchNodes(), KeepHints: cfg.TrafficDistribution,
		Multicluster: cfg.Multicluster(), TenantLabel: cfg.TenantLabel, Ports: object.NewPortLists()}
}
