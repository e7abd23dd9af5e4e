package answer

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// Result is what a lookup found, before the handler turns it into an rcode.
type Result int

// The outcomes of a lookup.
const (
	Success  Result = iota // records in the answer
	NoData                 // the name exists, the type does not (RFC 2308)
	NXDomain               // the name does not exist (RFC 8020: nor below it)
)

// maxCNAMEChain bounds ExternalName chains resolved inside the zone.
const maxCNAMEChain = 10

// Lookup answers one question from one view of the index.
type Lookup struct {
	o       *Options
	ctx     context.Context
	state   request.Request
	view    *index.View
	qname   string // as asked
	qtype   uint16
	zone    string // as configured, lower case
	spelled string // the zone as the query spelled it

	// audience is what the client sees of the namespaces (`isolate`),
	// found on first use.
	audience      index.Audience
	audienceFound bool

	// Answer and Extra are the sections Run fills; Truncated is set when
	// an answer from outside the zones came truncated.
	Answer, Extra []dns.RR
	Truncated     bool
	// Reason says why a negative answer is negative; ReasonNone otherwise.
	Reason Reason
}

// New returns the lookup of qname and qtype, a name in zone (one of o's
// zones, as MatchZone found it), from view. state is the query, for the
// client's address and for following ExternalName targets outside the
// zones; a zone transfer has none.
func New(ctx context.Context, o *Options, view *index.View, state request.Request, qname string, qtype uint16, zone string) Lookup {
	// Keep the query's spelling of the zone in every name built (RFC 4343).
	spelled := qname[len(qname)-len(zone):]
	return Lookup{o: o, ctx: ctx, state: state, view: view, qname: qname, qtype: qtype, zone: zone, spelled: spelled}
}

// Run fills the answer and extra sections, reports the outcome and, for a
// negative one, sets Reason.
func (l *Lookup) Run() Result {
	res := l.run()
	if res == NoData && l.Reason == ReasonNone {
		l.Reason = ReasonNoRecordOfType
	}
	return res
}

// run is Run before a NODATA answer is given its reason.
func (l *Lookup) run() Result {
	rel := dnsname.Relative(l.qname, l.zone)
	if dnsname.IsReverseZone(l.zone) {
		return l.reverse(rel)
	}
	switch rel {
	case "":
		return l.apex()
	case "dns-version":
		if l.qtype != dns.TypeTXT {
			return NoData
		}
		l.Answer = []dns.RR{&dns.TXT{Hdr: l.hdr(l.qname, dns.TypeTXT, versionTTL), Txt: []string{SchemaVersion}}}
		return Success
	case "dns":
		return NoData
	case "ns.dns":
		return l.addresses(l.qname, l.nameserverAddrs())
	}
	n := dnsname.Parse(rel)
	switch n.Kind {
	case dnsname.KindService:
		return l.service(n)
	case dnsname.KindPod:
		return l.pod(n)
	}
	return l.nx(ReasonOtherName)
}

// service answers a name under svc.<zone>: "<ns>", "<svc>.<ns>",
// "<endpoint>.<svc>.<ns>", "_<proto>.<svc>.<ns>" or "_<port>._<proto>.<svc>.<ns>".
func (l *Lookup) service(n dnsname.Name) Result {
	switch {
	case n.Namespace == "":
		return NoData // svc.<zone>
	case !l.sees(n.Namespace):
		return l.hidden(n.Namespace)
	case n.Service == "":
		if _, ok := l.view.Namespaces.Get(n.Namespace); ok {
			return NoData
		}
		return l.nx(ReasonNoNamespace)
	}
	multicluster := l.o.IsMulticluster(l.zone)
	k := index.ServiceKey{Name: n.Service, Namespace: n.Namespace}
	e, ok := l.view.ServicesIn(multicluster).Get(k)
	if !ok {
		return l.nx(l.noService(k, n, multicluster))
	}
	if n.Label == "" {
		return l.entry(l.qname, e)
	}
	if multicluster {
		return l.imported(e, n)
	}
	if l.o.Zonal && n.Label == dnsname.ZoneLabel {
		return l.zoneScoped(e, n.Rest)
	}
	if e.CNAME != "" {
		return l.nx(ReasonBelowExternalName) // nothing exists below an ExternalName
	}
	proto, protoLabel := dnsname.Underscored(n.Label)
	port, portLabel := dnsname.Underscored(n.Rest)
	switch {
	case n.Rest == "" && protoLabel:
		return l.protoNode(e, proto)
	case n.Rest == "":
		return l.endpointAddrs(e.FindEndpoints("", n.Label))
	case portLabel && protoLabel && !strings.Contains(n.Rest, "."):
		return l.namedPort(e, port, proto)
	}
	return l.nx(ReasonOtherName)
}

