package object

import (
	"strings"
	"unique"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// slimHint keeps the node and zone names of an endpoint's topology hints
// (`traffic_distribution`), interned: a cluster has far fewer distinct
// hints (one per zone, or per node) than endpoints. Zones are lower case,
// as the nodes' zone labels are kept; node names are DNS subdomains, lower
// case already. The zero handle stands for no hint.
func slimHint(h *discoveryv1.EndpointHints) unique.Handle[index.Hint] {
	if h == nil {
		return unique.Handle[index.Hint]{}
	}
	var nodes, zones []string
	for _, n := range h.ForNodes {
		if n.Name != "" && !strings.Contains(n.Name, ",") {
			nodes = append(nodes, n.Name)
		}
	}
	for _, z := range h.ForZones {
		if z.Name != "" && !strings.Contains(z.Name, ",") {
			zones = append(zones, strings.ToLower(z.Name))
		}
	}
	if nodes == nil && zones == nil {
		return unique.Handle[index.Hint]{}
	}
	return unique.Make(index.Hint{Nodes: strings.Join(nodes, ","), Zones: strings.Join(zones, ",")})
}

// apiHints returns the API form of a slim hint; nil for none.
func apiHints(h unique.Handle[index.Hint]) *discoveryv1.EndpointHints {
	if h == (unique.Handle[index.Hint]{}) {
		return nil
	}
	out := &discoveryv1.EndpointHints{}
	v := h.Value()
	for n := range strings.SplitSeq(v.Nodes, ",") {
		if n != "" {
			out.ForNodes = append(out.ForNodes, discoveryv1.ForNode{Name: n})
		}
	}
	for z := range strings.SplitSeq(v.Zones, ",") {
		if z != "" {
			out.ForZones = append(out.ForZones, discoveryv1.ForZone{Name: z})
		}
	}
	return out
}

// internName returns a name interned: every pod on a node, every object of
// a namespace, shares one copy of its name.
func internName(n string) string {
	if n == "" {
		return ""
	}
	return unique.Make(n).Value()
}
