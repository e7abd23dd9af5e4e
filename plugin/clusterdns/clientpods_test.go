package clusterdns

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
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
		{"running pod", []runtime.Object{testPod("prod", "a", corev1.PodRunning, 1, ip)}, ip, "prod/a"},
		{"pending pod with an address", []runtime.Object{testPod("prod", "a", corev1.PodPending, 1, ip)}, ip, "prod/a"},
		{"second address of a dual-stack pod", []runtime.Object{testPod("prod", "a", corev1.PodRunning, 1, ip, "fd00::9")}, "fd00::9", "prod/a"},
		{"IPv4-mapped source", []runtime.Object{testPod("prod", "a", corev1.PodRunning, 1, ip)}, "::ffff:" + ip, "prod/a"},
		{"no pod at the address", []runtime.Object{testPod("prod", "a", corev1.PodRunning, 1, ip)}, "10.244.0.10", ""},
		{"host-network pod: its address is the node's", []runtime.Object{hostNetworkPod(testPod("kube-system", "proxy", corev1.PodRunning, 1, ip))}, ip, ""},
		{"host-network pod beside a pod: the pod", []runtime.Object{
			hostNetworkPod(testPod("kube-system", "proxy", corev1.PodRunning, 5, ip)), testPod("prod", "a", corev1.PodRunning, 1, ip),
		}, ip, "prod/a"},
		{"finished pod", []runtime.Object{testPod("prod", "a", corev1.PodSucceeded, 1, ip)}, ip, ""},
		{"reused address: the newest", []runtime.Object{
			testPod("prod", "old", corev1.PodRunning, 1, ip), testPod("dev", "new", corev1.PodRunning, 2, ip),
		}, ip, "dev/new"},
		{"reused address: running beats a newer pending", []runtime.Object{
			testPod("prod", "old", corev1.PodRunning, 1, ip), testPod("dev", "new", corev1.PodPending, 2, ip),
		}, ip, "prod/old"},
		{"reused address: a pod being deleted loses", []runtime.Object{
			deletingPod(testPod("prod", "gone", corev1.PodRunning, 3, ip)), testPod("dev", "new", corev1.PodPending, 2, ip),
		}, ip, "dev/new"},
		{"same creation time: by name", []runtime.Object{
			testPod("prod", "b", corev1.PodRunning, 1, ip), testPod("prod", "a", corev1.PodRunning, 1, ip),
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
	c, cs := startFake(t, verifiedConfig(), testNamespace("prod"), testPod("prod", "old", corev1.PodRunning, 1, ip))
	if got := clientAt(c, ip); got != "prod/old" {
		t.Fatalf("client %q, want prod/old", got)
	}
	if _, err := cs.CoreV1().Pods("dev").Create(ctx, testPod("dev", "new", corev1.PodRunning, 2, ip), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the newer pod owns the address", func() bool { return clientAt(c, ip) == "dev/new" })
	if err := cs.CoreV1().Pods("dev").Delete(ctx, "new", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the address back to the pod still holding it", func() bool { return clientAt(c, ip) == "prod/old" })
	moved := testPod("prod", "old", corev1.PodRunning, 1, "10.244.0.10")
	if _, err := cs.CoreV1().Pods("prod").Update(ctx, moved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pod's new address", func() bool { return clientAt(c, "10.244.0.10") == "prod/old" && clientAt(c, ip) == "" })
	if c.index.Load().Clients.Len() != 1 {
		t.Errorf("%d client addresses published, want 1", c.index.Load().Clients.Len())
	}
}

func TestSlimPod(t *testing.T) {
	legacy := testPod("prod", "a", corev1.PodRunning, 1)
	legacy.Status.PodIP = "10.244.0.1"
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string
	}{
		{"dual-stack", testPod("prod", "a", corev1.PodRunning, 1, "10.244.0.1", "fd00::1"), []string{"10.244.0.1", "fd00::1"}},
		{"podIP only, as before dual-stack", legacy, []string{"10.244.0.1"}},
		{"IPv4-mapped, duplicate and unparsable addresses", testPod("prod", "a", corev1.PodRunning, 1, "::ffff:10.244.0.1", "10.244.0.1", "nope", "fe80::1%eth0"), []string{"10.244.0.1"}},
		{"no address yet", testPod("prod", "a", corev1.PodPending, 1), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range object.SlimPod(tc.pod).Addrs {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("addresses %q, want %q", got, tc.want)
			}
		})
	}
	p := object.SlimPod(deletingPod(hostNetworkPod(testPod("prod", "a", corev1.PodRunning, 3, "10.244.0.1"))))
	if !p.Deleting || !p.HostNetwork || p.Created != time.Date(2026, 1, 1, 0, 3, 0, 0, time.UTC).Unix() || p.Name != "a" || p.Namespace != "prod" {
		t.Errorf("slim pod %+v lost its deletion, host network, creation time or name", p)
	}
}
