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
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// namespacedToken is the bearer token of "clusterdns-ns", a user that holds
// only namespaced Roles (testNamespacedRBAC).
const namespacedToken = "clusterdns-ns-e2e-token"

// namespacedRole is the Role deploy/README.md gives for `namespaces`: list
// and watch on Services and EndpointSlices in one namespace.
func namespacedRole(ns string) *rbacv1.Role {
	return &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "clusterdns"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		},
	}
}

// testNamespacedRBAC runs a DNS server with `namespaces scope-a scope-b` as
// a user that holds a Role in each of those namespaces and nothing
// cluster-wide: it must sync, serve both namespaces, follow changes in
// them, never be refused, and know nothing of scope-c.
func testNamespacedRBAC(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	const (
		user = "clusterdns-ns"
		addr = "127.0.0.21"
	)
	served, other := []string{"scope-a", "scope-b"}, "scope-c"
	clusterIPs := map[string]string{}
	for _, ns := range append(slices.Clone(served), other) {
		must(cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
		svc := must(cs.CoreV1().Services(ns).Create(ctx, service(ns, "web", false, &singleStack, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{}))
		clusterIPs[ns] = svc.Spec.ClusterIP
	}
	for _, ns := range served {
		must(cs.RbacV1().Roles(ns).Create(ctx, namespacedRole(ns), metav1.CreateOptions{}))
		must(cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "clusterdns"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "clusterdns"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
		}, metav1.CreateOptions{}))
	}
	defer func() {
		for _, ns := range append(slices.Clone(served), other) {
			_ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		}
	}()

	// The user really holds nothing cluster-wide.
	nsUser := must(kubernetes.NewForConfig(&rest.Config{
		Host: env.cp.APIURL(), BearerToken: namespacedToken, TLSClientConfig: rest.TLSClientConfig{CAFile: env.cp.CAFile},
	}))
	waitFor(t, "the Roles to take effect", 10*time.Second, func() bool {
		_, err := nsUser.CoreV1().Services(served[0]).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil
	})
	for what, err := range map[string]error{
		"list services cluster-wide": func() error {
			_, err := nsUser.CoreV1().Services("").List(ctx, metav1.ListOptions{Limit: 1})
			return err
		}(),
		"list namespaces": func() error {
			_, err := nsUser.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1})
			return err
		}(),
		"list services in " + other: func() error {
			_, err := nsUser.CoreV1().Services(other).List(ctx, metav1.ListOptions{Limit: 1})
			return err
		}(),
	} {
		if !apierrors.IsForbidden(err) {
			t.Fatalf("the namespaced user may %s (err %v); it should be forbidden", what, err)
		}
	}

	kubeconfig := env.cp.Path(user + ".kubeconfig")
	if err := env.cp.WriteKubeconfig(kubeconfig, namespacedToken); err != nil {
		t.Fatal(err)
	}
	readyPort := must(controlplane.FreePort())
	corefile := env.cp.Path(user + ".Corefile")
	conf := fmt.Sprintf(".:53 {\n    bind %s\n    ready 127.0.0.1:%d\n    clusterdns cluster.local in-addr.arpa {\n        kubeconfig %s\n        namespaces %s\n        startup_timeout 5s\n    }\n}\n",
		addr, readyPort, kubeconfig, strings.Join(served, " "))
	if err := os.WriteFile(corefile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := env.cp.Start(user, env.coredns, os.Environ(), "-conf", corefile); err != nil {
		t.Fatal(err)
	}
	defer env.cp.Stop(user)
	waitFor(t, "the namespaced server ready", 30*time.Second, func() bool { return ready(readyPort) })
	// /ready can answer a moment before the DNS listeners are up.
	waitFor(t, "the namespaced server to answer", 10*time.Second, func() bool {
		_, err := query(addr, "udp", served[0]+".svc.cluster.local.", dns.TypeA)
		return err == nil
	})
	record("namespaced RBAC: start -> ready", time.Since(start))

	ask := func(name string, qtype uint16) answer {
		t.Helper()
		return must(query(addr, "udp", name, qtype))
	}
	for _, ns := range served {
		if a := ask("web."+ns+".svc.cluster.local.", dns.TypeA); !slices.Equal(a.records, []string{"A " + clusterIPs[ns]}) {
			t.Errorf("web.%s: %v, want A %s", ns, a, clusterIPs[ns])
		}
		if a := ask(ns+".svc.cluster.local.", dns.TypeA); a.rcode != dns.RcodeSuccess || len(a.records) != 0 {
			t.Errorf("%s.svc: %v, want NODATA", ns, a)
		}
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"web." + other + ".svc.cluster.local.", dns.TypeA},
		{other + ".svc.cluster.local.", dns.TypeA},
		{"kubernetes.default.svc.cluster.local.", dns.TypeA},
		{reverseName(clusterIPs[other]), dns.TypePTR},
	} {
		if a := ask(q.name, q.qtype); a.rcode != dns.RcodeNameError {
			t.Errorf("%s: %v, want NXDOMAIN", q.name, a)
		}
	}
	if a := ask(reverseName(clusterIPs[served[0]]), dns.TypePTR); !slices.Equal(a.records, []string{"PTR web." + served[0] + ".svc.cluster.local."}) {
		t.Errorf("PTR of web.%s: %v", served[0], a)
	}

	// The per-namespace watches follow changes.
	created := time.Now()
	must(cs.CoreV1().Services(served[1]).Create(ctx, service(served[1], "late", false, &singleStack, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{}))
	waitFor(t, "late."+served[1]+" answered", 30*time.Second, func() bool {
		a, err := query(addr, "udp", "late."+served[1]+".svc.cluster.local.", dns.TypeA)
		return err == nil && len(a.records) == 1
	})
	record("namespaced RBAC: service created -> A answered", time.Since(created))

	if log := string(must(os.ReadFile(env.cp.Path(user + ".log")))); strings.Contains(log, refusedLine) {
		t.Errorf("the namespaced server was refused a request:\n%s", log)
	}

	// Listing a namespace the user has no Role in: refused, logged, never
	// ready, as deploy/README.md says.
	const missing = user + "-missing"
	readyPort = must(controlplane.FreePort())
	corefile = env.cp.Path(missing + ".Corefile")
	conf = fmt.Sprintf(".:53 {\n    bind 127.0.0.23\n    ready 127.0.0.1:%d\n    clusterdns cluster.local {\n        kubeconfig %s\n        namespaces %s %s\n        startup_timeout 1s\n    }\n}\n",
		readyPort, kubeconfig, served[0], other)
	if err := os.WriteFile(corefile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := env.cp.Start(missing, env.coredns, os.Environ(), "-conf", corefile); err != nil {
		t.Fatal(err)
	}
	defer env.cp.Stop(missing)
	waitFor(t, "the refusal in "+other+" to be logged", 20*time.Second, func() bool {
		for _, line := range strings.Split(string(must(os.ReadFile(env.cp.Path(missing+".log")))), "\n") {
			if strings.Contains(line, refusedLine) && strings.Contains(line, `in the namespace "`+other+`"`) {
				return true
			}
		}
		return false
	})
	if ready(readyPort) {
		t.Errorf("/ready answers 200 although %s cannot be listed", other)
	}
}

// reverseName is the in-addr.arpa name of an IPv4 address.
func reverseName(ip string) string {
	name, err := dns.ReverseAddr(ip)
	if err != nil {
		panic(err)
	}
	return name
}
