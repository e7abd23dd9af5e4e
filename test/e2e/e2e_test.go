//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// timings collects how long each change took to show in DNS.
var timings []string

func record(what string, d time.Duration) {
	timings = append(timings, fmt.Sprintf("%-55s %6d ms", what, d.Milliseconds()))
}

// TestEndToEnd runs the stages in order: they share one cluster, and the
// later ones (outages, restarts) change it for good.
func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	cs, err := env.cp.AdminClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		t.Logf("API write -> changed answer:\n%s", strings.Join(timings, "\n"))
		if f := os.Getenv("CLUSTERDNS_E2E_TIMINGS"); f != "" {
			_ = os.WriteFile(f, []byte(strings.Join(timings, "\n")+"\n"), 0o644)
		}
	})
	steps := []struct {
		name string
		fn   func(*testing.T, context.Context, *kubernetes.Clientset)
	}{
		{"sync", testSync},
		{"records", testRecords},
		{"resolvers", testResolvers},
		{"propagation", testPropagation},
		{"dns programming latency", testProgrammingLatency},
		{"fallback to terminating endpoints", testFallbackTerminating},
		{"zone-scoped names", testZonal},
		{"client's zone first", testClientZoneFirst},
		{"tenant isolation", testIsolate},
		{"traffic distribution of headless services", testTrafficDistribution},
		{"multicluster services", testMulticluster},
		{"same answers as kubernetes plugin", testCompareUpstream},
		{"autopath, transfer and metadata", testStockPlugins},
		{"rbac", testRBAC},
		{"namespaced rbac", testNamespacedRBAC},
		{"reloads with the API connected", testReloads},
		{"deploy", testDeploy},
		{"api outage", testOutage},
		{"start before api", testStartBeforeAPI},
		{"start from a snapshot", testWarmStart},
		{"fresh etcd relist", testFreshEtcd},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.fn(t, ctx, cs) }) {
			t.Fatalf("stopping after %q failed: later steps depend on it", s.name)
		}
	}
}

// expect polls name until the clusterdns server's answer satisfies ok, over UDP.
func expect(t *testing.T, what, name string, qtype uint16, timeout time.Duration, ok func(answer) bool) (answer, time.Duration) {
	t.Helper()
	return expectAt(t, dnsAddr, what, name, qtype, timeout, ok)
}

// expectAt is expect against the server on server:53.
func expectAt(t *testing.T, server, what, name string, qtype uint16, timeout time.Duration, ok func(answer) bool) (answer, time.Duration) {
	t.Helper()
	var last answer
	var lastErr error
	start := time.Now()
	for {
		last, lastErr = query(server, "udp", name, qtype)
		if lastErr == nil && ok(last) {
			return last, time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: %s %s after %s: got %v (err %v)\n%s", what, name, dns.TypeToString[qtype], timeout, last, lastErr, sliceState(name))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// count returns an answer check for n records of the asked type prefix.
func count(prefix string, n int) func(answer) bool {
	return func(a answer) bool {
		c := 0
		for _, r := range a.records {
			if strings.HasPrefix(r, prefix+" ") {
				c++
			}
		}
		return a.rcode == dns.RcodeSuccess && c == n
	}
}

func rcode(code int) func(answer) bool {
	return func(a answer) bool { return a.rcode == code }
}

func testSync(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	waitFor(t, "clusterdns ready", 60*time.Second, func() bool { return ready(env.readyPort) })
	kube := must(cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{}))
	expect(t, "the kubernetes service", "kubernetes.default.svc.cluster.local", dns.TypeA, 10*time.Second, func(a answer) bool {
		return a.rcode == dns.RcodeSuccess && slices.Equal(a.records, []string{"A " + kube.Spec.ClusterIP})
	})
}

// clusterIPs returns a service's ClusterIPs after it was created.
func clusterIPsOf(ctx context.Context, cs kubernetes.Interface, ns, name string) []string {
	return must(cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})).Spec.ClusterIPs
}

