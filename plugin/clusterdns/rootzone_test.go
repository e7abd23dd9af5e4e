package clusterdns

import (
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// TestRootZone serves the root zone: names are relative to ".", so
// web.prod.svc. is service web of namespace prod.
func TestRootZone(t *testing.T) {
	cfg := testConfig()
	cfg.zones, cfg.PrimaryZone = []string{"."}, "."
	c := newTestPlugin(t, cfg, fixture.Namespace("prod"), fixture.Service("prod", "web", []string{"10.96.0.20"}, fixture.Port("http", "TCP", 80)))
	runCases(t, c, []test.Case{
		{Qname: "web.prod.svc.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.prod.svc. 5 IN A 10.96.0.20")}},
		{Qname: "Web.Prod.svc.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("Web.Prod.svc. 5 IN A 10.96.0.20")}},
		{Qname: "_http._tcp.web.prod.svc.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{test.SRV("_http._tcp.web.prod.svc. 5 IN SRV 0 100 80 web.prod.svc.")},
			Extra:  []dns.RR{test.A("web.prod.svc. 5 IN A 10.96.0.20")}},
		{Qname: "dns-version.", Qtype: dns.TypeTXT, Answer: []dns.RR{test.TXT("dns-version. 28800 IN TXT 1.1.0")}},
		{Qname: "nope.prod.svc.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(". 5 IN SOA ns.dns. hostmaster. 0 7200 1800 86400 5")}},
	})
}
