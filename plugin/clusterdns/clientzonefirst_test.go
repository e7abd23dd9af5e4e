package clusterdns

import (
	"context"
	"slices"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// clientZoneObjects: a headless service with endpoints in zones a and b and
// one without a zone, and client pods on nodes in each zone and on a node
// without a zone.
func clientZoneObjects() []runtime.Object {
	return []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Service("prod", "db", []string{"None"}),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil,
			fixture.Endpoint{IP: "10.244.1.1", Zone: "zone-a"},
			fixture.Endpoint{IP: "10.244.1.2", Zone: "zone-b"},
			fixture.Endpoint{IP: "10.244.1.3"},
			fixture.Endpoint{IP: "10.244.1.4", Zone: "zone-b"}),
		fixture.Node("node-a", "zone-a"), fixture.Node("node-b", "Zone-B"), fixture.Node("node-x", ""),
		fixture.ClientPod("prod", "client-a", "node-a", "10.240.0.1"),
		fixture.ClientPod("other", "client-b", "node-b", "10.240.0.2"),
		fixture.ClientPod("prod", "client-x", "node-x", "10.240.0.3"),
	}
}

// answerFrom asks qname A from client ip and returns the answer's addresses in
// the order served. The order is what client_zone_first changes, and
// test.SortAndCheck sorts it away, so these cases do not use runCases.
func answerFrom(t *testing.T, c *ClusterDNS, ip, qname string) []string {
	t.Helper()
	r := new(dns.Msg)
	r.SetQuestion(qname, dns.TypeA)
	w := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: ip})
	if _, err := c.ServeDNS(context.Background(), w, r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range w.Msg.Answer {
		out = append(out, rr.(*dns.A).A.String())
	}
	return out
}

func TestClientZoneFirst(t *testing.T) {
	cfg := testConfig()
	cfg.ClientZoneFirst = true
	c := newTestPlugin(t, cfg, clientZoneObjects()...)
	all := []string{"10.244.1.1", "10.244.1.2", "10.244.1.3", "10.244.1.4"}
	tests := []struct {
		name, client string
		want         []string
	}{
		{"client in zone-a", "10.240.0.1", []string{"10.244.1.1", "10.244.1.2", "10.244.1.3", "10.244.1.4"}},
		{"client in zone-b, label in capitals", "10.240.0.2", []string{"10.244.1.2", "10.244.1.4", "10.244.1.1", "10.244.1.3"}},
		{"client on a node without zone", "10.240.0.3", all},
		{"not a pod", "192.0.2.1", all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := answerFrom(t, c, tc.client, "db.prod.svc.cluster.local."); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// Without the option the order does not depend on the client.
	plain := newTestPlugin(t, nil, clientZoneObjects()...)
	if got := answerFrom(t, plain, "10.240.0.2", "db.prod.svc.cluster.local."); !slices.Equal(got, all) {
		t.Errorf("without client_zone_first: got %v, want %v", got, all)
	}
}

// TestClientZoneFollowsWatches moves a client's node to another zone and
// the client to another node, through the API, and checks the order follows.
func TestClientZoneFollowsWatches(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.ClientZoneFirst = true
	c, cs := startFake(t, cfg, clientZoneObjects()...)
	firstFrom := func(client string) string {
		got := answerFrom(t, c, client, "db.prod.svc.cluster.local.")
		if len(got) == 0 {
			return ""
		}
		return got[0]
	}
	if got := firstFrom("10.240.0.1"); got != "10.244.1.1" {
		t.Fatalf("client in zone-a starts with %s", got)
	}
	// The node's zone changes.
	if _, err := cs.CoreV1().Nodes().Update(ctx, fixture.Node("node-a", "zone-b"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "node-a moved to zone-b", func() bool { return firstFrom("10.240.0.1") == "10.244.1.2" })
	// The client pod goes away.
	if err := cs.CoreV1().Pods("prod").Delete(ctx, "client-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "client-a forgotten", func() bool { return firstFrom("10.240.0.1") == "10.244.1.1" })
	// A new pod with that address on the zone-b node.
	if _, err := cs.CoreV1().Pods("prod").Create(ctx, fixture.ClientPod("prod", "client-a2", "node-b", "10.240.0.1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "client-a2 in zone-b", func() bool { return firstFrom("10.240.0.1") == "10.244.1.2" })
}