// noService says why service k of a name n is not found: the namespace or
// the service does not exist, the service is headless with no ready
// endpoint, or the name is a search-path expansion.
func (l *Lookup) noService(k index.ServiceKey, n dnsname.Name, multicluster bool) Reason {
	if _, ok := l.view.Namespaces.Get(n.Namespace); !ok {
		return ReasonNoNamespace
	}
	if !multicluster {
		if _, ok := l.view.Unready.Get(k); ok {
			return ReasonNoReadyEndpoints
		}
	}
	if _, underscored := dnsname.Underscored(n.Label); n.Label != "" && !underscored {
		return ReasonSearchExpansion
	}
	if _, ok := l.view.Namespaces.Get(n.Service); ok {
		return ReasonSearchExpansion
	}
	return ReasonNoService
}

// imported answers a name below a ServiceImport's in a multicluster zone:
// below the service is "_<proto>", "_<port>._<proto>", "<cluster>" or
// "<host>.<cluster>", where host is an endpoint's hostname or dashed
// address (KEP-1645 "DNS"). Zone-scoped names are not defined there.
func (l *Lookup) imported(e *index.Entry, n dnsname.Name) Result {
	proto, protoLabel := dnsname.Underscored(n.Label)
	port, portLabel := dnsname.Underscored(n.Rest)
	switch {
	case protoLabel && n.Rest == "":
		return l.protoNode(e, proto)
	case protoLabel && portLabel && !strings.Contains(n.Rest, "."):
		return l.namedPort(e, port, proto)
	case n.Rest == "":
		// <cluster>.<svc>: an empty non-terminal while the import has
		// endpoints in that cluster.
		if e.HasCluster(n.Label) {
			return NoData
		}
		return l.nx(ReasonNoEndpoint)
	case !strings.Contains(n.Rest, "."):
		return l.endpointAddrs(e.FindEndpoints(n.Label, n.Rest))
	}
	return l.nx(ReasonOtherName)
}

// protoNode answers _<proto>.<svc>: an empty non-terminal when a named
// port uses the protocol.
func (l *Lookup) protoNode(e *index.Entry, proto string) Result {
	if e.HasProto(proto) {
		return NoData
	}
	return l.nx(ReasonNoPort)
}

// namedPort answers _<port>._<proto> below service e: SRV, NODATA for the
// other types, NXDOMAIN when no port has that name and protocol.
func (l *Lookup) namedPort(e *index.Entry, port, proto string) Result {
	n := e.CountSRVTargets(port, proto)
	if n == 0 {
		return l.nx(ReasonNoPort)
	}
	if l.qtype != dns.TypeSRV {
		return NoData
	}
	e, n = l.localPort(e, port, proto, n)
	return l.srv(e, port, proto, n)
}

// zoneScoped answers a zone-scoped name of service e; zoned is what comes
// before "_zone": "<zone>.<directive>", "<directive>" or "". Only headless
// services have such names. The zone may hold dots, as zone label values
// can. A zone no endpoint is in answers NODATA for pin (the name's shape is
// valid, the set is empty) and the whole service for prefer.
func (l *Lookup) zoneScoped(e *index.Entry, zoned string) Result {
	if !e.Headless {
		return l.nx(ReasonOtherName)
	}
	zone, directive := dnsname.CutLast(zoned)
	switch {
	case zoned == "":
		return NoData // _zone.<svc>: an empty non-terminal
	case directive != dnsname.DirectivePin && directive != dnsname.DirectivePrefer:
		return l.nx(ReasonOtherName)
	case zone == "":
		return NoData // pin._zone.<svc>: an empty non-terminal
	}
	if ze := e.Zones[zone]; ze != nil {
		return l.entry(l.qname, ze.Entry)
	}
	if directive == dnsname.DirectivePin {
		return NoData
	}
	return l.entry(l.qname, e)
}

