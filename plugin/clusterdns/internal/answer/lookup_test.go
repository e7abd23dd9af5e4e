package answer

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// testView publishes, from plain inputs, a namespace prod with a dual-stack
// ClusterIP service web (named port http/tcp 80), an ExternalName service
// ext and a headless service idle with no ready endpoint; and an empty
// namespace kube-system.
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
	w.SetUnready(index.ServiceKey{Name: "idle", Namespace: "prod"}, true)
	w.SetNamespace("kube-system", true)
	if !w.Commit() {
		t.Fatal("nothing published")
	}
	return ix.Load()
}

// TestRun asks questions of a view built without any Kubernetes object and
// checks the outcome and the records, as the handler would send them.
func TestRun(t *testing.T) {
	o := &Options{Zones: []string{"cluster.local.", "in-addr.arpa."}, PrimaryZone: "cluster.local.", TTL: 5, Pods: index.PodsDisabled}
	view := testView(t)
	runTable(t, o, view, []runCase{
		{"web.prod.svc.cluster.local.", dns.TypeA, Success, ReasonNone, []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.10")}},
		{"Web.Prod.svc.Cluster.Local.", dns.TypeAAAA, Success, ReasonNone, []dns.RR{test.AAAA("Web.Prod.svc.Cluster.Local. 5 IN AAAA fd00::10")}},
		{"web.prod.svc.cluster.local.", dns.TypeTXT, NoData, ReasonNoRecordOfType, nil},
		{"_http._tcp.web.prod.svc.cluster.local.", dns.TypeSRV, Success, ReasonNone, []dns.RR{test.SRV("_http._tcp.web.prod.svc.cluster.local. 5 IN SRV 0 100 80 web.prod.svc.cluster.local.")}},
		{"_http._udp.web.prod.svc.cluster.local.", dns.TypeSRV, NXDomain, ReasonNoPort, nil},
		{"_tcp.web.prod.svc.cluster.local.", dns.TypeA, NoData, ReasonNoRecordOfType, nil},
		{"ext.prod.svc.cluster.local.", dns.TypeCNAME, Success, ReasonNone, []dns.RR{test.CNAME("ext.prod.svc.cluster.local. 5 IN CNAME example.com.")}},
		{"x.ext.prod.svc.cluster.local.", dns.TypeA, NXDomain, ReasonBelowExternalName, nil},
		{"nope.prod.svc.cluster.local.", dns.TypeA, NXDomain, ReasonNoService, nil},
		{"prod.svc.cluster.local.", dns.TypeA, NoData, ReasonNoRecordOfType, nil},
		{"other.svc.cluster.local.", dns.TypeA, NXDomain, ReasonNoNamespace, nil},
		{"svc.cluster.local.", dns.TypeA, NoData, ReasonNoRecordOfType, nil},
		{"1-2-3-4.prod.pod.cluster.local.", dns.TypeA, NXDomain, ReasonUnknownPod, nil},
		{"dns-version.cluster.local.", dns.TypeTXT, Success, ReasonNone, []dns.RR{test.TXT("dns-version.cluster.local. 28800 IN TXT 1.1.0")}},
		{"10.0.96.10.in-addr.arpa.", dns.TypePTR, Success, ReasonNone, []dns.RR{test.PTR("10.0.96.10.in-addr.arpa. 5 IN PTR web.prod.svc.cluster.local.")}},
		{"0.96.10.in-addr.arpa.", dns.TypePTR, NoData, ReasonNoRecordOfType, nil},
		// Why the negative answers of names that look like services are.
		{"idle.prod.svc.cluster.local.", dns.TypeA, NXDomain, ReasonNoReadyEndpoints, nil},
		{"web.kube-system.prod.svc.cluster.local.", dns.TypeA, NXDomain, ReasonSearchExpansion, nil},
		{"example.com.prod.svc.cluster.local.", dns.TypeAAAA, NXDomain, ReasonSearchExpansion, nil},
		{"_http._tcp.nope.prod.svc.cluster.local.", dns.TypeSRV, NXDomain, ReasonNoService, nil},
		{"web.prod.cluster.local.", dns.TypeA, NXDomain, ReasonOtherName, nil},
		{"a.b.web.prod.svc.cluster.local.", dns.TypeA, NXDomain, ReasonOtherName, nil},
		{"_tcp.web.prod.svc.cluster.local.", dns.TypeSRV, NoData, ReasonNoRecordOfType, nil},
		{"11.0.96.10.in-addr.arpa.", dns.TypePTR, NXDomain, ReasonNoAddress, nil},
	})
}

// headlessView publishes a headless service db in prod from a plain slice:
// db-0 (10.244.1.1, zone a) and db-1 (10.244.1.2, zone b), port pg/tcp 5432,
// with zone-scoped entries; and the pod address 10.244.0.9 in prod.
func headlessView(t *testing.T) *index.View {
	t.Helper()
	slice := &index.Slice{Service: "db", Ports: []index.Port{{Name: "pg", Proto: "tcp", Number: 5432}}, Extra: &index.SliceExtra{Zones: []string{"zone-a", "zone-b"}}}
	var names index.EndpointNames
	slice.Ready = []index.Endpoint{
		names.Endpoint(slice, netip.MustParseAddr("10.244.1.1"), "db-0"),
		names.Endpoint(slice, netip.MustParseAddr("10.244.1.2"), "db-1"),
	}
	slice.Extra.Names = names.String()
	ix := index.New()
	w := index.NewWriter(ix)
	w.Begin()
	w.SetNamespace("prod", true)
	db := index.ServiceKey{Name: "db", Namespace: "prod"}
	w.SetService(db, index.Build(db, &index.Service{Headless: true, Selector: true}, []*index.Slice{slice}, index.BuildOptions{Zonal: true}))
	w.SetPod(index.PodKey{Namespace: "prod", Addr: netip.MustParseAddr("10.244.0.9")}, true)
	if !w.Commit() {
		t.Fatal("nothing published")
	}
	return ix.Load()
}

// TestRunHeadless asks a headless service's names, its zone-scoped names
// and pod names of a view built from plain inputs.
func TestRunHeadless(t *testing.T) {
	o := &Options{Zones: []string{"cluster.local."}, PrimaryZone: "cluster.local.", TTL: 5, Pods: index.PodsVerified, Zonal: true}
	view := headlessView(t)
	runTable(t, o, view, []runCase{
		{"db.prod.svc.cluster.local.", dns.TypeA, Success, ReasonNone, []dns.RR{
			test.A("db.prod.svc.cluster.local. 5 IN A 10.244.1.1"), test.A("db.prod.svc.cluster.local. 5 IN A 10.244.1.2")}},
		{"db-1.db.prod.svc.cluster.local.", dns.TypeA, Success, ReasonNone, []dns.RR{test.A("db-1.db.prod.svc.cluster.local. 5 IN A 10.244.1.2")}},
		{"db-1.db.prod.svc.cluster.local.", dns.TypeAAAA, NoData, ReasonNoRecordOfType, nil},
		{"db-2.db.prod.svc.cluster.local.", dns.TypeA, NXDomain, ReasonNoEndpoint, nil},
		{"10-244-1-1.db.prod.svc.cluster.local.", dns.TypeA, NXDomain, ReasonNoEndpoint, nil}, // named endpoints have no dashed name
		{"_pg._tcp.db.prod.svc.cluster.local.", dns.TypeSRV, Success, ReasonNone, []dns.RR{
			test.SRV("_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local."),
			test.SRV("_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.prod.svc.cluster.local.")}},
		{"_tcp.db.prod.svc.cluster.local.", dns.TypeSRV, NoData, ReasonNoRecordOfType, nil},
		{"zone-b.pin._zone.db.prod.svc.cluster.local.", dns.TypeA, Success, ReasonNone, []dns.RR{test.A("zone-b.pin._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.2")}},
		{"zone-c.pin._zone.db.prod.svc.cluster.local.", dns.TypeA, NoData, ReasonNoRecordOfType, nil},
		{"zone-c.prefer._zone.db.prod.svc.cluster.local.", dns.TypeA, Success, ReasonNone, []dns.RR{
			test.A("zone-c.prefer._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.1"), test.A("zone-c.prefer._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.2")}},
		{"zone-a.other._zone.db.prod.svc.cluster.local.", dns.TypeA, NXDomain, ReasonOtherName, nil},
		{"10-244-0-9.prod.pod.cluster.local.", dns.TypeA, Success, ReasonNone, []dns.RR{test.A("10-244-0-9.prod.pod.cluster.local. 5 IN A 10.244.0.9")}},
		{"10-244-0-8.prod.pod.cluster.local.", dns.TypeA, NXDomain, ReasonUnknownPod, nil},
		{"10-244-0-9.other.pod.cluster.local.", dns.TypeA, NXDomain, ReasonNoNamespace, nil},
		{"prod.pod.cluster.local.", dns.TypeA, NoData, ReasonNoRecordOfType, nil},
	})
}

// runCase is one question and what Run should make of it: the result, the
// reason of a negative one, and the answer section.
type runCase struct {
	qname string
	qtype uint16
	want  Result
	why   Reason
	rrs   []dns.RR
}

// runTable asks each case of view under o, in the zone the handler would
// match, and checks the result, the answer and the SOA negative answers get.
func runTable(t *testing.T, o *Options, view *index.View, cases []runCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.qname+"/"+dns.TypeToString[tc.qtype], func(t *testing.T) {
			zone := dnsname.MatchZone(tc.qname, o.Zones)
			r := new(dns.Msg)
			r.SetQuestion(tc.qname, tc.qtype)
			l := New(context.Background(), o, view, request.Request{W: &test.ResponseWriter{}, Req: r}, tc.qname, tc.qtype, zone)
			if got := l.Run(); got != tc.want || l.Reason != tc.why {
				t.Fatalf("Run = %d for %q, want %d for %q", got, l.Reason, tc.want, tc.why)
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

// TestSOASpelling checks the SOA's names follow the query's spelling of the
// zone (RFC 4343), with the names Prepare computed and without them.
func TestSOASpelling(t *testing.T) {
	view := testView(t)
	for _, prepared := range []bool{false, true} {
		o := &Options{Zones: []string{"cluster.local."}, PrimaryZone: "cluster.local.", TTL: 5}
		if prepared {
			o.Prepare()
		}
		for _, spelled := range []string{"cluster.local.", "Cluster.LOCAL."} {
			qname := "nope.prod.svc." + spelled
			l := New(context.Background(), o, view, request.Request{}, qname, dns.TypeA, "cluster.local.")
			soa := l.SOA().(*dns.SOA)
			if soa.Hdr.Name != spelled || soa.Ns != "ns.dns."+spelled || soa.Mbox != "hostmaster."+spelled {
				t.Errorf("prepared %t, zone spelled %s: SOA %s", prepared, spelled, soa)
			}
		}
	}
}

// TestSRVServiceTarget checks the SRV answer whose target is the service's
// own name, built in one allocation, against the general one: the target
// as the query spells the zone, both addresses as glue, in the root zone
// and in a zone too long for the short path's buffer.
func TestSRVServiceTarget(t *testing.T) {
	view := testView(t)
	// A target longer than the short path has room for.
	long := strings.Repeat(strings.Repeat("z", 60)+".", 3) + "example."
	for _, tc := range []struct{ zone, spelled string }{
		{"cluster.local.", "cluster.local."},
		{"cluster.local.", "Cluster.LOCAL."},
		{".", "."},
		{long, long},
	} {
		t.Run(tc.spelled, func(t *testing.T) {
			o := &Options{Zones: []string{tc.zone}, PrimaryZone: tc.zone, TTL: 5}
			qname := "_http._tcp.web.prod.svc." + strings.TrimPrefix(tc.spelled, ".")
			l := New(context.Background(), o, view, request.Request{}, qname, dns.TypeSRV, tc.zone)
			if got := l.Run(); got != Success {
				t.Fatalf("Run = %d, want Success", got)
			}
			target := dnsname.Join("web.prod.svc", tc.spelled)
			want := []string{
				qname + "\t5\tIN\tSRV\t0 100 80 " + target,
			}
			glue := []string{target + "\t5\tIN\tA\t10.96.0.10", target + "\t5\tIN\tAAAA\tfd00::10"}
			if got := rrStrings(l.Answer); !slices.Equal(got, want) {
				t.Errorf("answer %q, want %q", got, want)
			}
			if got := rrStrings(l.Extra); !slices.Equal(got, glue) {
				t.Errorf("glue %q, want %q", got, glue)
			}
		})
	}
}

// rrStrings returns the records in presentation form.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rr.String()
	}
	return out
}
