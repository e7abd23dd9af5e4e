package clusterdns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// The client pods of the traffic_distribution tests: on nodes n1 and n2
// (zone-a), n3 (zone-b), n4 (zone-a, no endpoint on it) and nx (no zone).
const (
	clientN1 = "10.240.0.1"
	clientN2 = "10.240.0.2"
	clientN3 = "10.240.0.3"
	clientN4 = "10.240.0.4"
	clientNX = "10.240.0.5"
	notAPod  = "192.0.2.1"
)

// trafficObjects are headless services with the hints the EndpointSlice
// controller writes for their trafficDistribution, one without hints, and
// the client pods and their nodes:
//
//   - db (PreferSameZone): db-0 and db-2 in zone-a, db-1 in zone-b, and a
//     zone-b endpoint that is not ready;
//   - pin (PreferSameNode): one endpoint on each of n1, n2 (zone-a) and n3
//     (zone-b), hinted for its node and its zone;
//   - plain: endpoints with zones but no hints;
//   - lonely (PreferSameZone): ready in zone-a and zone-c, the zone-b one
//     not ready;
//   - dual (PreferSameZone): IPv4 members in zone-a and zone-b, IPv6 ones
//     in zone-b and zone-c.
func trafficObjects() []runtime.Object {
	http := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 80)}
	zone := func(ip, host, z string) fixture.Endpoint {
		return fixture.Endpoint{IP: ip, Hostname: host, Zone: z, Hints: fixture.Hints(nil, []string{z})}
	}
	node := func(ip, n, z string) fixture.Endpoint {
		return fixture.Endpoint{IP: ip, Zone: z, Hints: fixture.Hints([]string{n}, []string{z})}
	}
	unready := func(ep fixture.Endpoint) fixture.Endpoint { ep.Ready = fixture.Bool(false); return ep }
	headless := []string{"None"}
	return []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Service("prod", "db", headless), fixture.Service("prod", "pin", headless),
		fixture.Service("prod", "plain", headless), fixture.Service("prod", "lonely", headless),
		fixture.Service("prod", "dual", headless),
		fixture.Slice("prod", "dual", "dual-4", discoveryv1.AddressTypeIPv4, http,
			zone("10.244.4.1", "", "zone-a"), zone("10.244.4.2", "", "zone-b")),
		fixture.Slice("prod", "dual", "dual-6", discoveryv1.AddressTypeIPv6, http,
			zone("fd00::4:2", "", "zone-b"), zone("fd00::4:3", "", "zone-c")),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, http,
			zone("10.244.0.1", "db-0", "zone-a"), zone("10.244.0.2", "db-1", "zone-b"),
			zone("10.244.0.3", "db-2", "zone-a"), unready(zone("10.244.0.4", "db-3", "zone-b"))),
		fixture.Slice("prod", "pin", "pin-a", discoveryv1.AddressTypeIPv4, http,
			node("10.244.1.1", "n1", "zone-a"), node("10.244.1.2", "n2", "zone-a"), node("10.244.1.3", "n3", "zone-b")),
		fixture.Slice("prod", "plain", "plain-a", discoveryv1.AddressTypeIPv4, http,
			fixture.Endpoint{IP: "10.244.2.1", Zone: "zone-a"}, fixture.Endpoint{IP: "10.244.2.2", Zone: "zone-b"}),
		fixture.Slice("prod", "lonely", "lonely-a", discoveryv1.AddressTypeIPv4, http,
			zone("10.244.3.1", "", "zone-a"), unready(zone("10.244.3.2", "", "zone-b")), zone("10.244.3.3", "", "zone-c")),
		fixture.Node("n1", "zone-a"), fixture.Node("n2", "Zone-A"), fixture.Node("n3", "zone-b"),
		fixture.Node("n4", "zone-a"), fixture.Node("nx", ""),
		fixture.ClientPod("prod", "c1", "n1", clientN1), fixture.ClientPod("other", "c2", "n2", clientN2),
		fixture.ClientPod("prod", "c3", "n3", clientN3), fixture.ClientPod("prod", "c4", "n4", clientN4),
		fixture.ClientPod("prod", "cx", "nx", clientNX),
	}
}

// trafficConfig is the test configuration with traffic_distribution.
func trafficConfig() *config {
	cfg := testConfig()
	cfg.TrafficDistribution = true
	return cfg
}

