//go:build e2e

package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
)

// valuesFile writes YAML values to a file of the test's and returns its name.
func valuesFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ciValuesFiles returns the names of the values files in charts/clusterdns/ci,
// so that a file added there is linted and validated without a test edit.
func ciValuesFiles(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no values files in %s/ci (%v)", chartDir, err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}

// TestLint runs `helm lint --strict` on the chart with its default values,
// with each file of charts/clusterdns/ci, and with a value that makes an
// object the API would refuse. (In lint mode the templates' own checks,
// `fail`, only log: TestTemplate sees them fail.)
func TestLint(t *testing.T) {
	type lintCase struct {
		name    string
		values  string // a file under charts/clusterdns/ci, or YAML
		wantErr string // empty: no error or warning at all
	}
	tests := []lintCase{{name: "defaults"}}
	for _, file := range ciValuesFiles(t) {
		tests = append(tests, lintCase{name: strings.TrimSuffix(file, "-values.yaml"), values: file})
	}
	tests = append(tests, lintCase{name: "a name Kubernetes refuses", values: "fullnameOverride: Core_DNS\n", wantErr: "Core_DNS"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var files []string
			switch {
			case strings.HasSuffix(tc.values, ".yaml"):
				files = append(files, filepath.Join(chartDir, "ci", tc.values))
			case tc.values != "":
				files = append(files, valuesFile(t, tc.values))
			}
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = namespace
			result := lint.Run([]string{chartDir}, userValues(t, files))
			var messages []string
			for _, m := range result.Messages {
				messages = append(messages, m.Error())
			}
			for _, err := range result.Errors {
				messages = append(messages, err.Error())
			}
			report := strings.Join(messages, "\n")
			switch {
			case result.TotalChartsLinted != 1:
				t.Errorf("linted %d charts, want 1:\n%s", result.TotalChartsLinted, report)
			case tc.wantErr == "" && action.HasWarningsOrErrors(result):
				t.Errorf("helm lint --strict:\n%s", report)
			case tc.wantErr != "" && (len(result.Errors) == 0 || !strings.Contains(report, tc.wantErr)):
				t.Errorf("helm lint --strict: want an error saying %q, got %s", tc.wantErr, fmt.Sprintf("%d errors:\n%s", len(result.Errors), report))
			}
		})
	}
}
