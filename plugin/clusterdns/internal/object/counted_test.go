package object

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// TestCountedOncePerVersion slims a Service with two bad ports again and
// again: with a Counted, each version is counted once (both parts), a new
// version again, and an object without a resource version every time;
// without one, every time.
func TestCountedOncePerVersion(t *testing.T) {
	var n int
	Skipped = func(string, string) { n++ }
	defer func() { Skipped = nil }()
	svc := func(rv string) *corev1.Service {
		s := fixture.Service("prod", "web", []string{"10.96.0.1"},
			fixture.Port("zero", corev1.ProtocolTCP, 0), fixture.Port("a.b", corev1.ProtocolTCP, 81))
		s.ResourceVersion = rv
		return s
	}
	counted := NewCounted()
	steps := []struct {
		name string
		sl   Slimmer
		rv   string
		want int // skips counted by this step
	}{
		{"first sight", Slimmer{Counted: counted}, "5", 2},
		{"same version again (a relist)", Slimmer{Counted: counted}, "5", 0},
		{"and again", Slimmer{Counted: counted}, "5", 0},
		{"a new version", Slimmer{Counted: counted}, "6", 2},
		{"no resource version", Slimmer{Counted: counted}, "", 2},
		{"no resource version again", Slimmer{Counted: counted}, "", 2},
		{"without Counted", Slimmer{}, "6", 2},
	}
	for _, s := range steps {
		n = 0
		if _, err := s.sl.Transform(svc(s.rv)); err != nil {
			t.Fatal(err)
		}
		if n != s.want {
			t.Errorf("%s: %d skips counted, want %d", s.name, n, s.want)
		}
	}
}

// TestCountedFirst checks First, which the builder uses for what it counts
// itself: true once per version, always without a resource version, and
// nil-safe.
func TestCountedFirst(t *testing.T) {
	c := NewCounted()
	k := CountedKey{Kind: KindSlice, Namespace: "prod", Name: "a"}
	for i, want := range []bool{true, false, false} {
		if got := c.First(k, "1"); got != want {
			t.Errorf("call %d for version 1: %t, want %t", i, got, want)
		}
	}
	if !c.First(k, "2") || !c.First(k, "") || !c.First(k, "") {
		t.Error("a new version, or no version, was not first")
	}
	var none *Counted
	for i := range 2 {
		if !none.First(k, "1") {
			t.Errorf("call %d: a nil Counted took a version as seen", i)
		}
	}
}
