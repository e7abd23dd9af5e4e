package clusterdns

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// reverse answers a name in a reverse zone: PTR for addresses of services
// and their endpoints (spec §2.3.3, §2.4.3), NODATA for the partial names
// above them, NXDOMAIN for the rest.
func (l *lookup) reverse(rel string) result {
	if rel == "" {
		return l.apex()
	}
	name := strings.ToLower(l.qname)
	prefix, ok := parseReverse(name)
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

// parseReverse reads a lower-case reverse name (with trailing dot) into the
// prefix it spells: a full address has 32 (in-addr.arpa) or 128 (ip6.arpa)
// bits, a partial name fewer.
func parseReverse(name string) (netip.Prefix, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		labels := strings.Split(rest, ".")
		if len(labels) > 4 {
			return netip.Prefix{}, false
		}
		var b [4]byte
		for i, lab := range labels {
			v, err := strconv.ParseUint(lab, 10, 8)
			if err != nil || (len(lab) > 1 && lab[0] == '0') {
				return netip.Prefix{}, false
			}
			b[len(labels)-1-i] = byte(v)
		}
		return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(labels)), true
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa."); ok {
		labels := strings.Split(rest, ".")
		if len(labels) > 32 {
			return netip.Prefix{}, false
		}
		var b [16]byte
		for i, lab := range labels {
			if len(lab) != 1 {
				return netip.Prefix{}, false
			}
			v, err := strconv.ParseUint(lab, 16, 8)
			if err != nil {
				return netip.Prefix{}, false
			}
			pos := len(labels) - 1 - i // nibble index from the left
			if pos%2 == 0 {
				b[pos/2] |= byte(v) << 4
			} else {
				b[pos/2] |= byte(v)
			}
		}
		return netip.PrefixFrom(netip.AddrFrom16(b), 4*len(labels)), true
	}
	return netip.Prefix{}, false
}

// isReverseZone reports whether zone is in-addr.arpa., ip6.arpa. or below
// them. (dnsutil.IsReverse needs a label before the suffix, so it misses
// the two zones themselves.)
func isReverseZone(zone string) bool {
	z := "." + strings.ToLower(zone)
	return strings.HasSuffix(z, ".in-addr.arpa.") || strings.HasSuffix(z, ".ip6.arpa.")
}
