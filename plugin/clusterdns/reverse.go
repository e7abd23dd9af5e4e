package clusterdns

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
func (l *lookup) reverse(rel string) result {
	if rel == "" {
		return l.apex()
	}
	name := strings.ToLower(l.qname)
	prefix, ok := dnsname.ParseReverse(name)
	if !ok {
		return resultNXDomain
	}
	if prefix.IsSingleIP() {
		return l.ptr(prefix.Addr())
	}
	if n, _ := l.snap.ReverseTree.Get(prefix); n > 0 {
		return resultNoData
	}
	return resultNXDomain
}

// ptr answers the PTR records of one address. A ClusterIP names its service
// alone; otherwise every endpoint name with that address answers.
func (l *lookup) ptr(addr netip.Addr) result {
	owners, ok := l.snap.Reverse.Get(index.KeyOf(addr))
	if !ok {
		return resultNXDomain
	}
	if l.qtype != dns.TypePTR {
		return resultNoData
	}
	all := owners.All()
	clusterIP := slices.ContainsFunc(all, func(o index.Owner) bool { return o.ClusterIP })
	var targets []string
	for _, o := range all {
		e, ok := l.snap.Services.Get(*o.Service)
		if !ok || o.ClusterIP != clusterIP {
			continue
		}
		if clusterIP {
			targets = append(targets, e.Owner)
			continue
		}
		for _, ep := range e.Endpoints {
			if ep.Addr == addr {
				targets = append(targets, index.EndpointLabel(ep)+"."+e.Owner)
			}
		}
	}
	slices.Sort(targets)
	for _, t := range slices.Compact(targets) {
		l.answer = append(l.answer, &dns.PTR{Hdr: l.hdr(l.qname, dns.TypePTR, l.c.cfg.ttl), Ptr: t + "." + l.c.cfg.primaryZone})
	}
	if len(l.answer) == 0 {
		return resultNoData
	}
	return resultSuccess
}
