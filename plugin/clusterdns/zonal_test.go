package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// zonalObjects is a headless service with endpoints in two zones (one of
// them with dots and capitals) and one without a zone, split over two
// slices, and a ClusterIP service.
func zonalObjects() []runtime.Object {
	pg := []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)}
	return []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Service("prod", "db", []string{"None"}, fixture.Port("pg", corev1.ProtocolTCP, 5432)),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, pg,
			fixture.Endpoint{IP: "10.244.1.1", Hostname: "db-0", Zone: "zone-a"},
			fixture.Endpoint{IP: "10.244.1.2", Hostname: "db-1", Zone: "Corp.Example.com"},
			fixture.Endpoint{IP: "10.244.1.3", Hostname: "db-2"}),
		fixture.Slice("prod", "db", "db-b", discoveryv1.AddressTypeIPv4, pg,
			fixture.Endpoint{IP: "10.244.1.4", Hostname: "db-3", Zone: "zone-a"},
			fixture.Endpoint{IP: "10.244.1.5", Hostname: "db-4", Zone: "zone-b", Ready: fixture.Bool(false)}),
		fixture.Service("prod", "web", []string{"10.96.0.20"}),
		fixture.Slice("prod", "web", "web-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.2.1", Zone: "zone-a"}),
	}
}

func TestServeDNSZonal(t *testing.T) {
	all := []dns.RR{
		test.A("prefer._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.1"),
		test.A("prefer._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.2"),
		test.A("prefer._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.3"),
		test.A("prefer._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.4"),
	}
	for i, rr := range all {
		rr.Header().Name = "zone-c." + rr.Header().Name
		all[i] = rr
	}
	cases := []test.Case{
		// pin: the endpoints in the zone, across slices.
		{Qname: "zone-a.pin._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("zone-a.pin._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.1"),
			test.A("zone-a.pin._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.4"),
		}},
		// SRV is zone-filtered too, with its glue.
		{Qname: "zone-a.pin._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []dns.RR{
				test.SRV("zone-a.pin._zone.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local."),
				test.SRV("zone-a.pin._zone.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-3.db.prod.svc.cluster.local."),
			},
			Extra: []dns.RR{
				test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.1.1"),
				test.A("db-3.db.prod.svc.cluster.local. 5 IN A 10.244.1.4"),
			}},
		// A zone value with dots, matched without regard to case.
		{Qname: "corp.example.com.pin._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("corp.example.com.pin._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.2"),
		}},
		// A zone only a not-ready endpoint is in, or no endpoint: pin is NODATA...
		{Qname: "zone-b.pin._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "zone-c.pin._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		// ...and prefer widens to the whole service.
		{Qname: "zone-c.prefer._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: all},
		{Qname: "zone-a.prefer._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.A("zone-a.prefer._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.1"),
			test.A("zone-a.prefer._zone.db.prod.svc.cluster.local. 5 IN A 10.244.1.4"),
		}},
		// Other types are NODATA.
		{Qname: "zone-a.pin._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeTXT, Ns: []dns.RR{test.SOA(soaCluster)}},
		// The names above the zone value are empty non-terminals.
		{Qname: "pin._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "_zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
		// Unknown directive, ClusterIP services, unknown services: NXDOMAIN.
		{Qname: "zone-a.near._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "zone-a.pin._zone.web.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		{Qname: "zone-a.pin._zone.nope.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		// The plain names are unchanged.
		{Qname: "db-2.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db-2.db.prod.svc.cluster.local. 5 IN A 10.244.1.3")}},
	}
	cfg := testConfig()
	cfg.Zonal = true
	runCases(t, newTestPlugin(t, cfg, zonalObjects()...), cases)

	// Without the option the shape does not exist.
	off := []test.Case{
		{Qname: "zone-a.pin._zone.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
	}
	runCases(t, newTestPlugin(t, nil, zonalObjects()...), off)
}

// TestZonalKeepsSlimSlim checks endpoint zones are only kept with zonal,
// and not at all for a slice whose endpoints have none.
func TestZonalKeepsSlimSlim(t *testing.T) {
	withZone := fixture.Slice("prod", "db", "a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.0.0.1"}, fixture.Endpoint{IP: "10.0.0.2", Zone: "z"})
	without := fixture.Slice("prod", "db", "b", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.0.0.1"})
	if s := (object.Slimmer{}).EndpointSlice(withZone); s.Extra != nil {
		t.Errorf("zones kept without zonal: %+v", s.Extra)
	}
	if s := (object.Slimmer{KeepZones: true}).EndpointSlice(without); s.Extra != nil {
		t.Errorf("zones kept for a slice without any: %+v", s.Extra)
	}
	s := (object.Slimmer{KeepZones: true}).EndpointSlice(withZone)
	if z := s.Zones(); len(z) != len(s.Ready) || z[0] != "" || z[1] != "z" {
		t.Errorf("zones %q for %d endpoints, want [\"\" \"z\"]", z, len(s.Ready))
	}
}

// TestZonalAgreesWithUpstream asks CoreDNS's kubernetes plugin with its
// zonal option and ours the zone-scoped names whose answers should be the
// same: pin and prefer, A and SRV, an empty zone, a ClusterIP service, an
// unknown directive and other types.
func TestZonalAgreesWithUpstream(t *testing.T) {
	objs := zonalObjects()
	ours := differenceOurs(t, "zonal", false, "", objs)
	theirs := differenceUpstream(t, "zonal", false, objs)
	for _, q := range []struct {
		qname string
		qtype uint16
	}{
		{"zone-a.pin._zone.db.prod.svc.cluster.local.", dns.TypeA},
		{"zone-a.pin._zone.db.prod.svc.cluster.local.", dns.TypeSRV},
		{"corp.example.com.pin._zone.db.prod.svc.cluster.local.", dns.TypeA},
		{"zone-c.pin._zone.db.prod.svc.cluster.local.", dns.TypeA},
		{"zone-c.prefer._zone.db.prod.svc.cluster.local.", dns.TypeA},
		{"zone-a.prefer._zone.db.prod.svc.cluster.local.", dns.TypeA},
		{"zone-a.pin._zone.db.prod.svc.cluster.local.", dns.TypeTXT},
		{"zone-a.near._zone.db.prod.svc.cluster.local.", dns.TypeA},
		{"zone-a.pin._zone.web.prod.svc.cluster.local.", dns.TypeA},
	} {
		t.Run(q.qname+"/"+dns.TypeToString[q.qtype], func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(q.qname, q.qtype)
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			if _, err := theirs.ServeDNS(context.Background(), rec, m.Copy()); err != nil && rec.Msg == nil {
				t.Fatal(err)
			}
			want := diffAnswer{rcode: dns.RcodeServerFailure}
			if rec.Msg != nil {
				want.rcode = rec.Msg.Rcode
				for _, rr := range rec.Msg.Answer {
					want.answer = append(want.answer, rr.String())
				}
			}
			if err := checkDiffAnswer(ours, m, want); err != "" {
				t.Errorf("clusterdns differs from kubernetes: %s", err)
			}
		})
	}
}
