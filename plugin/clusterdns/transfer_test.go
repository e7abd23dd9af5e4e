package clusterdns

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// transferObjects is a cluster with a ClusterIP service, a headless one
// with hostnames, an ExternalName, a pod, and a namespace (dev) that a
// `namespaces prod` configuration leaves out.
func transferObjects() []runtime.Object {
	http := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 8080)}
	pg := []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)}
	return []runtime.Object{
		fixture.Namespace("prod"), fixture.Namespace("dev"),
		fixture.Service("prod", "web", []string{"10.96.0.10", "fd00::10"}, fixture.Port("http", corev1.ProtocolTCP, 80), fixture.Port("", corev1.ProtocolUDP, 53)),
		fixture.Slice("prod", "web", "web-1", discoveryv1.AddressTypeIPv4, http, fixture.Endpoint{IP: "10.244.0.1"}, fixture.Endpoint{IP: "10.244.0.2"}),
		fixture.Service("prod", "db", []string{corev1.ClusterIPNone}, fixture.Port("pg", corev1.ProtocolTCP, 5432)),
		fixture.Slice("prod", "db", "db-1", discoveryv1.AddressTypeIPv4, pg, fixture.Endpoint{IP: "10.244.0.5", Hostname: "db-0"}, fixture.Endpoint{IP: "10.244.0.6", Hostname: "db-1"}),
		fixture.ExternalName("prod", "ext", "example.com"),
		fixture.Service("dev", "web", []string{"10.96.0.20"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Pod("prod", "client", corev1.PodRunning, 1, "10.244.0.9"),
		fixture.Pod("dev", "other", corev1.PodRunning, 1, "10.244.0.19"),
	}
}

// transferAll runs Transfer and returns what it sent.
func transferAll(t *testing.T, c *ClusterDNS, zone string, serial uint32) []dns.RR {
	t.Helper()
	ch, err := c.Transfer(zone, serial)
	if err != nil {
		t.Fatalf("Transfer(%s, %d): %v", zone, serial, err)
	}
	var rrs []dns.RR
	for batch := range ch {
		rrs = append(rrs, batch...)
	}
	return rrs
}

// TestTransferMatchesQueries transfers the zone and asks for each of its
// RRsets: every one must be what a query gets, and the zone must hold the
// names of the served namespace only.
func TestTransferMatchesQueries(t *testing.T) {
	cfg := verifiedConfig()
	cfg.Namespaces = map[string]struct{}{"prod": {}}
	c := newTestPlugin(t, cfg, transferObjects()...)
	rrs := transferAll(t, c, "cluster.local.", 0)

	serial := c.index.Load().Serial
	first, okFirst := rrs[0].(*dns.SOA)
	last, okLast := rrs[len(rrs)-1].(*dns.SOA)
	if !okFirst || !okLast || first.Serial != serial || last.Serial != serial {
		t.Fatalf("transfer does not start and end with the SOA of serial %d: %v ... %v", serial, rrs[0], rrs[len(rrs)-1])
	}
	type rrset struct {
		name  string
		qtype uint16
	}
	sets := map[rrset][]string{}
	var order []rrset
	for _, rr := range rrs[1 : len(rrs)-1] {
		k := rrset{rr.Header().Name, rr.Header().Rrtype}
		if _, ok := sets[k]; !ok {
			order = append(order, k)
		}
		sets[k] = append(sets[k], rr.String())
	}
	for _, k := range order {
		m, err := serveQuery(c, k.name, k.qtype)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, rr := range m.Answer {
			want = append(want, rr.String())
		}
		got := slices.Clone(sets[k])
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s %s: transferred %q, a query gets %q", k.name, dns.TypeToString[k.qtype], got, want)
		}
	}
	for _, want := range []rrset{
		{"cluster.local.", dns.TypeNS},
		{"dns-version.cluster.local.", dns.TypeTXT},
		{"web.prod.svc.cluster.local.", dns.TypeA},
		{"web.prod.svc.cluster.local.", dns.TypeAAAA},
		{"web.prod.svc.cluster.local.", dns.TypeSRV},
		{"_http._tcp.web.prod.svc.cluster.local.", dns.TypeSRV},
		{"10-244-0-1.web.prod.svc.cluster.local.", dns.TypeA},
		{"db.prod.svc.cluster.local.", dns.TypeA},
		{"db-0.db.prod.svc.cluster.local.", dns.TypeA},
		{"_pg._tcp.db.prod.svc.cluster.local.", dns.TypeSRV},
		{"ext.prod.svc.cluster.local.", dns.TypeCNAME},
		{"10-244-0-9.prod.pod.cluster.local.", dns.TypeA},
	} {
		if _, ok := sets[want]; !ok {
			t.Errorf("transfer lacks %s %s", want.name, dns.TypeToString[want.qtype])
		}
	}
	for k := range sets {
		if strings.Contains(k.name, ".dev.") {
			t.Errorf("transfer holds %s of namespace dev, which is not served", k.name)
		}
	}
	if n := len(rrs); n != len(transferAll(t, c, "Cluster.Local", 0)) {
		t.Errorf("a differently spelled zone transfers a different number of records than %d", n)
	}
}

