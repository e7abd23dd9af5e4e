package index

import (
	"net/netip"
	"testing"
)

// TestEndpointNames checks endpoints read back the names they were made
// with, an endpoint's addresses share its name's bytes, and endpoints
// without a name have none.
func TestEndpointNames(t *testing.T) {
	s := &Slice{Service: "db", Extra: &SliceExtra{}}
	var n EndpointNames
	names := []string{"db-0", "db-0", "", "db-1", "db-10", "", "db-1"}
	for i, name := range names {
		s.Ready = append(s.Ready, n.Endpoint(s, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), name))
	}
	s.Extra.Names = n.String()
	for i, want := range names {
		ep := &s.Ready[i]
		if got := ep.Name(); got != want || ep.Addr() != netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) {
			t.Errorf("endpoint %d: %q at %s, want %q", i, got, ep.Addr(), want)
		}
	}
	if want := "db-0db-1db-10db-1"; s.Extra.Names != want {
		t.Errorf("names %q, want %q: consecutive equal names once", s.Extra.Names, want)
	}
	var none EndpointNames
	if ep := none.Endpoint(&Slice{}, netip.MustParseAddr("fd00::1"), ""); ep.Name() != "" || none.String() != "" {
		t.Errorf("unnamed endpoint: name %q, names %q", ep.Name(), none.String())
	}
}
