package object

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Meta is the metadata a slim object keeps: what informer stores key
// it by and the version the API gave it. metav1.ObjectMeta would cost about
// 230 bytes per object even with every other field empty; this costs 48.
//
// It implements metav1.Object so that client-go's key functions accept the
// objects; the fields it does not keep read as empty and ignore writes.
type Meta struct {
	Name, Namespace, ResourceVersion string
}

// MetaOf returns the slim metadata of an API object. Its namespace is
// interned: a cluster has far fewer namespaces than objects, and each
// decoded object would otherwise keep a copy of its own.
func MetaOf(m *metav1.ObjectMeta) Meta {
	return Meta{Name: m.Name, Namespace: internName(m.Namespace), ResourceVersion: m.ResourceVersion}
}

var _ metav1.Object = &Meta{}

// GetNamespace implements metav1.Object.
func (m *Meta) GetNamespace() string { return m.Namespace }

// SetNamespace implements metav1.Object.
func (m *Meta) SetNamespace(ns string) { m.Namespace = ns }

// GetName implements metav1.Object.
func (m *Meta) GetName() string { return m.Name }

// SetName implements metav1.Object.
func (m *Meta) SetName(name string) { m.Name = name }

// GetResourceVersion implements metav1.Object.
func (m *Meta) GetResourceVersion() string { return m.ResourceVersion }

// SetResourceVersion implements metav1.Object.
func (m *Meta) SetResourceVersion(v string) { m.ResourceVersion = v }

// GetGenerateName implements metav1.Object; not kept.
func (*Meta) GetGenerateName() string { return "" }

// SetGenerateName implements metav1.Object; not kept.
func (*Meta) SetGenerateName(string) {}

// GetUID implements metav1.Object; not kept.
func (*Meta) GetUID() types.UID { return "" }

// SetUID implements metav1.Object; not kept.
func (*Meta) SetUID(types.UID) {}

// GetGeneration implements metav1.Object; not kept.
func (*Meta) GetGeneration() int64 { return 0 }

// SetGeneration implements metav1.Object; not kept.
func (*Meta) SetGeneration(int64) {}

// GetSelfLink implements metav1.Object; not kept.
func (*Meta) GetSelfLink() string { return "" }

// SetSelfLink implements metav1.Object; not kept.
func (*Meta) SetSelfLink(string) {}

// GetCreationTimestamp implements metav1.Object; not kept.
func (*Meta) GetCreationTimestamp() metav1.Time { return metav1.Time{} }

// SetCreationTimestamp implements metav1.Object; not kept.
func (*Meta) SetCreationTimestamp(metav1.Time) {}

// GetDeletionTimestamp implements metav1.Object; not kept.
func (*Meta) GetDeletionTimestamp() *metav1.Time { return nil }

// SetDeletionTimestamp implements metav1.Object; not kept.
func (*Meta) SetDeletionTimestamp(*metav1.Time) {}

// GetDeletionGracePeriodSeconds implements metav1.Object; not kept.
func (*Meta) GetDeletionGracePeriodSeconds() *int64 { return nil }

// SetDeletionGracePeriodSeconds implements metav1.Object; not kept.
func (*Meta) SetDeletionGracePeriodSeconds(*int64) {}

// GetLabels implements metav1.Object; not kept.
func (*Meta) GetLabels() map[string]string { return nil }

// SetLabels implements metav1.Object; not kept.
func (*Meta) SetLabels(map[string]string) {}

// GetAnnotations implements metav1.Object; not kept.
func (*Meta) GetAnnotations() map[string]string { return nil }

// SetAnnotations implements metav1.Object; not kept.
func (*Meta) SetAnnotations(map[string]string) {}

// GetFinalizers implements metav1.Object; not kept.
func (*Meta) GetFinalizers() []string { return nil }

// SetFinalizers implements metav1.Object; not kept.
func (*Meta) SetFinalizers([]string) {}

// GetOwnerReferences implements metav1.Object; not kept.
func (*Meta) GetOwnerReferences() []metav1.OwnerReference { return nil }

// SetOwnerReferences implements metav1.Object; not kept.
func (*Meta) SetOwnerReferences([]metav1.OwnerReference) {}

// GetManagedFields implements metav1.Object; not kept.
func (*Meta) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }

// SetManagedFields implements metav1.Object; not kept.
func (*Meta) SetManagedFields([]metav1.ManagedFieldsEntry) {}