// entry answers at a service's own name.
func (l *Lookup) entry(owner string, e *index.Entry) Result {
	if e.CNAME != "" {
		return l.externalName(owner, e.CNAME)
	}
	switch l.qtype {
	case dns.TypeA, dns.TypeAAAA:
		start := len(l.Answer)
		e = l.localAddrs(e)
		a4, a6 := e.A4, e.A6
		if e.Zones != nil && l.o.ClientZoneFirst {
			if z := e.Zones[l.clientZone()]; z != nil {
				a4, a6 = z.First4, z.First6
			}
		}
		var wrap4, wrap6 []byte
		if e.Rotation != nil {
			// max_answers: a window of the addresses, a different one each
			// time, so clients that take the first address spread out.
			// Each type has its own counter: resolvers ask A and AAAA in pairs.
			if l.qtype == dns.TypeA {
				a4, wrap4 = index.PackedWindow(a4, net.IPv4len, l.o.MaxAnswers, &e.Rotation.A)
			} else {
				a6, wrap6 = index.PackedWindow(a6, net.IPv6len, l.o.MaxAnswers, &e.Rotation.AAAA)
			}
		}
		l.Answer = appendPacked(l.Answer, owner, a4, a6, l.qtype, l.o.TTL)
		l.Answer = appendPacked(l.Answer, owner, wrap4, wrap6, l.qtype, l.o.TTL)
		if len(l.Answer) == start {
			return NoData
		}
		return Success
	case dns.TypeSRV:
		if e, n := l.localPort(e, "", "", e.CountSRVTargets("", "")); n > 0 {
			return l.srv(e, "", "", n)
		}
	}
	return NoData
}

// endpointAddrs answers A or AAAA at an endpoint name, whose endpoints
// are eps; none: the name does not exist.
func (l *Lookup) endpointAddrs(eps []*index.Endpoint) Result {
	if len(eps) == 0 {
		return l.nx(ReasonNoEndpoint)
	}
	if l.qtype != dns.TypeA && l.qtype != dns.TypeAAAA {
		return NoData
	}
	for _, ep := range eps {
		if ep.Addr().Is4() == (l.qtype == dns.TypeA) {
			l.Answer = append(l.Answer, addrRecord(l.qname, ep.Addr(), l.o.TTL))
		}
	}
	if len(l.Answer) == 0 {
		return NoData
	}
	return Success
}

// addrRecord returns the A or AAAA record of addr.
func addrRecord(owner string, addr netip.Addr, ttl uint32) dns.RR {
	if addr.Is4() {
		return &dns.A{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: addr.AsSlice()}
	}
	return &dns.AAAA{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: addr.AsSlice()}
}

// addresses answers A or AAAA (per qtype) from ips, which may mix families.
func (l *Lookup) addresses(owner string, ips []net.IP) Result {
	start := len(l.Answer)
	l.Answer = appendAddrs(l.Answer, owner, ips, l.qtype, l.o.TTL)
	if len(l.Answer) == start {
		return NoData
	}
	return Success
}

// appendPacked appends the A (from a4) or AAAA (from a6) records of a packed
// address list with one allocation for all records; the records' addresses
// share the packed storage. One record appended to an empty list, the
// answer of every ClusterIP service, comes with its list in that one
// allocation.
func appendPacked(rrs []dns.RR, owner string, a4, a6 []byte, qtype uint16, ttl uint32) []dns.RR {
	hdr := dns.RR_Header{Name: owner, Rrtype: qtype, Class: dns.ClassINET, Ttl: ttl}
	switch qtype {
	case dns.TypeA:
		if len(rrs) == 0 && len(a4) == net.IPv4len {
			one := &struct {
				list [1]dns.RR
				rec  dns.A
			}{rec: dns.A{Hdr: hdr, A: net.IP(a4[:4:4])}}
			one.list[0] = &one.rec
			return one.list[:]
		}
		recs := make([]dns.A, len(a4)/net.IPv4len)
		for i := range recs {
			recs[i] = dns.A{Hdr: hdr, A: net.IP(a4[i*4 : i*4+4 : i*4+4])}
			rrs = append(rrs, &recs[i])
		}
	case dns.TypeAAAA:
		if len(rrs) == 0 && len(a6) == net.IPv6len {
			one := &struct {
				list [1]dns.RR
				rec  dns.AAAA
			}{rec: dns.AAAA{Hdr: hdr, AAAA: net.IP(a6[:16:16])}}
			one.list[0] = &one.rec
			return one.list[:]
		}
		recs := make([]dns.AAAA, len(a6)/net.IPv6len)
		for i := range recs {
			recs[i] = dns.AAAA{Hdr: hdr, AAAA: net.IP(a6[i*16 : i*16+16 : i*16+16])}
			rrs = append(rrs, &recs[i])
		}
	}
	return rrs
}

// appendAddrs appends the A or AAAA records (per qtype) of ips to rrs.
func appendAddrs(rrs []dns.RR, owner string, ips []net.IP, qtype uint16, ttl uint32) []dns.RR {
	for _, ip := range ips {
		switch {
		case qtype == dns.TypeA && len(ip) == net.IPv4len:
			rrs = append(rrs, &dns.A{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: ip})
		case qtype == dns.TypeAAAA && len(ip) == net.IPv6len:
			rrs = append(rrs, &dns.AAAA{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: ip})
		}
	}
	return rrs
}

