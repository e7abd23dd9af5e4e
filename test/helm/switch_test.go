//go:build e2e

package helm

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// stockImage is the image of the coredns/helm-shaped chart (its appVersion).
const stockImage = "coredns/coredns:1.13.1"

// coreDNSRelease are the values of a coredns/helm release that replaced
// kubeadm's DNS: kubeadm's label, Service name and address.
const coreDNSRelease = `
k8sAppLabelOverride: kube-dns
replicaCount: 2
service: {name: kube-dns, clusterIP: 10.96.0.10}
serviceAccount: {create: true}
`

// The commands of charts/clusterdns/README.md that the test runs through
// the Helm module.
const (
	cmdUpgrade  = "helm upgrade coredns charts/clusterdns --namespace kube-system --values from-coredns.yaml --server-side=true --wait"
	cmdRollback = "helm -n kube-system rollback coredns --server-side=true --wait"
)

// TestSwitchFromCoreDNSChart moves a release of a chart shaped like
// coredns/helm's (testdata/coredns) to this chart as
// charts/clusterdns/README.md says, with the values file it gives, for a
// release Helm 3 made (client-side apply) and one Helm 4 made (server-side):
// the Service keeps its identity and address, the same Deployment rolls to
// the clusterdns pods behind it, nothing of the old chart is left in the
// objects, and a rollback brings the stock release back.
func TestSwitchFromCoreDNSChart(t *testing.T) {
	readme := string(must(os.ReadFile(filepath.Join(chartDir, "README.md"))))
	for _, cmd := range []string{cmdUpgrade, cmdRollback} {
		if !strings.Contains(oneLine(readme), cmd) {
			t.Errorf("charts/clusterdns/README.md does not give the command\n%s", cmd)
		}
	}
	fromCoreDNS := readmeValues(t, readme, "# from-coredns.yaml")
	cp := cluster(t)
	cs := must(cp.AdminClient())
	stock := loadChart(t, filepath.Join("testdata", "coredns"))
	ours := loadChart(t, chartDir)
	ctx := context.Background()

	tests := []struct {
		name       string
		serverSide bool // how the coredns/helm release was applied
	}{
		{"Helm 3 release, client-side", false},
		{"Helm 4 release, server-side", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := helmConfig(t, cp)
			t.Cleanup(func() { uninstall(t, cfg, cs) })
			install := action.NewInstall(cfg)
			install.ReleaseName, install.Namespace = releaseName, namespace
			install.ServerSideApply = tc.serverSide
			install.WaitStrategy, install.Timeout = helmWait, waitTime
			released(t)(install.Run(stock, userValues(t, []string{valuesFile(t, coreDNSRelease)})))
			waitDNS(t, cs, "kube-dns", dnsPods, stockImage, 2)
			svc := must(cs.CoreV1().Services(namespace).Get(ctx, "kube-dns", metav1.GetOptions{}))
			dep := must(cs.AppsV1().Deployments(namespace).Get(ctx, "coredns", metav1.GetOptions{}))

			// helm upgrade ... --values from-coredns.yaml --server-side=true --wait
			upgrade := action.NewUpgrade(cfg)
			upgrade.Namespace = namespace
			upgrade.ServerSideApply = "true"
			upgrade.WaitStrategy, upgrade.Timeout = helmWait, waitTime
			rel := released(t)(upgrade.Run(releaseName, ours, fromCoreDNS))
			if rel.Chart.Metadata.Name != "clusterdns" || rel.Version != 2 {
				t.Errorf("revision %d of chart %s", rel.Version, rel.Chart.Metadata.Name)
			}
			waitDNS(t, cs, "kube-dns", dnsPods, ourImage, 2)
			sameObjects(t, cs, svc, dep)
			rendered := renderObjects(t, ours, fromCoreDNS)
			checkLive(t, cp, rendered)
			// Nothing of the old chart is left where this one sets the
			// whole field: labels, selectors, the container's resources and
			// ports, the Service's ports.
			wantDep := lookup[*appsv1.Deployment](t, rendered, deploymentKey)
			nowDep := must(cs.AppsV1().Deployments(namespace).Get(ctx, "coredns", metav1.GetOptions{}))
			exactly(t, "Deployment labels", nowDep.Labels, withHelmLabel(wantDep.Labels))
			exactly(t, "pod labels", nowDep.Spec.Template.Labels, wantDep.Spec.Template.Labels)
			exactly(t, "pod annotations", nowDep.Spec.Template.Annotations, wantDep.Spec.Template.Annotations)
			exactly(t, "container resources", nowDep.Spec.Template.Spec.Containers[0].Resources, wantDep.Spec.Template.Spec.Containers[0].Resources)
			exactly(t, "container ports", nowDep.Spec.Template.Spec.Containers[0].Ports, wantDep.Spec.Template.Spec.Containers[0].Ports)
			wantSvc := lookup[*corev1.Service](t, rendered, serviceKey)
			nowSvc := must(cs.CoreV1().Services(namespace).Get(ctx, "kube-dns", metav1.GetOptions{}))
			exactly(t, "Service labels", nowSvc.Labels, withHelmLabel(wantSvc.Labels))
			exactly(t, "Service selector", nowSvc.Spec.Selector, wantSvc.Spec.Selector)
			exactly(t, "Service ports", portList(nowSvc.Spec.Ports), portList(wantSvc.Spec.Ports))
			if _, err := cs.RbacV1().ClusterRoles().Get(ctx, "coredns", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the old ClusterRole coredns: %v; want it gone", err)
			}

			// helm rollback --server-side=true --wait: the stock release
			// is back.
			rollback := action.NewRollback(cfg)
			rollback.ServerSideApply = "true"
			rollback.WaitStrategy, rollback.Timeout = helmWait, waitTime
			if err := rollback.Run(releaseName); err != nil {
				t.Fatal(err)
			}
			waitDNS(t, cs, "kube-dns", dnsPods, stockImage, 2)
			sameObjects(t, cs, svc, dep)
			checkLive(t, cp, renderObjects(t, stock, userValues(t, []string{valuesFile(t, coreDNSRelease)})))
			nowDep = must(cs.AppsV1().Deployments(namespace).Get(ctx, "coredns", metav1.GetOptions{}))
			if c := nowDep.Spec.Template.Spec.Containers[0]; len(c.Env) > 0 || c.SecurityContext.RunAsUser != nil {
				t.Errorf("the rollback left fields of clusterdns: env %v, runAsUser %v", c.Env, c.SecurityContext.RunAsUser)
			}
			for _, gone := range []error{
				errOf(cs.PolicyV1().PodDisruptionBudgets(namespace).Get(ctx, "coredns", metav1.GetOptions{})),
				errOf(cs.RbacV1().ClusterRoles().Get(ctx, "system:coredns", metav1.GetOptions{})),
			} {
				if !apierrors.IsNotFound(gone) {
					t.Errorf("after the rollback: %v; want the objects of clusterdns gone", gone)
				}
			}
		})
	}
}

