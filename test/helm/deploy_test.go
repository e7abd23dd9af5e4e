//go:build e2e

package helm

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/diff"
)

// TestRendersDeploy checks that the chart renders the same objects as
// deploy/ with its default values, and as each overlay with the values of
// charts/clusterdns/ci that stand for it: same kinds, names, labels,
// selectors, ports, probes, scheduling, security settings, Corefile and
// RBAC, field by field.
func TestRendersDeploy(t *testing.T) {
	ch := loadChart(t, chartDir)
	tests := []struct {
		name      string
		kustomize string // directory of the repository rendered by kubectl kustomize
		values    string // file under charts/clusterdns/ci, or none for the defaults
	}{
		{"defaults", "deploy", ""},
		{"pods verified", "deploy/overlays/pods-verified", "pods-verified-values.yaml"},
		{"cluster domain", "deploy/overlays/cluster-domain", "cluster-domain-values.yaml"},
		{"autoscaler", "deploy/overlays/autoscaler", "autoscaler-values.yaml"},
		{"traffic distribution", "deploy/overlays/traffic-distribution", "traffic-distribution-values.yaml"},
		{"isolate", "deploy/overlays/isolate", "isolate-values.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kustomized, err := kubectl("kustomize", tc.kustomize)
			if err != nil {
				t.Fatal(err)
			}
			want, err := decode(kustomized)
			if err != nil {
				t.Fatalf("%s: %v", tc.kustomize, err)
			}
			var files []string
			if tc.values != "" {
				files = append(files, filepath.Join(chartDir, "ci", tc.values))
			}
			got := renderObjects(t, ch, userValues(t, files))
			if !slices.Equal(keys(got), keys(want)) {
				t.Fatalf("the chart renders\n  %s\n%s renders\n  %s", strings.Join(keys(got), "\n  "), tc.kustomize, strings.Join(keys(want), "\n  "))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i].content, want[i].content) {
					t.Errorf("%s differs from %s's (- chart, + kustomize):\n%s", got[i].key, tc.kustomize, diff.Diff(got[i].content, want[i].content))
				}
			}
		})
	}
}
