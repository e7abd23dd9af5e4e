//go:build e2e

package helm

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// getLive reads the object that rendered stands for from the API server.
func getLive(t *testing.T, cp *controlplane.ControlPlane, rendered object) (*unstructured.Unstructured, error) {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cp.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: rendered.content}
	gvk := u.GroupVersionKind()
	mapping, err := restmapper.NewDiscoveryRESTMapper(groups).RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version)
	if err != nil {
		t.Fatal(err)
	}
	client, err := dynamic.NewForConfig(cp.AdminConfig())
	if err != nil {
		t.Fatal(err)
	}
	return client.Resource(mapping.Resource).Namespace(u.GetNamespace()).Get(context.Background(), u.GetName(), metav1.GetOptions{})
}

// checkLive checks that every object of rendered is on the API server with
// every field rendered, as rendered (fields the server adds are fine, and
// the status is the server's).
func checkLive(t *testing.T, cp *controlplane.ControlPlane, rendered []object) {
	t.Helper()
	for _, o := range rendered {
		live, err := getLive(t, cp, o)
		if err != nil {
			t.Errorf("%s: %v", o.key, err)
			continue
		}
		want := maps.Clone(o.content)
		delete(want, "status")
		for _, d := range subset("", want, live.Object) {
			t.Errorf("%s: %s", o.key, d)
		}
	}
}

// subset lists where got lacks or differs from what want has. Maps may
// have more keys in got; lists must have as many elements, each a subset.
func subset(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
		}
		var out []string
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := g[k]; !ok {
				if w[k] == nil {
					continue
				}
				out = append(out, fmt.Sprintf("%s.%s missing, want %v", path, k, w[k]))
				continue
			}
			out = append(out, subset(path+"."+k, w[k], g[k])...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
		}
		var out []string
		for i := range w {
			out = append(out, subset(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: %v (%T), want %v (%T)", path, got, got, want, want)}
		}
		return nil
	}
}