func TestTransferIXFR(t *testing.T) {
	c := newTestPlugin(t, nil, transferObjects()...)
	serial := c.index.Load().Serial
	full := len(transferAll(t, c, "cluster.local.", 0))
	tests := []struct {
		name   string
		serial uint32
		want   int
	}{
		{"current serial: SOA only", serial, 1},
		{"newer serial: SOA only", serial + 5, 1},
		{"older serial: the whole zone", serial - 1, full},
		{"older across wrap-around", serial - 1<<30, full},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(transferAll(t, c, "cluster.local.", tc.serial)); got != tc.want {
				t.Errorf("IXFR from %d: %d records, want %d", tc.serial, got, tc.want)
			}
		})
	}
	if full < 10 {
		t.Errorf("full transfer of %d records", full)
	}
}

func TestTransferRefuses(t *testing.T) {
	c := newTestPlugin(t, nil, transferObjects()...)
	for _, zone := range []string{"in-addr.arpa.", "example.org.", "svc.cluster.local."} {
		if _, err := c.Transfer(zone, 0); !errors.Is(err, transfer.ErrNotAuthoritative) {
			t.Errorf("Transfer(%s): %v, want ErrNotAuthoritative", zone, err)
		}
	}
	c.ctl.Store(nil) // as before the first sync
	if _, err := c.Transfer("cluster.local.", 0); err == nil || errors.Is(err, transfer.ErrNotAuthoritative) {
		t.Errorf("Transfer before sync: %v, want a failure", err)
	}
}

func TestSerialBefore(t *testing.T) {
	for _, tc := range []struct {
		a, b uint32
		want bool
	}{
		{1, 2, true}, {2, 1, false}, {5, 5, false},
		{0xFFFFFFF0, 5, true}, // wrapped: 5 is newer
		{5, 0xFFFFFFF0, false},
	} {
		if got := serialBefore(tc.a, tc.b); got != tc.want {
			t.Errorf("serialBefore(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestTransferClientZoneFirst checks a transfer, which has no client, lists
// headless services in their usual order with client_zone_first.
func TestTransferClientZoneFirst(t *testing.T) {
	cfg := testConfig()
	cfg.ClientZoneFirst = true
	c := newTestPlugin(t, cfg, clientZoneObjects()...)
	var got []string
	for _, rr := range transferAll(t, c, "cluster.local.", 0) {
		if a, ok := rr.(*dns.A); ok && a.Hdr.Name == "db.prod.svc.cluster.local." {
			got = append(got, a.A.String())
		}
	}
	if want := []string{"10.244.1.1", "10.244.1.2", "10.244.1.3", "10.244.1.4"}; !slices.Equal(got, want) {
		t.Errorf("transferred A records %v, want %v", got, want)
	}
}
