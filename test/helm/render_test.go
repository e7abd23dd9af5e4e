//go:build e2e

package helm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

// namespace is where the DNS lives, and where the tests install it.
const namespace = "kube-system"

// loadChart loads a chart directory as helm does.
func loadChart(t *testing.T, dir string) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	return ch
}

// userValues merges value files and --set expressions as `helm -f ... --set ...` does.
func userValues(t *testing.T, files []string, set ...string) map[string]any {
	t.Helper()
	opts := values.Options{ValueFiles: files, Values: set}
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// template renders a chart as `helm template` does, offline, and returns
// its manifest.
func template(ch *chart.Chart, vals map[string]any) (string, error) {
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = "coredns"
	install.Namespace = namespace
	install.Replace = true
	rel, err := install.Run(ch, vals)
	if err != nil {
		return "", err
	}
	r, ok := rel.(*release.Release)
	if !ok {
		return "", fmt.Errorf("helm returned a %T", rel)
	}
	return r.Manifest, nil
}

// strict decodes manifests into typed objects and refuses unknown or
// duplicated fields, which the API server would otherwise drop or reject.
var strict = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// object is one rendered object: its key, kind/namespace/name, and its
// content as the typed API object sees it, back in plain maps.
type object struct {
	key     string
	typed   runtime.Object // nil for kinds outside client-go's scheme
	content map[string]any
}

// decode splits a manifest into objects, sorted by key. Kinds that
// client-go knows are decoded strictly into their types and converted back,
// so that two spellings of the same object compare equal.
func decode(manifest []byte) ([]object, error) {
	var objs []object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, fmt.Errorf("%w in\n%s", err, doc)
		}
		if len(u.Object) == 0 {
			continue
		}
		o := object{key: fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName()), content: u.Object}
		if scheme.Scheme.Recognizes(u.GroupVersionKind()) {
			typed, _, err := strict.Decode(doc, nil, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w in\n%s", o.key, err, doc)
			}
			if o.content, err = runtime.DefaultUnstructuredConverter.ToUnstructured(typed); err != nil {
				return nil, err
			}
			o.typed = typed
		}
		objs = append(objs, o)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
	return objs, nil
}

// keys lists the objects' keys in order.
func keys(objs []object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.key)
	}
	return out
}

// renderObjects renders the chart with vals and decodes the result.
func renderObjects(t *testing.T, ch *chart.Chart, vals map[string]any) []object {
	t.Helper()
	manifest, err := template(ch, vals)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	objs, err := decode([]byte(manifest))
	if err != nil {
		t.Fatalf("decoding the rendered chart: %v", err)
	}
	return objs
}

// lookup returns the object of type T with key, or fails.
func lookup[T runtime.Object](t *testing.T, objs []object, key string) T {
	t.Helper()
	for _, o := range objs {
		if o.key == key {
			if v, ok := o.typed.(T); ok {
				return v
			}
		}
	}
	var zero T
	t.Fatalf("no %T %s among %v", zero, key, keys(objs))
	return zero
}
