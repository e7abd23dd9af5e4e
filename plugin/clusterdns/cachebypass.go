package clusterdns

import "github.com/coredns/coredns/plugin/cache"

var _ cache.ZoneBypasser = (*ClusterDNS)(nil)

// CacheBypassZones implements cache.ZoneBypasser. With answers that depend
// on which pod asks (isolate, traffic_distribution, client_zone_first),
// the cache plugin of the server block, which keeps one answer per name
// and type, would give one client's answer to the next: it leaves the
// plugin's zones alone then. The answers come from memory anyway.
func (c *ClusterDNS) CacheBypassZones() []string {
	if c.cfg.Isolate || c.cfg.TrafficDistribution || c.cfg.ClientZoneFirst {
		return c.cfg.zones
	}
	return nil
}
