package source

import (
	"net/netip"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// BenchmarkRebuildService measures what clusterdns spends to program one
// EndpointSlice change in a cluster of 10,000 services and 100,000 endpoints:
// the store update, then markService and process, which rebuild the
// service's records and publish a new view. Each iteration replaces one
// endpoint (a new pod with a new address) or puts it back, so every
// iteration is a real change. The slice arrives slimmed, as the informer's
// transform leaves it.
//
//   - headless_100: the headless service-9, 100 endpoints in one slice (with
//     hostnames, so the replaced pod keeps its name and changes address);
//   - clusterip: the ClusterIP service-0 (3 to 10 endpoints).
func BenchmarkRebuildService(b *testing.B) {
	benchRebuild(b, fixture.ClusterSize{Services: 10_000, Endpoints: 100_000})
}

// BenchmarkRebuildServiceBigNamespace is BenchmarkRebuildService with all
// 10,000 services in one namespace, where finding a service's slices among
// its namespace's costs the most.
func BenchmarkRebuildServiceBigNamespace(b *testing.B) {
	benchRebuild(b, fixture.ClusterSize{Services: 10_000, Endpoints: 100_000, Namespaces: 1})
}

// benchRebuild runs the cases of BenchmarkRebuildService on a cluster of size.
func benchRebuild(b *testing.B, size fixture.ClusterSize) {
	objs := fixture.Cluster(b, size)
	// The slices to change, as generated, before the slimming.
	raw := make(map[string]*discoveryv1.EndpointSlice)
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok && s.AddressType == discoveryv1.AddressTypeIPv4 {
			if name := s.Labels[discoveryv1.LabelServiceName]; name == fixture.HeadlessService || name == fixture.ClusterIPService {
				raw[name] = s.DeepCopy()
			}
		}
	}
	r := loaded(b, nil, objs...)
	ctl := r.ctl

	for _, tc := range []struct{ name, service, addr string }{
		{"headless_100", fixture.HeadlessService, "10.255.255.1"},
		{"clusterip", fixture.ClusterIPService, "10.255.255.2"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			orig := raw[tc.service]
			if orig == nil {
				b.Fatalf("no IPv4 slice for %s", tc.service)
			}
			if tc.service == fixture.HeadlessService && len(orig.Endpoints) != fixture.HeadlessSize {
				b.Fatalf("%s has %d endpoints, want %d", tc.service, len(orig.Endpoints), fixture.HeadlessSize)
			}
			changed := orig.DeepCopy()
			changed.ResourceVersion += "1"
			ep := &changed.Endpoints[0]
			ep.Addresses = []string{tc.addr}
			ep.TargetRef.Name += "-replaced"
			versions := []any{mustSlim(b, changed), mustSlim(b, orig)}
			key := orig.Namespace + "/" + tc.service
			apply := func(v any) {
				if err := ctl.st.Slices.Update(v); err != nil {
					b.Fatal(err)
				}
				ctl.markService(key)
				ctl.process()
			}

			// The change shows in the reverse table, and so does putting it back.
			addr := netip.MustParseAddr(tc.addr)
			for i, want := range []bool{true, false} {
				apply(versions[i])
				if _, got := r.index.Load().Reverse.Get(addr); got != want {
					b.Fatalf("%s in the reverse table after change %d: %t, want %t", tc.addr, i, got, want)
				}
			}

			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				apply(versions[i%2])
			}
			apply(versions[1]) // leave the service as it was
		})
	}
}

// mustSlim returns the slim copy the informer's transform makes of s.
func mustSlim(tb testing.TB, s *discoveryv1.EndpointSlice) any {
	tb.Helper()
	slim, err := object.Slimmer{}.Transform(s)
	if err != nil {
		tb.Fatal(err)
	}
	return slim
}
