package answer

import (
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// The answer side of `traffic_distribution`: a headless service's own name
// and its named ports answer the endpoints its hints keep for the client's
// node or zone (index.Topology). The entries were built with the index;
// here a query only finds its client's node.

// local returns the entry that answers the client for service entry e:
// the one e's topology picks for the client's node, else e. An entry
// without a topology (the option off, no hints, a ClusterIP service) costs
// one comparison.
func (l *Lookup) local(e *index.Entry) *index.Entry {
	if e.Topology == nil {
		return e
	}
	a, ok := ClientAddr(l.state.W)
	if !ok {
		return e
	}
	n, ok := l.view.ClientNodes.Get(index.KeyOf(a))
	if !ok {
		return e // not a pod: no node to be near
	}
	if s := e.Topology.Pick(n.Name, n.Zone); s != nil {
		return s
	}
	return e
}

// localAddrs is local for A or AAAA at the service name. kube-proxy
// decides for each IP family apart, so when the chosen endpoints have no
// address of the asked family (a dual-stack service whose nearby members
// are single-stack), all of the service's answer.
func (l *Lookup) localAddrs(e *index.Entry) *index.Entry {
	s := l.local(e)
	if s == e {
		return e
	}
	if l.qtype == dns.TypeA && len(s.A4) == 0 || l.qtype == dns.TypeAAAA && len(s.A6) == 0 {
		return e
	}
	return s
}

// localPort is local for the n SRV records of a port of e (all ports with
// both names empty): the client's endpoints when they have that port,
// else all of e's, as kube-proxy would fall back for a port whose
// endpoints are elsewhere.
func (l *Lookup) localPort(e *index.Entry, port, proto string, n int) (*index.Entry, int) {
	if e.Topology == nil || n == 0 {
		return e, n
	}
	s := l.local(e)
	if s == e {
		return e, n
	}
	if m := s.CountSRVTargets(port, proto); m > 0 {
		return s, m
	}
	return e, n
}
