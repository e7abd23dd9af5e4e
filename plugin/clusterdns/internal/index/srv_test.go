package index

import (
	"fmt"
	"net/netip"
	"reflect"
	"sync/atomic"
	"testing"
)

// windowOf is the plain definition SRVTargetWindow must agree with: every
// target listed, then k of them taken from the counter's start, wrapping.
func windowOf(targets []SRVTarget, k int, ctr *atomic.Uint32) []SRVTarget {
	n := len(targets)
	if ctr == nil || k <= 0 || n <= k {
		return targets
	}
	off := windowStart(ctr, k, n)
	out := append([]SRVTarget(nil), targets[off:min(off+k, n)]...)
	return append(out, targets[:k-len(out)]...)
}

// TestSRVTargetWindow checks that building only the window gives what
// listing every target and then taking the window gives, for every cap
// and every start, on a ClusterIP service with a repeated port number and
// on headless services with named and unnamed endpoints and two ports.
func TestSRVTargetWindow(t *testing.T) {
	http := Port{Name: "http", Proto: "tcp", Number: 80}
	metrics := Port{Name: "metrics", Proto: "tcp", Number: 9090}
	alias := Port{Name: "web", Proto: "tcp", Number: 80}
	headless := func(names ...string) *Entry {
		sl := &Slice{Service: "db", Ports: []Port{http, metrics}, Extra: &SliceExtra{}}
		var en EndpointNames
		for i, n := range names {
			sl.Ready = append(sl.Ready, en.Endpoint(sl, netip.AddrFrom4([4]byte{10, 244, 0, byte(i + 1)}), n))
		}
		sl.Extra.Names = en.String()
		k := ServiceKey{Name: "db", Namespace: "prod"}
		return Build(k, &Service{Headless: true, Selector: true, Ports: []Port{http, metrics}}, []*Slice{sl}, BuildOptions{MaxAnswers: 1})
	}
	entries := map[string]*Entry{
		"clusterip": Build(ServiceKey{Name: "web", Namespace: "prod"},
			&Service{ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.1")}, Ports: []Port{http, alias, metrics}}, nil, BuildOptions{}),
		"headless, unnamed":      headless("", "", "", "", ""),
		"headless, named":        headless("db-0", "db-1", "db-2"),
		"headless, shared names": headless("db-0", "db-0", "db-1", "", "db-2"),
	}
	for name, e := range entries {
		for _, port := range [][2]string{{"", ""}, {"http", "tcp"}, {"metrics", "tcp"}, {"web", "tcp"}, {"none", "tcp"}} {
			all := e.SRVTargets(port[0], port[1])
			if n := e.CountSRVTargets(port[0], port[1]); n != len(all) {
				t.Errorf("%s %v: CountSRVTargets %d, SRVTargets lists %d", name, port, n, len(all))
			}
			for k := 0; k <= len(all)+1; k++ {
				for start := range uint32(len(all) + 2) {
					t.Run(fmt.Sprintf("%s/%s/k=%d/start=%d", name, port[0], k, start), func(t *testing.T) {
						var got, want atomic.Uint32
						got.Store(start)
						want.Store(start)
						w := e.SRVTargetWindow(nil, port[0], port[1], len(all), k, &got)
						if ref := windowOf(all, k, &want); !reflect.DeepEqual(w, ref) {
							t.Errorf("window %v, want %v", w, ref)
						}
						if got.Load() != want.Load() {
							t.Errorf("counter moved to %d, want %d", got.Load(), want.Load())
						}
						// Appended to what dst holds, which stays.
						got.Store(start)
						kept := SRVTarget{Port: 1}
						if a := e.SRVTargetWindow([]SRVTarget{kept}, port[0], port[1], len(all), k, &got); len(a) != 1+len(w) ||
							!reflect.DeepEqual(a[0], kept) || (len(w) > 0 && !reflect.DeepEqual(a[1:], w)) {
							t.Errorf("appended to one target: %v, want it then %v", a, w)
						}
					})
				}
			}
		}
	}
	if got := entries["clusterip"].SRVTargetWindow(nil, "", "", 2, 1, nil); len(got) != 2 {
		t.Errorf("without a counter: %d targets, want both port numbers", len(got))
	}
}