// sameObjects checks that the Service and the Deployment are those of
// before, the Service still at kube-dns's address.
func sameObjects(t *testing.T, cs kubernetes.Interface, svc *corev1.Service, dep *appsv1.Deployment) {
	t.Helper()
	ctx := context.Background()
	nowSvc := must(cs.CoreV1().Services(namespace).Get(ctx, svc.Name, metav1.GetOptions{}))
	if nowSvc.UID != svc.UID || nowSvc.Spec.ClusterIP != dnsIP {
		t.Errorf("Service %s is now %s at %s; want the same Service (%s) at %s", svc.Name, nowSvc.UID, nowSvc.Spec.ClusterIP, svc.UID, dnsIP)
	}
	if nowDep := must(cs.AppsV1().Deployments(namespace).Get(ctx, dep.Name, metav1.GetOptions{})); nowDep.UID != dep.UID {
		t.Errorf("Deployment %s was replaced", dep.Name)
	}
}

// readmeValues returns the values of the README's YAML block whose first
// line starts with first.
func readmeValues(t *testing.T, readme, first string) map[string]any {
	t.Helper()
	start := strings.Index(readme, "```yaml\n"+first)
	if start < 0 {
		t.Fatalf("the README has no YAML block starting %q", first)
	}
	block := readme[start+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	return userValues(t, []string{valuesFile(t, block)})
}

// oneLine joins continued lines and collapses white space, so that a
// command matches however it is wrapped.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\\\n", " ")), " ")
}

// exactly reports a difference between got and want.
func exactly(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n  %s\nwant\n  %s", what, yamlOf(got), yamlOf(want))
	}
}

func yamlOf(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n  ")
}

// withHelmLabel is labels with the one Helm adds to what it installs.
func withHelmLabel(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	out["app.kubernetes.io/managed-by"] = "Helm"
	return out
}

// errOf is the error of a call whose result does not matter.
func errOf[T any](_ T, err error) error { return err }
