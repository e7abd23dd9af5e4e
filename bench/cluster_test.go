package main

import (
	"net/netip"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestGeneratedClusterShape(t *testing.T) {
	const n = 10000
	kinds := map[serviceKind]int{}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		s := serviceAt(i)
		kinds[s.kind]++
		switch s.kind {
		case kindHeadless:
			if s.endpoints < 2 || s.endpoints > 100 {
				t.Fatalf("headless service %d has %d endpoints", i, s.endpoints)
			}
		case kindExternalName:
			if len(slicesFor(s, i)) != 0 {
				t.Fatalf("ExternalName service %d has slices", i)
			}
		default:
			if s.endpoints < 1 || s.endpoints > 10 {
				t.Fatalf("service %d has %d endpoints", i, s.endpoints)
			}
		}
		for _, sl := range slicesFor(s, i) {
			if sl.Labels[discoveryv1.LabelServiceName] != s.name || sl.Namespace != s.ns {
				t.Fatalf("slice %s/%s does not belong to %s/%s", sl.Namespace, sl.Name, s.ns, s.name)
			}
			for _, ep := range sl.Endpoints {
				addr := netip.MustParseAddr(ep.Addresses[0])
				if addr.Is4() != (sl.AddressType == discoveryv1.AddressTypeIPv4) {
					t.Fatalf("address %s in a slice of type %s", addr, sl.AddressType)
				}
				if seen[addr.String()] {
					t.Fatalf("address %s is used twice", addr)
				}
				seen[addr.String()] = true
			}
		}
	}
	if kinds[kindHeadless] != n*headlessPct/100 || kinds[kindExternalName] != n*externalNamePct/100 {
		t.Errorf("kinds = %v", kinds)
	}
	st := statsFor(n)
	if st.Endpoints < 80000 || st.Endpoints > 120000 {
		t.Errorf("%d services have %d endpoints; the benchmark is described as about 100,000", n, st.Endpoints)
	}
	if st.Slices <= st.Services*8/10 {
		t.Errorf("%d slices for %d services", st.Slices, st.Services)
	}
}

func TestServiceAtIsStable(t *testing.T) {
	for i := 0; i < 1000; i++ {
		if first, again := serviceAt(i), serviceAt(i); first != again {
			t.Fatalf("service %d differs between calls", i)
		}
	}
}

func TestInNamespace(t *testing.T) {
	at := inNamespace("churn")
	for _, i := range []int{0, 1, 99, 100, 9999} {
		s, want := at(i), serviceAt(i)
		if s.ns != "churn" {
			t.Errorf("service %d in namespace %q, want churn", i, s.ns)
		}
		if s.name != want.name || s.kind != want.kind || s.endpoints != want.endpoints || s.hostnames != want.hostnames {
			t.Errorf("service %d = %+v, want %+v but for its namespace", i, s, want)
		}
		for _, sl := range slicesFor(s, i) {
			if sl.Namespace != "churn" {
				t.Errorf("slice %s of service %d in namespace %q", sl.Name, i, sl.Namespace)
			}
		}
	}
}

func TestChurnAddress(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "10.64.0.0"},
		{1, "10.64.0.1"},
		{256, "10.64.1.0"},
		{65536, "10.65.0.0"},
		{1<<22 - 1, "10.127.255.255"},
	}
	for _, tc := range tests {
		if got := churnAddress(tc.n); got != tc.want {
			t.Errorf("churnAddress(%d) = %s, want %s", tc.n, got, tc.want)
		}
		if netip.MustParsePrefix("10.128.0.0/9").Contains(netip.MustParseAddr(churnAddress(tc.n))) {
			t.Errorf("churnAddress(%d) is among the generated endpoints' addresses", tc.n)
		}
	}
}
