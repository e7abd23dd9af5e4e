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
	throughController(t, ctx, cs, start, "deployment scaled 2->4 -> 4 headless A records", "prod", "cache",
		func(ready, _ []string) bool { return len(ready) == 4 },
		"cache.prod.svc.cluster.local", count("A", 4))

	// Delete a pod: the answer follows the slice, which drops the pod. (kwok
	// may give the replacement pod the freed address, so the check is on
	// the pod, and the answer must equal the slice's ready addresses.)
	victim := runningPod(t, ctx, cs, "prod", "app=cache")
	start = time.Now()
	if err := cs.CoreV1().Pods("prod").Delete(ctx, victim.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	throughController(t, ctx, cs, start, "pod deleted -> answer without it", "prod", "cache",
		func(_, pods []string) bool { return !slices.Contains(pods, victim.Name) },
		"cache.prod.svc.cluster.local", func(a answer) bool {
			// The replacement pod may join meanwhile: compare with the slice now.
			ready, _, err := sliceEndpoints(ctx, cs, "prod", "cache")
			if err != nil {
				return false
			}
			want := make([]string, len(ready))
			for i, ip := range ready {
				want[i] = "A " + ip
			}
			slices.Sort(want)
			return a.rcode == dns.RcodeSuccess && slices.Equal(a.records, want)
		})

	// A pod turning unready leaves a headless answer; ready again, it comes back.
	db1 := must(cs.CoreV1().Pods("prod").Get(ctx, "db-1", metav1.GetOptions{}))
	start = time.Now()
	setPodReady(t, ctx, cs, "prod", "db-1", false)
	throughController(t, ctx, cs, start, "pod unready -> its name NXDOMAIN", "prod", "db",
		func(ready, _ []string) bool { return !slices.Contains(ready, db1.Status.PodIP) },
		"db-1.db.prod.svc.cluster.local", rcode(dns.RcodeNameError))
	start = time.Now()
	setPodReady(t, ctx, cs, "prod", "db-1", true)
	throughController(t, ctx, cs, start, "pod ready again -> its name answers", "prod", "db",
		func(ready, _ []string) bool { return slices.Contains(ready, db1.Status.PodIP) },
		"db-1.db.prod.svc.cluster.local", func(a answer) bool { return slices.Equal(a.records, []string{"A " + db1.Status.PodIP}) })

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

// throughController follows a change that reaches DNS through the
// EndpointSlice controller: it waits until the service's IPv4 slices, as
// the API has them, satisfy sliceOK (given the ready addresses and the pods
// of all endpoints: the controller's part, which a busy machine can delay),
// then until the answer satisfies answerOK (ours), and records both.
func throughController(t *testing.T, ctx context.Context, cs kubernetes.Interface, start time.Time, what, ns, svc string, sliceOK func(ready, pods []string) bool, name string, answerOK func(answer) bool) {
	t.Helper()
	waitFor(t, what+" (EndpointSlice controller)", 3*time.Minute, func() bool {
		ready, pods, err := sliceEndpoints(ctx, cs, ns, svc)
		return err == nil && sliceOK(ready, pods)
	})
	sliced := time.Now()
	expect(t, what, name, dns.TypeA, 10*time.Second, answerOK)
	record(what+" (controller)", sliced.Sub(start))
	record(what+" (slice -> answer)", time.Since(sliced))
}

// sliceEndpoints returns the ready IPv4 addresses of a service's slices, as
// the API has them, and the pods of all their endpoints.
func sliceEndpoints(ctx context.Context, cs kubernetes.Interface, ns, svc string) (ready, pods []string, err error) {
	list, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc})
	if err != nil {
		return nil, nil, err
	}
	for _, s := range list.Items {
		if s.AddressType != "IPv4" {
			continue
		}
		for _, e := range s.Endpoints {
			if e.TargetRef != nil {
				pods = append(pods, e.TargetRef.Name)
			}
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				ready = append(ready, e.Addresses...)
			}
		}
	}
	return ready, pods, nil
}
