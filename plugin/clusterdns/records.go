package clusterdns

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
)

// svcKey names a service: lower-case name and namespace.
type svcKey struct {
	name, namespace string
}

// svcEntry is everything the index holds about one served Service; the
// names below it (endpoints, _port._proto) are derived from it when asked.
// Entries are immutable once published.
type svcEntry struct {
	base     string      // "<svc>.<ns>.svc", the owner name relative to the zone
	cname    string      // ExternalName target, absolute; "" if none
	headless bool        // no ClusterIP: the name answers the endpoints
	a4, a6   []byte      // addresses answered at the service name, packed 4 or 16 bytes each
	ports    []slicePort // the Service's ports (ClusterIP services)
	eps      []*sliceEndpoint
	rot      *rotation // where capped answers start; nil without max_answers
	// zones are the entries of the zone-scoped names of a headless service
	// (`zonal`): its endpoints in each topology zone, by lower-case zone.
	zones map[string]*zoneEntry
}

// zoneEntry is a headless service's entry for one topology zone.
type zoneEntry struct {
	*svcEntry             // the endpoints in the zone
	first4, first6 []byte // with client_zone_first: all the service's addresses, the zone's first
}

// slicePort is a port of an EndpointSlice (or Service) as DNS needs it.
type slicePort struct {
	name  string // lower case, "" if unnamed
	proto string // lower case: tcp, udp or sctp
	port  uint16
}

// buildOptions are the configuration bits that change how entries are built.
type buildOptions struct {
	ignoreEmptyServices bool
	maxAnswers          int  // `max_answers`; 0: answers are not capped
	fallbackTerminating bool // no ready endpoint: serve the serving, terminating ones
	zonal               bool // build the zone-scoped entries of headless services
	clientZoneFirst     bool // and each zone's order of all addresses
}

// buildEntry computes the index entry of one Service from it and its slim
// EndpointSlices, or nil when the Service has no name in DNS. It is pure:
// the same objects always give the same entry.
func buildEntry(svc *service, slices []*endpointSlice, o buildOptions) *svcEntry {
	if svc.invalid {
		return nil
	}
	e := &svcEntry{base: dnsname.ServiceOwner(svc.Namespace, svc.Name)}
	if svc.externalName != "" {
		// An ExternalName that looks like an IP is not a host name: it is not
		// served at all (Kubernetes docs, Service "ExternalName" caveat).
		target := lower(strings.TrimSuffix(svc.externalName, "."))
		if !dnsname.ValidHost(target) {
			return nil
		}
		if _, err := netip.ParseAddr(target); err == nil {
			return nil
		}
		e.cname = target + "."
		return e
	}

	pick := readyOf
	e.eps = mergeEndpoints(slices, pick)
	if len(e.eps) == 0 && o.fallbackTerminating {
		// As kube-proxy does for traffic: while no endpoint is ready, those
		// still serving as they terminate stand in, so a small StatefulSet's
		// names do not vanish during a rolling update (KEP-1669).
		pick = terminatingOf
		e.eps = mergeEndpoints(slices, pick)
	}
	e.headless = svc.headless
	if e.headless {
		// Spec §2.4.1: no ready endpoints means the name does not exist.
		if len(e.eps) == 0 {
			return nil
		}
		e.setEndpoints(e.eps, o)
		if o.zonal || o.clientZoneFirst {
			e.zones = zoneEntries(e, slices, pick, o)
		}
		return e
	}
	if o.ignoreEmptyServices && len(e.eps) == 0 {
		return nil
	}
	for _, ip := range svc.clusterIPs {
		e.addAddr(ip)
	}
	e.ports = svc.ports
	return e
}

// setEndpoints makes eps the endpoints of a headless entry, whose name
// answers their distinct addresses.
func (e *svcEntry) setEndpoints(eps []*sliceEndpoint, o buildOptions) {
	e.eps = eps
	if o.maxAnswers > 0 {
		e.rot = &rotation{}
	}
	seen := make(map[netip.Addr]struct{}, len(eps))
	for _, ep := range eps {
		if _, dup := seen[ep.addr]; !dup {
			seen[ep.addr] = struct{}{}
			e.addAddr(ep.addr)
		}
	}
}

