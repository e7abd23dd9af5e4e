package clusterdns

import (
	"fmt"
	"slices"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// wellFormed is a cluster of valid objects that every malformed object is
// added to; its answers must never change.
func wellFormed() []runtime.Object {
	pg := []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)}
	return []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Service("prod", "web", []string{"10.96.0.20"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Service("prod", "db", []string{"None"}),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, pg,
			fixture.Endpoint{IP: "10.244.1.1", Hostname: "db-0"}, fixture.Endpoint{IP: "10.244.1.2", Hostname: "db-1"}),
	}
}

// wellFormedAnswers are the answers of wellFormed.
var wellFormedAnswers = []test.Case{
	{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")}},
	{Qname: "_http._tcp.web.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Answer: []dns.RR{test.SRV("_http._tcp.web.prod.svc.cluster.local. 5 IN SRV 0 100 80 web.prod.svc.cluster.local.")}, Extra: []dns.RR{test.A("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")}},
	{Qname: "db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db.prod.svc.cluster.local. 5 IN A 10.244.1.1"), test.A("db.prod.svc.cluster.local. 5 IN A 10.244.1.2")}},
	{Qname: "db-0.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.1.1")}},
	{Qname: "_pg._tcp.db.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Answer: []dns.RR{test.SRV("_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local."), test.SRV("_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.prod.svc.cluster.local.")}, Extra: []dns.RR{test.A("db-0.db.prod.svc.cluster.local. 5 IN A 10.244.1.1"), test.A("db-1.db.prod.svc.cluster.local. 5 IN A 10.244.1.2")}},
	{Qname: "20.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("20.0.96.10.in-addr.arpa. 5 IN PTR web.prod.svc.cluster.local.")}},
	{Qname: "1.1.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []dns.RR{test.PTR("1.1.244.10.in-addr.arpa. 5 IN PTR db-0.db.prod.svc.cluster.local.")}},
}

// manyPorts returns n ports named p0, p1, ... numbered from 1.
func manyPorts(n int) []corev1.ServicePort {
	ports := make([]corev1.ServicePort, n)
	for i := range ports {
		ports[i] = fixture.Port(fmt.Sprintf("p%d", i), corev1.ProtocolTCP, int32(i%65535+1))
	}
	return ports
}

// TestMalformedObjects adds malformed objects through the API (the fake
// clientset does not validate, as a faulty or hostile writer would not be
// either): each is skipped, or only its bad part is, and counted, and the
// other services answer exactly as before.
func TestMalformedObjects(t *testing.T) {
	pg := []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)}
	noLabel := fixture.Slice("prod", "db", "nolabel", discoveryv1.AddressTypeIPv4, pg, fixture.Endpoint{IP: "10.244.9.1"})
	noLabel.Labels = nil
	part := fixture.Service("prod", "part", []string{"None"})
	badHost := fixture.Slice("prod", "part", "part-host", discoveryv1.AddressTypeIPv4, pg, fixture.Endpoint{IP: "10.244.1.3", Hostname: "a.b"})
	badPorts := fixture.Service("prod", "ports", []string{"10.96.0.50"},
		fixture.Port("zero", corev1.ProtocolTCP, 0), fixture.Port("big", corev1.ProtocolTCP, 70000),
		fixture.Port("a.b", corev1.ProtocolTCP, 81), fixture.Port("ok", corev1.ProtocolTCP, 82))
	nilPort := fixture.Slice("prod", "part", "part-nilport", discoveryv1.AddressTypeIPv4,
		[]discoveryv1.EndpointPort{{Name: func() *string { s := "pg"; return &s }()}}, fixture.Endpoint{IP: "10.244.1.4"})

	tests := []struct {
		name   string
		objs   []runtime.Object
		kind   string
		reason string
		want   []test.Case // besides wellFormedAnswers
	}{
		{"invalid endpoint addresses", []runtime.Object{part,
			fixture.Slice("prod", "part", "part-b", discoveryv1.AddressTypeIPv4, pg,
				fixture.Endpoint{IP: "10.244.1.300"}, fixture.Endpoint{IP: "not-an-ip"}, fixture.Endpoint{IP: "fd00::1"},
				fixture.Endpoint{IP: "fe80::1%eth0"}, fixture.Endpoint{IP: "10.244.1.3", Hostname: "db-2"}),
		}, object.KindSlice, object.ReasonInvalidAddress, []test.Case{
			{Qname: "part.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("part.prod.svc.cluster.local. 5 IN A 10.244.1.3")}},
			{Qname: "db-2.part.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("db-2.part.prod.svc.cluster.local. 5 IN A 10.244.1.3")}},
			{Qname: "part.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Ns: []dns.RR{test.SOA(soaCluster)}},
		}},
		{"slice without service label", []runtime.Object{noLabel}, object.KindSlice, object.ReasonNoServiceLabel, []test.Case{
			{Qname: "1.9.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
		}},
		{"slice with an invalid service label", []runtime.Object{
			fixture.Slice("prod", "x.db", "dotted", discoveryv1.AddressTypeIPv4, pg, fixture.Endpoint{IP: "10.244.9.3"}),
		}, object.KindSlice, object.ReasonInvalidName, []test.Case{
			{Qname: "3.9.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
		}},
		{"FQDN slice", []runtime.Object{
			fixture.Slice("prod", "db", "db-fqdn", discoveryv1.AddressTypeFQDN, pg, fixture.Endpoint{IP: "db.example.com"}),
		}, object.KindSlice, object.ReasonAddressType, nil},
		{"slice of an unknown service", []runtime.Object{
			fixture.Slice("prod", "ghost", "ghost-1", discoveryv1.AddressTypeIPv4, pg, fixture.Endpoint{IP: "10.244.9.2"}),
		}, object.KindSlice, object.ReasonUnknownService, []test.Case{
			{Qname: "ghost.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
			{Qname: "2.9.244.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
		}},
		{"service with 10,000 ports", []runtime.Object{
			fixture.Service("prod", "wide", []string{"10.96.0.40"}, manyPorts(10000)...),
		}, object.KindService, object.ReasonTooManyPorts, []test.Case{
			{Qname: "wide.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("wide.prod.svc.cluster.local. 5 IN A 10.96.0.40")}},
			{Qname: "_p999._tcp.wide.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Answer: []dns.RR{test.SRV("_p999._tcp.wide.prod.svc.cluster.local. 5 IN SRV 0 100 1000 wide.prod.svc.cluster.local.")}, Extra: []dns.RR{test.A("wide.prod.svc.cluster.local. 5 IN A 10.96.0.40")}},
			{Qname: "_p1000._tcp.wide.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		}},
		{"service name with a dot", []runtime.Object{
			// Would otherwise name endpoint x of prod/db in PTR answers.
			fixture.Service("prod", "x.db", []string{"10.96.0.66"}),
		}, object.KindService, object.ReasonInvalidName, []test.Case{
			{Qname: "x.db.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
			{Qname: "66.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
		}},
		{"service name too long", []runtime.Object{
			fixture.Service("prod", string(make([]byte, 64)), []string{"10.96.0.67"}),
		}, object.KindService, object.ReasonInvalidName, []test.Case{
			{Qname: "67.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
		}},
		{"invalid cluster IP", []runtime.Object{
			fixture.Service("prod", "half", []string{"10.96.0.300", "fd00::40"}),
		}, object.KindService, object.ReasonInvalidAddress, []test.Case{
			{Qname: "half.prod.svc.cluster.local.", Qtype: dns.TypeA, Ns: []dns.RR{test.SOA(soaCluster)}},
			{Qname: "half.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("half.prod.svc.cluster.local. 5 IN AAAA fd00::40")}},
		}},
		{"port numbers out of range", []runtime.Object{badPorts}, object.KindService, object.ReasonInvalidPort, []test.Case{
			{Qname: "ports.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Answer: []dns.RR{test.SRV("ports.prod.svc.cluster.local. 5 IN SRV 0 100 82 ports.prod.svc.cluster.local.")}, Extra: []dns.RR{test.A("ports.prod.svc.cluster.local. 5 IN A 10.96.0.50")}},
			{Qname: "_ok._tcp.ports.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Answer: []dns.RR{test.SRV("_ok._tcp.ports.prod.svc.cluster.local. 5 IN SRV 0 100 82 ports.prod.svc.cluster.local.")}, Extra: []dns.RR{test.A("ports.prod.svc.cluster.local. 5 IN A 10.96.0.50")}},
			{Qname: "_zero._tcp.ports.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		}},
		{"port name with a dot", []runtime.Object{badPorts}, object.KindService, object.ReasonInvalidPortName, nil},
		{"slice port without a number", []runtime.Object{part, nilPort}, object.KindSlice, object.ReasonInvalidPort, []test.Case{
			{Qname: "part.prod.svc.cluster.local.", Qtype: dns.TypeSRV, Ns: []dns.RR{test.SOA(soaCluster)}},
			{Qname: "10-244-1-4.part.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("10-244-1-4.part.prod.svc.cluster.local. 5 IN A 10.244.1.4")}},
		}},
		{"invalid endpoint hostname", []runtime.Object{part, badHost}, object.KindSlice, object.ReasonInvalidHostname, []test.Case{
			{Qname: "10-244-1-3.part.prod.svc.cluster.local.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("10-244-1-3.part.prod.svc.cluster.local. 5 IN A 10.244.1.3")}},
		}},
		{"ExternalName that is an address", []runtime.Object{
			fixture.ExternalName("prod", "ipname", "192.0.2.1"),
		}, object.KindService, object.ReasonInvalidExternalName, []test.Case{
			{Qname: "ipname.prod.svc.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaCluster)}},
		}},
		{"invalid namespace name", []runtime.Object{
			fixture.Namespace("a.prod"), fixture.Service("a.prod", "web", []string{"10.96.0.70"}),
		}, object.KindNamespace, object.ReasonInvalidName, []test.Case{
			{Qname: "70.0.96.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: []dns.RR{test.SOA(soaInAddr)}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := skippedCount(t, tc.kind, tc.reason)
			c, _ := startFake(t, nil, append(wellFormed(), tc.objs...)...)
			if got := skippedCount(t, tc.kind, tc.reason) - before; got < 1 {
				t.Errorf("skipped_objects_total{kind=%q,reason=%q} grew by %v, want at least 1", tc.kind, tc.reason, got)
			}
			runCases(t, c, append(slices.Clone(wellFormedAnswers), tc.want...))
		})
	}
}

// TestWellFormedSkipsNothing checks valid objects are never counted.
func TestWellFormedSkipsNothing(t *testing.T) {
	sum := func() (s float64) {
		for _, kr := range [][2]string{
			{object.KindService, object.ReasonInvalidName}, {object.KindService, object.ReasonInvalidAddress}, {object.KindService, object.ReasonInvalidPort},
			{object.KindService, object.ReasonInvalidPortName}, {object.KindService, object.ReasonTooManyPorts}, {object.KindService, object.ReasonInvalidExternalName},
			{object.KindSlice, object.ReasonInvalidName}, {object.KindSlice, object.ReasonInvalidAddress}, {object.KindSlice, object.ReasonInvalidPort},
			{object.KindSlice, object.ReasonInvalidPortName}, {object.KindSlice, object.ReasonTooManyPorts}, {object.KindSlice, object.ReasonNoServiceLabel},
			{object.KindSlice, object.ReasonAddressType}, {object.KindSlice, object.ReasonInvalidHostname}, {object.KindSlice, object.ReasonUnknownService},
			{object.KindNamespace, object.ReasonInvalidName},
		} {
			s += skippedCount(t, kr[0], kr[1])
		}
		return s
	}
	before := sum()
	c, _ := startFake(t, nil, wellFormed()...)
	if after := sum(); after != before {
		t.Errorf("valid objects counted as skipped: %v -> %v", before, after)
	}
	runCases(t, c, wellFormedAnswers)
}

// skippedCount reads coredns_clusterdns_skipped_objects_total{kind,reason}
// as a scrape would; 0 while the series does not exist.
func skippedCount(t *testing.T, kind, reason string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "coredns_clusterdns_skipped_objects_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
