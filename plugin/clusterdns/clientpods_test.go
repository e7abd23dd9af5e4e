package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// clientAt returns "<ns>/<name>" of the pod a query from ip comes from, or "".
func clientAt(c *ClusterDNS, ip string) string {
	p, ok := c.clientOf(&test.ResponseWriter{RemoteIP: ip})
	if !ok {
		return ""
	}
	return p.Namespace + "/" + p.Name
}

func TestClientOf(t *testing.T) {
	const ip = "10.244.0.9"
	tests := []struct {
		name string
		pods []runtime.Object
		from string
		want string
	}{
		{"running pod", []runtime.Object{fixture.Pod("prod", "a", corev1.PodRunning, 1, ip)}, ip, "prod/a"},
		{"pending pod with an address", []runtime.Object{fixture.Pod("prod", "a", corev1.PodPending, 1, ip)}, ip, "prod/a"},
		{"second address of a dual-stack pod", []runtime.Object{fixture.Pod("prod", "a", corev1.PodRunning, 1, ip, "fd00::9")}, "fd00::9", "prod/a"},
		{"IPv4-mapped source", []runtime.Object{fixture.Pod("prod", "a", corev1.PodRunning, 1, ip)}, "::ffff:" + ip, "prod/a"},
		{"no pod at the address", []runtime.Object{fixture.Pod("prod", "a", corev1.PodRunning, 1, ip)}, "10.244.0.10", ""},
		{"host-network pod: its address is the node's", []runtime.Object{fixture.HostNetwork(fixture.Pod("kube-system", "proxy", corev1.PodRunning, 1, ip))}, ip, ""},
		{"host-network pod beside a pod: the pod", []runtime.Object{
			fixture.HostNetwork(fixture.Pod("kube-system", "proxy", corev1.PodRunning, 5, ip)), fixture.Pod("prod", "a", corev1.PodRunning, 1, ip),
		}, ip, "prod/a"},
		{"finished pod", []runtime.Object{fixture.Pod("prod", "a", corev1.PodSucceeded, 1, ip)}, ip, ""},
		{"reused address: the newest", []runtime.Object{
			fixture.Pod("prod", "old", corev1.PodRunning, 1, ip), fixture.Pod("dev", "new", corev1.PodRunning, 2, ip),
		}, ip, "dev/new"},
		{"reused address: running beats a newer pending", []runtime.Object{
			fixture.Pod("prod", "old", corev1.PodRunning, 1, ip), fixture.Pod("dev", "new", corev1.PodPending, 2, ip),
		}, ip, "prod/old"},
		{"reused address: a pod being deleted loses", []runtime.Object{
			fixture.Deleting(fixture.Pod("prod", "gone", corev1.PodRunning, 3, ip)), fixture.Pod("dev", "new", corev1.PodPending, 2, ip),
		}, ip, "dev/new"},
		{"same creation time: by name", []runtime.Object{
			fixture.Pod("prod", "b", corev1.PodRunning, 1, ip), fixture.Pod("prod", "a", corev1.PodRunning, 1, ip),
		}, ip, "prod/a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestPlugin(t, verifiedConfig(), tc.pods...)
			if got := clientAt(c, tc.from); got != tc.want {
				t.Errorf("client at %s = %q, want %q", tc.from, got, tc.want)
			}
		})
	}
}

// TestClientOfFollowsPods changes pods through a running watch: the client
// of an address follows creation, reuse and deletion.
func TestClientOfFollowsPods(t *testing.T) {
	ctx := context.Background()
	const ip = "10.244.0.9"
	c, cs := startFake(t, verifiedConfig(), fixture.Namespace("prod"), fixture.Pod("prod", "old", corev1.PodRunning, 1, ip))
	if got := clientAt(c, ip); got != "prod/old" {
		t.Fatalf("client %q, want prod/old", got)
	}
	if _, err := cs.CoreV1().Pods("dev").Create(ctx, fixture.Pod("dev", "new", corev1.PodRunning, 2, ip), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "the newer pod owns the address", func() bool { return clientAt(c, ip) == "dev/new" })
	if err := cs.CoreV1().Pods("dev").Delete(ctx, "new", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "the address back to the pod still holding it", func() bool { return clientAt(c, ip) == "prod/old" })
	moved := fixture.Pod("prod", "old", corev1.PodRunning, 1, "10.244.0.10")
	if _, err := cs.CoreV1().Pods("prod").Update(ctx, moved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "the pod's new address", func() bool { return clientAt(c, "10.244.0.10") == "prod/old" && clientAt(c, ip) == "" })
	if c.index.Load().Clients.Len() != 1 {
		t.Errorf("%d client addresses published, want 1", c.index.Load().Clients.Len())
	}
}