// readyOf and terminatingOf pick the ready, or the serving terminating,
// endpoints of a slice, with their zones.
func readyOf(s *endpointSlice) ([]sliceEndpoint, []string) { return s.eps, s.zones }

func terminatingOf(s *endpointSlice) ([]sliceEndpoint, []string) {
	return s.terminating, s.termZones
}

// zoneEntries groups the endpoints pick chooses by their topology zone and
// builds a headless entry for each zone of service entry e; endpoints
// without a zone are in none. Nil when no endpoint has a zone.
func zoneEntries(e *svcEntry, slices_ []*endpointSlice, pick func(*endpointSlice) ([]sliceEndpoint, []string), o buildOptions) map[string]*zoneEntry {
	var byZone map[string][]*sliceEndpoint
	for _, s := range slices_ {
		eps, zones := pick(s)
		for i, z := range zones {
			if z == "" {
				continue
			}
			if byZone == nil {
				byZone = make(map[string][]*sliceEndpoint)
			}
			byZone[z] = append(byZone[z], &eps[i])
		}
	}
	if byZone == nil {
		return nil
	}
	out := make(map[string]*zoneEntry, len(byZone))
	for z, eps := range byZone {
		ze := &zoneEntry{svcEntry: &svcEntry{base: e.base, headless: true}}
		ze.setEndpoints(sortEndpoints(eps), o)
		if o.clientZoneFirst {
			ze.first4, ze.first6 = zoneFirst(e, ze.svcEntry)
		}
		out[z] = ze
	}
	return out
}

// addAddr appends ip to the packed address list of its family.
func (e *svcEntry) addAddr(ip netip.Addr) {
	if ip.Is4() {
		b := ip.As4()
		e.a4 = append(e.a4, b[:]...)
	} else {
		b := ip.As16()
		e.a6 = append(e.a6, b[:]...)
	}
}

// mergeEndpoints merges the endpoints pick chooses of all slices, drops
// duplicates (the same address under the same name, as during slice
// rebalancing) and sorts them by name, then address, so names can be found
// by binary search.
func mergeEndpoints(slices_ []*endpointSlice, pick func(*endpointSlice) ([]sliceEndpoint, []string)) []*sliceEndpoint {
	n := 0
	for _, s := range slices_ {
		picked, _ := pick(s)
		n += len(picked)
	}
	if n == 0 {
		return nil
	}
	eps := make([]*sliceEndpoint, 0, n)
	for _, s := range slices_ {
		picked, _ := pick(s)
		for i := range picked {
			eps = append(eps, &picked[i])
		}
	}
	return sortEndpoints(eps)
}

// sortEndpoints sorts endpoints by cluster (imported slices), name, then
// address, and drops duplicates.
func sortEndpoints(eps []*sliceEndpoint) []*sliceEndpoint {
	slices.SortFunc(eps, compareEndpoints)
	return slices.CompactFunc(eps, func(a, b *sliceEndpoint) bool {
		return a.name == b.name && a.addr == b.addr && a.cluster() == b.cluster()
	})
}

func compareEndpoints(a, b *sliceEndpoint) int {
	return compareEndpointKey(a, endpointKey{cluster: b.cluster(), name: b.name, addr: b.addr})
}

// endpointKey is what endpoints are sorted by.
type endpointKey struct {
	cluster, name string
	addr          netip.Addr
}

func compareEndpointKey(ep *sliceEndpoint, k endpointKey) int {
	if c := cmp.Compare(ep.cluster(), k.cluster); c != 0 {
		return c
	}
	if c := cmp.Compare(ep.name, k.name); c != 0 {
		return c
	}
	return ep.addr.Compare(k.addr)
}

// cluster is the cluster of an imported slice's endpoint; "" for a Service's.
func (ep *sliceEndpoint) cluster() string {
	if ep.slice == nil {
		return ""
	}
	return ep.slice.cluster
}

// endpointLabel is the DNS label of an endpoint: its name or dashed address.
func endpointLabel(ep *sliceEndpoint) string {
	if ep.name != "" {
		return ep.name
	}
	return dnsname.Dashed(ep.addr)
}

