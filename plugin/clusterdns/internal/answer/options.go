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

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
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
	// Isolation hides namespaces from clients that may not see them
	// (`isolate`); nil: every client sees every namespace.
	Isolation *index.Isolation
	// LocalIPs are the addresses the server listens on, set at startup:
	// ns.dns.<zone> answers with them.
	LocalIPs []netip.Addr

	// soa holds, per zone, the SOA's server and mailbox names as the zone
	// is configured (Prepare); a query that spells the zone so, nearly
	// every one, needs no new string for them.
	soa map[string][2]string
}

// Prepare computes what answers reuse, once, before the first query; an
// Options used without it answers the same, building those names per
// answer.
func (o *Options) Prepare() *Options {
	o.soa = make(map[string][2]string, len(o.Zones))
	for _, z := range o.Zones {
		o.soa[z] = [2]string{dnsname.Join("ns.dns", z), dnsname.Join("hostmaster", z)}
	}
	return o
}

// soaNames returns the SOA's server and mailbox names of zone, spelled as
// the query spelled it (RFC 4343).
func (o *Options) soaNames(zone, spelled string) (ns, mbox string) {
	if names, ok := o.soa[zone]; ok && spelled == zone {
		return names[0], names[1]
	}
	return dnsname.Join("ns.dns", spelled), dnsname.Join("hostmaster", spelled)
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
