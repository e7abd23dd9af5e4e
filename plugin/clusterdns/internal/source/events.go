package source

import (
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// The informers' event handlers: each turns an add, update or delete into
// a mark of what must be rebuilt. Updates that cannot change an answer (a
// Service's or slice's other fields, a node's labels but its zone) are
// dropped here.

// serviceHandler queues a service (or a ServiceImport, as a slim service)
// with mark when it is added, changed or deleted.
func serviceHandler(markService func(string)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { markKey(obj, markService) },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*object.Service)
			n, ok2 := cur.(*object.Service)
			if ok1 && ok2 && o.Invalid == n.Invalid && o.ExternalName == n.ExternalName && o.Headless == n.Headless &&
				slices.Equal(o.ClusterIPs, n.ClusterIPs) && slices.Equal(o.Ports, n.Ports) {
				return
			}
			markKey(cur, markService)
		},
		DeleteFunc: func(obj any) { markKey(obj, markService) },
	}
}

// stamped wraps h so every event of resource's watch is recorded for the
// watch_event_age_seconds metric.
func stamped(resource string, h cache.ResourceEventHandler) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			stampEvent(resource)
			h.OnAdd(obj, initial)
		},
		UpdateFunc: func(old, cur any) {
			stampEvent(resource)
			h.OnUpdate(old, cur)
		},
		DeleteFunc: func(obj any) {
			stampEvent(resource)
			h.OnDelete(obj)
		},
	}
}

// sliceHandler queues the service(s) a slice belongs to, before and after a
// change, timed from the change the slice says triggered it.
func sliceHandler(to feed) cache.ResourceEventHandler {
	mark := func(obj any, ch change) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if s, ok := obj.(*object.EndpointSlice); ok {
			if key := sliceServiceKey(s); key != "" {
				to.markServiceAt(key, ch)
			} else if key := sliceImportKey(s); key != "" {
				to.markImport(key)
			}
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			s, _ := obj.(*object.EndpointSlice)
			mark(obj, sliceChange(nil, s, time.Now()))
		},
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*object.EndpointSlice)
			n, ok2 := cur.(*object.EndpointSlice)
			if ok1 && ok2 && sameSlice(o, n) {
				return
			}
			ch := sliceChange(o, n, time.Now())
			mark(old, ch)
			mark(cur, ch)
		},
		DeleteFunc: func(obj any) { mark(obj, change{at: time.Now()}) },
	}
}

// sliceChange returns when the change to slice cur (from old, nil if new)
// happened: its last-change-trigger-time annotation, as kube-proxy's
// programming latency uses it, else now, when the event arrived. An
// annotation the old version had already does not date this change, as
// when a slice is edited by hand with the annotation copied along.
func sliceChange(old, cur *object.EndpointSlice, now time.Time) change {
	if cur == nil || cur.TriggerTime == 0 || (old != nil && old.TriggerTime == cur.TriggerTime) {
		return change{at: now}
	}
	return change{at: time.Unix(0, cur.TriggerTime), trigger: true}
}

// sameSlice reports whether two versions of a slice give the same answers.
func sameSlice(a, b *object.EndpointSlice) bool {
	same := func(x, y index.Endpoint) bool { return x.Addr16 == y.Addr16 && x.Name() == y.Name() }
	return a.Service == b.Service && a.Cluster() == b.Cluster() && slices.Equal(a.Ports, b.Ports) &&
		slices.EqualFunc(a.Ready, b.Ready, same) && slices.EqualFunc(a.Terminating(), b.Terminating(), same) &&
		slices.Equal(a.Zones(), b.Zones()) && slices.Equal(a.TermZones(), b.TermZones()) &&
		slices.Equal(a.Hints(), b.Hints())
}

// namespaceHandler queues a namespace when it appears or goes away, or
// when the labels slim Namespaces keep (the `isolate` tenant label) change.
func namespaceHandler(to feed) cache.ResourceEventHandler {
	mark := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if ns, ok := obj.(*corev1.Namespace); ok {
			to.markNamespace(ns.Name)
		}
	}
	update := func(old, cur any) {
		o, _ := old.(*corev1.Namespace)
		c, _ := cur.(*corev1.Namespace)
		if o != nil && c != nil && !maps.Equal(o.Labels, c.Labels) {
			to.markNamespace(c.Name)
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: mark, UpdateFunc: update, DeleteFunc: mark}
}

// podHandler queues a pod whose addresses may have changed.
func podHandler(to feed) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { markKey(obj, to.markPod) },
		UpdateFunc: func(_, cur any) { markKey(cur, to.markPod) },
		DeleteFunc: func(obj any) { markKey(obj, to.markPod) },
	}
}

// nodeHandler queues a node whose zone may have changed.
func nodeHandler(to feed) cache.ResourceEventHandler {
	mark := func(obj any) { markKey(obj, to.markNode) }
	return cache.ResourceEventHandlerFuncs{
		AddFunc: mark,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*object.Node)
			n, ok2 := cur.(*object.Node)
			if ok1 && ok2 && nodeZone(o) == nodeZone(n) {
				return
			}
			mark(cur)
		},
		DeleteFunc: mark,
	}
}

// markKey passes the "<ns>/<name>" key of obj (or of a tombstone's object) to mark.
func markKey(obj any, mark func(string)) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		mark(key)
	}
}
