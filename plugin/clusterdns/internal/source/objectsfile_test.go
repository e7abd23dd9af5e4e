package source

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

const objectsList = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: prod, labels: {team: a}}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: prod, labels: {app: web}}
  spec:
    clusterIP: 10.96.0.20
    clusterIPs: [10.96.0.20]
    ports: [{name: http, port: 80, protocol: TCP}]
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: web-abc
    namespace: prod
    labels: {kubernetes.io/service-name: web, app: web}
  addressType: IPv4
  endpoints:
  - addresses: [10.244.0.5]
    conditions: {ready: true}
  ports: [{name: http, port: 8080, protocol: TCP}]
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: ignored, namespace: prod}
`

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadObjectsFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name                        string
		content                     string
		services, slices, nss, skip int
		err                         string
	}{
		{name: "kubectl list", content: objectsList, services: 1, slices: 1, nss: 1, skip: 1},
		{
			name: "documents without namespaces imply them",
			content: "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\nspec: {clusterIP: 10.0.0.1}\n---\n" +
				"apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: other}\nspec: {clusterIP: 10.0.0.2}\n",
			services: 2, nss: 2,
		},
		{name: "empty file", content: "", nss: 0},
		{name: "broken yaml", content: "apiVersion: v1\nkind: Service\nmetadata: [\n", err: "document 1"},
		{name: "bad field", content: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: 7}\n", err: "document 1"},
		{name: "unknown kind is skipped", content: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", skip: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			writeFile(t, path, tc.content)
			objs, err := loadObjectsFile(path, testConfig())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v, want one naming %s and %q", err, path, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(objs.services) != tc.services || len(objs.slices) != tc.slices || len(objs.namespaces) != tc.nss || objs.ignored != tc.skip {
				t.Errorf("got %d services, %d slices, %d namespaces, %d ignored; want %d, %d, %d, %d",
					len(objs.services), len(objs.slices), len(objs.namespaces), objs.ignored, tc.services, tc.slices, tc.nss, tc.skip)
			}
		})
	}
}

func TestLoadObjectsFileSelectors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "objs.yaml")
	writeFile(t, path, objectsList)
	cfg := testConfig()
	cfg.LabelSelector = mustSelector(t, "app=other")
	cfg.NamespaceSelector = mustSelector(t, "team=b")
	objs, err := loadObjectsFile(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.services)+len(objs.slices)+len(objs.namespaces) != 0 {
		t.Errorf("selectors let through %d services, %d slices, %d namespaces", len(objs.services), len(objs.slices), len(objs.namespaces))
	}
}

func TestFileSourceReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "objs.yaml")
	writeFile(t, path, objectsList)
	cfg := testConfig()
	cfg.ObjectsFile = path
	cfg.ObjectsFilePoll = 10 * time.Millisecond
	c := start(t, cfg, New(cfg))
	if got := addrsOf(c, "web.prod.svc"); len(got) != 1 || got[0] != "10.96.0.20" {
		t.Fatalf("web.prod.svc = %v", got)
	}

	// A broken file, or an empty one (a writer truncated it and has not
	// written yet), keeps the last good content. The log shows that the
	// poller saw each version and refused it; only then do the answers say
	// that refusing kept them.
	logs := fixture.CaptureLog(t)
	for _, tc := range []struct{ content, refused string }{
		{"kind: [", "keeping the previous objects: " + path + ": document 1"},
		{"", path + " is empty; keeping the previous objects"},
	} {
		// Counted from before the write: the poller may also catch
		// os.WriteFile's truncation of the previous version.
		before := logs.Count(tc.refused)
		writeFile(t, path, tc.content)
		fixture.Eventually(t, "refusal of "+strconv.Quote(tc.content), func() bool { return logs.Count(tc.refused) > before })
		if got := addrsOf(c, "web.prod.svc"); len(got) != 1 || got[0] != "10.96.0.20" {
			t.Fatalf("after the file %q, web.prod.svc = %v, want the last good 10.96.0.20", tc.content, got)
		}
	}

	// A good change is picked up.
	writeFile(t, path, strings.ReplaceAll(objectsList, "10.96.0.20", "10.96.0.21"))
	fixture.Eventually(t, "reload", func() bool {
		got := addrsOf(c, "web.prod.svc")
		return len(got) == 1 && got[0] == "10.96.0.21"
	})
}

func TestFileSourceMissingFile(t *testing.T) {
	cfg := testConfig()
	cfg.ObjectsFile = filepath.Join(t.TempDir(), "absent.yaml")
	var wg sync.WaitGroup
	err := NewController(cfg, index.New()).Start(context.Background(), &wg, New(cfg))
	wg.Wait()
	if err == nil || !strings.Contains(err.Error(), "objects_file") {
		t.Fatalf("startup error %v, want one naming objects_file", err)
	}
}

func mustSelector(t *testing.T, s string) labels.Selector {
	t.Helper()
	sel, err := labels.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}
