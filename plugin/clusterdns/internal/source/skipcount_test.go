package source

import (
	"context"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// TestSkippedOncePerChange holds a Service with a bad port and a slice of
// a Service that does not exist: each is counted once when first listed,
// not again when everything is listed again (a resync, as after an
// outage), and once more when it changes.
func TestSkippedOncePerChange(t *testing.T) {
	bad := fixture.Service("prod", "bad", []string{"10.96.0.5"}, fixture.Port("zero", corev1.ProtocolTCP, 0))
	bad.ResourceVersion = "7"
	orphan := fixture.Slice("prod", "ghost", "ghost-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.9.9"})
	orphan.ResourceVersion = "3"
	count := func() (port, ghost float64) {
		return counterValue(t, skippedObjects.WithLabelValues(object.KindService, object.ReasonInvalidPort)),
			counterValue(t, skippedObjects.WithLabelValues(object.KindSlice, object.ReasonUnknownService))
	}
	port0, ghost0 := count()
	cs := fake.NewClientset(fixture.Namespace("prod"), bad, orphan, fixture.Service("prod", "web", []string{"10.96.0.20"}))
	r := startClientset(t, nil, cs)
	if port, ghost := count(); port != port0+1 || ghost != ghost0+1 {
		t.Fatalf("first list counted %v bad ports and %v orphan slices, want 1 and 1", port-port0, ghost-ghost0)
	}

	// Everything is listed again, then a later change is answered: the
	// relisted objects went through the transform and the builder first.
	lists := func() int {
		return len(slices.DeleteFunc(slices.Clone(cs.Actions()), func(a k8stesting.Action) bool { return a.GetVerb() != "list" }))
	}
	before := lists()
	r.src.(*APISource).Resync()
	fixture.Eventually(t, "the relist", func() bool { return lists() >= before+3 })
	web := fixture.Service("prod", "web", []string{"10.96.0.21"})
	if _, err := cs.CoreV1().Services("prod").Update(context.Background(), web, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "the change after the relist", func() bool { return slices.Equal(addrsOf(r, "web.prod.svc"), []string{"10.96.0.21"}) })
	r.ctl.markAll() // and a full rebuild, which visits the orphan slice again
	r.ctl.process()
	if port, ghost := count(); port != port0+1 || ghost != ghost0+1 {
		t.Errorf("after a relist and a rebuild, %v bad ports and %v orphan slices counted, want still 1 and 1", port-port0, ghost-ghost0)
	}

	// A change of each is counted again.
	bad.ResourceVersion, orphan.ResourceVersion = "8", "4"
	bad.Spec.Ports = append(bad.Spec.Ports, fixture.Port("zero2", corev1.ProtocolTCP, 0))
	orphan.Endpoints[0].Addresses = []string{"10.244.9.10"}
	if _, err := cs.CoreV1().Services("prod").Update(context.Background(), bad, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.DiscoveryV1().EndpointSlices("prod").Update(context.Background(), orphan, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "the changes counted", func() bool {
		port, ghost := count()
		return port == port0+3 && ghost == ghost0+2
	})
}

// counterValue reads a counter as a scrape would.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
