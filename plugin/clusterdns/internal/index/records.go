package index

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"unique"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
)

// ServiceKey names a service: lower-case name and namespace.
type ServiceKey struct {
	Name, Namespace string
}

// Entry is everything the index holds about one served Service; the
// names below it (endpoints, _port._proto) are derived from it when asked.
// Entries are immutable once published.
type Entry struct {
	Owner     string // "<svc>.<ns>.svc", the owner name relative to the zone
	CNAME     string // ExternalName target, absolute; "" if none
	Headless  bool   // no ClusterIP: the name answers the endpoints
	A4, A6    []byte // addresses answered at the service name, packed 4 or 16 bytes each
	Ports     []Port // the Service's ports (ClusterIP services)
	Endpoints []*Endpoint
	Rotation  *Rotation // where capped answers start; nil without max_answers
	// Zones are the entries of the zone-scoped names of a headless service
	// (`zonal`): its endpoints in each topology zone, by lower-case zone.
	Zones map[string]*ZoneEntry
	// Topology holds, with `traffic_distribution`, the endpoints a client
	// on each node or in each zone is answered (topology.go); nil when
	// the endpoints' hints never narrow the answer.
	Topology *Topology
	// owned is the service's owner record in the reverse table, which
	// the writer hands on from entry to entry of one service.
	owned *ownedBy
}

// ZoneEntry is a headless service's entry for one topology zone.
type ZoneEntry struct {
	*Entry                // the endpoints in the zone
	First4, First6 []byte // with client_zone_first: all the service's addresses, the zone's first
}

// Port is a port of an EndpointSlice (or Service) as DNS needs it.
type Port struct {
	Name   string // lower case, "" if unnamed
	Proto  string // lower case: tcp, udp or sctp
	Number uint16
}

// Service is what an entry is built from of a Service, or of a
// ServiceImport in a multicluster zone.
type Service struct {
	Invalid      bool         // its name or namespace is not a DNS label: never served
	ExternalName string       // the target of an ExternalName service, else ""
	Headless     bool         // clusterIP None
	Selector     bool         // has a selector: its slices come from the EndpointSlice controller
	ClusterIPs   []netip.Addr // parsed, distinct
	Ports        []Port       // ports that SRV records can name
}

// Slice is what entries are built from of an EndpointSlice: its
// service, ports and ready endpoints. What only some options or some
// slices have waits behind Extra, so the common slice stays small: there
// is one per EndpointSlice of the cluster.
type Slice struct {
	Service string // the kubernetes.io/service-name label (multicluster: or the import's name)
	Ports   []Port // ports that SRV records can name
	Ready   []Endpoint
	// Extra is nil unless the slice has one of its fields; read them
	// through the methods of Slice, which return their zero values then.
	Extra *SliceExtra
}

// SliceExtra holds the fields of a Slice that are empty for nearly every
// slice of a cluster.
type SliceExtra struct {
	// Cluster is, for a slice an MCS implementation derived for a
	// ServiceImport (`multicluster`), the cluster its endpoints are in;
	// "" for the slices of a Service.
	Cluster string
	// Terminating are the endpoints that are not ready but still serving
	// while they terminate, kept only with `fallback_terminating`: they
	// answer when no endpoint of the service is ready.
	Terminating []Endpoint
	// Zones and TermZones are the lower-case topology zones of Ready and
	// of Terminating, index for index ("" for none), kept only with
	// `zonal`; nil when no endpoint of the slice has a zone.
	Zones, TermZones []string
	// Hints are the topology hints of Ready, index for index (the zero
	// handle: none), kept only with `traffic_distribution`; nil when no
	// ready endpoint has one.
	Hints []unique.Handle[Hint]
	// Names holds the names of the slice's endpoints one after another
	// (EndpointNames); "" when none has one.
	Names string
}

// Cluster returns the slice's SliceExtra.Cluster.
func (s *Slice) Cluster() string {
	if s.Extra == nil {
		return ""
	}
	return s.Extra.Cluster
}

// Terminating returns the slice's SliceExtra.Terminating.
func (s *Slice) Terminating() []Endpoint {
	if s.Extra == nil {
		return nil
	}
	return s.Extra.Terminating
}

// Zones returns the slice's SliceExtra.Zones.
func (s *Slice) Zones() []string {
	if s.Extra == nil {
		return nil
	}
	return s.Extra.Zones
}