// srv answers the n SRV records of e's port (all ports with both empty),
// with the targets' addresses as glue. A capped answer builds only its
// window.
func (l *Lookup) srv(e *index.Entry, port, proto string, n int) Result {
	ttl := l.o.TTL
	var ctr *atomic.Uint32
	if e.Rotation != nil {
		ctr = &e.Rotation.SRV
	}
	var room [4]index.SRVTarget // most answers: no allocation for the targets
	targets := e.SRVTargetWindow(room[:0], port, proto, n, l.o.MaxAnswers, ctr)
	weight := uint16(max(1, 100/len(targets)))
	if len(targets) == 1 && targets[0].Endpoints == nil && len(l.Extra) == 0 && l.serviceTarget(e, targets[0].Port, weight) {
		return Success
	}
	var out []dns.SRV
	if len(targets) == 1 {
		// One record, the answer of most named ports: with its list in one
		// allocation.
		one := &struct {
			list [1]dns.RR
			recs [1]dns.SRV
		}{}
		out, l.Answer = one.recs[:], one.list[:]
	} else {
		out = make([]dns.SRV, len(targets))
		l.Answer = make([]dns.RR, len(targets))
	}
	var last *index.Endpoint
	for i, t := range targets {
		target := dnsname.Join(e.Owner, l.spelled)
		if t.Endpoints != nil {
			target = index.EndpointOwner(t.Endpoints[0]) + "." + target
		}
		out[i] = dns.SRV{Hdr: l.hdr(l.qname, dns.TypeSRV, ttl), Weight: weight, Port: t.Port, Target: target}
		l.Answer[i] = &out[i]
		// Glue once per target: targets of one name are adjacent.
		switch {
		case t.Endpoints == nil && i == 0:
			l.Extra = appendPacked(l.Extra, target, e.A4, nil, dns.TypeA, ttl)
			l.Extra = appendPacked(l.Extra, target, nil, e.A6, dns.TypeAAAA, ttl)
		case t.Endpoints != nil && t.Endpoints[0] != last:
			last = t.Endpoints[0]
			for _, ep := range t.Endpoints {
				l.Extra = append(l.Extra, addrRecord(target, ep.Addr(), ttl))
			}
		}
	}
	return Success
}

// externalName answers an ExternalName service: the CNAME for every type
// (RFC 1034 §3.6.2), followed for A and AAAA to the target's addresses,
// inside the zone from the view and outside through the server's own
// plugin chain (usually forward).
func (l *Lookup) externalName(owner, target string) Result {
	l.Answer = append(l.Answer, &dns.CNAME{Hdr: l.hdr(owner, dns.TypeCNAME, l.o.TTL), Target: target})
	if l.qtype != dns.TypeA && l.qtype != dns.TypeAAAA {
		return Success
	}
	seen := map[string]bool{strings.ToLower(owner): true}
	for range maxCNAMEChain {
		if seen[target] {
			return Success // a loop: stop with what we have
		}
		seen[target] = true
		zone := dnsname.MatchZone(target, l.o.Zones)
		if zone == "" || dnsname.IsReverseZone(zone) {
			l.resolveOutside(target)
			return Success
		}
		e := l.inZoneService(target, zone)
		if e == nil {
			return Success
		}
		if e.CNAME == "" {
			l.Answer = appendPacked(l.Answer, target, e.A4, e.A6, l.qtype, l.o.TTL)
			return Success
		}
		l.Answer = append(l.Answer, &dns.CNAME{Hdr: l.hdr(target, dns.TypeCNAME, l.o.TTL), Target: e.CNAME})
		target = e.CNAME
	}
	return Success
}

// inZoneService returns the service an in-zone name (lower case, absolute)
// names, or nil. Names below services are not followed: ExternalName
// targets name services.
func (l *Lookup) inZoneService(name, zone string) *index.Entry {
	n := dnsname.Parse(dnsname.Relative(name, zone))
	if n.Kind != dnsname.KindService || n.Service == "" || n.Label != "" || !l.sees(n.Namespace) {
		return nil
	}
	e, _ := l.view.ServicesIn(l.o.IsMulticluster(zone)).Get(index.ServiceKey{Name: n.Service, Namespace: n.Namespace})
	return e
}