func testRecords(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	create := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := cs.AppsV1().Deployments("prod").Create(ctx, deployment("prod", "web", 3), metav1.CreateOptions{})
	create(err)
	_, err = cs.CoreV1().Services("prod").Create(ctx, service("prod", "web", false, &requireDual, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{})
	create(err)
	_, err = cs.CoreV1().Services("prod").Create(ctx, service("prod", "single", false, &singleStack, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{})
	create(err)
	// A StatefulSet's governing service: pods with hostname and subdomain.
	_, err = cs.CoreV1().Services("prod").Create(ctx, service("prod", "db", true, &requireDual, port("pg", corev1.ProtocolTCP, 5432)), metav1.CreateOptions{})
	create(err)
	for i := range 3 {
		_, err = cs.CoreV1().Pods("prod").Create(ctx, pod("prod", fmt.Sprintf("db-%d", i), "db", fmt.Sprintf("db-%d", i), "db"), metav1.CreateOptions{})
		create(err)
	}
	// Headless without hostnames.
	_, err = cs.AppsV1().Deployments("prod").Create(ctx, deployment("prod", "cache", 2), metav1.CreateOptions{})
	create(err)
	_, err = cs.CoreV1().Services("prod").Create(ctx, service("prod", "cache", true, &singleStack, port("redis", corev1.ProtocolTCP, 6379)), metav1.CreateOptions{})
	create(err)
	// publishNotReadyAddresses: the endpoint counts even when its pod is not ready.
	warm := service("prod", "warm", true, &singleStack, port("http", corev1.ProtocolTCP, 80))
	warm.Spec.PublishNotReadyAddresses = true
	_, err = cs.CoreV1().Services("prod").Create(ctx, warm, metav1.CreateOptions{})
	create(err)
	_, err = cs.CoreV1().Pods("prod").Create(ctx, pod("prod", "warm-0", "warm", "", ""), metav1.CreateOptions{})
	create(err)
	// A selector-less service with two hand-written slices.
	multi := service("prod", "multi", true, &singleStack, port("api", corev1.ProtocolTCP, 9000))
	multi.Spec.Selector = nil
	_, err = cs.CoreV1().Services("prod").Create(ctx, multi, metav1.CreateOptions{})
	create(err)
	_, err = cs.DiscoveryV1().EndpointSlices("prod").Create(ctx, manualSlice("prod", "multi", "multi-a", "10.250.0.1", "10.250.0.2"), metav1.CreateOptions{})
	create(err)
	_, err = cs.DiscoveryV1().EndpointSlices("prod").Create(ctx, manualSlice("prod", "multi", "multi-b", "10.250.0.2", "10.250.0.3"), metav1.CreateOptions{})
	create(err)
	// ExternalName, outside and inside the zone.
	for name, target := range map[string]string{"ext": "foo.example.com", "alias": "web.prod.svc.cluster.local"} {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target}}
		_, err = cs.CoreV1().Services("prod").Create(ctx, s, metav1.CreateOptions{})
		create(err)
	}

	webIPs := clusterIPsOf(ctx, cs, "prod", "web")
	if len(webIPs) != 2 {
		t.Fatalf("web should be dual-stack, has ClusterIPs %v", webIPs)
	}
	expect(t, "dual-stack ClusterIP A", "web.prod.svc.cluster.local", dns.TypeA, 10*time.Second, func(a answer) bool { return slices.Equal(a.records, []string{"A " + webIPs[0]}) })
	expect(t, "dual-stack ClusterIP AAAA", "web.prod.svc.cluster.local", dns.TypeAAAA, 10*time.Second, func(a answer) bool { return slices.Equal(a.records, []string{"AAAA " + webIPs[1]}) })
	expect(t, "single-stack AAAA is NODATA", "single.prod.svc.cluster.local", dns.TypeAAAA, 10*time.Second, func(a answer) bool { return a.rcode == dns.RcodeSuccess && len(a.records) == 0 })
	expect(t, "ClusterIP SRV", "_http._tcp.web.prod.svc.cluster.local", dns.TypeSRV, 10*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"SRV 0 100 80 web.prod.svc.cluster.local."})
	})
	expect(t, "PTR of a ClusterIP", dns.Fqdn(must(dns.ReverseAddr(webIPs[0]))), dns.TypePTR, 10*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"PTR web.prod.svc.cluster.local."})
	})
	expect(t, "PTR of an IPv6 ClusterIP", must(dns.ReverseAddr(webIPs[1])), dns.TypePTR, 10*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"PTR web.prod.svc.cluster.local."})
	})
	// Deployment -> pods (kwok) -> slices (EndpointSlice controller) -> answers.
	expect(t, "headless over both families", "db.prod.svc.cluster.local", dns.TypeA, 60*time.Second, count("A", 3))
	expect(t, "headless AAAA", "db.prod.svc.cluster.local", dns.TypeAAAA, 10*time.Second, count("AAAA", 3))
	db0, _ := expect(t, "hostname.subdomain", "db-0.db.prod.svc.cluster.local", dns.TypeA, 10*time.Second, count("A", 1))
	expect(t, "headless SRV names the pods", "_pg._tcp.db.prod.svc.cluster.local", dns.TypeSRV, 10*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{
			"SRV 0 33 5432 db-0.db.prod.svc.cluster.local.", "SRV 0 33 5432 db-1.db.prod.svc.cluster.local.", "SRV 0 33 5432 db-2.db.prod.svc.cluster.local.",
		})
	})
	expect(t, "PTR of a pod with a hostname", must(dns.ReverseAddr(strings.TrimPrefix(db0.records[0], "A "))), dns.TypePTR, 10*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"PTR db-0.db.prod.svc.cluster.local."})
	})
	cache, _ := expect(t, "headless without hostnames", "cache.prod.svc.cluster.local", dns.TypeA, 60*time.Second, count("A", 2))
	dashed := strings.ReplaceAll(strings.TrimPrefix(cache.records[0], "A "), ".", "-")
	expect(t, "dashed endpoint name", dashed+".cache.prod.svc.cluster.local", dns.TypeA, 10*time.Second, count("A", 1))
	webPod := runningPod(t, ctx, cs, "prod", "app=web")
	expect(t, "endpoint name under a ClusterIP service", strings.ReplaceAll(webPod.Status.PodIP, ".", "-")+".web.prod.svc.cluster.local", dns.TypeA, 30*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"A " + webPod.Status.PodIP})
	})
	expect(t, "multi-slice, merged and de-duplicated", "multi.prod.svc.cluster.local", dns.TypeA, 10*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"A 10.250.0.1", "A 10.250.0.2", "A 10.250.0.3"})
	})
	expect(t, "ExternalName CNAME", "ext.prod.svc.cluster.local", dns.TypeCNAME, 10*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"CNAME foo.example.com."})
	})
	expect(t, "in-zone ExternalName chased", "alias.prod.svc.cluster.local", dns.TypeA, 10*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"A " + webIPs[0], "CNAME web.prod.svc.cluster.local."})
	})
	expect(t, "dns-version", "dns-version.cluster.local", dns.TypeTXT, time.Second, func(a answer) bool { return slices.Equal(a.records, []string{`TXT "1.1.0"`}) })
	expect(t, "pods insecure", "10-244-1-77.prod.pod.cluster.local", dns.TypeA, time.Second, func(a answer) bool { return slices.Equal(a.records, []string{"A 10.244.1.77"}) })
	expect(t, "search expansion is NXDOMAIN", "web.prod.svc.cluster.local.prod.svc.cluster.local", dns.TypeA, time.Second, rcode(dns.RcodeNameError))

	// publishNotReadyAddresses: take the pod's readiness away.
	warm0, _ := expect(t, "publishNotReadyAddresses, pod ready", "warm.prod.svc.cluster.local", dns.TypeA, 60*time.Second, count("A", 1))
	setPodReady(t, ctx, cs, "prod", "warm-0", false)
	time.Sleep(2 * time.Second)
	if a := must(query(dnsAddr, "udp", "warm.prod.svc.cluster.local", dns.TypeA)); !slices.Equal(a.records, warm0.records) {
		t.Errorf("publishNotReadyAddresses: answer changed to %v when the pod became unready", a)
	}

	// Every name also over TCP.
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"web.prod.svc.cluster.local", dns.TypeAAAA}, {"_pg._tcp.db.prod.svc.cluster.local", dns.TypeSRV}, {"ext.prod.svc.cluster.local", dns.TypeCNAME}} {
		u, errU := query(dnsAddr, "udp", q.name, q.qtype)
		tc, errT := query(dnsAddr, "tcp", q.name, q.qtype)
		if errU != nil || errT != nil || !slices.Equal(u.records, tc.records) || len(u.records) == 0 {
			t.Errorf("%s over UDP %v and TCP %v differ (errors %v, %v)", q.name, u, tc, errU, errT)
		}
	}
}

