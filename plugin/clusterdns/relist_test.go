package clusterdns

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

func TestRelistGuard(t *testing.T) {
	var down bool
	opened, stopped := 0, 0
	watchFn := func(context.Context, metav1.ListOptions) (watch.Interface, error) {
		if down {
			return nil, errors.New("connection refused")
		}
		opened++
		fw := watch.NewFake()
		return stopCounter{fw, &stopped}, nil
	}
	listFn := func(context.Context, metav1.ListOptions) (runtime.Object, error) {
		if down {
			return nil, errors.New("connection refused")
		}
		return &metav1.List{}, nil
	}
	ctx := context.Background()
	g := &relistGuard{contact: &apiContact{}}
	resume := metav1.ListOptions{ResourceVersion: "386"}
	stream := metav1.ListOptions{ResourceVersion: "386", SendInitialEvents: new(true)}

	if _, err := g.watch(ctx, resume, watchFn); err != nil {
		t.Fatalf("healthy resume: %v", err)
	}
	down = true
	if _, err := g.watch(ctx, resume, watchFn); err == nil {
		t.Fatal("watch against a down API succeeded")
	}
	if !g.contact.lost {
		t.Error("outage not recorded")
	}
	down = false
	_, err := g.watch(ctx, resume, watchFn)
	if !apierrors.IsResourceExpired(err) {
		t.Fatalf("resume after an outage: %v, want an expired resource version", err)
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
	// A request cancelled by shutdown is not an outage.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	down = true
	_, _ = g.watch(cctx, resume, watchFn)
	if g.stale.Load() {
		t.Error("a cancelled request marked the informer stale")
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
