//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// The server of testStockPlugins, and the loopback addresses its queries
// come from: the first is the address of a pod in prod, the second that
// of a pod on the host network; the kernel accepts any 127/8 source.
const (
	pluginsAddr   = "127.0.0.6"
	podClientAddr = "127.0.0.7"
	hostNetAddr   = "127.0.0.8"
	// pluginsUser is the ClusterRole that adds what `pods verified` needs
	// (as deploy/overlays/pods-verified does), bound to the DNS user.
	pluginsUser = "clusterdns-e2e-pods"
	// handoverNS is the namespace of the pod that takes over the address
	// of the client pod in prod.
	handoverNS = "handover"
)

// testStockPlugins runs a server with the stock plugins that use
// clusterdns's interfaces (autopath, transfer, metadata with log) and
// `pods verified`, serving namespaces prod and handover (where a pod takes
// over an address). With `namespaces`, pods are watched in those alone.
func testStockPlugins(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	grantPods(t, ctx, cs)
	if err := ensureNamespace(ctx, cs, handoverNS); err != nil {
		t.Fatal(err)
	}
	clientPod := unscheduledPod(t, ctx, cs, "prod", "client", podClientAddr, false)
	unscheduledPod(t, ctx, cs, "prod", "hostnet", hostNetAddr, true)

	readyPort := must(controlplane.FreePort())
	metricsPort := must(controlplane.FreePort())
	corefile := fmt.Sprintf(`.:53 {
    bind %s
    ready 127.0.0.1:%d
    metadata
    log . "META {remote} {/clusterdns/client-namespace}/{/clusterdns/client-pod-name} {name} {type} {/clusterdns/kind} {/clusterdns/namespace} {/clusterdns/service} {/clusterdns/endpoint} {/clusterdns/port-name} {/clusterdns/protocol} {/clusterdns/negative-reason}"
    prometheus 127.0.0.1:%d
    autopath @clusterdns
    transfer {
        to *
    }
    clusterdns cluster.local {
        kubeconfig %s
        pods verified
        namespaces prod %s
    }
    template IN A example.com {
        answer "{{ .Name }} 60 IN A 192.0.2.10"
    }
}
`, pluginsAddr, readyPort, metricsPort, env.dnsConf, handoverNS)
	path := env.cp.Path("plugins.Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := env.cp.Start("plugins", env.coredns, os.Environ(), "-conf", path); err != nil {
		t.Fatal(err)
	}
	defer env.cp.Stop("plugins")
	waitFor(t, "the plugins server ready", 30*time.Second, func() bool { return ready(readyPort) })

	t.Run("autopath", func(t *testing.T) { testAutopath(t, ctx, cs, clientPod) })
	t.Run("transfer", testTransfer)
	t.Run("metadata", func(t *testing.T) { testMetadataLog(t, metricsPort) })
}

// grantPods lets the DNS user list and watch pods for the rest of the test.
func grantPods(t *testing.T, ctx context.Context, cs kubernetes.Interface) {
	t.Helper()
	grantDNSUser(t, ctx, cs, pluginsUser, "", "pods")
}