// TermZones returns the slice's SliceExtra.TermZones.
func (s *Slice) TermZones() []string {
	if s.Extra == nil {
		return nil
	}
	return s.Extra.TermZones
}

// Hints returns the slice's SliceExtra.Hints.
func (s *Slice) Hints() []unique.Handle[Hint] {
	if s.Extra == nil {
		return nil
	}
	return s.Extra.Hints
}

// Endpoint is one address of a slice. Endpoints are the largest array of
// a cluster's state: 32 bytes each.
type Endpoint struct {
	// Addr16 is the address in 16 bytes, IPv4 in its IPv4-mapped form:
	// two thirds of a netip.Addr. Addr returns it as a netip.Addr.
	Addr16 AddrKey
	Slice  *Slice // for its ports, cluster and name
	// nameAt and nameLen place its name in its slice's SliceExtra.Names;
	// nameLen is 0 when it has none. A string of its own would cost 16
	// bytes here and an allocation.
	nameAt, nameLen uint32
}

// Name returns the endpoint's hostname, or pod name with
// endpoint_pod_names; "" for none (its name is the dashed address).
func (ep *Endpoint) Name() string {
	if ep.nameLen == 0 {
		return ""
	}
	return ep.Slice.Extra.Names[ep.nameAt : ep.nameAt+ep.nameLen]
}

// EndpointNames makes the endpoints of one slice, collecting their names
// into the one string they are read from (SliceExtra.Names).
type EndpointNames struct {
	buf    []byte
	lastAt int // where the last name added starts
}

// Endpoint returns an endpoint of slice s at address a, named name ("" for
// none). Its name reads once String is stored in s's SliceExtra.Names.
func (n *EndpointNames) Endpoint(s *Slice, a netip.Addr, name string) Endpoint {
	ep := Endpoint{Addr16: KeyOf(a), Slice: s}
	if name == "" {
		return ep
	}
	// The addresses of one endpoint come one after another and share
	// its name.
	if n.buf == nil || string(n.buf[n.lastAt:]) != name {
		n.lastAt = len(n.buf)
		n.buf = append(n.buf, name...)
	}
	ep.nameAt, ep.nameLen = uint32(n.lastAt), uint32(len(name))
	return ep
}

// String returns the names collected, for SliceExtra.Names.
func (n *EndpointNames) String() string { return string(n.buf) }

// Addr returns the endpoint's address.
func (ep *Endpoint) Addr() netip.Addr { return netip.AddrFrom16(ep.Addr16).Unmap() }

// BuildOptions are the configuration bits that change how entries are built.
type BuildOptions struct {
	IgnoreEmptyServices bool
	MaxAnswers          int  // `max_answers`; 0: answers are not capped
	FallbackTerminating bool // no ready endpoint: serve the serving, terminating ones
	Zonal               bool // build the zone-scoped entries of headless services
	ClientZoneFirst     bool // and each zone's order of all addresses
	TrafficDistribution bool // build the endpoints each node and zone prefers (topology.go)
}

// Build computes the index entry of one Service from it and its slim
// EndpointSlices, or nil when the Service has no name in DNS. It is pure:
// the same objects always give the same entry.
func Build(k ServiceKey, svc *Service, slices []*Slice, o BuildOptions) *Entry {
	if svc.Invalid {
		return nil
	}
	e := &Entry{Owner: dnsname.ServiceOwner(k.Namespace, k.Name)}
	if svc.ExternalName != "" {
		// An ExternalName that looks like an IP is not a host name: it is not
		// served at all (Kubernetes docs, Service "ExternalName" caveat).
		target := strings.ToLower(strings.TrimSuffix(svc.ExternalName, "."))
		if !dnsname.ValidHost(target) {
			return nil
		}
		if _, err := netip.ParseAddr(target); err == nil {
			return nil
		}
		e.CNAME = target + "."
		return e
	}

	pick, ready := readyOf, true
	e.Endpoints = mergeEndpoints(slices, pick)
	if len(e.Endpoints) == 0 && o.FallbackTerminating {
		// As kube-proxy does for traffic: while no endpoint is ready, those
		// still serving as they terminate stand in, so a small StatefulSet's
		// names do not vanish during a rolling update (KEP-1669).
		pick, ready = terminatingOf, false
		e.Endpoints = mergeEndpoints(slices, pick)
	}
	e.Headless = svc.Headless
	if e.Headless {
		// Spec §2.4.1: no ready endpoints means the name does not exist.
		if len(e.Endpoints) == 0 {
			return nil
		}
		e.setEndpoints(e.Endpoints, o)
		if o.Zonal || o.ClientZoneFirst {
			e.Zones = zoneEntries(e, slices, pick, o)
		}
		if o.TrafficDistribution && ready {
			// kube-proxy reads hints of ready endpoints only: the
			// terminating ones that stand in are all answered.
			e.Topology = topologyOf(e, slices, o)
		}
		return e
	}
	if o.IgnoreEmptyServices && len(e.Endpoints) == 0 {
		return nil
	}
	for _, ip := range svc.ClusterIPs {
		e.addAddr(ip)
	}
	e.Ports = svc.Ports
	return e
}