// clientCase is a test.Case asked from the client address from.
type clientCase struct {
	from string
	test.Case
}

// runClientCases runs each case through ServeDNS from its client address
// and checks the whole reply.
func runClientCases(t *testing.T, c *ClusterDNS, cases []clientCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(dns.TypeToString[tc.Qtype]+" "+tc.Qname+" from "+tc.from, func(t *testing.T) {
			rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: tc.from})
			if _, err := c.ServeDNS(context.Background(), rec, tc.Msg()); err != nil {
				t.Fatal(err)
			}
			if err := test.SortAndCheck(rec.Msg, tc.Case); err != nil {
				t.Error(err)
			}
		})
	}
}

// aAnswer is the successful A answer of qname with the addresses ips.
func aAnswer(qname string, ips ...string) test.Case {
	tc := test.Case{Qname: qname, Qtype: dns.TypeA, Rcode: dns.RcodeSuccess}
	for _, ip := range ips {
		tc.Answer = append(tc.Answer, test.A(qname+" 5 IN A "+ip))
	}
	return tc
}

func TestTrafficDistribution(t *testing.T) {
	c := newTestPlugin(t, trafficConfig(), trafficObjects()...)
	const (
		db     = "db.prod.svc.cluster.local."
		pin    = "pin.prod.svc.cluster.local."
		plain  = "plain.prod.svc.cluster.local."
		lonely = "lonely.prod.svc.cluster.local."
	)
	runClientCases(t, c, []clientCase{
		// PreferSameZone: the client node's zone, whatever the case of its label.
		{clientN1, aAnswer(db, "10.244.0.1", "10.244.0.3")},
		{clientN2, aAnswer(db, "10.244.0.1", "10.244.0.3")},
		{clientN3, aAnswer(db, "10.244.0.2")},
		// No zone, no pod: all ready endpoints.
		{clientNX, aAnswer(db, "10.244.0.1", "10.244.0.2", "10.244.0.3")},
		{notAPod, aAnswer(db, "10.244.0.1", "10.244.0.2", "10.244.0.3")},
		// PreferSameNode: the client's node; a node without endpoints
		// falls back to its zone, a node without zone to all.
		{clientN1, aAnswer(pin, "10.244.1.1")},
		{clientN2, aAnswer(pin, "10.244.1.2")},
		{clientN3, aAnswer(pin, "10.244.1.3")},
		{clientN4, aAnswer(pin, "10.244.1.1", "10.244.1.2")},
		{clientNX, aAnswer(pin, "10.244.1.1", "10.244.1.2", "10.244.1.3")},
		// Endpoints without hints: all, even with zones.
		{clientN1, aAnswer(plain, "10.244.2.1", "10.244.2.2")},
		// The zone's only endpoint is not ready: all ready endpoints.
		{clientN3, aAnswer(lonely, "10.244.3.1", "10.244.3.3")},
		{clientN1, aAnswer(lonely, "10.244.3.1")},
		// Each IP family on its own, as kube-proxy's proxier of each family:
		// no IPv6 member in zone-a, so all of them.
		{clientN1, aAnswer("dual.prod.svc.cluster.local.", "10.244.4.1")},
		{clientN1, test.Case{Qname: "dual.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Rcode: dns.RcodeSuccess, Answer: []dns.RR{
			test.AAAA("dual.prod.svc.cluster.local. 5 IN AAAA fd00::4:2"), test.AAAA("dual.prod.svc.cluster.local. 5 IN AAAA fd00::4:3"),
		}}},
		{clientN3, test.Case{Qname: "dual.prod.svc.cluster.local.", Qtype: dns.TypeAAAA, Rcode: dns.RcodeSuccess, Answer: []dns.RR{
			test.AAAA("dual.prod.svc.cluster.local. 5 IN AAAA fd00::4:2"),
		}}},
		// SRV at a named port and at the service name.
		{clientN1, test.Case{Qname: "_http._tcp." + db, Qtype: dns.TypeSRV, Rcode: dns.RcodeSuccess,
			Answer: []dns.RR{
				test.SRV("_http._tcp." + db + " 5 IN SRV 0 50 80 db-0." + db),
				test.SRV("_http._tcp." + db + " 5 IN SRV 0 50 80 db-2." + db),
			},
			Extra: []dns.RR{test.A("db-0." + db + " 5 IN A 10.244.0.1"), test.A("db-2." + db + " 5 IN A 10.244.0.3")},
		}},
		{clientN3, test.Case{Qname: db, Qtype: dns.TypeSRV, Rcode: dns.RcodeSuccess,
			Answer: []dns.RR{test.SRV(db + " 5 IN SRV 0 100 80 db-1." + db)},
			Extra:  []dns.RR{test.A("db-1." + db + " 5 IN A 10.244.0.2")},
		}},
		{notAPod, test.Case{Qname: "_http._tcp." + pin, Qtype: dns.TypeSRV, Rcode: dns.RcodeSuccess,
			Answer: []dns.RR{
				test.SRV("_http._tcp." + pin + " 5 IN SRV 0 33 80 10-244-1-1." + pin),
				test.SRV("_http._tcp." + pin + " 5 IN SRV 0 33 80 10-244-1-2." + pin),
				test.SRV("_http._tcp." + pin + " 5 IN SRV 0 33 80 10-244-1-3." + pin),
			},
			Extra: []dns.RR{
				test.A("10-244-1-1." + pin + " 5 IN A 10.244.1.1"),
				test.A("10-244-1-2." + pin + " 5 IN A 10.244.1.2"),
				test.A("10-244-1-3." + pin + " 5 IN A 10.244.1.3"),
			},
		}},
		// A name that picks its endpoint is answered as asked.
		{clientN1, aAnswer("db-1."+db, "10.244.0.2")},
		// No AAAA in the zone, nor anywhere: NODATA as without the option.
		{clientN1, test.Case{Qname: db, Qtype: dns.TypeAAAA, Rcode: dns.RcodeSuccess,
			Ns: []dns.RR{test.SOA(soaCluster)}}},
	})
}

