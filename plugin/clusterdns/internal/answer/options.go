// Package answer turns a question into the records of one view of the
// index: service, endpoint, SRV, pod and reverse names, the apex, and the
// choice between NXDOMAIN and NODATA (RFC 2308, RFC 8020). It sees only the
// options it needs, never the plugin; the handler turns its Result into an
// rcode.
package answer

import (
	"context"
	"net/netip"

	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

const (
	// SchemaVersion is the schema version served at dns-version.<zone> (spec §2.2).
	SchemaVersion = "1.1.0"

	// versionTTL is the TTL of the dns-version TXT record, as CoreDNS serves it.
	versionTTL = 28800
)

// Upstream resolves a name through the rest of the server's plugin chain,
// as CoreDNS's upstream package does.
type Upstream interface {
	Lookup(ctx context.Context, state request.Request, name string, typ uint16) (*dns.Msg, error)
}

// Options are the settings answers depend on.
type Options struct {
	Zones       []string // lower-case, fully qualified; forward and reverse
	PrimaryZone string   // first forward zone; PTR targets are built under it
	TTL         uint32
	Pods        string // index.PodsDisabled, index.PodsInsecure or index.PodsVerified
	Zonal       bool   // zone-scoped names of headless services
	// ClientZoneFirst starts headless answers with the client's zone.
	ClientZoneFirst bool
	MaxAnswers      int // records per headless answer; 0: no cap
	// MulticlusterZones are the zones (of Zones) whose services are the
	// MCS-API ServiceImports.
	MulticlusterZones []string
	// Upstream follows ExternalName targets outside the zones; nil: they
	// are answered with the CNAME alone.
	Upstream Upstream
	// LocalIPs are the addresses the server listens on, set at startup:
	// ns.dns.<zone> answers with them.
	LocalIPs []netip.Addr
}

// IsMulticluster reports whether zone, one of Zones, answers from the
// ServiceImports. It runs on every query: the list is short.
func (o *Options) IsMulticluster(zone string) bool {
	for _, z := range o.MulticlusterZones {
		if z == zone {
			return true
		}
	}
	return false
}