// setEndpoints makes eps the endpoints of a headless entry, whose name
// answers their distinct addresses.
func (e *Entry) setEndpoints(eps []*Endpoint, o BuildOptions) {
	e.Endpoints = eps
	if o.MaxAnswers > 0 {
		e.Rotation = &Rotation{}
	}
	seen := make(map[netip.Addr]struct{}, len(eps))
	for _, ep := range eps {
		if _, dup := seen[ep.Addr()]; !dup {
			seen[ep.Addr()] = struct{}{}
			e.addAddr(ep.Addr())
		}
	}
}

// readyOf and terminatingOf pick the ready, or the serving terminating,
// endpoints of a slice, with their zones.
func readyOf(s *Slice) ([]Endpoint, []string) { return s.Ready, s.Zones() }

func terminatingOf(s *Slice) ([]Endpoint, []string) {
	return s.Terminating(), s.TermZones()
}

// zoneEntries groups the endpoints pick chooses by their topology zone and
// builds a headless entry for each zone of service entry e; endpoints
// without a zone are in none. Nil when no endpoint has a zone.
func zoneEntries(e *Entry, endpointSlices []*Slice, pick func(*Slice) ([]Endpoint, []string), o BuildOptions) map[string]*ZoneEntry {
	var byZone map[string][]*Endpoint
	for _, s := range endpointSlices {
		eps, zones := pick(s)
		for i, z := range zones {
			if z == "" {
				continue
			}
			if byZone == nil {
				byZone = make(map[string][]*Endpoint)
			}
			byZone[z] = append(byZone[z], &eps[i])
		}
	}
	if byZone == nil {
		return nil
	}
	out := make(map[string]*ZoneEntry, len(byZone))
	for z, eps := range byZone {
		ze := &ZoneEntry{Entry: &Entry{Owner: e.Owner, Headless: true}}
		ze.setEndpoints(sortEndpoints(eps), o)
		if o.ClientZoneFirst {
			ze.First4, ze.First6 = zoneFirst(e, ze.Entry)
		}
		out[z] = ze
	}
	return out
}

// addAddr appends ip to the packed address list of its family.
func (e *Entry) addAddr(ip netip.Addr) {
	if ip.Is4() {
		b := ip.As4()
		e.A4 = append(e.A4, b[:]...)
	} else {
		b := ip.As16()
		e.A6 = append(e.A6, b[:]...)
	}
}

// mergeEndpoints merges the endpoints pick chooses of all slices, drops
// duplicates (the same address under the same name, as during slice
// rebalancing) and sorts them by name, then address, so names can be found
// by binary search.
func mergeEndpoints(endpointSlices []*Slice, pick func(*Slice) ([]Endpoint, []string)) []*Endpoint {
	n := 0
	for _, s := range endpointSlices {
		picked, _ := pick(s)
		n += len(picked)
	}
	if n == 0 {
		return nil
	}
	eps := make([]*Endpoint, 0, n)
	for _, s := range endpointSlices {
		picked, _ := pick(s)
		for i := range picked {
			eps = append(eps, &picked[i])
		}
	}
	return sortEndpoints(eps)
}

// sortEndpoints sorts endpoints by cluster (imported slices), name, then
// address, and drops duplicates.
func sortEndpoints(eps []*Endpoint) []*Endpoint {
	slices.SortFunc(eps, compareEndpoints)
	return slices.CompactFunc(eps, func(a, b *Endpoint) bool {
		return a.Name() == b.Name() && a.Addr16 == b.Addr16 && a.Cluster() == b.Cluster()
	})
}

func compareEndpoints(a, b *Endpoint) int {
	return compareEndpointKey(a, endpointKey{cluster: b.Cluster(), name: b.Name(), addr: b.Addr()})
}

