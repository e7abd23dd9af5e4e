package clusterdns

import (
	"slices"
	"testing"
)

// TestCacheBypassZones checks that the plugin asks the cache plugin to
// leave its zones alone exactly when its answers depend on the client.
func TestCacheBypassZones(t *testing.T) {
	tests := []struct {
		name   string
		option string
		bypass bool
	}{
		{"isolate", "isolate", true},
		{"traffic_distribution", "traffic_distribution", true},
		{"client_zone_first", "client_zone_first", true},
		{"pods verified", "pods verified", false},
		{"zonal", "zonal", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := setupParseInput(t, "clusterdns cluster.local in-addr.arpa {\n "+tc.option+"\n}")
			if err != nil {
				t.Fatal(err)
			}
			got := newClusterDNS(cfg).CacheBypassZones()
			want := []string(nil)
			if tc.bypass {
				want = []string{"cluster.local.", "in-addr.arpa."}
			}
			if !slices.Equal(got, want) {
				t.Errorf("CacheBypassZones() = %v, want %v", got, want)
			}
		})
	}
}
