package clusterdns

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
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
	if n, _ := l.snap.reverseTree.get(prefix); n > 0 {
		return resultNoData
	}
	return resultNXDomain
}

// ptr answers the PTR records of one address. A ClusterIP names its service
// alone; otherwise every endpoint name with that address answers.
func (l *lookup) ptr(addr netip.Addr) result {
	owners, ok := l.snap.reverse.get(keyOf(addr))
	if !ok {
		return resultNXDomain
	}
	if l.qtype != dns.TypePTR {
		return resultNoData
	}
	all := owners.all()
	clusterIP := slices.ContainsFunc(all, func(o ptrOwner) bool { return o.clusterIP })
	var targets []string
	for _, o := range all {
		e, ok := l.snap.services.get(*o.svc)
		if !ok || o.clusterIP != clusterIP {
			continue
		}
		if clusterIP {
			targets = append(targets, e.base)
			continue
		}
		for _, ep := range e.eps {
			if ep.addr == addr {
				targets = append(targets, endpointLabel(ep)+"."+e.base)
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
