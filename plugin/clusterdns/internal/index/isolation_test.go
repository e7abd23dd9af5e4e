package index

import (
	"fmt"
	"net/netip"
	"testing"
)

// isolationView returns a view with namespaces shop and shop-db of tenant
// a, bank of tenant b, and dev and kube-system without a tenant; a client
// pod in shop at 10.0.0.1 and one in dev at 10.0.0.2.
func isolationView() *View {
	ix := New()
	w := NewWriter(ix)
	w.Begin()
	for _, ns := range []string{"shop", "shop-db", "bank", "dev", "kube-system"} {
		w.SetNamespace(ns, true)
	}
	w.SetTenant("shop", "a")
	w.SetTenant("shop-db", "a")
	w.SetTenant("bank", "b")
	w.SetClient(netip.MustParseAddr("10.0.0.1"), Client{Namespace: "shop", Name: "p"}, true)
	w.SetClient(netip.MustParseAddr("10.0.0.2"), Client{Namespace: "dev", Name: "p"}, true)
	w.Commit()
	return ix.Load()
}

func TestAudienceSees(t *testing.T) {
	v := isolationView()
	shared := map[string]struct{}{"kube-system": {}}
	all := []string{"shop", "shop-db", "bank", "dev", "kube-system"}
	tests := []struct {
		name string
		iso  *Isolation
		addr string // "" for no address
		sees []string
	}{
		{"no isolation", nil, "10.0.0.1", all},
		{"pod in shop with tenants", &Isolation{Shared: shared, Tenants: true}, "10.0.0.1", []string{"shop", "shop-db", "kube-system"}},
		{"pod in shop without tenants", &Isolation{Shared: shared}, "10.0.0.1", []string{"shop", "kube-system"}},
		{"pod in a namespace of no tenant", &Isolation{Shared: shared, Tenants: true}, "10.0.0.2", []string{"dev", "kube-system"}},
		{"unknown client, deny", &Isolation{Shared: shared, Tenants: true}, "10.9.9.9", []string{"kube-system"}},
		{"unknown client, allow", &Isolation{Shared: shared, Tenants: true, AllowUnknown: true}, "10.9.9.9", all},
		{"no client address, even with allow", &Isolation{Shared: shared, AllowUnknown: true}, "", []string{"kube-system"}},
		{"nothing shared", &Isolation{}, "10.9.9.9", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, err := netip.ParseAddr(tc.addr)
			a := v.AudienceOf(tc.iso, addr, err == nil)
			for _, ns := range all {
				want := false
				for _, s := range tc.sees {
					want = want || s == ns
				}
				if got := a.Sees(v, ns); got != want {
					t.Errorf("sees %s: %t, want %t", ns, got, want)
				}
			}
			if limited := len(tc.sees) < len(all); a.Limited() != limited {
				t.Errorf("Limited() = %t, want %t", a.Limited(), limited)
			}
		})
	}
}

// BenchmarkAudience measures what `isolate` adds to a query: finding the
// client's audience and checking one namespace, in a view of 10,000
// clients in 100 namespaces of 10 tenants. The namespace asked is the
// client's own, one of its tenant, or hidden.
func BenchmarkAudience(b *testing.B) {
	ix := New()
	w := NewWriter(ix)
	w.Begin()
	for i := range 100 {
		ns := fmt.Sprintf("ns-%d", i)
		w.SetNamespace(ns, true)
		w.SetTenant(ns, fmt.Sprintf("tenant-%d", i%10))
	}
	for i := range 10_000 {
		w.SetClient(netip.AddrFrom4([4]byte{10, 246, byte(i >> 8), byte(i)}), Client{Namespace: fmt.Sprintf("ns-%d", i%100)}, true)
	}
	w.Commit()
	v := ix.Load()
	iso := &Isolation{Shared: map[string]struct{}{"kube-system": {}}, Tenants: true}
	client := netip.AddrFrom4([4]byte{10, 246, 0, 0}) // in ns-0, tenant-0
	for _, tc := range []struct {
		name, ns string
		want     bool
	}{
		{"own", "ns-0", true},
		{"tenant", "ns-10", true},
		{"hidden", "ns-1", false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if v.AudienceOf(iso, client, true).Sees(v, tc.ns) != tc.want {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}