// resolveOutside appends the answer the rest of the server gives for target.
func (l *Lookup) resolveOutside(target string) {
	if l.o.Upstream == nil {
		return
	}
	m, err := l.o.Upstream.Lookup(l.ctx, l.state, target, l.qtype)
	if err != nil || m == nil {
		return
	}
	l.Answer = append(l.Answer, m.Answer...)
	l.Truncated = m.Truncated
}

// apex answers the zone's own name: SOA, NS, and NODATA for the rest.
func (l *Lookup) apex() Result {
	switch l.qtype {
	case dns.TypeSOA:
		l.Answer = []dns.RR{l.SOA()}
		return Success
	case dns.TypeNS:
		ns := dnsname.Join("ns.dns", l.spelled)
		l.Answer = []dns.RR{&dns.NS{Hdr: l.hdr(l.qname, dns.TypeNS, l.o.TTL), Ns: ns}}
		addrs := l.nameserverAddrs()
		l.Extra = appendAddrs(l.Extra, ns, addrs, dns.TypeA, l.o.TTL)
		l.Extra = appendAddrs(l.Extra, ns, addrs, dns.TypeAAAA, l.o.TTL)
		return Success
	}
	return NoData
}

// nameserverAddrs returns the addresses behind ns.dns.<zone>: the addresses
// of the service(s) whose endpoints are this server's own addresses (the
// kube-dns Service in a cluster), else the server's own addresses.
func (l *Lookup) nameserverAddrs() []net.IP {
	var addrs []net.IP
	seen := make(map[*index.ServiceKey]bool)
	for _, ip := range l.o.LocalIPs {
		owners, ok := l.view.Reverse.Get(ip)
		if !ok {
			continue
		}
		for _, p := range owners.All() {
			if p.ClusterIP || seen[p.Service] {
				continue
			}
			seen[p.Service] = true
			if e, ok := l.view.Services.Get(*p.Service); ok {
				addrs = append(addrs, index.PackedIPs(e.A4, net.IPv4len)...)
				addrs = append(addrs, index.PackedIPs(e.A6, net.IPv6len)...)
			}
		}
	}
	if len(addrs) > 0 {
		return addrs
	}
	for _, ip := range l.o.LocalIPs {
		addrs = append(addrs, net.IP(ip.AsSlice()))
	}
	return addrs
}

// pod answers <dashed-ip>.<ns>.pod (spec 1.0 §2.6, kept as CoreDNS does):
// `insecure` believes any address in a served namespace, `verified` only
// addresses of running pods in that namespace.
func (l *Lookup) pod(n dnsname.Name) Result {
	if l.o.Pods == index.PodsDisabled {
		return l.nx(ReasonUnknownPod)
	}
	if n.Namespace == "" {
		return NoData // pod.<zone>
	}
	if !l.sees(n.Namespace) {
		return l.hidden(n.Namespace)
	}
	if _, exposed := l.view.Namespaces.Get(n.Namespace); !exposed {
		return l.nx(ReasonNoNamespace)
	}
	if n.Label != "" {
		return l.nx(ReasonOtherName)
	}
	if n.Service == "" {
		return NoData // <ns>.pod.<zone>
	}
	addr, ok := dnsname.ParseDashed(n.Service)
	if !ok {
		return l.nx(ReasonUnknownPod)
	}
	if l.o.Pods == index.PodsVerified {
		if _, ok := l.view.Pods.Get(index.PodKey{Namespace: n.Namespace, Addr: addr}); !ok {
			return l.nx(ReasonUnknownPod)
		}
	}
	return l.addresses(l.qname, []net.IP{addr.AsSlice()})
}

// SOA is the zone's SOA record, also the authority of negative answers
// (RFC 2308 §3), with CoreDNS's timers.
func (l *Lookup) SOA() dns.RR {
	soa := new(dns.SOA)
	l.FillSOA(soa)
	return soa
}

// FillSOA writes the zone's SOA record into soa, for a caller that
// allocates it with the rest of the reply.
func (l *Lookup) FillSOA(soa *dns.SOA) {
	ttl := l.o.TTL
	ns, mbox := l.o.soaNames(l.zone, l.spelled)
	*soa = dns.SOA{
		Hdr:     l.hdr(l.spelled, dns.TypeSOA, min(ttl, 300)),
		Ns:      ns,
		Mbox:    mbox,
		Serial:  l.view.Serial,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  ttl,
	}
}

func (l *Lookup) hdr(owner string, rrtype uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: owner, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}

// clientZone returns the zone of the pod that sent the query, or "".
func (l *Lookup) clientZone() string {
	a, ok := ClientAddr(l.state.W)
	if !ok {
		return ""
	}
	n, _ := l.view.ClientNodes.Get(index.KeyOf(a))
	return n.Zone
}
