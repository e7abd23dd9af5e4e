//go:build e2e

package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// testPropagation changes the cluster through the API and measures how long
// each change takes to reach the answers (API write -> changed answer).
func testPropagation(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	// A new service.
	start := time.Now()
	_, err := cs.CoreV1().Services("prod").Create(ctx, service("prod", "late", false, &singleStack, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "new service", "late.prod.svc.cluster.local", dns.TypeA, 10*time.Second, count("A", 1))
	record("service created -> A answered", time.Since(start))

	// Scale a headless deployment: pods, then slices, then answers.
	start = time.Now()
	if _, err := cs.AppsV1().Deployments("prod").Patch(ctx, "cache", types.MergePatchType, []byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, "scaled to 4", "cache.prod.svc.cluster.local", dns.TypeA, 120*time.Second, count("A", 4))
	record("deployment scaled 2->4 -> 4 headless A records", time.Since(start))

	// Delete a pod: its address leaves the answer.
	victim := runningPod(t, ctx, cs, "prod", "app=cache")
	start = time.Now()
	if err := cs.CoreV1().Pods("prod").Delete(ctx, victim.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	expect(t, "deleted pod gone", "cache.prod.svc.cluster.local", dns.TypeA, 120*time.Second, func(a answer) bool {
		return a.rcode == dns.RcodeSuccess && !slices.Contains(a.records, "A "+victim.Status.PodIP)
	})
	record("pod deleted -> its address gone", time.Since(start))

	// A pod turning unready leaves a headless answer; ready again, it comes back.
	db1 := must(cs.CoreV1().Pods("prod").Get(ctx, "db-1", metav1.GetOptions{}))
	start = time.Now()
	setPodReady(t, ctx, cs, "prod", "db-1", false)
	expect(t, "unready pod gone", "db-1.db.prod.svc.cluster.local", dns.TypeA, 30*time.Second, rcode(dns.RcodeNameError))
	record("pod unready -> its name NXDOMAIN", time.Since(start))
	start = time.Now()
	setPodReady(t, ctx, cs, "prod", "db-1", true)
	expect(t, "ready pod back", "db-1.db.prod.svc.cluster.local", dns.TypeA, 30*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"A " + db1.Status.PodIP})
	})
	record("pod ready again -> its name answers", time.Since(start))

	// ExternalName -> ClusterIP, as the conformance test does.
	start = time.Now()
	patch := `{"spec":{"type":"ClusterIP","externalName":null,"ports":[{"name":"http","port":80,"protocol":"TCP"}]}}`
	if _, err := cs.CoreV1().Services("prod").Patch(ctx, "ext", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	extIP := must(cs.CoreV1().Services("prod").Get(ctx, "ext", metav1.GetOptions{})).Spec.ClusterIP
	expect(t, "ExternalName became ClusterIP", "ext.prod.svc.cluster.local", dns.TypeA, 10*time.Second, func(a answer) bool {
		return slices.Equal(a.records, []string{"A " + extIP})
	})
	record("ExternalName -> ClusterIP -> A answered", time.Since(start))

	// Delete a namespace: its services, then its own name, go.
	if _, err := cs.CoreV1().Services("staging").Create(ctx, service("staging", "web", false, &singleStack, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, "staging service", "web.staging.svc.cluster.local", dns.TypeA, 10*time.Second, count("A", 1))
	start = time.Now()
	if err := cs.CoreV1().Namespaces().Delete(ctx, "staging", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect(t, "namespace's service gone", "web.staging.svc.cluster.local", dns.TypeA, 60*time.Second, rcode(dns.RcodeNameError))
	record("namespace deleted -> its service NXDOMAIN", time.Since(start))
	expect(t, "namespace gone", "staging.svc.cluster.local", dns.TypeA, 60*time.Second, rcode(dns.RcodeNameError))
	record("namespace deleted -> <ns>.svc NXDOMAIN", time.Since(start))
}
