package source

import (
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// BenchmarkFirstBuild measures the first publication of a cluster of 10,000
// services and 100,000 endpoints from filled stores: the index build that
// the first sync runs after the informers have listed, and that adds to
// start-up time.
func BenchmarkFirstBuild(b *testing.B) {
	cfg := testConfig()
	objs := fixture.Cluster(b, fixture.ClusterSize{Services: 10_000, Endpoints: 100_000})
	st := NewStores(cfg)
	if err := st.Add(NewSlimmer(cfg), objs...); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ix := index.New()
		ctl := NewController(cfg, ix)
		ctl.Load(st)
		if n := ix.Load().Services.Len(); n < 10_000 {
			b.Fatalf("%d services published, want 10,000 or more", n)
		}
	}
}
