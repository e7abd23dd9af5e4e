package clusterdns

// trafficDistribution reads `traffic_distribution`: headless answers keep
// to the endpoints the EndpointSlice hints give the client's node or zone,
// as kube-proxy does for ClusterIP services (internal/index/topology.go).
// It needs the endpoints and the API's Pods and Nodes, to know where each
// client runs. It composes with the other endpoint options: max_answers
// caps the chosen endpoints, client_zone_first orders them when the hints
// choose all, fallback_terminating answers every terminating endpoint
// when none is ready (kube-proxy ignores hints then too), and zone-scoped
// names (`zonal`) answer the zone they name.
func (p *stanzaParser) trafficDistribution(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 0, 0); err != nil {
		return err
	}
	if err = p.conflict(o.name, "noendpoints", "objects_file"); err == nil {
		p.cfg.TrafficDistribution = true
	}
	return err
}
