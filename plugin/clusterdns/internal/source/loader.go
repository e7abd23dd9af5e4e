package source

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// fileObjects are the slim objects read from a file, by store.
type fileObjects struct {
	services, slices, namespaces, pods []any
	ignored                            int // objects of other kinds
}

// fill replaces the content of the stores with the objects; the stores of
// kinds the configuration does not keep are nil and stay so.
func (o *fileObjects) fill(st Stores) error {
	err := errors.Join(st.Services.Replace(o.services, ""), st.Namespaces.Replace(o.namespaces, ""))
	if st.Slices != nil {
		err = errors.Join(err, st.Slices.Replace(o.slices, ""))
	}
	if st.Pods != nil {
		err = errors.Join(err, st.Pods.Replace(o.pods, ""))
	}
	return err
}

// objectLoader reads Kubernetes objects, single or in Lists, in any
// encoding apimachinery's universal deserializer knows (YAML, JSON,
// protobuf), and keeps the slim forms of the kinds clusterdns stores, as
// the informers' transform would. Both files go through it: the objects
// file, with the stanza's label selectors, and the snapshot file, whose
// objects were selected when they were written.
type objectLoader struct {
	decode             runtime.Decoder
	slim               object.Slimmer
	labels, namespaces labels.Selector // nil: every object
	out                fileObjects
	used               map[string]bool // namespaces of the services and slices
}

// newObjectLoader returns a loader for the objects of cfg; with selectors,
// it leaves out those that the stanza's label selectors do not match.
func newObjectLoader(cfg *Config, selectors bool) *objectLoader {
	l := &objectLoader{decode: scheme.Codecs.UniversalDeserializer(), slim: NewSlimmer(cfg), used: make(map[string]bool)}
	if selectors {
		l.labels, l.namespaces = cfg.LabelSelector, cfg.NamespaceSelector
	}
	return l
}

// add decodes one document, or one item of a List, and files its objects.
// Objects of kinds the API has no type for here are counted as ignored.
func (l *objectLoader) add(raw []byte) error {
	obj, _, err := l.decode.Decode(raw, nil, nil)
	if err != nil {
		if runtime.IsNotRegisteredError(err) {
			l.out.ignored++
			return nil
		}
		return err
	}
	if list, ok := obj.(*corev1.List); ok {
		for i, item := range list.Items {
			if err := l.add(item.Raw); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		return nil
	}
	var to *[]any
	sel, uses := l.labels, false
	switch obj.(type) {
	case *corev1.Service:
		to, uses = &l.out.services, true
	case *discoveryv1.EndpointSlice:
		to, uses = &l.out.slices, true
	case *corev1.Namespace:
		to, sel = &l.out.namespaces, l.namespaces
	case *corev1.Pod:
		to = &l.out.pods
	}
	m, ok := obj.(metav1.Object)
	if to == nil || !ok {
		l.out.ignored++
		return nil
	}
	if sel != nil && !sel.Matches(labels.Set(m.GetLabels())) {
		return nil
	}
	if uses {
		l.used[m.GetNamespace()] = true
	}
	slim, _ := l.slim.Transform(obj) // never fails
	*to = append(*to, slim)
	return nil
}

// objects returns what the loader has read. With implyNamespaces, and no
// namespace selector, a content without Namespace objects is taken to have
// every namespace its services and slices use.
func (l *objectLoader) objects(implyNamespaces bool) *fileObjects {
	if implyNamespaces && len(l.out.namespaces) == 0 && l.namespaces == nil {
		for ns := range l.used {
			l.out.namespaces = append(l.out.namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		}
	}
	return &l.out
}