// TestTrafficDistributionOff checks a server without the option answers
// every ready endpoint to every client, hints or not.
func TestTrafficDistributionOff(t *testing.T) {
	c := newTestPlugin(t, nil, trafficObjects()...)
	runClientCases(t, c, []clientCase{
		{clientN1, aAnswer("db.prod.svc.cluster.local.", "10.244.0.1", "10.244.0.2", "10.244.0.3")},
		{clientN3, aAnswer("pin.prod.svc.cluster.local.", "10.244.1.1", "10.244.1.2", "10.244.1.3")},
	})
}

// TestTrafficDistributionWithOthers checks how the option composes with
// max_answers (a window of the chosen endpoints), client_zone_first (the
// order of all endpoints when the hints choose all) and zonal (zone-scoped
// names answer the zone they name).
func TestTrafficDistributionWithOthers(t *testing.T) {
	const db = "db.prod.svc.cluster.local."
	t.Run("max_answers", func(t *testing.T) {
		cfg := trafficConfig()
		cfg.MaxAnswers = 1
		c := newTestPlugin(t, cfg, trafficObjects()...)
		seen := map[string]bool{}
		for range 4 {
			got := answerFrom(t, c, clientN1, db)
			if len(got) != 1 || (got[0] != "10.244.0.1" && got[0] != "10.244.0.3") {
				t.Fatalf("got %v, want one zone-a endpoint", got)
			}
			seen[got[0]] = true
		}
		if len(seen) != 2 {
			t.Errorf("the window did not move over the zone's endpoints: %v", seen)
		}
	})
	t.Run("client_zone_first", func(t *testing.T) {
		cfg := trafficConfig()
		cfg.ClientZoneFirst = true
		c := newTestPlugin(t, cfg, trafficObjects()...)
		if got := answerFrom(t, c, clientN3, db); !slices.Equal(got, []string{"10.244.0.2"}) {
			t.Errorf("hinted service: got %v, want the zone-b endpoint alone", got)
		}
		if got := answerFrom(t, c, clientN3, "plain.prod.svc.cluster.local."); !slices.Equal(got, []string{"10.244.2.2", "10.244.2.1"}) {
			t.Errorf("service without hints: got %v, want the zone-b endpoint first", got)
		}
	})
	t.Run("zonal", func(t *testing.T) {
		cfg := trafficConfig()
		cfg.Zonal = true
		c := newTestPlugin(t, cfg, trafficObjects()...)
		runClientCases(t, c, []clientCase{
			{clientN1, aAnswer("zone-b.pin._zone."+db, "10.244.0.2")},
			{clientN1, aAnswer("zone-c.prefer._zone."+db, "10.244.0.1", "10.244.0.3")},
		})
	})
}

