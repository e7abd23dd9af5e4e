package clusterdns

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// result is what a lookup found, before it becomes an rcode.
type result int

const (
	resultSuccess  result = iota // records in the answer
	resultNoData                 // the name exists, the type does not (RFC 2308)
	resultNXDomain               // the name does not exist (RFC 8020: nor below it)
)

// maxCNAMEChain bounds ExternalName chains resolved inside the zone.
const maxCNAMEChain = 10

// lookup answers one question from one snapshot.
type lookup struct {
	c       *ClusterDNS
	ctx     context.Context
	state   request.Request
	snap    *snapshot
	qname   string // as asked
	qtype   uint16
	zone    string // as configured, lower case
	spelled string // the zone as the query spelled it

	answer, extra []dns.RR
	truncated     bool
}

// run fills the answer and extra sections and reports the outcome.
func (l *lookup) run() result {
	rel := ""
	if len(l.qname) > len(l.zone) {
		rel = strings.ToLower(l.qname[:len(l.qname)-len(l.zone)-1])
	}
	if isReverseZone(l.zone) {
		return l.reverse(rel)
	}
	switch rel {
	case "":
		return l.apex()
	case "dns-version":
		if l.qtype != dns.TypeTXT {
			return resultNoData
		}
		l.answer = []dns.RR{&dns.TXT{Hdr: l.hdr(l.qname, dns.TypeTXT, dnsVersionTTL), Txt: []string{DNSSchemaVersion}}}
		return resultSuccess
	case "svc", "dns":
		return resultNoData
	case "ns.dns":
		return l.addresses(l.qname, l.nameserverAddrs())
	case "pod":
		if l.c.cfg.podMode == podsDisabled {
			return resultNXDomain
		}
		return resultNoData
	}
	n, ok := l.snap.names.get(rel)
	if !ok {
		if strings.HasSuffix(rel, ".pod") {
			return l.pod(rel)
		}
		return resultNXDomain
	}
	return l.node(l.qname, n)
}

// node answers from the records of one owner name.
func (l *lookup) node(owner string, n *node) result {
	if n.cname != "" {
		return l.externalName(owner, n.cname)
	}
	switch l.qtype {
	case dns.TypeA:
		return l.addresses(owner, n.a)
	case dns.TypeAAAA:
		return l.addresses(owner, n.aaaa)
	case dns.TypeSRV:
		return l.srv(owner, n.srv)
	}
	return resultNoData
}

// addresses answers A or AAAA (per qtype) from ips, which may mix families.
func (l *lookup) addresses(owner string, ips []net.IP) result {
	start := len(l.answer)
	l.answer = appendAddrs(l.answer, owner, ips, l.qtype, l.c.cfg.ttl)
	if len(l.answer) == start {
		return resultNoData
	}
	return resultSuccess
}

// appendAddrs appends the A or AAAA records (per qtype) of ips to rrs with
// one allocation per record kind.
func appendAddrs(rrs []dns.RR, owner string, ips []net.IP, qtype uint16, ttl uint32) []dns.RR {
	switch qtype {
	case dns.TypeA:
		n := 0
		for _, ip := range ips {
			if len(ip) == net.IPv4len {
				n++
			}
		}
		if n == 0 {
			return rrs
		}
		recs := make([]dns.A, 0, n)
		for _, ip := range ips {
			if len(ip) == net.IPv4len {
				recs = append(recs, dns.A{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: ip})
				rrs = append(rrs, &recs[len(recs)-1])
			}
		}
	case dns.TypeAAAA:
		n := 0
		for _, ip := range ips {
			if len(ip) == net.IPv6len {
				n++
			}
		}
		if n == 0 {
			return rrs
		}
		recs := make([]dns.AAAA, 0, n)
		for _, ip := range ips {
			if len(ip) == net.IPv6len {
				recs = append(recs, dns.AAAA{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: ip})
				rrs = append(rrs, &recs[len(recs)-1])
			}
		}
	}
	return rrs
}

// srv answers SRV records with their targets' addresses as glue.
func (l *lookup) srv(owner string, recs []srvRecord) result {
	if len(recs) == 0 {
		return resultNoData
	}
	ttl := l.c.cfg.ttl
	out := make([]dns.SRV, len(recs))
	l.answer = make([]dns.RR, len(recs))
	glued := make(map[string]bool, 1)
	for i, r := range recs {
		target := r.target + "." + l.spelled
		out[i] = dns.SRV{Hdr: l.hdr(owner, dns.TypeSRV, ttl), Priority: 0, Weight: r.weight, Port: r.port, Target: target}
		l.answer[i] = &out[i]
		if !glued[r.target] {
			glued[r.target] = true
			l.extra = appendAddrs(l.extra, target, r.a, dns.TypeA, ttl)
			l.extra = appendAddrs(l.extra, target, r.aaaa, dns.TypeAAAA, ttl)
		}
	}
	return resultSuccess
}

