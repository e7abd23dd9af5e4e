package object

import (
	"unique"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// slimHint keeps the node and zone names of an endpoint's topology hints
// (`traffic_distribution`), interned: a cluster has far fewer nodes and
// zones than endpoints. Zones are lower case, as the nodes' zone labels
// are kept; node names are DNS subdomains, lower case already.
func slimHint(h *discoveryv1.EndpointHints) index.Hint {
	var out index.Hint
	if h == nil {
		return out
	}
	for _, n := range h.ForNodes {
		if n.Name != "" {
			out.Nodes = append(out.Nodes, internName(n.Name))
		}
	}
	for _, z := range h.ForZones {
		if z.Name != "" {
			out.Zones = append(out.Zones, zoneName(z.Name))
		}
	}
	return out
}

// apiHints returns the API form of a slim hint; nil for none.
func apiHints(h index.Hint) *discoveryv1.EndpointHints {
	if h.Nodes == nil && h.Zones == nil {
		return nil
	}
	out := &discoveryv1.EndpointHints{}
	for _, n := range h.Nodes {
		out.ForNodes = append(out.ForNodes, discoveryv1.ForNode{Name: n})
	}
	for _, z := range h.Zones {
		out.ForZones = append(out.ForZones, discoveryv1.ForZone{Name: z})
	}
	return out
}

// internName returns a node name interned: every pod on a node and every
// endpoint hinted for it then share one copy.
func internName(n string) string {
	if n == "" {
		return ""
	}
	return unique.Make(n).Value()
}