// TestTrafficDistributionFollowsWatches changes hints, a node's zone and
// a client's node through the API and checks the answers follow.
func TestTrafficDistributionFollowsWatches(t *testing.T) {
	ctx := context.Background()
	objs := trafficObjects()
	c, cs := startFake(t, trafficConfig(), objs...)
	const db = "db.prod.svc.cluster.local."
	answers := func(client string) string { return strings.Join(answerFrom(t, c, client, db), " ") }
	fixture.Eventually(t, "zone-a for c1", func() bool { return answers(clientN1) == "10.244.0.1 10.244.0.3" })

	// The hints go (trafficDistribution removed from the Service).
	slice := must(cs.DiscoveryV1().EndpointSlices("prod").Get(ctx, "db-a", metav1.GetOptions{}))
	for i := range slice.Endpoints {
		slice.Endpoints[i].Hints = nil
	}
	slice = must(cs.DiscoveryV1().EndpointSlices("prod").Update(ctx, slice, metav1.UpdateOptions{}))
	fixture.Eventually(t, "all for c1 without hints", func() bool { return answers(clientN1) == "10.244.0.1 10.244.0.2 10.244.0.3" })

	// They come back.
	for i := range slice.Endpoints {
		slice.Endpoints[i].Hints = fixture.Hints(nil, []string{*slice.Endpoints[i].Zone})
	}
	if _, err := cs.DiscoveryV1().EndpointSlices("prod").Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "zone-a for c1 again", func() bool { return answers(clientN1) == "10.244.0.1 10.244.0.3" })

	// The client's node moves to zone-b.
	if _, err := cs.CoreV1().Nodes().Update(ctx, fixture.Node("n1", "zone-b"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "zone-b for c1", func() bool { return answers(clientN1) == "10.244.0.2" })

	// A pod on a node without zone takes over the address of c3.
	if err := cs.CoreV1().Pods("prod").Delete(ctx, "c3", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("prod").Create(ctx, fixture.ClientPod("prod", "c3b", "nx", clientN3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "all for the new pod", func() bool { return answers(clientN3) == "10.244.0.1 10.244.0.2 10.244.0.3" })
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("test setup: %v", err))
	}
	return v
}

func TestTrafficDistributionParse(t *testing.T) {
	for _, ok := range []string{
		"clusterdns cluster.local {\n traffic_distribution\n}",
		"clusterdns cluster.local {\n traffic_distribution\n max_answers 2\n fallback_terminating\n zonal\n pods verified\n}",
		"clusterdns cluster.local {\n client_zone_first\n traffic_distribution\n}",
	} {
		cfg, err := setupParseInput(t, ok)
		if err != nil {
			t.Errorf("parse(%q): %v", ok, err)
			continue
		}
		if !cfg.TrafficDistribution || !cfg.WatchPods() || !cfg.WatchNodes() {
			t.Errorf("parse(%q): option %t, pods %t, nodes %t", ok, cfg.TrafficDistribution, cfg.WatchPods(), cfg.WatchNodes())
		}
	}
	if cfg, _ := setupParseInput(t, "clusterdns cluster.local"); cfg.TrafficDistribution || cfg.WatchNodes() {
		t.Error("traffic_distribution on by default")
	}

	tests := []struct {
		input string
		want  string
		line  int
	}{
		{"clusterdns cluster.local {\n traffic_distribution yes\n}", "traffic_distribution: expected no arguments, got 1", 2},
		{"clusterdns cluster.local {\n noendpoints\n traffic_distribution\n}", "traffic_distribution: cannot be combined with noendpoints", 3},
		{"clusterdns cluster.local {\n traffic_distribution\n ttl 5\n noendpoints\n}", "noendpoints: cannot be combined with traffic_distribution", 4},
		{"clusterdns cluster.local {\n objects_file o.yaml\n traffic_distribution\n}", "traffic_distribution: cannot be combined with objects_file", 3},
		{"clusterdns cluster.local {\n traffic_distribution\n objects_file o.yaml\n}", "objects_file: cannot be combined with traffic_distribution", 3},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := setupParseInput(t, tc.input)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parse(%q) error %v, want it to contain %q", tc.input, err, tc.want)
			}
			if line := fmt.Sprintf("Testfile:%d - ", tc.line); !strings.Contains(err.Error(), line) {
				t.Errorf("parse(%q) error %q, want it to cite %q", tc.input, err, line)
			}
		})
	}
}
