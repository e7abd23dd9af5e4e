package clusterdns

import (
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/answer"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// clientOf returns the pod a query written to w came from.
func (c *ClusterDNS) clientOf(w dns.ResponseWriter) (index.Client, bool) {
	addr, ok := answer.ClientAddr(w)
	if !ok {
		return index.Client{}, false
	}
	return c.index.Load().Clients.Get(index.KeyOf(addr))
}
