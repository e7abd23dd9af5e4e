package clusterdns

import (
	"strings"

	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
)

// resolvConf is where the server's own search domains come from; pods get
// them after the cluster's (kubelet's ClusterFirst DNS policy), so autopath
// must try them too.
const resolvConf = "/etc/resolv.conf"

// AutoPath implements autopath.AutoPather, so `autopath @clusterdns` can
// complete a pod's search path on the server: a pod with ndots:5 looking up
// api.example.com first asks api.example.com.<ns>.svc.<zone>, and autopath
// answers that one question with what the whole search walk would find.
//
// It returns the search path of the pod the query came from, ending in ""
// (the name as given), or nil, meaning no autopathing: for names outside
// the forward zones, before the caches synced, without `pods verified`
// (only that mode watches pods), and for sources that are no pod's
// address, such as nodes and host-network pods.
func (c *ClusterDNS) AutoPath(state request.Request) []string {
	if state.Req == nil || len(state.Req.Question) != 1 {
		return nil
	}
	zone := dnsname.MatchZone(state.Req.Question[0].Name, c.cfg.zones)
	if zone == "" || dnsname.IsReverseZone(zone) || !c.Ready() {
		return nil
	}
	if c.cfg.PodMode != podsVerified {
		c.warnNoPods("autopath")
		return nil
	}
	client, ok := c.clientOf(state.W)
	if !ok {
		return nil
	}
	if zone == c.cfg.PrimaryZone {
		return client.Search // shared: autopath only reads it
	}
	return dnsname.SearchPath(client.Namespace, zone, c.cfg.HostSearch)
}

// hostSearch reads the search domains of a resolv.conf, fully qualified and
// in lower case; none if it cannot be read.
func hostSearch(path string) []string {
	rc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range rc.Search {
		if s = dns.Fqdn(strings.ToLower(s)); s != "." {
			out = append(out, s)
		}
	}
	return out
}

// warnNoPods logs, once per server, that a feature asked for the pod of a
// query while no pods are watched.
func (c *ClusterDNS) warnNoPods(feature string) {
	if c.warnedNoPods.CompareAndSwap(false, true) {
		log.Warningf("%s needs the client's pod, but pods are only watched with `pods verified`; it does nothing until then", feature)
	}
}
