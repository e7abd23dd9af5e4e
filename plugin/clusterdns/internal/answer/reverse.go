package answer

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// reverse answers a name in a reverse zone: PTR for addresses of services
// and their endpoints (spec §2.3.3, §2.4.3), NODATA for the partial names
// above them, NXDOMAIN for the rest.
func (l *Lookup) reverse(rel string) Result {
	if rel == "" {
		return l.apex()
	}
	name := strings.ToLower(l.qname)
	prefix, ok := dnsname.ParseReverse(name)
	if !ok {
		return l.nx(ReasonOtherName)
	}
	if prefix.IsSingleIP() {
		return l.ptr(prefix.Addr())
	}
	if n, _ := l.view.ReverseTree.Get(prefix); n > 0 || l.limited() {
		// A client `isolate` limits gets NODATA for every partial name:
		// whether addresses exist below one would tell where hidden
		// namespaces have theirs. NODATA never hides the names below.
		return NoData
	}
	return l.nx(ReasonNoAddress)
}

// ptr answers the PTR records of one address. A ClusterIP names its service
// alone; otherwise every endpoint name with that address answers.
func (l *Lookup) ptr(addr netip.Addr) Result {
	owners, ok := l.view.Reverse.Get(addr)
	if !ok {
		return l.nx(ReasonNoAddress)
	}
	all := owners.All()
	if l.o.Isolation != nil {
		// The list is the index's: filter a copy.
		all = slices.DeleteFunc(slices.Clone(all), func(o index.Owner) bool { return !l.sees(o.Service.Namespace) })
		if len(all) == 0 {
			return l.nx(ReasonHidden)
		}
	}
	if l.qtype != dns.TypePTR {
		return NoData
	}
	clusterIP := slices.ContainsFunc(all, func(o index.Owner) bool { return o.ClusterIP })
	var targets []string
	for _, o := range all {
		e, ok := l.view.Services.Get(*o.Service)
		if !ok || o.ClusterIP != clusterIP {
			continue
		}
		if clusterIP {
			targets = append(targets, e.Owner)
			continue
		}
		for _, ep := range e.Endpoints {
			if ep.Addr() == addr {
				targets = append(targets, index.EndpointLabel(ep)+"."+e.Owner)
			}
		}
	}
	slices.Sort(targets)
	for _, t := range slices.Compact(targets) {
		l.Answer = append(l.Answer, &dns.PTR{Hdr: l.hdr(l.qname, dns.TypePTR, l.o.TTL), Ptr: dnsname.Join(t, l.o.PrimaryZone)})
	}
	if len(l.Answer) == 0 {
		return NoData
	}
	return Success
}
