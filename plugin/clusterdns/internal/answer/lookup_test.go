package answer

import (
	"context"
	"net/netip"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// testView publishes, from plain inputs, a namespace prod with a dual-stack
// ClusterIP service web (named port http/tcp 80) and an ExternalName
// service ext.
func testView(t *testing.T) *index.View {
	t.Helper()
	ix := index.New()
	w := index.NewWriter(ix)
	w.Begin()
	w.SetNamespace("prod", true)
	web := index.ServiceKey{Name: "web", Namespace: "prod"}
	w.SetService(web, index.Build(web, &index.Service{
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10"), netip.MustParseAddr("fd00::10")},
		Ports:      []index.Port{{Name: "http", Proto: "tcp", Number: 80}},
	}, nil, index.BuildOptions{}))
	ext := index.ServiceKey{Name: "ext", Namespace: "prod"}
	w.SetService(ext, index.Build(ext, &index.Service{ExternalName: "example.com"}, nil, index.BuildOptions{}))
	if !w.Commit() {
		t.Fatal("nothing published")
	}
	return ix.Load()
}

// TestRun asks questions of a view built without any Kubernetes object and
// checks the outcome and the records, as the handler would send them.
func TestRun(t *testing.T) {
	o := &Options{Zones: []string{"cluster.local.", "in-addr.arpa."}, PrimaryZone: "cluster.local.", TTL: 5, Pods: PodsDisabled}
	view := testView(t)
	tests := []struct {
		qname string
		qtype uint16
		want  Result
		rrs   []dns.RR
	}{
		{"web.prod.svc.cluster.local.", dns.TypeA, Success, []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		{"Web.Prod.svc.Cluster.Local.", dns.TypeAAAA, Success, []dns.RR{test.AAAA("Web.Prod.svc.Cluster.Local. 5 IN AAAA fd00::10")}},
		{"web.prod.svc.cluster.local.", dns.TypeTXT, NoData, nil},
		{"_http._tcp.web.prod.svc.cluster.local.", dns.TypeSRV, Success, []dns.RR{test.SRV("_http._tcp.web.prod.svc.cluster.local. 5 IN SRV 0 100 80 web.prod.svc.cluster.local.")}},
		{"_http._udp.web.prod.svc.cluster.local.", dns.TypeSRV, NXDomain, nil},
		{"_tcp.web.prod.svc.cluster.local.", dns.TypeA, NoData, nil},
		{"ext.prod.svc.cluster.local.", dns.TypeCNAME, Success, []dns.RR{test.CNAME("ext.prod.svc.cluster.local. 5 IN CNAME example.com.")}},
		{"x.ext.prod.svc.cluster.local.", dns.TypeA, NXDomain, nil},
		{"nope.prod.svc.cluster.local.", dns.TypeA, NXDomain, nil},
		{"prod.svc.cluster.local.", dns.TypeA, NoData, nil},
		{"other.svc.cluster.local.", dns.TypeA, NXDomain, nil},
		{"svc.cluster.local.", dns.TypeA, NoData, nil},
		{"1-2-3-4.prod.pod.cluster.local.", dns.TypeA, NXDomain, nil},
		{"dns-version.cluster.local.", dns.TypeTXT, Success, []dns.RR{test.TXT("dns-version.cluster.local. 28800 IN TXT 1.1.0")}},
		{"10.0.96.10.in-addr.arpa.", dns.TypePTR, Success, []dns.RR{test.PTR("10.0.96.10.in-addr.arpa. 5 IN PTR web.prod.svc.cluster.local.")}},
		{"0.96.10.in-addr.arpa.", dns.TypePTR, NoData, nil},
		{"11.0.96.10.in-addr.arpa.", dns.TypePTR, NXDomain, nil},
	}
	for _, tc := range tests {
		t.Run(tc.qname+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
			zone := "cluster.local."
			if tc.qname[len(tc.qname)-len("in-addr.arpa."):] == "in-addr.arpa." {
				zone = "in-addr.arpa."
			}
			r := new(dns.Msg)
			r.SetQuestion(tc.qname, tc.qtype)
			l := New(context.Background(), o, view, request.Request{W: &test.ResponseWriter{}, Req: r}, tc.qname, tc.qtype, zone)
			if got := l.Run(); got != tc.want {
				t.Fatalf("Run = %d, want %d", got, tc.want)
			}
			if err := test.Section(test.Case{Answer: tc.rrs}, test.Answer, l.Answer); err != nil {
				t.Error(err)
			}
			if soa := l.SOA().(*dns.SOA); soa.Hdr.Name != tc.qname[len(tc.qname)-len(zone):] || soa.Serial != view.Serial {
				t.Errorf("SOA %v: not of the zone as asked, or not the view's serial %d", soa, view.Serial)
			}
		})
	}
}
