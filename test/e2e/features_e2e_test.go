//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// featureAddr is where a clusterdns server with the options under test
// listens, beside the main one, so those options leave the other steps alone.
const featureAddr = "127.0.0.12"

// featuresNS is the namespace the feature steps create their objects in.
const featuresNS = "features"

// startFeatureServer runs clusterdns on featureAddr with the given extra
// stanza options and a prometheus endpoint, waits until it is ready, and
// returns the metrics port. The server stops when the test ends.
func startFeatureServer(t *testing.T, options ...string) int {
	t.Helper()
	return startFeatureServerAs(t, env.dnsConf, options...)
}

// startFeatureServerAs is startFeatureServer with the credentials of kubeconfig.
func startFeatureServerAs(t *testing.T, kubeconfig string, options ...string) int {
	t.Helper()
	return startFeatureServerFor(t, kubeconfig, "cluster.local in-addr.arpa ip6.arpa", options...)
}

// startFeatureServerFor is startFeatureServerAs for the plugin's zones.
func startFeatureServerFor(t *testing.T, kubeconfig, zones string, options ...string) int {
	t.Helper()
	readyPort := must(controlplane.FreePort())
	metricsPort := must(controlplane.FreePort())
	corefile := fmt.Sprintf(`.:53 {
    bind %s
    ready 127.0.0.1:%d
    prometheus 127.0.0.1:%d
    clusterdns %s {
        kubeconfig %s
        %s
    }
}
`, featureAddr, readyPort, metricsPort, zones, kubeconfig, strings.Join(options, "\n        "))
	path := env.cp.Path("coredns-features.Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := env.cp.Start("coredns-features", env.coredns, os.Environ(), "-conf", path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.cp.Stop("coredns-features") })
	waitFor(t, "the feature server ready", 30*time.Second, func() bool { return ready(readyPort) })
	return metricsPort
}

// metric returns the value of one series (name with its labels, as the
// text exposition writes it) scraped from the metrics port, 0 if absent.
func metric(t *testing.T, port int, series string) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	return 0
}

