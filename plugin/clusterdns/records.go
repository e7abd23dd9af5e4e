package clusterdns

import (
	"net"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// node is everything one owner name holds. Nodes are immutable once published;
// an empty node is an empty non-terminal (it exists, but holds no records).
type node struct {
	a, aaaa []net.IP    // address records
	srv     []srvRecord // SRV records, de-duplicated, weights set
	cname   string      // ExternalName target, an absolute name; "" if none
}

// entNode marks a name that exists only because names below it do.
var entNode = &node{}

// srvRecord is one SRV record with its glue.
type srvRecord struct {
	port    uint16
	weight  uint16
	target  string // relative to the zone, lower case
	a, aaaa []net.IP
}

// ptrRecord is one PTR target of an address.
type ptrRecord struct {
	target    string // relative to the zone, lower case
	service   string // the owning service's relative name
	clusterIP bool   // the address is the service's ClusterIP, not an endpoint
}

// addrPTR ties a ptrRecord to its address while a service's records are built.
type addrPTR struct {
	addr netip.Addr
	ptrRecord
}

// serviceRecords is every name and PTR one Service contributes to the index.
type serviceRecords struct {
	key       string // "<ns>/<svc>", the store key of the service
	namespace string
	names     map[string]*node
	ptrs      []addrPTR
}

// ownerAddr de-duplicates addresses per owner name while records are built.
type ownerAddr struct {
	owner string
	addr  netip.Addr
}

// buildOptions are the configuration bits that change how records are built.
type buildOptions struct {
	endpointPodNames    bool
	ignoreEmptyServices bool
}

// endpointAddr is one ready address of an EndpointSlice with its DNS name and
// the ports of its slice.
type endpointAddr struct {
	name  string
	addr  netip.Addr
	ports []slicePort
}

// slicePort is a port of an EndpointSlice (or Service) as DNS needs it.
type slicePort struct {
	name  string // lower case, "" if unnamed
	proto string // lower case: tcp, udp or sctp
	port  uint16
}

// serviceName returns the relative owner name of a service, "<svc>.<ns>.svc".
func serviceName(namespace, name string) string {
	return strings.ToLower(name) + "." + strings.ToLower(namespace) + ".svc"
}

// buildService computes the records of one Service from it and its
// EndpointSlices. It is pure: the same objects always give the same records.
func buildService(svc *corev1.Service, slices []*discoveryv1.EndpointSlice, o buildOptions) *serviceRecords {
	base := serviceName(svc.Namespace, svc.Name)
	r := &serviceRecords{names: make(map[string]*node)}

	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		// An ExternalName that looks like an IP is not a host name: it is not
		// served at all (Kubernetes docs, Service "ExternalName" caveat).
		target := strings.ToLower(strings.TrimSuffix(svc.Spec.ExternalName, "."))
		if target == "" || !validName(target) {
			return r
		}
		if _, err := netip.ParseAddr(target); err == nil {
			return r
		}
		r.names[base] = &node{cname: target + "."}
		return r
	}

	eps := readyEndpoints(slices, o)
	headless := isHeadless(svc)
	seen := make(map[ownerAddr]struct{})
	add := func(owner string, ip netip.Addr) bool {
		k := ownerAddr{owner, ip}
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
		n := r.names[owner]
		if n == nil {
			n = &node{}
			r.names[owner] = n
		}
		if ip.Is4() {
			n.a = append(n.a, net.IP(ip.AsSlice()))
		} else {
			n.aaaa = append(n.aaaa, net.IP(ip.AsSlice()))
		}
		return true
	}
	switch {
	case headless:
		// Spec §2.4.1: no ready endpoints means the name does not exist.
		if len(eps) == 0 {
			return r
		}
		for _, ep := range eps {
			add(base, ep.addr)
		}
	default:
		if o.ignoreEmptyServices && len(eps) == 0 {
			return r
		}
		r.names[base] = &node{}
		for _, ip := range clusterIPs(svc) {
			if add(base, ip) {
				r.ptrs = append(r.ptrs, addrPTR{ip, ptrRecord{target: base, service: base, clusterIP: true}})
			}
		}
	}

	// Endpoint names resolve under every kind of service (a CoreDNS extension
	// kept for drop-in compatibility), and every ready endpoint has a PTR.
	for _, ep := range eps {
		owner := ep.name + "." + base
		if add(owner, ep.addr) {
			r.ptrs = append(r.ptrs, addrPTR{ep.addr, ptrRecord{target: owner, service: base}})
		}
	}

	// SRV: the bare service name carries one record per port (named or not);
	// _<port>._<proto> carries the named ones (spec §2.3.2, §2.4.2).
	srvs := make(map[string][]srvRecord)
	addSRV := func(p slicePort, target string) {
		srvs[base] = append(srvs[base], srvRecord{port: p.port, target: target})
		if p.name != "" {
			owner := "_" + p.name + "._" + p.proto + "." + base
			srvs[owner] = append(srvs[owner], srvRecord{port: p.port, target: target})
		}
	}
	if headless {
		for _, ep := range eps {
			for _, p := range ep.ports {
				addSRV(p, ep.name+"."+base)
			}
		}
	} else {
		for _, p := range servicePorts(svc) {
			addSRV(p, base)
		}
	}
	for owner, recs := range srvs {
		recs = finishSRV(recs, r.names)
		n := r.names[owner]
		if n == nil {
			n = &node{}
			r.names[owner] = n
			// _<proto>.<svc> is an empty non-terminal (RFC 8020: NODATA).
			if ent := owner[strings.IndexByte(owner, '.')+1:]; r.names[ent] == nil {
				r.names[ent] = entNode
			}
		}
		n.srv = recs
	}
	return r
}

