package index

import (
	"strings"
	"unique"
)

// The index side of `traffic_distribution`: a Service's
// spec.trafficDistribution reaches the EndpointSlices as hints on each
// endpoint (KEP-4444, KEP-3015), and kube-proxy picks the endpoints of a
// ClusterIP service for the node it runs on from those hints alone. A
// headless service's traffic never meets kube-proxy, so its answer makes
// the same choice for the node of the pod that asks. The choice depends
// only on the client's node and zone, so every possible outcome is built
// here, once per change of the service, and a query only looks one up.

// Hint is the topology hints of one endpoint (discovery/v1 EndpointHints):
// the names of the nodes (forNodes) and of the zones (forZones) it is
// meant for, lower case, each list joined by commas, which no node or zone
// name holds. It is comparable so that slices keep it interned
// (unique.Handle): the endpoints of a zone, or of a node, share one.
type Hint struct {
	Nodes, Zones string
}

// Topology is the answer of a headless service for clients on each node
// and in each zone its endpoints' hints name.
type Topology struct {
	// Nodes is set when every ready endpoint has a forNodes hint: the
	// endpoints hinted for each node named.
	Nodes map[string]*Entry
	// Zones is set when every ready endpoint has a forZones hint: the
	// endpoints hinted for each zone named.
	Zones map[string]*Entry
}

// Pick returns the entry that answers a client on node in zone, or nil
// when the service's whole entry does. It is kube-proxy's rule
// (pkg/proxy/topology.go, topologyModeFromHints): if every endpoint has a
// node hint and one names the client's node, the endpoints for that node;
// else if every endpoint has a zone hint and one names the client's zone,
// the endpoints for that zone; else all of them. Both maps were built only
// when every endpoint has that kind of hint, and hold only names some
// endpoint is hinted for, so two lookups make the rule.
func (t *Topology) Pick(node, zone string) *Entry {
	if s := t.Nodes[node]; s != nil {
		return s
	}
	return t.Zones[zone]
}

// topologyOf builds the Topology of headless entry e from the ready
// endpoints of its slices, nil when no client would get less than all.
// A node's or zone's endpoints that are all of e's answer as e itself,
// sharing its records, as in a cluster of one zone.
func topologyOf(e *Entry, endpointSlices []*Slice, o BuildOptions) *Topology {
	allNodes, allZones := true, true
	for _, s := range endpointSlices {
		for i := range s.Ready {
			h := hintOf(s, i)
			allNodes = allNodes && len(h.Nodes) > 0
			allZones = allZones && len(h.Zones) > 0
		}
	}
	t := &Topology{}
	var byNode, byZone bool
	if allNodes {
		t.Nodes, byNode = subsets(e, endpointSlices, func(h Hint) string { return h.Nodes }, o)
	}
	if allZones {
		t.Zones, byZone = subsets(e, endpointSlices, func(h Hint) string { return h.Zones }, o)
	}
	if !byNode && !byZone {
		// Every client gets all endpoints: no lookup at query time. A
		// node's whole group must stay when the zones narrow, or a client
		// on it would fall through to its zone's group.
		return nil
	}
	return t
}

// hintOf returns the hint of ready endpoint i of slice s.
func hintOf(s *Slice, i int) Hint {
	if hints := s.Hints(); i < len(hints) && hints[i] != (unique.Handle[Hint]{}) {
		return hints[i].Value()
	}
	return Hint{}
}

// subsets groups the ready endpoints of e's slices by each name that
// names(hint) gives them, and builds a headless entry for each name;
// narrower reports whether some group is less than the whole of e.
func subsets(e *Entry, endpointSlices []*Slice, names func(Hint) string, o BuildOptions) (out map[string]*Entry, narrower bool) {
	byName := make(map[string][]*Endpoint)
	for _, s := range endpointSlices {
		for i := range s.Ready {
			for n := range strings.SplitSeq(names(hintOf(s, i)), ",") {
				if n != "" {
					byName[n] = append(byName[n], &s.Ready[i])
				}
			}
		}
	}
	out = make(map[string]*Entry, len(byName))
	for n, eps := range byName {
		eps = sortEndpoints(eps)
		if len(eps) == len(e.Endpoints) {
			// Duplicates dropped, a group as long as the whole is the whole.
			out[n] = e
			continue
		}
		sub := &Entry{Owner: e.Owner, Headless: true}
		sub.setEndpoints(eps, o)
		out[n] = sub
		narrower = true
	}
	return out, narrower
}