// testProgrammingLatency checks the programming latency histogram counts a
// change on each path: a ClusterIP service (event time), a headless service
// whose slice the EndpointSlice controller writes (trigger time), and a
// selector-less service with a hand-written slice (event time).
func testProgrammingLatency(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	if err := ensureNamespace(ctx, cs, featuresNS); err != nil {
		t.Fatal(err)
	}
	metricsPort := startFeatureServer(t)
	// series names the count of the histogram for one kind and origin.
	series := func(kind, origin string) string {
		return fmt.Sprintf(`coredns_clusterdns_dns_programming_duration_seconds_count{origin=%q,service_kind=%q}`, origin, kind)
	}
	var (
		events   = series("cluster_ip", "event")
		triggers = series("headless_with_selector", "trigger_time")
		manuals  = series("headless_without_selector", "event")
	)
	counted := func(series string, before float64) func() bool {
		return func() bool { return metric(t, metricsPort, series) > before }
	}

	// ClusterIP service.
	before := metric(t, metricsPort, events)
	if _, err := cs.CoreV1().Services(featuresNS).Create(ctx, service(featuresNS, "lat-web", false, &singleStack, port80()), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectAt(t, featureAddr, "ClusterIP service", "lat-web."+featuresNS+".svc.cluster.local", dns.TypeA, 10*time.Second, count("A", 1))
	waitFor(t, "the service change counted", 5*time.Second, counted(events, before))

	// Headless service with a selector: the controller's slices carry the
	// trigger time, for a new Service its creation time.
	before = metric(t, metricsPort, triggers)
	if _, err := cs.CoreV1().Services(featuresNS).Create(ctx, service(featuresNS, "lat-db", true, &singleStack, port80()), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments(featuresNS).Create(ctx, deployment(featuresNS, "lat-db", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectAt(t, featureAddr, "headless service", "lat-db."+featuresNS+".svc.cluster.local", dns.TypeA, 30*time.Second, count("A", 1))
	waitFor(t, "the slice change counted from its trigger time", 5*time.Second, counted(triggers, before))
	// Scaling: the controller dates the slice from the pod's readiness
	// change when the pod has one, else leaves the annotation out; either
	// way the change is counted.
	total := func() float64 {
		return metric(t, metricsPort, triggers) + metric(t, metricsPort, series("headless_with_selector", "event"))
	}
	before = total()
	if _, err := cs.AppsV1().Deployments(featuresNS).Patch(ctx, "lat-db", types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	expectAt(t, featureAddr, "headless service scaled", "lat-db."+featuresNS+".svc.cluster.local", dns.TypeA, 30*time.Second, count("A", 2))
	waitFor(t, "the scaled slice counted", 5*time.Second, func() bool { return total() > before })

	// Selector-less service, slice written by hand without the annotation.
	manual := service(featuresNS, "lat-manual", true, &singleStack, port80())
	manual.Spec.Selector = nil
	if _, err := cs.CoreV1().Services(featuresNS).Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before = metric(t, metricsPort, manuals)
	if _, err := cs.DiscoveryV1().EndpointSlices(featuresNS).Create(ctx, manualSlice(featuresNS, "lat-manual", "lat-manual-a", "10.251.0.1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectAt(t, featureAddr, "hand-written slice", "lat-manual."+featuresNS+".svc.cluster.local", dns.TypeA, 10*time.Second, count("A", 1))
	waitFor(t, "the hand-written slice counted", 5*time.Second, counted(manuals, before))

	// The size and watch gauges are exported.
	if n := metric(t, metricsPort, `coredns_clusterdns_index_entries{kind="services"}`); n < 3 {
		t.Errorf("index_entries{kind=services} = %v, want at least the 3 services created here", n)
	}
	if age := metric(t, metricsPort, `coredns_clusterdns_watch_event_age_seconds{resource="endpointslices"}`); age <= 0 {
		t.Errorf("watch_event_age_seconds{resource=endpointslices} = %v, want a positive age", age)
	}
	sum := metric(t, metricsPort, strings.Replace(triggers, "_count{", "_sum{", 1))
	n := metric(t, metricsPort, triggers)
	record(fmt.Sprintf("programming latency, trigger time: mean of %.0f", n), time.Duration(sum/n*float64(time.Second)))
}

func port80() corev1.ServicePort { return port("http", corev1.ProtocolTCP, 80) }

// createSelectorless creates a headless service without selector in the
// features namespace, whose slices the test writes.
func createSelectorless(t *testing.T, ctx context.Context, cs kubernetes.Interface, name string) {
	t.Helper()
	if err := ensureNamespace(ctx, cs, featuresNS); err != nil {
		t.Fatal(err)
	}
	svc := service(featuresNS, name, true, &singleStack, port80())
	svc.Spec.Selector = nil
	if _, err := cs.CoreV1().Services(featuresNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// testFallbackTerminating writes a slice whose only endpoint is terminating
// but still serving: with fallback_terminating the headless name answers it,
// without (the main server) the name does not exist; once another endpoint
// is ready, only that one answers.
func testFallbackTerminating(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	startFeatureServer(t, "fallback_terminating")
	createSelectorless(t, ctx, cs, "rolling")
	slice := manualSlice(featuresNS, "rolling", "rolling-a", "10.252.0.1")
	slice.Endpoints[0].Hostname = new("rolling-0")
	slice.Endpoints[0].Conditions = discoveryv1.EndpointConditions{Ready: new(false), Serving: new(true), Terminating: new(true)}
	if _, err := cs.DiscoveryV1().EndpointSlices(featuresNS).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	name := "rolling." + featuresNS + ".svc.cluster.local"
	expectAt(t, featureAddr, "serving terminating endpoint answers", name, dns.TypeA, 10*time.Second, func(a answer) bool {
		return a.rcode == dns.RcodeSuccess && slices.Equal(a.records, []string{"A 10.252.0.1"})
	})
	expectAt(t, featureAddr, "its endpoint name too", "rolling-0."+name, dns.TypeA, 5*time.Second, count("A", 1))
	expect(t, "without fallback_terminating the name does not exist", name, dns.TypeA, 5*time.Second, rcode(dns.RcodeNameError))

	// The replacement is ready: the terminating endpoint steps back.
	slice = must(cs.DiscoveryV1().EndpointSlices(featuresNS).Get(ctx, "rolling-a", metav1.GetOptions{}))
	slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.252.0.2"}, Hostname: new("rolling-1"), Conditions: discoveryv1.EndpointConditions{Ready: new(true)}})
	if _, err := cs.DiscoveryV1().EndpointSlices(featuresNS).Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectAt(t, featureAddr, "only the ready endpoint answers", name, dns.TypeA, 10*time.Second, func(a answer) bool {
		return a.rcode == dns.RcodeSuccess && slices.Equal(a.records, []string{"A 10.252.0.2"})
	})
	expectAt(t, featureAddr, "the terminating endpoint's name is gone", "rolling-0."+name, dns.TypeA, 5*time.Second, rcode(dns.RcodeNameError))
}

// testZonal writes a slice with endpoints in two zones and one without, and
// queries the zone-scoped names a zonal server answers.
func testZonal(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	startFeatureServer(t, "zonal")
	createSelectorless(t, ctx, cs, "zoned")
	slice := manualSlice(featuresNS, "zoned", "zoned-a", "10.253.0.1", "10.253.0.2", "10.253.0.3")
	slice.Endpoints[0].Zone = new("zone-a")
	slice.Endpoints[1].Zone = new("zone-b")
	if _, err := cs.DiscoveryV1().EndpointSlices(featuresNS).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	base := "_zone.zoned." + featuresNS + ".svc.cluster.local"
	only := func(ips ...string) func(answer) bool {
		return func(a answer) bool {
			want := make([]string, len(ips))
			for i, ip := range ips {
				want[i] = "A " + ip
			}
			return a.rcode == dns.RcodeSuccess && slices.Equal(a.records, want)
		}
	}
	expectAt(t, featureAddr, "pin to zone-a", "zone-a.pin."+base, dns.TypeA, 10*time.Second, only("10.253.0.1"))
	expectAt(t, featureAddr, "pin to zone-b", "zone-b.pin."+base, dns.TypeA, 5*time.Second, only("10.253.0.2"))
	expectAt(t, featureAddr, "pin to an empty zone is NODATA", "zone-c.pin."+base, dns.TypeA, 5*time.Second, func(a answer) bool {
		return a.rcode == dns.RcodeSuccess && len(a.records) == 0
	})
	expectAt(t, featureAddr, "prefer an empty zone: all", "zone-c.prefer."+base, dns.TypeA, 5*time.Second, only("10.253.0.1", "10.253.0.2", "10.253.0.3"))
	expectAt(t, featureAddr, "SRV pinned to zone-a", "zone-a.pin."+base, dns.TypeSRV, 5*time.Second, count("SRV", 1))
	expect(t, "the main server has no zone-scoped names", "zone-a.pin."+base, dns.TypeA, 5*time.Second, rcode(dns.RcodeNameError))

	// An endpoint moving zone moves its answer.
	slice = must(cs.DiscoveryV1().EndpointSlices(featuresNS).Get(ctx, "zoned-a", metav1.GetOptions{}))
	slice.Endpoints[2].Zone = new("zone-a")
	if _, err := cs.DiscoveryV1().EndpointSlices(featuresNS).Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectAt(t, featureAddr, "zone-a gained an endpoint", "zone-a.pin."+base, dns.TypeA, 10*time.Second, only("10.253.0.1", "10.253.0.3"))
}

// clientAddr is the source address of the queries of the client pod in
// testClientZoneFirst, on loopback like every address the suite uses.
const clientAddr = "127.0.0.13"

// orderFrom asks the feature server name A from source address src and
// returns the addresses in the order of the answer.
func orderFrom(src, name string) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(src)}}}
	r, _, err := c.Exchange(m, featureAddr+":53")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out, nil
}

// testClientZoneFirst runs a server with client_zone_first and a client pod
// on a node in zone-b whose address is the one the queries come from: the
// zone-b endpoint of a headless service comes first for it, and for any
// other source the usual order stays.
func testClientZoneFirst(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	// The option watches Pods and Nodes, which the deploy manifests' role
	// does not grant: run as the admin.
	startFeatureServerAs(t, env.cp.AdminConf, "client_zone_first")
	createSelectorless(t, ctx, cs, "nearby")
	slice := manualSlice(featuresNS, "nearby", "nearby-a", "10.254.0.1", "10.254.0.2", "10.254.0.3")
	slice.Endpoints[0].Zone = new("zone-a")
	slice.Endpoints[1].Zone = new("zone-b")
	if _, err := cs.DiscoveryV1().EndpointSlices(featuresNS).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "zone-b-node", Labels: map[string]string{corev1.LabelTopologyZone: "zone-b"}}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), "zone-b-node", metav1.DeleteOptions{}) })
	client := pod(featuresNS, "zone-b-client", "zone-b-client", "", "")
	client.Spec.NodeName = "zone-b-node"
	if _, err := cs.CoreV1().Pods(featuresNS).Create(ctx, client, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runningPodAt(t, ctx, cs, featuresNS, "app=zone-b-client", clientAddr)

	name := "nearby." + featuresNS + ".svc.cluster.local"
	var got []string
	waitFor(t, "the zone-b endpoint first for the zone-b client", 15*time.Second, func() bool {
		var err error
		got, err = orderFrom(clientAddr, name)
		return err == nil && len(got) == 3 && got[0] == "10.254.0.2"
	})
	if !slices.Equal(got, []string{"10.254.0.2", "10.254.0.1", "10.254.0.3"}) {
		t.Errorf("zone-b client got %v, want the zone-b endpoint, then the others in order", got)
	}
	other, err := orderFrom("127.0.0.1", name)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(other, []string{"10.254.0.1", "10.254.0.2", "10.254.0.3"}) {
		t.Errorf("a client that is not a pod got %v, want the usual order", other)
	}
}
