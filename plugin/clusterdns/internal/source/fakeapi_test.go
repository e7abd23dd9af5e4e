package source

import (
	"errors"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// errRefused is what a client gets from an API server that is down.
var errRefused = errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")

// fakeAPI puts a switch and a filter in front of a fake clientset: cut
// ends every open watch and refuses new requests as an unreachable server
// would, restore lets them through again, and dropNext makes the open
// watches lose one matching event, as a faulty connection or proxy might.
type fakeAPI struct {
	cs *fake.Clientset

	mu      sync.Mutex
	down    bool
	watches []watch.Interface
	drop    func(watch.Event) bool // nil: keep every event
}

// newFakeAPI installs the fakeAPI's reactors ahead of cs's own.
func newFakeAPI(cs *fake.Clientset) *fakeAPI {
	f := &fakeAPI{cs: cs}
	cs.PrependReactor("list", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		if f.isDown() {
			return true, nil, errRefused
		}
		return false, nil, nil
	})
	cs.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		if f.isDown() {
			return true, nil, errRefused
		}
		var opts metav1.ListOptions
		if wa, ok := a.(k8stesting.WatchActionImpl); ok {
			opts = wa.ListOptions
		}
		w, err := cs.Tracker().Watch(a.GetResource(), a.GetNamespace(), opts)
		if err != nil {
			return true, nil, err
		}
		fw := watch.Filter(w, f.filter)
		f.mu.Lock()
		f.watches = append(f.watches, fw)
		f.mu.Unlock()
		return true, fw, nil
	})
	return f
}

func (f *fakeAPI) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

// cut takes the API server away.
func (f *fakeAPI) cut() {
	f.mu.Lock()
	f.down = true
	open := f.watches
	f.watches = nil
	f.mu.Unlock()
	for _, w := range open {
		w.Stop()
	}
}

// restore brings the API server back.
func (f *fakeAPI) restore() {
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
}

// dropNext makes the watches lose the next event that match accepts.
func (f *fakeAPI) dropNext(match func(watch.Event) bool) {
	f.mu.Lock()
	f.drop = match
	f.mu.Unlock()
}

// filter is the watches' filter: it drops the event dropNext asked for.
func (f *fakeAPI) filter(e watch.Event) (watch.Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.drop != nil && f.drop(e) {
		f.drop = nil
		return e, false
	}
	return e, true
}
