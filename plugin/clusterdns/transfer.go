package clusterdns

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/coredns/coredns/plugin/transfer"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/answer"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// errNotSynced refuses a transfer before the caches synced: a partial zone
// would look complete to the secondary.
var errNotSynced = errors.New("object caches not synced yet")

// Transfer implements transfer.Transferer, so the transfer plugin can send
// a forward zone by AXFR, or answer IXFR. The zone comes from one view,
// whose generation counter is the SOA serial, and holds exactly the RRsets
// queries get: every record is produced by the lookup that answers the
// query for its name and type. Namespace scoping (namespaces,
// namespace_labels) applies as to queries. Reverse zones are not
// transferred: their names are every address of the cluster.
//
// IXFR has no history to send differences from: a serial at or past the
// current one gets the SOA alone (RFC 1995 §2), an older one the whole zone
// (RFC 1995 §4 allows answering with a full transfer).
func (c *ClusterDNS) Transfer(zone string, serial uint32) (<-chan []dns.RR, error) {
	zone = strings.ToLower(dns.Fqdn(zone))
	if !slices.Contains(c.cfg.zones, zone) || dnsname.IsReverseZone(zone) {
		return nil, transfer.ErrNotAuthoritative
	}
	if !c.Ready() {
		return nil, errNotSynced
	}
	x := &zoneTransfer{c: c, view: c.index.Load(), zone: zone}
	soa := x.lookup(zone, dns.TypeSOA)
	ch := make(chan []dns.RR)
	go func() {
		defer close(ch)
		ch <- soa
		if serial != 0 && !serialBefore(serial, x.view.Serial) {
			return
		}
		x.send(ch)
		ch <- soa
	}()
	return ch, nil
}

// serialBefore reports whether serial a is older than b in sequence space
// arithmetic (RFC 1982 §3.2).
func serialBefore(a, b uint32) bool {
	return a != b && int32(b-a) > 0
}

// zoneTransfer lists one zone of one view of the index.
type zoneTransfer struct {
	c    *ClusterDNS
	view *index.View
	zone string
}

// lookup returns the RRset at owner of type qtype, as a query gets it, or nil.
func (x *zoneTransfer) lookup(owner string, qtype uint16) []dns.RR {
	l := answer.New(context.Background(), x.c.answers, x.view, request.Request{}, owner, qtype, x.zone)
	if l.Run() != answer.Success {
		return nil
	}
	// Keep the RRset itself: not the records an in-zone CNAME target adds.
	return slices.DeleteFunc(l.Answer, func(rr dns.RR) bool {
		return rr.Header().Rrtype != qtype || rr.Header().Name != owner
	})
}

// send writes every RRset of the zone but the SOA, one service per batch:
// the apex NS and the name server's addresses, dns-version, the services
// (ServiceImports in a multicluster zone) in namespace then name order, and pod names with `pods verified`.
func (x *zoneTransfer) send(ch chan<- []dns.RR) {
	ns := dnsname.Join("ns.dns", x.zone)
	ch <- slices.Concat(x.lookup(x.zone, dns.TypeNS), x.lookup(ns, dns.TypeA), x.lookup(ns, dns.TypeAAAA),
		x.lookup(dnsname.Join("dns-version", x.zone), dns.TypeTXT))

	services := x.view.ServicesIn(x.c.answers.IsMulticluster(x.zone))
	keys := services.Keys()
	slices.SortFunc(keys, func(a, b index.ServiceKey) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	for _, k := range keys {
		if e, ok := services.Get(k); ok {
			if rrs := x.service(e); len(rrs) > 0 {
				ch <- rrs
			}
		}
	}

	if x.c.cfg.PodMode != podsVerified {
		return // insecure pod names are every address: not a zone's content
	}
	var pods []dns.RR
	for _, k := range x.view.Pods.Keys() {
		owner := dnsname.Join(dnsname.Dashed(k.Addr)+"."+k.Namespace+".pod", x.zone)
		pods = append(pods, x.lookup(owner, dns.TypeA)...)
		pods = append(pods, x.lookup(owner, dns.TypeAAAA)...)
	}
	slices.SortFunc(pods, func(a, b dns.RR) int { return cmp.Compare(a.String(), b.String()) })
	if len(pods) > 0 {
		ch <- pods
	}
}

// service returns the RRsets of a service: at its name, at its endpoints'
// names and at the _<port>._<proto> names of its named ports.
func (x *zoneTransfer) service(e *index.Entry) []dns.RR {
	base := dnsname.Join(e.Owner, x.zone)
	if e.CNAME != "" {
		return x.lookup(base, dns.TypeCNAME)
	}
	rrs := slices.Concat(x.lookup(base, dns.TypeA), x.lookup(base, dns.TypeAAAA), x.lookup(base, dns.TypeSRV))
	labels := make(map[string]bool, len(e.Endpoints))
	seenSlices := make(map[*index.Slice]bool)
	ports := e.Ports
	for _, ep := range e.Endpoints {
		if label := index.EndpointOwner(ep); !labels[label] {
			labels[label] = true
			rrs = append(rrs, x.lookup(label+"."+base, dns.TypeA)...)
			rrs = append(rrs, x.lookup(label+"."+base, dns.TypeAAAA)...)
		}
		if e.Headless && !seenSlices[ep.Slice] {
			seenSlices[ep.Slice] = true
			ports = append(ports, ep.Slice.Ports...)
		}
	}
	var named []string
	for _, p := range ports {
		if p.Name != "" {
			named = append(named, "_"+p.Name+"._"+p.Proto+"."+base)
		}
	}
	slices.Sort(named)
	for _, owner := range slices.Compact(named) {
		rrs = append(rrs, x.lookup(owner, dns.TypeSRV)...)
	}
	return rrs
}