// endpointKey is what endpoints are sorted by.
type endpointKey struct {
	cluster, name string
	addr          netip.Addr
}

func compareEndpointKey(ep *Endpoint, k endpointKey) int {
	if c := cmp.Compare(ep.Cluster(), k.cluster); c != 0 {
		return c
	}
	if c := cmp.Compare(ep.Name(), k.name); c != 0 {
		return c
	}
	return ep.Addr().Compare(k.addr)
}

// Cluster is the Cluster of an imported slice's endpoint; "" for a Service's.
func (ep *Endpoint) Cluster() string {
	if ep.Slice == nil {
		return ""
	}
	return ep.Slice.Cluster()
}

// EndpointLabel is the DNS label of an endpoint: its name or dashed address.
func EndpointLabel(ep *Endpoint) string {
	if name := ep.Name(); name != "" {
		return name
	}
	return dnsname.Dashed(ep.Addr())
}

// EndpointOwner is an endpoint's name relative to its service's:
// its label, followed for an imported endpoint by its cluster's
// (<host>.<cluster>.<svc>.<ns>.svc, KEP-1645).
func EndpointOwner(ep *Endpoint) string {
	if c := ep.Cluster(); c != "" {
		return EndpointLabel(ep) + "." + c
	}
	return EndpointLabel(ep)
}

// FindEndpoints returns the endpoints of cluster ("" for a Service's) whose
// label is label: those with that name, or, when label is a dashed address,
// the unnamed ones with that address.
func (e *Entry) FindEndpoints(cluster, label string) []*Endpoint {
	if label == "" {
		return nil
	}
	// The zero address sorts before every other: i is the first endpoint
	// with this cluster and name.
	i, _ := slices.BinarySearchFunc(e.Endpoints, endpointKey{cluster: cluster, name: label}, compareEndpointKey)
	j := i
	for j < len(e.Endpoints) && e.Endpoints[j].Name() == label && e.Endpoints[j].Cluster() == cluster {
		j++
	}
	if j > i {
		return e.Endpoints[i:j]
	}
	addr, ok := dnsname.ParseDashed(label)
	if !ok || dnsname.Dashed(addr) != label {
		return nil
	}
	i, found := slices.BinarySearchFunc(e.Endpoints, endpointKey{cluster: cluster, addr: addr}, compareEndpointKey)
	if !found {
		return nil
	}
	return e.Endpoints[i : i+1]
}

// HasCluster reports whether an endpoint of cluster exists, which makes
// <cluster>.<svc> of an import an empty non-terminal.
func (e *Entry) HasCluster(cluster string) bool {
	return slices.ContainsFunc(e.Endpoints, func(ep *Endpoint) bool { return ep.Cluster() == cluster })
}

// HasProto reports whether a named port with protocol proto exists, which
// makes _<proto>.<svc> an empty non-terminal.
func (e *Entry) HasProto(proto string) bool {
	if !e.Headless {
		return slices.ContainsFunc(e.Ports, func(p Port) bool { return p.Name != "" && p.Proto == proto })
	}
	for _, ep := range e.Endpoints {
		if slices.ContainsFunc(ep.Slice.Ports, func(p Port) bool { return p.Name != "" && p.Proto == proto }) {
			return true
		}
	}
	return false
}

// PackedIPs returns the addresses of a packed list as net.IPs that share its
// storage (no allocation per address).
func PackedIPs(packed []byte, size int) []net.IP {
	ips := make([]net.IP, 0, len(packed)/size)
	for i := 0; i+size <= len(packed); i += size {
		ips = append(ips, net.IP(packed[i:i+size:i+size]))
	}
	return ips
}

// SRVTarget is one SRV record to answer: a port of the service name (eps
// nil), or of an endpoint name (eps: every endpoint with that name).
type SRVTarget struct {
	Port      uint16
	Endpoints []*Endpoint
}

// SRVTargets returns the SRV records of _<portName>._<proto>.<svc>, or with
// both empty of the bare service name, which carries every port, named or
// not. Records are distinct by (target, port), so weights can be shared out
// over what is answered.
func (e *Entry) SRVTargets(portName, proto string) []SRVTarget {
	return e.appendSRVTargets(nil, portName, proto)
}

// appendSRVTargets appends the records SRVTargets returns to dst.
func (e *Entry) appendSRVTargets(dst []SRVTarget, portName, proto string) []SRVTarget {
	e.eachSRVTarget(portName, proto, func(t SRVTarget) { dst = append(dst, t) })
	return dst
}

