package index

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestCowTableMatchesAMap applies random batches of sets and deletes to a
// Table and to a plain map and checks they agree after every batch, and
// that every earlier version is unchanged.
func TestCowTableMatchesAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	key := func() AddrKey {
		return KeyOf(netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(256))}))
	}
	type version struct {
		table *Table[AddrKey, int]
		want  map[AddrKey]int
	}
	cur := &Table[AddrKey, int]{}
	want := map[AddrKey]int{}
	var versions []version
	for batch := 0; batch < 200; batch++ {
		e := cur.Edit()
		for op := 0; op < 1+r.IntN(50); op++ {
			k := key()
			if r.IntN(3) == 0 {
				e.Delete(k)
				delete(want, k)
			} else {
				v := r.Int()
				e.Set(k, v)
				want[k] = v
			}
			got, ok := e.Get(k)
			if w, wantOK := want[k]; ok != wantOK || got != w {
				t.Fatalf("batch %d: edit reads %d %v for %v, want %d %v", batch, got, ok, k, w, wantOK)
			}
		}
		cur = e.Done()
		snapshot := make(map[AddrKey]int, len(want))
		for k, v := range want {
			snapshot[k] = v
		}
		versions = append(versions, version{cur, snapshot})
	}
	for i, v := range versions {
		if v.table.Len() != len(v.want) {
			t.Fatalf("version %d: len %d, want %d", i, v.table.Len(), len(v.want))
		}
		n := 0
		for s, shard := range v.table.shards {
			for j, e := range shard {
				n++
				if shardOf(e.key) != s || (j > 0 && shard[j-1].key.compare(e.key) >= 0) {
					t.Fatalf("version %d: shard %d is not sorted or holds a foreign key", i, s)
				}
				if w, ok := v.want[e.key]; !ok || w != e.val {
					t.Fatalf("version %d: %v = %d, want %d (%v)", i, e.key, e.val, w, ok)
				}
			}
		}
		if n != len(v.want) {
			t.Fatalf("version %d holds %d entries, want %d", i, n, len(v.want))
		}
		for k, w := range v.want {
			if got, ok := v.table.Get(k); !ok || got != w {
				t.Fatalf("version %d: get(%v) = %d %v, want %d", i, k, got, ok, w)
			}
		}
	}
}

func TestAddrKeyOrder(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"10.0.0.1", "10.0.0.2", -1},
		{"10.0.1.0", "10.0.0.255", 1},
		{"10.0.0.1", "10.0.0.1", 0},
		{"10.0.0.1", "fd00::1", -1}, // IPv4-mapped sorts before fd00::/8
	} {
		if got := KeyOf(netip.MustParseAddr(tc.a)).compare(KeyOf(netip.MustParseAddr(tc.b))); got != tc.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
