//go:build e2e

package helm

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	release "helm.sh/helm/v4/pkg/release/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// releaseName is the release the tests install, as the README does.
	releaseName = "coredns"
	ourImage    = "ghcr.io/clusterdns/coredns:0.1.0"
	dnsIP       = "10.96.0.10"
	dnsPods     = "k8s-app=kube-dns"
)

// TestRelease takes the chart through a release's life on the control
// plane, as `helm install`, `helm upgrade`, `helm rollback` and `helm
// uninstall` do, waiting each time as --wait does: every object rendered is
// on the server as rendered, the DNS pods run the rendered image behind
// kube-dns, and a rollback brings back the first revision's objects.
func TestRelease(t *testing.T) {
	cp := cluster(t)
	cs := must(cp.AdminClient())
	cfg := helmConfig(t, cp)
	ch := loadChart(t, chartDir)

	// helm template --validate: each values file through the API server's
	// schema, rendering what the offline render gives.
	for _, file := range append([]string{""}, ciValuesFiles(t)...) {
		var files []string
		if file != "" {
			files = append(files, filepath.Join(chartDir, "ci", file))
		}
		vals := userValues(t, files)
		install := action.NewInstall(cfg)
		install.DryRunStrategy = action.DryRunServer
		install.ReleaseName, install.Namespace = releaseName, namespace
		rel := released(t)(install.Run(ch, vals))
		if offline, err := template(ch, vals); err != nil || rel.Manifest != offline {
			t.Errorf("values %q: the server dry run renders another manifest than the offline render (%v)", file, err)
		}
	}

	defaults := userValues(t, nil)
	install := action.NewInstall(cfg)
	install.ReleaseName, install.Namespace = releaseName, namespace
	install.WaitStrategy, install.Timeout = helmWait, waitTime
	t.Cleanup(func() { uninstall(t, cfg, cs) })
	rel := released(t)(install.Run(ch, defaults))
	if rel.Version != 1 || rel.ApplyMethod != "ssa" {
		t.Errorf("install made revision %d, applied %q; want 1, server-side", rel.Version, rel.ApplyMethod)
	}
	waitDNS(t, cs, "kube-dns", dnsPods, ourImage, 2)
	checkLive(t, cp, renderObjects(t, ch, defaults))
	svc := must(cs.CoreV1().Services(namespace).Get(context.Background(), "kube-dns", metav1.GetOptions{}))
	if svc.Spec.ClusterIP != dnsIP {
		t.Errorf("kube-dns at %s, want %s", svc.Spec.ClusterIP, dnsIP)
	}

	// helm upgrade --wait -f ci/pods-verified-values.yaml --set ...: a new
	// image, more replicas, and a Corefile that needs pods.
	upgraded := userValues(t, []string{filepath.Join(chartDir, "ci", "pods-verified-values.yaml")}, "image.tag=0.1.1", "replicaCount=3")
	upgrade := action.NewUpgrade(cfg)
	upgrade.Namespace = namespace
	upgrade.WaitStrategy, upgrade.Timeout = helmWait, waitTime
	rel = released(t)(upgrade.Run(releaseName, ch, upgraded))
	if rel.Version != 2 {
		t.Errorf("upgrade made revision %d, want 2", rel.Version)
	}
	waitDNS(t, cs, "kube-dns", dnsPods, "ghcr.io/clusterdns/coredns:0.1.1", 3)
	checkLive(t, cp, renderObjects(t, ch, upgraded))
	if g := grantsOf(t, cs, "system:coredns"); !slices.Contains(g, "/pods") {
		t.Errorf("system:coredns grants %v with pods verified", g)
	}

	// helm rollback --wait coredns 1.
	rollback := action.NewRollback(cfg)
	rollback.Version = 1
	rollback.WaitStrategy, rollback.Timeout = helmWait, waitTime
	if err := rollback.Run(releaseName); err != nil {
		t.Fatal(err)
	}
	waitDNS(t, cs, "kube-dns", dnsPods, ourImage, 2)
	checkLive(t, cp, renderObjects(t, ch, defaults))
	if g := grantsOf(t, cs, "system:coredns"); slices.Contains(g, "/pods") {
		t.Errorf("system:coredns grants %v after the rollback", g)
	}
	if now := must(cs.CoreV1().Services(namespace).Get(context.Background(), "kube-dns", metav1.GetOptions{})); now.UID != svc.UID {
		t.Errorf("kube-dns was replaced (%s, was %s)", now.UID, svc.UID)
	}
	if history, err := action.NewHistory(cfg).Run(releaseName); err != nil || len(history) != 3 {
		t.Errorf("%d revisions (%v), want install, upgrade and rollback", len(history), err)
	}
}

// grantsOf lists the resources a ClusterRole grants, as "group/resource".
func grantsOf(t *testing.T, cs kubernetes.Interface, name string) []string {
	t.Helper()
	role := must(cs.RbacV1().ClusterRoles().Get(context.Background(), name, metav1.GetOptions{}))
	var out []string
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				out = append(out, g+"/"+res)
			}
		}
	}
	slices.Sort(out)
	return out
}

// uninstall removes the release, if there is one, and waits until its
// Service is gone, so that the next test can have its address.
func uninstall(t *testing.T, cfg *action.Configuration, cs kubernetes.Interface) {
	t.Helper()
	u := action.NewUninstall(cfg)
	u.WaitStrategy, u.Timeout = helmWait, waitTime
	u.IgnoreNotFound = true
	if _, err := u.Run(releaseName); err != nil {
		t.Errorf("uninstall: %v", err)
	}
	deadline := time.Now().Add(waitTime)
	for {
		_, err := cs.CoreV1().Services(namespace).Get(context.Background(), "kube-dns", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-dns still there after the uninstall: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// released returns a function that returns the release a Helm action
// returned, and ends the test if the action failed:
// released(t)(install.Run(ch, vals)).
func released(t *testing.T) func(any, error) *release.Release {
	return func(r any, err error) *release.Release {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		rel, ok := r.(*release.Release)
		if !ok {
			t.Fatalf("helm returned a %T", r)
		}
		return rel
	}
}

// must returns v, or panics on err: for calls that fail only when the
// environment is broken.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
