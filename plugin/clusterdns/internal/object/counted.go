package object

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

// maxCounted bounds what a Counted remembers; past it, it starts over, and
// a version may be counted once more.
const maxCounted = 1 << 16

// CountedKey names an object for Counted: its kind (or a kind and what was
// checked of it) and its name.
type CountedKey struct {
	Kind, Namespace, Name string
}

// Counted remembers the versions of objects whose skipped parts have been
// counted, so that slimming the same version again (a relist, a warm start
// from the snapshot file) counts nothing twice: skipped_objects_total
// counts each object once per change. It remembers only objects that left
// something out, and is safe for concurrent use.
type Counted struct {
	mu   sync.Mutex
	seen map[CountedKey]string // the resource version counted
}

// NewCounted returns an empty Counted.
func NewCounted() *Counted { return &Counted{seen: make(map[CountedKey]string)} }

// Seen reports whether version rv of k has been counted. An object without
// a resource version, as in a file of objects, never has.
func (c *Counted) Seen(k CountedKey, rv string) bool {
	if c == nil || rv == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[k] == rv
}

// Add records that version rv of k has been counted.
func (c *Counted) Add(k CountedKey, rv string) {
	if c == nil || rv == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) >= maxCounted {
		clear(c.seen)
	}
	c.seen[k] = rv
}

// First reports whether version rv of k has not been counted yet, and
// records it as counted.
func (c *Counted) First(k CountedKey, rv string) bool {
	if c.Seen(k, rv) {
		return false
	}
	c.Add(k, rv)
	return true
}

// countedKey returns the key and resource version of an API object for
// Counted, with ok false for anything else.
func countedKey(obj any) (CountedKey, string, bool) {
	var kind string
	switch obj.(type) {
	case *corev1.Service:
		kind = KindService
	case *discoveryv1.EndpointSlice:
		kind = KindSlice
	case *corev1.Namespace:
		kind = KindNamespace
	case *mcsv1alpha1.ServiceImport:
		kind = KindServiceImport
	default:
		return CountedKey{}, "", false
	}
	m := obj.(metav1.Object)
	return CountedKey{Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName()}, m.GetResourceVersion(), true
}
