//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// testRBAC checks the DNS server's user holds what it needs and no more.
func testRBAC(t *testing.T, ctx context.Context, _ *kubernetes.Clientset) {
	dnsUser := must(kubernetes.NewForConfig(&rest.Config{
		Host: env.cp.APIURL(), BearerToken: dnsToken, TLSClientConfig: rest.TLSClientConfig{CAFile: env.cp.CAFile},
	}))
	if _, err := dnsUser.CoreV1().Services("").List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		t.Errorf("the DNS user cannot list services: %v", err)
	}
	if _, err := dnsUser.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		t.Errorf("the DNS user cannot list endpointslices: %v", err)
	}
	for what, err := range map[string]error{
		"list pods": func() error { _, err := dnsUser.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1}); return err }(),
		"list secrets": func() error {
			_, err := dnsUser.CoreV1().Secrets("").List(ctx, metav1.ListOptions{Limit: 1})
			return err
		}(),
		"create services": func() error {
			_, err := dnsUser.CoreV1().Services("prod").Create(ctx, service("prod", "nope", false, &singleStack, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{})
			return err
		}(),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("the DNS user may %s (err %v); it should be forbidden", what, err)
		}
	}
}

// steadyNames are answers that must survive API trouble unchanged.
var steadyNames = []struct {
	name  string
	qtype uint16
}{
	{"web.prod.svc.cluster.local.", dns.TypeA},
	{"db.prod.svc.cluster.local.", dns.TypeA},
	{"_pg._tcp.db.prod.svc.cluster.local.", dns.TypeSRV},
	{"kubernetes.default.svc.cluster.local.", dns.TypeA},
	{"nothere.prod.svc.cluster.local.", dns.TypeA},
}

func snapshotAnswers(t *testing.T, server string) []answer {
	t.Helper()
	var out []answer
	for _, n := range steadyNames {
		out = append(out, must(query(server, "udp", n.name, n.qtype)))
	}
	return out
}

// testOutage stops the API server: answers keep coming from the last state,
// unchanged, marked stale, and /ready (ready_stale_limit 3s) turns false;
// after it returns, new changes are answered again, and the answers are
// current and the server ready again.
func testOutage(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	if v := metric(t, env.metricsPort, "coredns_clusterdns_stale"); v != 0 || !ready(env.readyPort) {
		t.Fatalf("before the outage: stale %v, ready %v; want 0 and ready", v, ready(env.readyPort))
	}
	before := snapshotAnswers(t, dnsAddr)
	stopping := time.Now()
	env.cp.Stop("kube-apiserver") // a graceful shutdown: up to 10 s
	stopped := time.Now()
	var unready time.Duration // how long until /ready said no
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		now := snapshotAnswers(t, dnsAddr)
		for i := range now {
			if now[i].rcode != before[i].rcode || !slices.Equal(now[i].records, before[i].records) {
				t.Fatalf("during the outage %s changed from %v to %v", steadyNames[i].name, before[i], now[i])
			}
		}
		if unready == 0 && !ready(env.readyPort) {
			unready = time.Since(stopped)
		}
	}
	if unready == 0 {
		t.Error("/ready stayed true through a 15 s outage with ready_stale_limit 3s")
	} else {
		record("API stopped -> /ready false (ready_stale_limit 3s)", unready)
	}
	if v := metric(t, env.metricsPort, "coredns_clusterdns_stale"); v != 1 {
		t.Errorf("coredns_clusterdns_stale %v during the outage, want 1", v)
	}
	since := metric(t, env.metricsPort, "coredns_clusterdns_stale_since_timestamp_seconds")
	if s := time.Unix(0, int64(since*1e9)); s.Before(stopping) || s.After(stopped.Add(5*time.Second)) {
		t.Errorf("coredns_clusterdns_stale_since_timestamp_seconds %s, want between the API server's stop (%s) and 5 s after it ended (%s)", s, stopping, stopped)
	}
	back := restartAPIAndCreate(t, ctx, cs, "after-outage")
	start := time.Now()
	expect(t, "a change after the outage", "after-outage.prod.svc.cluster.local.", dns.TypeA, 120*time.Second, count("A", 1))
	record("after a 15 s API outage: service created -> A answered", time.Since(start))
	record("after a 15 s API outage: API back -> new service answered", time.Since(back))
	waitFor(t, "ready and current again", 30*time.Second, func() bool {
		return metric(t, env.metricsPort, "coredns_clusterdns_stale") == 0 && ready(env.readyPort)
	})
	record("after a 15 s API outage: API back -> /ready true, stale 0", time.Since(back))
	compareUpstream("after a 15 s API outage: service created -> A answered", start, "after-outage.prod.svc.cluster.local.", count("A", 1))
}

