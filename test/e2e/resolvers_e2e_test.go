//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// testResolvers resolves short and partial names the way a pod in prod
// does: dig +search walks the search list (every expansion before the
// answer must be NXDOMAIN, or dig stops), and glibc's getent resolves
// through /etc/resolv.conf, as does musl's getaddrinfo, which must agree.
func testResolvers(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	web := must(cs.CoreV1().Services("prod").Get(ctx, "web", metav1.GetOptions{})).Spec.ClusterIPs
	kube := must(cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})).Spec.ClusterIP
	tests := []struct {
		args []string
		want string // a line the output must contain
	}{
		{[]string{"dig", "+search", "+short", "web", "A"}, web[0]},
		{[]string{"dig", "+search", "+short", "+tcp", "web", "A"}, web[0]},
		{[]string{"dig", "+search", "+short", "web.prod", "AAAA"}, web[1]},
		{[]string{"dig", "+search", "+short", "web.prod.svc", "A"}, web[0]},
		{[]string{"dig", "+search", "+short", "web.prod.svc.cluster.local", "A"}, web[0]},
		{[]string{"dig", "+search", "+short", "kubernetes.default", "A"}, kube},
		{[]string{"dig", "+search", "+short", "_pg._tcp.db", "SRV"}, "db-0.db.prod.svc.cluster.local."},
		{[]string{"dig", "+search", "+short", "db-1.db", "A"}, "10.244.1."},
		// getent hosts asks for IPv6 first; ahostsv4 for IPv4 only.
		{[]string{"getent", "hosts", "web"}, web[1]},
		{[]string{"getent", "ahostsv4", "web"}, web[0]},
		{[]string{"getent", "ahostsv4", "web.prod"}, web[0]},
		{[]string{"getent", "ahostsv6", "web.prod.svc"}, web[1]},
		{[]string{"getent", "hosts", "kubernetes.default"}, kube},
		{[]string{"getent", "hosts", "db-2.db"}, "db-2.db.prod.svc.cluster.local"},
		{[]string{"getent", "ahostsv4", "alias"}, web[0]},
	}
	for _, tc := range tests {
		out, err := inPod(env.dir, "prod", tc.args...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("in a pod of prod, %s: %q (err %v); want a line with %q", strings.Join(tc.args, " "), out, err, tc.want)
		}
		if tc.args[0] == "getent" {
			checkMusl(t, prod, tc.args[1], tc.args[2])
		}
	}
	// A name that exists nowhere fails cleanly, after every expansion.
	if out, err := inPod(env.dir, "prod", "getent", "hosts", "nothere"); err == nil {
		t.Errorf("getent hosts nothere succeeded: %q", out)
	}
	checkMusl(t, prod, "hosts", "nothere")
	// A namespace's name is NODATA under svc.cluster.local, where musl
	// stops and glibc goes on; this server has nothing behind the node's
	// domain, so both find nothing (TestNodeLocalDNS's node has, and there
	// they differ).
	if g := checkMusl(t, prod, "ahostsv4", "staging"); g.found() {
		t.Errorf("getent ahostsv4 staging found %v", g)
	}
}

// prod is the DNS of a pod in prod, with the cluster DNS as its nameserver.
var prod = podDNS{ns: "prod", nameserver: dnsAddr}