// setPodReady sets a pod's Ready condition, as a kubelet would.
func setPodReady(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, name string, ready bool) {
	t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	patch := fmt.Sprintf(`{"status":{"conditions":[{"type":"Ready","status":%q},{"type":"ContainersReady","status":%q}]}}`, status, status)
	if _, err := cs.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
}

// runningPod returns a running pod with an address matching selector.
func runningPod(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, selector string) corev1.Pod {
	t.Helper()
	var found corev1.Pod
	waitFor(t, "a running pod "+selector, 60*time.Second, func() bool {
		pods := must(cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector}))
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && p.DeletionTimestamp == nil {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

// runningPodAt waits until kwok runs the pod of selector in ns, with an
// address of its own, then gives the pod ip instead: the loopback address
// the test's queries come from.
func runningPodAt(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, selector, ip string) {
	t.Helper()
	running := runningPod(t, ctx, cs, ns, selector)
	running.Status.PodIP = ip
	running.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, &running, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// sliceState describes the EndpointSlices of the service a name is under,
// to tell a DNS fault from a cluster that is not in the expected state.
func sliceState(name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	i := slices.Index(labels, "svc")
	if i < 2 {
		return ""
	}
	svc, ns := labels[i-2], labels[i-1]
	cs, err := env.cp.AdminClient()
	if err != nil {
		return err.Error()
	}
	list, err := cs.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "EndpointSlices of %s/%s:\n", ns, svc)
	for _, s := range list.Items {
		fmt.Fprintf(&b, "  %s (%s, rv %s):", s.Name, s.AddressType, s.ResourceVersion)
		for _, e := range s.Endpoints {
			ready := "unset"
			if e.Conditions.Ready != nil {
				ready = fmt.Sprint(*e.Conditions.Ready)
			}
			fmt.Fprintf(&b, " %v ready=%s", e.Addresses, ready)
		}
		b.WriteString("\n")
	}
	return b.String()
}