// endpointOwner is an endpoint's name relative to its service's:
// its label, followed for an imported endpoint by its cluster's
// (<host>.<cluster>.<svc>.<ns>.svc, KEP-1645).
func endpointOwner(ep *sliceEndpoint) string {
	if c := ep.cluster(); c != "" {
		return endpointLabel(ep) + "." + c
	}
	return endpointLabel(ep)
}

// findEndpoints returns the endpoints of cluster ("" for a Service's) whose
// label is label: those with that name, or, when label is a dashed address,
// the unnamed ones with that address.
func (e *svcEntry) findEndpoints(cluster, label string) []*sliceEndpoint {
	if label == "" {
		return nil
	}
	// The zero address sorts before every other: i is the first endpoint
	// with this cluster and name.
	i, _ := slices.BinarySearchFunc(e.eps, endpointKey{cluster: cluster, name: label}, compareEndpointKey)
	j := i
	for j < len(e.eps) && e.eps[j].name == label && e.eps[j].cluster() == cluster {
		j++
	}
	if j > i {
		return e.eps[i:j]
	}
	addr, ok := dnsname.ParseDashed(label)
	if !ok || dnsname.Dashed(addr) != label {
		return nil
	}
	i, found := slices.BinarySearchFunc(e.eps, endpointKey{cluster: cluster, addr: addr}, compareEndpointKey)
	if !found {
		return nil
	}
	return e.eps[i : i+1]
}

// hasCluster reports whether an endpoint of cluster exists, which makes
// <cluster>.<svc> of an import an empty non-terminal.
func (e *svcEntry) hasCluster(cluster string) bool {
	return slices.ContainsFunc(e.eps, func(ep *sliceEndpoint) bool { return ep.cluster() == cluster })
}

// hasProto reports whether a named port with protocol proto exists, which
// makes _<proto>.<svc> an empty non-terminal.
func (e *svcEntry) hasProto(proto string) bool {
	if !e.headless {
		return slices.ContainsFunc(e.ports, func(p slicePort) bool { return p.name != "" && p.proto == proto })
	}
	for _, ep := range e.eps {
		if slices.ContainsFunc(ep.slice.ports, func(p slicePort) bool { return p.name != "" && p.proto == proto }) {
			return true
		}
	}
	return false
}

// packedIPs returns the addresses of a packed list as net.IPs that share its
// storage (no allocation per address).
func packedIPs(packed []byte, size int) []net.IP {
	ips := make([]net.IP, 0, len(packed)/size)
	for i := 0; i+size <= len(packed); i += size {
		ips = append(ips, net.IP(packed[i:i+size:i+size]))
	}
	return ips
}

// lower is strings.ToLower; Kubernetes names are already lower case, so it
// rarely allocates.
func lower(s string) string { return strings.ToLower(s) }

// srvTarget is one SRV record to answer: a port of the service name (eps
// nil), or of an endpoint name (eps: every endpoint with that name).
type srvTarget struct {
	port uint16
	eps  []*sliceEndpoint
}

// srvTargets returns the SRV records of _<portName>._<proto>.<svc>, or with
// both empty of the bare service name, which carries every port, named or
// not. Records are distinct by (target, port), so weights can be shared out
// over what is answered.
func (e *svcEntry) srvTargets(portName, proto string) []srvTarget {
	all := portName == "" && proto == ""
	match := func(p slicePort) bool {
		return all || (p.name != "" && p.name == portName && p.proto == proto)
	}
	var out []srvTarget
	if !e.headless {
		for _, p := range e.ports {
			if match(p) && !slices.ContainsFunc(out, func(t srvTarget) bool { return t.port == p.port }) {
				out = append(out, srvTarget{port: p.port})
			}
		}
		return out
	}
	// Endpoints are sorted by cluster and name: those sharing both are
	// adjacent and form one target.
	for i := 0; i < len(e.eps); {
		j := i + 1
		if e.eps[i].name != "" {
			for j < len(e.eps) && e.eps[j].name == e.eps[i].name && e.eps[j].cluster() == e.eps[i].cluster() {
				j++
			}
		}
		group, start := e.eps[i:j], len(out)
		for _, ep := range group {
			for _, p := range ep.slice.ports {
				if match(p) && !slices.ContainsFunc(out[start:], func(t srvTarget) bool { return t.port == p.port }) {
					out = append(out, srvTarget{port: p.port, eps: group})
				}
			}
		}
		i = j
	}
	return out
}
