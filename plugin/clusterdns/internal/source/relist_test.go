package source

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

func TestRelistGuard(t *testing.T) {
	failures := 0 // how many calls fail before the server answers again
	calls, stopped := 0, 0
	refused := errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	watchFn := func(context.Context, metav1.ListOptions) (watch.Interface, error) {
		calls++
		if failures > 0 {
			failures--
			return nil, refused
		}
		return stopCounter{watch.NewFake(), &stopped}, nil
	}
	listFn := func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		return &metav1.List{}, nil
	}
	ctx := context.Background()
	g := &relistGuard{contact: &apiContact{}, retry: time.Millisecond, maxRetry: 2 * time.Millisecond}
	resume := metav1.ListOptions{ResourceVersion: "386"}
	stream := metav1.ListOptions{ResourceVersion: "386", SendInitialEvents: new(true)}

	if _, err := g.watch(ctx, resume, watchFn); err != nil {
		t.Fatalf("healthy resume: %v", err)
	}
	// An outage: the call keeps trying until the server answers, then asks
	// the reflector to relist rather than resume.
	failures, calls = 3, 0
	_, err := g.watch(ctx, resume, watchFn)
	if !apierrors.IsResourceExpired(err) {
		t.Fatalf("resume across an outage: %v, want an expired resource version", err)
	}
	if calls != 4 {
		t.Errorf("%d attempts, want 4 (3 refused, then through)", calls)
	}
	if stopped != 1 {
		t.Errorf("the probe watch was not stopped (%d stops)", stopped)
	}
	if g.contact.lost {
		t.Error("recovery not recorded")
	}
	// A list (or a streaming list) clears the need to relist.
	if _, err := g.list(ctx, metav1.ListOptions{}, listFn); err != nil {
		t.Fatal(err)
	}
	if _, err := g.watch(ctx, resume, watchFn); err != nil {
		t.Fatalf("resume after the relist: %v", err)
	}
	g.stale.Store(true)
	if _, err := g.watch(ctx, stream, watchFn); err != nil {
		t.Fatalf("streaming list after an outage: %v", err)
	}
	if g.stale.Load() {
		t.Error("a streaming list did not count as a relist")
	}
	// Answers of the server, errors included, go straight back.
	gone := apierrors.NewResourceExpired("too old resource version")
	calls = 0
	if _, err := g.watch(ctx, resume, func(context.Context, metav1.ListOptions) (watch.Interface, error) { calls++; return nil, gone }); !apierrors.IsResourceExpired(err) || calls != 1 {
		t.Errorf("410 from the server: %v after %d calls, want it returned at once", err, calls)
	}
	// A request cancelled by shutdown is not an outage, and does not wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	g.stale.Store(false)
	failures = 1 << 30
	if _, err := g.watch(cctx, resume, watchFn); err == nil {
		t.Error("a cancelled request succeeded")
	}
	if g.stale.Load() {
		t.Error("a cancelled request marked the informer stale")
	}
}

func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errors.New("connection refused"), true},
		{apierrors.NewServiceUnavailable("starting"), true},
		{apierrors.NewResourceExpired("too old"), false},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "", errors.New("no")), false},
		{apierrors.NewTimeoutError("too large resource version", 1), false},
	} {
		if got := unreachable(tc.err); got != tc.want {
			t.Errorf("unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// stopCounter counts Stop calls of a watch.
type stopCounter struct {
	watch.Interface
	n *int
}

func (s stopCounter) Stop() { *s.n++; s.Interface.Stop() }

func TestAPIContactRefusalIsNotAnOutage(t *testing.T) {
	a := &apiContact{}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, "", errors.New("RBAC: no rule"))
	a.failed(forbidden)
	a.failed(forbidden)
	if a.lost {
		t.Error("a refusal was taken for an outage")
	}
	if len(a.refused) != 1 {
		t.Errorf("refusals recorded: %v, want the one message once", a.refused)
	}
}

// TestAPIContactMissingResourceIsNotAnOutage: a list of ServiceImports on a
// cluster without their CRD is answered 404, which retrying does not fix.
func TestAPIContactMissingResourceIsNotAnOutage(t *testing.T) {
	a := &apiContact{}
	missing := apierrors.NewNotFound(schema.GroupResource{Group: "multicluster.x-k8s.io", Resource: "serviceimports"}, "")
	a.failed(missing)
	a.failed(missing)
	if a.lost {
		t.Error("a resource the server does not serve was taken for an outage")
	}
	if len(a.refused) != 1 {
		t.Errorf("messages recorded: %v, want the one message once", a.refused)
	}
}