// CountSRVTargets returns how many records SRVTargets would return, without
// building them.
func (e *Entry) CountSRVTargets(portName, proto string) int {
	n := 0
	e.eachSRVTarget(portName, proto, func(SRVTarget) { n++ })
	return n
}

// SRVTargetWindow appends to dst (which may be a caller's array, so that
// a small answer allocates nothing here) a window of SRVTargets(portName,
// proto), whose count n (CountSRVTargets) the caller knows, building only
// the window: with k <= 0, a nil counter or no more than k records, all of
// them; else k of them from the counter's next start, wrapping around, as
// the addresses of a capped answer are taken (PackedWindow).
func (e *Entry) SRVTargetWindow(dst []SRVTarget, portName, proto string, n, k int, ctr *atomic.Uint32) []SRVTarget {
	if ctr == nil || k <= 0 || n <= k {
		return e.appendSRVTargets(dst, portName, proto)
	}
	off := windowStart(ctr, k, n)
	wrapped := off + k - n // records taken from the start; <= 0: none
	grown := slices.Grow(dst, k)[:len(dst)+k]
	out := grown[len(dst):]
	i := 0
	e.eachSRVTarget(portName, proto, func(t SRVTarget) {
		switch {
		case i >= off && i < off+k:
			out[i-off] = t
		case i < wrapped:
			out[n-off+i] = t
		}
		i++
	})
	return grown
}

// eachSRVTarget calls fn with each record SRVTargets returns, in order.
func (e *Entry) eachSRVTarget(portName, proto string, fn func(SRVTarget)) {
	all := portName == "" && proto == ""
	match := func(p Port) bool {
		return all || (p.Name != "" && p.Name == portName && p.Proto == proto)
	}
	if !e.Headless {
		for i, p := range e.Ports {
			if match(p) && !slices.ContainsFunc(e.Ports[:i], func(q Port) bool { return match(q) && q.Number == p.Number }) {
				fn(SRVTarget{Port: p.Number})
			}
		}
		return
	}
	// Endpoints are sorted by cluster and name: those sharing both are
	// adjacent and form one target, once per port number.
	for i := 0; i < len(e.Endpoints); {
		j := i + 1
		if name := e.Endpoints[i].Name(); name != "" {
			for j < len(e.Endpoints) && e.Endpoints[j].Name() == name && e.Endpoints[j].Cluster() == e.Endpoints[i].Cluster() {
				j++
			}
		}
		group := e.Endpoints[i:j]
		for g, ep := range group {
			for pi, p := range ep.Slice.Ports {
				if match(p) && !groupHasPort(group[:g], ep.Slice.Ports[:pi], p.Number, match) {
					fn(SRVTarget{Port: p.Number, Endpoints: group})
				}
			}
		}
		i = j
	}
}

// groupHasPort reports whether a matching port numbered n was seen before:
// among the ports of the earlier endpoints of a group, or the earlier ports
// of the current one.
func groupHasPort(earlier []*Endpoint, before []Port, n uint16, match func(Port) bool) bool {
	seen := func(p Port) bool { return p.Number == n && match(p) }
	if slices.ContainsFunc(before, seen) {
		return true
	}
	for _, ep := range earlier {
		if slices.ContainsFunc(ep.Slice.Ports, seen) {
			return true
		}
	}
	return false
}

// zoneFirst returns the addresses of an entry with those of zone z first,
// then the others in their usual order.
func zoneFirst(e, z *Entry) (a4, a6 []byte) {
	in := make(map[netip.Addr]struct{}, len(z.Endpoints))
	for _, ep := range z.Endpoints {
		in[ep.Addr()] = struct{}{}
	}
	a4 = append(make([]byte, 0, len(e.A4)), z.A4...)
	a6 = append(make([]byte, 0, len(e.A6)), z.A6...)
	for _, ip := range Unpack(e.A4, net.IPv4len) {
		if _, ok := in[ip]; !ok {
			a4 = append(a4, ip.AsSlice()...)
		}
	}
	for _, ip := range Unpack(e.A6, net.IPv6len) {
		if _, ok := in[ip]; !ok {
			a6 = append(a6, ip.AsSlice()...)
		}
	}
	return a4, a6
}

// Imported reports whether a slice is one an MCS implementation derived
// for a ServiceImport.
func (s *Slice) Imported() bool { return s.Cluster() != "" }
