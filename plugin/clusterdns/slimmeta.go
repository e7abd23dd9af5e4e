package clusterdns

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// objectMeta is the metadata a slim object keeps: what informer stores key
// it by and the version the API gave it. metav1.ObjectMeta would cost about
// 230 bytes per object even with every other field empty; this costs 48.
//
// It implements metav1.Object so that client-go's key functions accept the
// objects; the fields it does not keep read as empty and ignore writes.
type objectMeta struct {
	Name, Namespace, ResourceVersion string
}

func slimMeta(m *metav1.ObjectMeta) objectMeta {
	return objectMeta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion}
}

var _ metav1.Object = &objectMeta{}

// GetNamespace implements metav1.Object.
func (m *objectMeta) GetNamespace() string { return m.Namespace }

// SetNamespace implements metav1.Object.
func (m *objectMeta) SetNamespace(ns string) { m.Namespace = ns }

// GetName implements metav1.Object.
func (m *objectMeta) GetName() string { return m.Name }

// SetName implements metav1.Object.
func (m *objectMeta) SetName(name string) { m.Name = name }

// GetResourceVersion implements metav1.Object.
func (m *objectMeta) GetResourceVersion() string { return m.ResourceVersion }

// SetResourceVersion implements metav1.Object.
func (m *objectMeta) SetResourceVersion(v string) { m.ResourceVersion = v }

// GetGenerateName implements metav1.Object; not kept.
func (*objectMeta) GetGenerateName() string { return "" }

// SetGenerateName implements metav1.Object; not kept.
func (*objectMeta) SetGenerateName(string) {}

// GetUID implements metav1.Object; not kept.
func (*objectMeta) GetUID() types.UID { return "" }

// SetUID implements metav1.Object; not kept.
func (*objectMeta) SetUID(types.UID) {}

// GetGeneration implements metav1.Object; not kept.
func (*objectMeta) GetGeneration() int64 { return 0 }

// SetGeneration implements metav1.Object; not kept.
func (*objectMeta) SetGeneration(int64) {}

// GetSelfLink implements metav1.Object; not kept.
func (*objectMeta) GetSelfLink() string { return "" }

// SetSelfLink implements metav1.Object; not kept.
func (*objectMeta) SetSelfLink(string) {}

// GetCreationTimestamp implements metav1.Object; not kept.
func (*objectMeta) GetCreationTimestamp() metav1.Time { return metav1.Time{} }

// SetCreationTimestamp implements metav1.Object; not kept.
func (*objectMeta) SetCreationTimestamp(metav1.Time) {}

// GetDeletionTimestamp implements metav1.Object; not kept.
func (*objectMeta) GetDeletionTimestamp() *metav1.Time { return nil }

// SetDeletionTimestamp implements metav1.Object; not kept.
func (*objectMeta) SetDeletionTimestamp(*metav1.Time) {}

// GetDeletionGracePeriodSeconds implements metav1.Object; not kept.
func (*objectMeta) GetDeletionGracePeriodSeconds() *int64 { return nil }

// SetDeletionGracePeriodSeconds implements metav1.Object; not kept.
func (*objectMeta) SetDeletionGracePeriodSeconds(*int64) {}

// GetLabels implements metav1.Object; not kept.
func (*objectMeta) GetLabels() map[string]string { return nil }

// SetLabels implements metav1.Object; not kept.
func (*objectMeta) SetLabels(map[string]string) {}

// GetAnnotations implements metav1.Object; not kept.
func (*objectMeta) GetAnnotations() map[string]string { return nil }

// SetAnnotations implements metav1.Object; not kept.
func (*objectMeta) SetAnnotations(map[string]string) {}

// GetFinalizers implements metav1.Object; not kept.
func (*objectMeta) GetFinalizers() []string { return nil }

// SetFinalizers implements metav1.Object; not kept.
func (*objectMeta) SetFinalizers([]string) {}

// GetOwnerReferences implements metav1.Object; not kept.
func (*objectMeta) GetOwnerReferences() []metav1.OwnerReference { return nil }

// SetOwnerReferences implements metav1.Object; not kept.
func (*objectMeta) SetOwnerReferences([]metav1.OwnerReference) {}

// GetManagedFields implements metav1.Object; not kept.
func (*objectMeta) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }

// SetManagedFields implements metav1.Object; not kept.
func (*objectMeta) SetManagedFields([]metav1.ManagedFieldsEntry) {}