// grantDNSUser lets the DNS user list and watch resource of group, through
// the ClusterRole name, for the rest of the test.
func grantDNSUser(t *testing.T, ctx context.Context, cs kubernetes.Interface, name, group, resource string) {
	t.Helper()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{"list", "watch"}},
	}}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "clusterdns"}},
	}
	must(cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}))
	must(cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}))
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// unscheduledPod creates a pod no scheduler takes and no kwok node runs,
// and writes its status as a kubelet would: running with address ip. So
// the pod's address can be a loopback one that queries come from.
func unscheduledPod(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, name, ip string, hostNetwork bool) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: podSpec()}
	p.Spec.NodeName = ""
	p.Spec.SchedulerName = "e2e-nobody"
	p.Spec.HostNetwork = hostNetwork
	p = must(cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}))
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	if hostNetwork {
		p.Status.HostIP, p.Status.HostIPs = ip, []corev1.HostIP{{IP: ip}}
	}
	p = must(cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}))
	t.Cleanup(func() {
		zero := int64(0)
		_ = cs.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	return p
}

// queryFrom asks the plugins server name/qtype from source address src.
func queryFrom(src, network, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	var local net.Addr = &net.UDPAddr{IP: net.ParseIP(src)}
	if network == "tcp" {
		local = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c := &dns.Client{Net: network, Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: local}}
	r, _, err := c.Exchange(m, pluginsAddr+":53")
	return r, err
}

// searchWalk resolves name from src as a pod of ns does (ndots:5): each
// search domain in turn until an answer that is not NXDOMAIN. It returns
// that answer and the number of queries sent.
func searchWalk(src, ns, name string) (answer, int, error) {
	search := []string{ns + ".svc.cluster.local.", "svc.cluster.local.", "cluster.local.", ""}
	for i, s := range search {
		r, err := queryFrom(src, "udp", dns.Fqdn(name)+s, dns.TypeA)
		if err != nil {
			return answer{}, i + 1, err
		}
		if r.Rcode != dns.RcodeNameError {
			return answerOf(r), i + 1, nil
		}
	}
	return answer{rcode: dns.RcodeNameError}, len(search), nil
}

func testAutopath(t *testing.T, ctx context.Context, cs kubernetes.Interface, client *corev1.Pod) {
	want := []string{"A 192.0.2.10", "CNAME api.example.com."}
	var got answer
	var n int
	waitFor(t, "autopath for the pod in prod", 30*time.Second, func() bool {
		var err error
		got, n, err = searchWalk(podClientAddr, "prod", "api.example.com")
		return err == nil && n == 1 && slices.Equal(got.records, want)
	})

	// The same walk from a host-network pod's address and from an address
	// that is no pod's: no search path, so the client walks all of it.
	for _, src := range []string{hostNetAddr, "127.0.0.1"} {
		got, n, err := searchWalk(src, "prod", "api.example.com")
		if err != nil || n != 4 || !slices.Equal(got.records, []string{"A 192.0.2.10"}) {
			t.Errorf("from %s: %d queries, %v (%v); want 4 and only the A record", src, n, got, err)
		}
	}

	// A newer pod takes over the address, as when the pod is replaced and
	// its address reused before the old object is gone.
	successor := unscheduledPod(t, ctx, cs, handoverNS, "successor", podClientAddr, false)
	waitFor(t, "the newer pod's namespace", 30*time.Second, func() bool {
		got, n, err := searchWalk(podClientAddr, handoverNS, "api.example.com")
		return err == nil && n == 1 && slices.Equal(got.records, want)
	})
	t.Logf("%s/%s took over %s from %s/%s", successor.Namespace, successor.Name, podClientAddr, client.Namespace, client.Name)

	// The round trips a pod's lookup of api.example.com costs, timed.
	for _, tc := range []struct {
		src, label string
	}{{podClientAddr, "with autopath"}, {"127.0.0.1", "without (unknown source)"}} {
		const rounds = 200
		start := time.Now()
		queries := 0
		for range rounds {
			_, n, err := searchWalk(tc.src, handoverNS, "api.example.com")
			if err != nil {
				t.Fatal(err)
			}
			queries += n
		}
		t.Logf("api.example.com %s: %.1f queries and %s per lookup", tc.label, float64(queries)/rounds, time.Since(start)/rounds)
	}
}

// testTransfer transfers cluster.local with dig and asks for every RRset
// in it: each must be what a query gets, and nothing may come from a
// namespace the server does not serve.
func testTransfer(t *testing.T) {
	var mismatch []string
	for attempt := range 3 { // pods of other steps may still change between the two
		out, err := exec.Command("dig", "@"+pluginsAddr, "+tcp", "+noall", "+answer", "+time=5", "AXFR", "cluster.local.").CombinedOutput()
		if err != nil {
			t.Fatalf("dig AXFR: %v\n%s", err, out)
		}
		sets := map[string][]string{} // "name TYPE" -> "TYPE data"
		var soas int
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			rr, err := dns.NewRR(line)
			if err != nil || rr == nil {
				t.Fatalf("dig AXFR line %q: %v", line, err)
			}
			h := rr.Header()
			if h.Rrtype == dns.TypeSOA {
				soas++
				continue
			}
			key := h.Name + " " + dns.TypeToString[h.Rrtype]
			sets[key] = append(sets[key], dns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
		}
		if soas != 2 {
			t.Fatalf("AXFR has %d SOA records, want 2 (first and last):\n%s", soas, out)
		}
		for _, want := range []string{"web.prod.svc.cluster.local. A", "_pg._tcp.db.prod.svc.cluster.local. SRV", "db-0.db.prod.svc.cluster.local. A", "ns.dns.cluster.local. A"} {
			if _, ok := sets[want]; !ok {
				t.Errorf("AXFR lacks %s", want)
			}
		}
		mismatch = nil
		for key, records := range sets {
			if strings.Contains(key, ".default.svc.") || strings.Contains(key, ".kube-system.") {
				t.Errorf("AXFR holds %s, outside the served namespaces", key)
			}
			name, typ, _ := strings.Cut(key, " ")
			a, err := query(pluginsAddr, "tcp", name, dns.StringToType[typ])
			slices.Sort(records)
			if err != nil || !slices.Equal(a.records, records) {
				mismatch = append(mismatch, fmt.Sprintf("%s: AXFR %v, query %v (%v)", key, records, a, err))
			}
		}
		if len(mismatch) == 0 {
			t.Logf("AXFR of %d RRsets matches the queries (attempt %d)", len(sets), attempt+1)
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("AXFR and queries differ:\n%s", strings.Join(mismatch, "\n"))
}

// testMetadataLog queries from the pod's address and finds the metadata in
// the log plugin's lines, the reasons of negative answers among them, and
// those answers counted by reason.
func testMetadataLog(t *testing.T, metricsPort int) {
	noService := `coredns_clusterdns_negative_answers_total{reason="no_service"}`
	before := metric(t, metricsPort, noService)
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"_http._tcp.web.prod.svc.cluster.local.", dns.TypeSRV}, {"db-0.db.prod.svc.cluster.local.", dns.TypeA}} {
		if _, err := queryFrom(podClientAddr, "udp", q.name, q.qtype); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"web.prod.svc.cluster.local.", dns.TypeA},
		{"nothere.prod.svc.cluster.local.", dns.TypeA},
		{"_nope._tcp.web.prod.svc.cluster.local.", dns.TypeSRV},
		{"example.com.prod.svc.cluster.local.", dns.TypeA},
	} {
		if _, err := queryFrom("127.0.0.1", "udp", q.name, q.qtype); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		// handover/successor went with the end of testAutopath: the
		// address is prod/client's again.
		" prod/client _http._tcp.web.prod.svc.cluster.local. SRV svc prod web - http tcp -",
		" prod/client db-0.db.prod.svc.cluster.local. A svc prod db db-0 - - -",
		" -/- web.prod.svc.cluster.local. A svc prod web - - - -",
		" -/- nothere.prod.svc.cluster.local. A svc prod nothere - - - no_service",
		" -/- _nope._tcp.web.prod.svc.cluster.local. SRV svc prod web - nope tcp no_port",
		" -/- example.com.prod.svc.cluster.local. A svc prod com example - - search_expansion",
	}
	if after := metric(t, metricsPort, noService); after != before+1 {
		t.Errorf("%s went from %v to %v, want one more", noService, before, after)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var lines []string
		for _, l := range strings.Split(string(must(os.ReadFile(env.cp.Path("plugins.log")))), "\n") {
			if strings.Contains(l, "META ") {
				lines = append(lines, l)
			}
		}
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool {
			return slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, w) })
		})
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log lines lack %q; the log has:\n%s", missing, strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
