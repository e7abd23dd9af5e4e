package clusterdns

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

func TestPackedWindow(t *testing.T) {
	list := []byte{0, 1, 2, 3, 4} // five one-byte records
	tests := []struct {
		name  string
		k     int
		start uint32
		want  []byte
	}{
		{"no cap", 0, 0, []byte{0, 1, 2, 3, 4}},
		{"cap equals length", 5, 3, []byte{0, 1, 2, 3, 4}},
		{"cap above length", 9, 3, []byte{0, 1, 2, 3, 4}},
		{"from the start", 2, 0, []byte{0, 1}},
		{"inside", 2, 2, []byte{2, 3}},
		{"wraps", 3, 3, []byte{3, 4, 0}},
		{"counter past the length", 2, 7, []byte{2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ctr atomic.Uint32
			ctr.Store(tc.start)
			first, second := index.PackedWindow(list, 1, tc.k, &ctr)
			if got := append(slices.Clone(first), second...); !slices.Equal(got, tc.want) {
				t.Errorf("window %v, want %v", got, tc.want)
			}
		})
	}
}

// rotationObjects is a headless service with ten IPv4 endpoints, six IPv6
// ones and a named port, and a ClusterIP service beside it.
func rotationObjects() []runtime.Object {
	port := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 80)}
	var v4, v6 []fixture.Endpoint
	for i := range 10 {
		v4 = append(v4, fixture.Endpoint{IP: fmt.Sprintf("10.244.0.%d", i+1), Hostname: fmt.Sprintf("h%d", i)})
	}
	for i := range 6 {
		v6 = append(v6, fixture.Endpoint{IP: fmt.Sprintf("fd00::%d", i+1)})
	}
	return []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Service("prod", "many", []string{"None"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Slice("prod", "many", "many-4", discoveryv1.AddressTypeIPv4, port, v4...),
		fixture.Slice("prod", "many", "many-6", discoveryv1.AddressTypeIPv6, port, v6...),
		fixture.Service("prod", "web", []string{"10.96.0.20"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
	}
}

// TestMaxAnswersRotates asks a capped headless name repeatedly, A, AAAA and
// SRV interleaved as resolvers do: every answer has exactly the cap of
// distinct records, each starts somewhere else, and together they cover
// every endpoint within ceil(n/cap) queries of each type.
func TestMaxAnswersRotates(t *testing.T) {
	const name = "many.prod.svc.cluster.local."
	for _, tc := range []struct {
		what    string
		queries []rotationQuery
	}{
		{"service name", []rotationQuery{
			{dns.TypeA, name, 10},
			{dns.TypeAAAA, name, 6},
			{dns.TypeSRV, name, 16}, // h0..h9 and six dashed IPv6 targets
		}},
		// The SRV names of a service share one rotation, so each is
		// checked on its own.
		{"port name", []rotationQuery{{dns.TypeSRV, "_http._tcp." + name, 16}}},
	} {
		t.Run(tc.what, func(t *testing.T) { checkRotation(t, tc.queries) })
	}
}

// rotationQuery is a name and type asked of a capped service, and how many
// distinct records its answers must cover.
type rotationQuery struct {
	qtype uint16
	name  string
	total int
}

// checkRotation asks the queries in turn, round after round, on a plugin
// with max_answers 3.
func checkRotation(t *testing.T, types []rotationQuery) {
	cfg := testConfig()
	cfg.MaxAnswers = 3
	c := newTestPlugin(t, cfg, rotationObjects()...)
	seen := make([]map[string]bool, len(types))
	firsts := make([][]string, len(types))
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	for round := range 6 { // ceil(16/3)
		for i, ty := range types {
			got := answerData(ask(t, c, ty.name, ty.qtype))
			if len(got) != 3 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 3 {
				t.Fatalf("round %d %s %s: answer %v, want 3 distinct records", round, dns.TypeToString[ty.qtype], ty.name, got)
			}
			firsts[i] = append(firsts[i], got[0])
			for _, d := range got {
				seen[i][d] = true
			}
		}
	}
	for i, ty := range types {
		if len(seen[i]) != ty.total {
			t.Errorf("%s %s: 6 capped answers covered %d of %d records", dns.TypeToString[ty.qtype], ty.name, len(seen[i]), ty.total)
		}
		if f := firsts[i]; f[0] == f[1] {
			t.Errorf("%s %s: consecutive answers start with the same record %s", dns.TypeToString[ty.qtype], ty.name, f[0])
		}
	}

	// Endpoint names and ClusterIP services are never capped.
	if got := answerData(ask(t, c, "web.prod.svc.cluster.local.", dns.TypeA)); !slices.Equal(got, []string{"10.96.0.20"}) {
		t.Errorf("ClusterIP service answer %v", got)
	}
	if got := answerData(ask(t, c, "h4.many.prod.svc.cluster.local.", dns.TypeA)); !slices.Equal(got, []string{"10.244.0.5"}) {
		t.Errorf("endpoint name answer %v", got)
	}
}

// TestMaxAnswersUnset checks that without the option every answer carries
// every record, in the same order each time.
func TestMaxAnswersUnset(t *testing.T) {
	c := newTestPlugin(t, nil, rotationObjects()...)
	e, _ := c.index.Load().Services.Get(index.ServiceKey{Name: "many", Namespace: "prod"})
	if e == nil || e.Rotation != nil {
		t.Fatalf("entry %+v: want one without rotation state", e)
	}
	for _, tc := range []struct {
		qtype uint16
		total int
	}{{dns.TypeA, 10}, {dns.TypeAAAA, 6}, {dns.TypeSRV, 16}} {
		var first []string
		for range 4 {
			got := answerData(ask(t, c, "many.prod.svc.cluster.local.", tc.qtype))
			if len(got) != tc.total {
				t.Fatalf("%s: %d records, want all %d", dns.TypeToString[tc.qtype], len(got), tc.total)
			}
			if first == nil {
				first = got
			} else if !slices.Equal(got, first) {
				t.Fatalf("%s: answer changed from %v to %v without max_answers", dns.TypeToString[tc.qtype], first, got)
			}
		}
	}
}

// BenchmarkMaxAnswers answers a headless service of 1,000 endpoints whole
// and capped at 10, for the cost of the window against the full answer.
func BenchmarkMaxAnswers(b *testing.B) {
	port := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 80)}
	var eps []fixture.Endpoint
	for i := range 1000 {
		eps = append(eps, fixture.Endpoint{IP: fmt.Sprintf("10.244.%d.%d", i/250, i%250+1)})
	}
	objs := []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Service("prod", "big", []string{"None"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Slice("prod", "big", "big-1", discoveryv1.AddressTypeIPv4, port, eps...),
	}
	for _, capN := range []int{0, 10} {
		cfg := testConfig()
		cfg.MaxAnswers = capN
		c := newTestPlugin(b, cfg, objs...)
		for _, qtype := range []uint16{dns.TypeA, dns.TypeSRV} {
			b.Run(fmt.Sprintf("%s/max_answers=%d", dns.TypeToString[qtype], capN), func(b *testing.B) {
				r := new(dns.Msg)
				r.SetQuestion("big.prod.svc.cluster.local.", qtype)
				w := dnstest.NewRecorder(&test.ResponseWriter{})
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					_, _ = c.ServeDNS(ctx, w, r)
				}
			})
		}
	}
}