// finishSRV de-duplicates records by (target, port), then sets the weights
// over what remains (RFC 2782: equal priority, shares of 100) and the glue.
func finishSRV(recs []srvRecord, names map[string]*node) []srvRecord {
	type key struct {
		target string
		port   uint16
	}
	seen := make(map[key]struct{}, len(recs))
	out := recs[:0]
	for _, r := range recs {
		k := key{r.target, r.port}
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			out = append(out, r)
		}
	}
	weight := uint16(max(1, 100/len(out)))
	for i := range out {
		out[i].weight = weight
		if t := names[out[i].target]; t != nil {
			out[i].a, out[i].aaaa = t.a, t.aaaa
		}
	}
	return out[:len(out):len(out)]
}

// isHeadless reports whether a Service has no ClusterIP.
func isHeadless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == corev1.ClusterIPNone ||
		(len(svc.Spec.ClusterIPs) > 0 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone)
}

// clusterIPs returns the parsed ClusterIPs of a service (spec.clusterIPs, or
// spec.clusterIP on objects written before dual-stack).
func clusterIPs(svc *corev1.Service) []netip.Addr {
	raw := svc.Spec.ClusterIPs
	if len(raw) == 0 && svc.Spec.ClusterIP != "" {
		raw = []string{svc.Spec.ClusterIP}
	}
	ips := make([]netip.Addr, 0, len(raw))
	for _, s := range raw {
		if ip, err := netip.ParseAddr(s); err == nil {
			ips = append(ips, ip.Unmap())
		}
	}
	return ips
}

// servicePorts returns the ports of a Service that SRV records can name.
func servicePorts(svc *corev1.Service) []slicePort {
	ports := make([]slicePort, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		if p.Port <= 0 || p.Port > 65535 {
			continue
		}
		ports = append(ports, slicePort{name: strings.ToLower(p.Name), proto: protoName(string(p.Protocol)), port: uint16(p.Port)})
	}
	return ports
}

// readyEndpoints returns the ready addresses of all slices, each with its
// DNS name. Slices of another address type than IPv4/IPv6 (the deprecated
// FQDN type) and addresses that do not parse or fit the slice are skipped.
func readyEndpoints(slices []*discoveryv1.EndpointSlice, o buildOptions) []endpointAddr {
	var eps []endpointAddr
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		var ports []slicePort
		for _, p := range s.Ports {
			if p.Port == nil || *p.Port <= 0 || *p.Port > 65535 {
				continue
			}
			name, proto := "", "TCP"
			if p.Name != nil {
				name = *p.Name
			}
			if p.Protocol != nil {
				proto = string(*p.Protocol)
			}
			ports = append(ports, slicePort{name: strings.ToLower(name), proto: protoName(proto), port: uint16(*p.Port)})
		}
		for i := range s.Endpoints {
			e := &s.Endpoints[i]
			// Only "ready" gates DNS; unset means ready (discovery/v1 API).
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				ip = ip.Unmap()
				if ip.Is4() != (s.AddressType == discoveryv1.AddressTypeIPv4) {
					continue
				}
				eps = append(eps, endpointAddr{name: endpointName(e, ip, o), addr: ip, ports: ports})
			}
		}
	}
	return eps
}

// endpointName picks an endpoint's DNS label: its hostname, else (with
// endpoint_pod_names) its pod's name, else its address with dashes.
func endpointName(e *discoveryv1.Endpoint, ip netip.Addr, o buildOptions) string {
	if e.Hostname != nil && validLabel(*e.Hostname) {
		return strings.ToLower(*e.Hostname)
	}
	if o.endpointPodNames && e.TargetRef != nil && validLabel(e.TargetRef.Name) {
		return strings.ToLower(e.TargetRef.Name)
	}
	return dashedIP(ip)
}

// dashedIP is the system-assigned endpoint name: 10.0.0.1 -> 10-0-0-1,
// fd00::1 -> fd00--1, and a trailing "::" gets a 0 so the label does not end
// in a dash (fd00:: -> fd00--0), as CoreDNS names them.
func dashedIP(ip netip.Addr) string {
	s := ip.String()
	if ip.Is4() {
		return strings.ReplaceAll(s, ".", "-")
	}
	s = strings.ReplaceAll(s, ":", "-")
	if strings.HasSuffix(s, "-") {
		s += "0"
	}
	return s
}

// protoName lower-cases a protocol for the _<proto> label.
func protoName(p string) string {
	switch p {
	case "TCP", "":
		return "tcp"
	case "UDP":
		return "udp"
	case "SCTP":
		return "sctp"
	}
	return strings.ToLower(p)
}

// validLabel reports whether s can be a single DNS label of an owner name.
func validLabel(s string) bool {
	return len(s) > 0 && len(s) < 64 && !strings.ContainsAny(s, ". \\")
}

// validName reports whether s (without trailing dot) is a usable host name.
func validName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !validLabel(label) {
			return false
		}
	}
	return true
}
