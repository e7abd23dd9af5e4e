//go:build e2e

package helm

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// addNode registers a kwok node with the labels a kubelet sets, which the
// DNS pods' node selector and anti-affinity use, and waits for the
// namespace's default ServiceAccount, without which no pod is admitted.
func addNode(ctx context.Context, cp *controlplane.ControlPlane) error {
	cs, err := cp.AdminClient()
	if err != nil {
		return err
	}
	const name = "helm-node"
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}, Labels: map[string]string{
			"type": "kwok", corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64", corev1.LabelHostname: name,
		}},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.CoreV1().ServiceAccounts(namespace).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no default service account in %s: %w", namespace, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// helmConfig is Helm's action configuration for the control plane's admin,
// with releases kept in Secrets of the namespace as the helm command keeps
// them.
func helmConfig(t *testing.T, cp *controlplane.ControlPlane) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &cp.AdminConf
	ns := namespace
	flags.Namespace = &ns
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	if err := cfg.Init(flags, namespace, "secret"); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitTime bounds each of Helm's waits for the DNS pods.
const waitTime = 2 * time.Minute

// waitDNS waits until the Deployment's pods matching selector are want,
// Running and ready, all with image, and the Service's EndpointSlices list
// exactly their addresses as ready.
func waitDNS(t *testing.T, cs kubernetes.Interface, service, selector, image string, want int) {
	t.Helper()
	ctx := context.Background()
	var state string
	ok := func() bool {
		pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			state = err.Error()
			return false
		}
		var ips, all []string
		for _, p := range pods.Items {
			all = append(all, p.Name+"="+p.Spec.Containers[0].Image+"/"+string(p.Status.Phase))
			if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podReady(p) {
				continue
			}
			if p.Spec.Containers[0].Image != image {
				state = "pods " + strings.Join(all, " ")
				return false
			}
			ips = append(ips, p.Status.PodIP)
		}
		slices.Sort(ips)
		list, err := cs.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + service})
		if err != nil {
			state = err.Error()
			return false
		}
		var ready []string
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready = append(ready, e.Addresses...)
				}
			}
		}
		slices.Sort(ready)
		state = fmt.Sprintf("pods %s; ready: %v; %s's ready endpoints: %v", strings.Join(all, " "), ips, service, ready)
		return len(ips) == want && slices.Equal(ready, ips)
	}
	deadline := time.Now().Add(waitTime)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %d ready pods of %s behind it; %s", service, want, image, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// helmWait is how the tests ask Helm to wait: the watcher (kstatus), helm's
// default for --wait.
var helmWait = kube.StatusWatcherStrategy