// externalName answers an ExternalName service: the CNAME for every type
// (RFC 1034 §3.6.2), followed for A and AAAA to the target's addresses,
// inside the zone from the snapshot and outside through the server's own
// plugin chain (usually forward).
func (l *lookup) externalName(owner, target string) result {
	l.answer = append(l.answer, &dns.CNAME{Hdr: l.hdr(owner, dns.TypeCNAME, l.c.cfg.ttl), Target: target})
	if l.qtype != dns.TypeA && l.qtype != dns.TypeAAAA {
		return resultSuccess
	}
	seen := map[string]bool{strings.ToLower(owner): true}
	for range maxCNAMEChain {
		if seen[target] {
			return resultSuccess // a loop: stop with what we have
		}
		seen[target] = true
		zone := matchZone(target, l.c.cfg.zones)
		if zone == "" || isReverseZone(zone) {
			l.resolveOutside(target)
			return resultSuccess
		}
		rel := strings.TrimSuffix(strings.TrimSuffix(target, zone), ".")
		n, ok := l.snap.names.get(rel)
		if !ok {
			return resultSuccess
		}
		if n.cname == "" {
			l.answer = appendAddrs(l.answer, target, l.pick(n), l.qtype, l.c.cfg.ttl)
			return resultSuccess
		}
		l.answer = append(l.answer, &dns.CNAME{Hdr: l.hdr(target, dns.TypeCNAME, l.c.cfg.ttl), Target: n.cname})
		target = n.cname
	}
	return resultSuccess
}

// pick returns the addresses of n for the question's type.
func (l *lookup) pick(n *node) []net.IP {
	if l.qtype == dns.TypeAAAA {
		return n.aaaa
	}
	return n.a
}

// resolveOutside appends the answer the rest of the server gives for target.
func (l *lookup) resolveOutside(target string) {
	if l.c.upstream == nil {
		return
	}
	m, err := l.c.upstream.Lookup(l.ctx, l.state, target, l.qtype)
	if err != nil || m == nil {
		return
	}
	l.answer = append(l.answer, m.Answer...)
	l.truncated = m.Truncated
}

// apex answers the zone's own name: SOA, NS, and NODATA for the rest.
func (l *lookup) apex() result {
	switch l.qtype {
	case dns.TypeSOA:
		l.answer = []dns.RR{l.soa()}
		return resultSuccess
	case dns.TypeNS:
		ns := "ns.dns." + l.spelled
		l.answer = []dns.RR{&dns.NS{Hdr: l.hdr(l.qname, dns.TypeNS, l.c.cfg.ttl), Ns: ns}}
		addrs := l.nameserverAddrs()
		l.extra = appendAddrs(l.extra, ns, addrs, dns.TypeA, l.c.cfg.ttl)
		l.extra = appendAddrs(l.extra, ns, addrs, dns.TypeAAAA, l.c.cfg.ttl)
		return resultSuccess
	}
	return resultNoData
}

// nameserverAddrs returns the addresses behind ns.dns.<zone>: the addresses
// of the service(s) whose endpoints are this server's own addresses (the
// kube-dns Service in a cluster), else the server's own addresses.
func (l *lookup) nameserverAddrs() []net.IP {
	var addrs []net.IP
	seen := make(map[string]bool)
	for _, ip := range l.c.localIPs {
		for _, p := range l.snapReverse(ip) {
			if p.clusterIP || seen[p.service] {
				continue
			}
			seen[p.service] = true
			if n, ok := l.snap.names.get(p.service); ok {
				addrs = append(addrs, n.a...)
				addrs = append(addrs, n.aaaa...)
			}
		}
	}
	if len(addrs) > 0 {
		return addrs
	}
	for _, ip := range l.c.localIPs {
		addrs = append(addrs, net.IP(ip.AsSlice()))
	}
	return addrs
}

func (l *lookup) snapReverse(ip netip.Addr) []ptrRecord {
	recs, _ := l.snap.reverse.get(ip)
	return recs
}

// pod answers <dashed-ip>.<ns>.pod (spec 1.0 §2.6, kept as CoreDNS does):
// `insecure` believes any address in a served namespace, `verified` only
// addresses of running pods in that namespace.
func (l *lookup) pod(rel string) result {
	if l.c.cfg.podMode == podsDisabled {
		return resultNXDomain
	}
	label, ns, ok := strings.Cut(strings.TrimSuffix(rel, ".pod"), ".")
	if !ok || strings.Contains(ns, ".") {
		return resultNXDomain
	}
	if _, exposed := l.snap.names.get(ns + ".svc"); !exposed {
		return resultNXDomain
	}
	addr, ok := podAddr(label)
	if !ok {
		return resultNXDomain
	}
	if l.c.cfg.podMode == podsVerified {
		if _, ok := l.snap.pods.get(podKey{namespace: ns, addr: addr}); !ok {
			return resultNXDomain
		}
	}
	return l.addresses(l.qname, []net.IP{addr.AsSlice()})
}

// podAddr reads the address out of a pod label: 10-244-1-5 or fd00--5.
func podAddr(label string) (netip.Addr, bool) {
	var s string
	if strings.Count(label, "-") == 3 && !strings.Contains(label, "--") {
		s = strings.ReplaceAll(label, "-", ".")
	} else {
		s = strings.ReplaceAll(label, "-", ":")
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}

// soa is the zone's SOA record, also the authority of negative answers
// (RFC 2308 §3), with CoreDNS's timers.
func (l *lookup) soa() dns.RR {
	ttl := l.c.cfg.ttl
	return &dns.SOA{
		Hdr:     l.hdr(l.spelled, dns.TypeSOA, min(ttl, 300)),
		Ns:      "ns.dns." + l.spelled,
		Mbox:    "hostmaster." + l.spelled,
		Serial:  l.snap.serial,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  ttl,
	}
}

func (l *lookup) hdr(owner string, rrtype uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: owner, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}
