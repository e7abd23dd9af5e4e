//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// trafficNode is a kwok node of testTrafficDistribution, in a zone, with
// its own pod CIDR (addresses kwok gives its pods: data, never dialled).
type trafficNode struct{ name, zone, cidr string }

// trafficNodes: two nodes in td-zone-a, one in td-zone-b, and one more in
// td-zone-a on which no endpoint runs.
var trafficNodes = []trafficNode{
	{"td-a1", "td-zone-a", "10.246.1.0/24"},
	{"td-a2", "td-zone-a", "10.246.2.0/24"},
	{"td-b1", "td-zone-b", "10.246.3.0/24"},
	{"td-a3", "td-zone-a", "10.246.4.0/24"},
}

// The loopback addresses the client pods' queries come from, one client
// per node, given to the pods as their podIP once kwok runs them.
var trafficClients = map[string]string{
	"td-a1": "127.0.0.21",
	"td-a2": "127.0.0.22",
	"td-b1": "127.0.0.23",
	"td-a3": "127.0.0.24",
}

// expectFrom polls name from source address src at the feature server
// until ok accepts the answer.
func expectFrom(t *testing.T, src, what, name string, qtype uint16, timeout time.Duration, ok func(answer) bool) answer {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(src)}}}
	var last answer
	var lastErr error
	start := time.Now()
	for {
		var r *dns.Msg
		if r, _, lastErr = c.Exchange(m, featureAddr+":53"); lastErr == nil {
			last = answerOf(r)
			if ok(last) {
				return last
			}
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: %s %s from %s after %s: got %v (err %v)\n%s", what, name, dns.TypeToString[qtype], src, timeout, last, lastErr, sliceState(name))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addrs returns a check for a successful answer of exactly the A records of ips.
func addrs(ips ...string) func(answer) bool {
	want := make([]string, len(ips))
	for i, ip := range ips {
		want[i] = "A " + ip
	}
	slices.Sort(want)
	return func(a answer) bool { return a.rcode == dns.RcodeSuccess && slices.Equal(a.records, want) }
}

// testTrafficDistribution runs a server with traffic_distribution against
// pods that kwok runs on nodes in two zones, behind two headless Services
// selecting them, one with trafficDistribution PreferSameZone and one with
// PreferSameNode, whose hints kube-controller-manager's EndpointSlice
// controller writes. Client pods on each node ask from the loopback
// address they are given as podIP.
func testTrafficDistribution(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	// Pods and Nodes: beyond the deploy manifests' role, as for client_zone_first.
	startFeatureServerAs(t, env.cp.AdminConf, "traffic_distribution")
	if err := ensureNamespace(ctx, cs, featuresNS); err != nil {
		t.Fatal(err)
	}
	for _, n := range trafficNodes {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: n.name, Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}, Labels: map[string]string{
				"type": "kwok", corev1.LabelHostname: n.name, corev1.LabelTopologyZone: n.zone,
			}},
			Spec: corev1.NodeSpec{PodCIDR: n.cidr, PodCIDRs: []string{n.cidr}},
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), n.name, metav1.DeleteOptions{}) })
	}

	// Leave no member or client behind for the later steps, nor pods
	// bound to the nodes removed above.
	t.Cleanup(func() {
		zero := int64(0)
		for _, sel := range []string{"app=near", "app in (client-td-a1,client-td-a2,client-td-b1,client-td-a3)"} {
			_ = cs.CoreV1().Pods(featuresNS).DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{LabelSelector: sel})
		}
		for _, svc := range []string{"near-zone", "near-node"} {
			_ = cs.CoreV1().Services(featuresNS).Delete(context.Background(), svc, metav1.DeleteOptions{})
		}
	})

	// The members: one on each of td-a1, td-a2 and td-b1.
	members := map[string]string{} // node -> the member's address
	for _, n := range trafficNodes[:3] {
		p := pod(featuresNS, "near-"+n.name, "near", "", "")
		p.Spec.NodeName = n.name
		if _, err := cs.CoreV1().Pods(featuresNS).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the three members running and ready", 60*time.Second, func() bool {
		pods := must(cs.CoreV1().Pods(featuresNS).List(ctx, metav1.ListOptions{LabelSelector: "app=near"}))
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && podReady(p) {
				members[p.Spec.NodeName] = p.Status.PodIP
			}
		}
		return len(members) == 3
	})
	for _, tc := range []struct{ name, dist string }{
		{"near-zone", corev1.ServiceTrafficDistributionPreferSameZone},
		{"near-node", corev1.ServiceTrafficDistributionPreferSameNode},
	} {
		svc := service(featuresNS, tc.name, true, &singleStack, port80())
		svc.Spec.Selector = map[string]string{"app": "near"}
		svc.Spec.TrafficDistribution = &tc.dist
		if _, err := cs.CoreV1().Services(featuresNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The controller's hints, checked so that a failure below is about DNS.
	waitFor(t, "the EndpointSlice controller's hints", 30*time.Second, func() bool {
		return hinted(ctx, cs, "near-zone", false) && hinted(ctx, cs, "near-node", true)
	})
	t.Logf("hints: near-zone %s; near-node %s", describeHints(ctx, cs, "near-zone"), describeHints(ctx, cs, "near-node"))

	// The clients, one on each node, asking from their loopback address.
	for _, n := range trafficNodes {
		name := "client-" + n.name
		p := pod(featuresNS, name, name, "", "")
		p.Spec.NodeName = n.name
		if _, err := cs.CoreV1().Pods(featuresNS).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		runningPodAt(t, ctx, cs, featuresNS, "app="+name, trafficClients[n.name])
	}

	zoneName := "near-zone." + featuresNS + ".svc.cluster.local"
	nodeName := "near-node." + featuresNS + ".svc.cluster.local"
	a1, a2, b1 := members["td-a1"], members["td-a2"], members["td-b1"]
	from := func(node string) string { return trafficClients[node] }

	// PreferSameZone: each zone's members; a client that is not a pod, all.
	expectFrom(t, from("td-a1"), "zone-a members for a zone-a client", zoneName, dns.TypeA, 15*time.Second, addrs(a1, a2))
	expectFrom(t, from("td-a3"), "zone-a members for the other zone-a client", zoneName, dns.TypeA, 5*time.Second, addrs(a1, a2))
	expectFrom(t, from("td-b1"), "the zone-b member for the zone-b client", zoneName, dns.TypeA, 5*time.Second, addrs(b1))
	expectFrom(t, "127.0.0.1", "every member for a client that is not a pod", zoneName, dns.TypeA, 5*time.Second, addrs(a1, a2, b1))
	expectFrom(t, from("td-a1"), "SRV of the zone-a members", "_http._tcp."+zoneName, dns.TypeSRV, 5*time.Second, count("SRV", 2))
	expectFrom(t, from("td-b1"), "SRV at the name for zone-b", zoneName, dns.TypeSRV, 5*time.Second, count("SRV", 1))

	// PreferSameNode: each node's member; a node without one, its zone's.
	expectFrom(t, from("td-a1"), "the td-a1 member for its client", nodeName, dns.TypeA, 5*time.Second, addrs(a1))
	expectFrom(t, from("td-a2"), "the td-a2 member for its client", nodeName, dns.TypeA, 5*time.Second, addrs(a2))
	expectFrom(t, from("td-b1"), "the td-b1 member for its client", nodeName, dns.TypeA, 5*time.Second, addrs(b1))
	expectFrom(t, from("td-a3"), "zone-a members for a node without one", nodeName, dns.TypeA, 5*time.Second, addrs(a1, a2))
	expectFrom(t, from("td-a1"), "SRV of the node's member", "_http._tcp."+nodeName, dns.TypeSRV, 5*time.Second, count("SRV", 1))

	// The zone-b member stops being ready: zone-b's client gets all the
	// ready members, for both services.
	setPodReady(t, ctx, cs, featuresNS, "near-td-b1", false)
	expectFrom(t, from("td-b1"), "every ready member once zone-b has none", zoneName, dns.TypeA, 15*time.Second, addrs(a1, a2))
	expectFrom(t, from("td-b1"), "every ready member on a node and in a zone without one", nodeName, dns.TypeA, 5*time.Second, addrs(a1, a2))
	expectFrom(t, from("td-a1"), "zone-a unchanged", zoneName, dns.TypeA, 5*time.Second, addrs(a1, a2))
	expect(t, "the main server answers every ready member", zoneName, dns.TypeA, 5*time.Second, func(a answer) bool {
		return addrs(a1, a2)(a)
	})
}

// hinted reports whether every ready endpoint of svc's slices carries a
// zone hint, and with nodes a node hint too.
func hinted(ctx context.Context, cs kubernetes.Interface, svc string, nodes bool) bool {
	list, err := cs.DiscoveryV1().EndpointSlices(featuresNS).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return false
	}
	n := 0
	for _, s := range list.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			if ep.Hints == nil || len(ep.Hints.ForZones) == 0 || (nodes && len(ep.Hints.ForNodes) == 0) {
				return false
			}
			n++
		}
	}
	return n == 3
}

// describeHints lists the hints of svc's endpoints, for the log.
func describeHints(ctx context.Context, cs kubernetes.Interface, svc string) string {
	list, err := cs.DiscoveryV1().EndpointSlices(featuresNS).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, s := range list.Items {
		for _, ep := range s.Endpoints {
			var nodes, zones []string
			if ep.Hints != nil {
				for _, n := range ep.Hints.ForNodes {
					nodes = append(nodes, n.Name)
				}
				for _, z := range ep.Hints.ForZones {
					zones = append(zones, z.Name)
				}
			}
			out = append(out, fmt.Sprintf("%s forNodes=%v forZones=%v", strings.Join(ep.Addresses, ","), nodes, zones))
		}
	}
	return strings.Join(out, "; ")
}