// restartAPIAndCreate starts the API server again and creates the service
// prod/name as soon as it answers; it returns when the server was started.
func restartAPIAndCreate(t *testing.T, ctx context.Context, cs *kubernetes.Clientset, name string) time.Time {
	t.Helper()
	if err := env.cp.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	waitFor(t, "API back", 60*time.Second, func() bool {
		_, err := cs.CoreV1().Services("prod").Create(ctx, service("prod", name, false, &singleStack, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{})
		return err == nil
	})
	return back
}

// compareUpstream records how long the kubernetes plugin (same binary,
// same objects) takes to show the same change, for the record only.
func compareUpstream(what string, since time.Time, name string, ok func(answer) bool) {
	deadline := since.Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if a, err := query(upstreamAddr, "udp", name, dns.TypeA); err == nil && ok(a) {
			record("  kubernetes plugin, "+what, time.Since(since))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	timings = append(timings, fmt.Sprintf("  kubernetes plugin, %s: not within 90 s", what))
}

// testStartBeforeAPI starts a second DNS server while the API server is
// down: it answers SERVFAIL (never NXDOMAIN) and is not ready, then becomes
// ready and answers once the API server is back.
func testStartBeforeAPI(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	const addr = "127.0.0.4"
	env.cp.Stop("kube-apiserver")
	readyPort := must(controlplane.FreePort())
	if err := startDNS("coredns-late", addr, "", readyPort, 0); err != nil {
		t.Fatal(err)
	}
	defer env.cp.Stop("coredns-late")
	var a answer
	waitFor(t, "the late server to answer", 30*time.Second, func() bool {
		var err error
		a, err = query(addr, "udp", "kubernetes.default.svc.cluster.local.", dns.TypeA)
		return err == nil
	})
	for _, name := range []string{"kubernetes.default.svc.cluster.local.", "nothere.default.svc.cluster.local."} {
		if a = must(query(addr, "udp", name, dns.TypeA)); a.rcode != dns.RcodeServerFailure {
			t.Errorf("before the API is reachable, %s: %v; want SERVFAIL", name, a)
		}
	}
	if ready(readyPort) {
		t.Error("/ready says ready before the API is reachable")
	}
	start := time.Now()
	if err := env.cp.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late server ready", 120*time.Second, func() bool { return ready(readyPort) })
	record("DNS started before the API: API started -> ready", time.Since(start))
	kube := must(cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})).Spec.ClusterIP
	if a := must(query(addr, "udp", "kubernetes.default.svc.cluster.local.", dns.TypeA)); !slices.Equal(a.records, []string{"A " + kube}) {
		t.Errorf("after sync: %v", a)
	}
}

// testFreshEtcd restarts the control plane on an empty etcd, a new revision
// history, as after a restore: the DNS server keeps running, its informers
// must relist, and the answers follow the new state.
func testFreshEtcd(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	for _, name := range []string{"kwok", "kube-controller-manager", "kube-apiserver", "etcd"} {
		env.cp.Stop(name)
	}
	start := time.Now()
	if err := env.cp.StartEtcd(true); err != nil {
		t.Fatal(err)
	}
	if err := env.cp.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.cp.StartControllers(); err != nil {
		t.Fatal(err)
	}
	if err := seed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Services("prod").Create(ctx, service("prod", "reborn", false, &singleStack, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	expect(t, "a service of the new history", "reborn.prod.svc.cluster.local.", dns.TypeA, 120*time.Second, count("A", 1))
	record("fresh etcd: restart -> new service answered", time.Since(start))
	record("fresh etcd: service created -> A answered", time.Since(created))
	expect(t, "a service of the old history", "web.prod.svc.cluster.local.", dns.TypeA, 60*time.Second, rcode(dns.RcodeNameError))
	record("fresh etcd: restart -> old service gone", time.Since(start))
	compareUpstream("fresh etcd: service created -> A answered", created, "reborn.prod.svc.cluster.local.", count("A", 1))
}
