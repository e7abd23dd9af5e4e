package clusterdns

import (
	"maps"
	"slices"
	"testing"
)

// TestIsolateParse checks the accepted forms of `isolate`, and that the
// option after its block is still read.
func TestIsolateParse(t *testing.T) {
	tests := []struct {
		name         string
		input        string
		shared       []string
		tenantLabel  string
		allowUnknown bool
	}{
		{"alone", "clusterdns cluster.local {\n isolate\n ttl 7\n}", nil, "", false},
		{"empty block", "clusterdns cluster.local {\n isolate {\n }\n ttl 7\n}", nil, "", false},
		{"full block", "clusterdns cluster.local {\n isolate {\n  shared default kube-system\n  tenant_label capsule.clastix.io/tenant\n  unknown allow\n }\n ttl 7\n}",
			[]string{"default", "kube-system"}, "capsule.clastix.io/tenant", true},
		{"shared twice adds up", "clusterdns cluster.local {\n isolate {\n  shared a\n  shared b\n  unknown deny\n }\n ttl 7\n}", []string{"a", "b"}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := setupParseInput(t, tc.input)
			if err != nil {
				t.Fatal(err)
			}
			iso := cfg.isolation
			if iso == nil || !cfg.Isolate || !cfg.WatchPods() || !cfg.IdentifyClients() {
				t.Fatalf("isolation %+v, Isolate %t: want isolation on, with pods watched and clients identified", iso, cfg.Isolate)
			}
			if got := slices.Sorted(maps.Keys(iso.Shared)); !slices.Equal(got, tc.shared) {
				t.Errorf("shared %v, want %v", got, tc.shared)
			}
			if cfg.TenantLabel != tc.tenantLabel || iso.Tenants != (tc.tenantLabel != "") || iso.AllowUnknown != tc.allowUnknown {
				t.Errorf("tenant label %q (tenants %t), allow unknown %t; want %q, %t", cfg.TenantLabel, iso.Tenants, iso.AllowUnknown, tc.tenantLabel, tc.allowUnknown)
			}
			if cfg.ttl != 7 {
				t.Errorf("ttl %d: the line after isolate was not read", cfg.ttl)
			}
		})
	}
}

// TestIsolateParseErrors checks that each bad `isolate` line is refused
// with an error naming it and its Corefile line.
func TestIsolateParseErrors(t *testing.T) {
	tests := []struct {
		input string
		want  string
		line  int
	}{
		{"clusterdns cluster.local {\n isolate shared\n}", "isolate: expected no arguments, got 1", 2},
		{"clusterdns cluster.local {\n isolate {\n  shared\n }\n}", "isolate shared: expected at least one argument", 3},
		{"clusterdns cluster.local {\n isolate {\n  shared Kube_System\n }\n}", `isolate shared: "Kube_System" is not a namespace name`, 3},
		{"clusterdns cluster.local {\n isolate {\n  tenant_label\n }\n}", "isolate tenant_label: expected exactly one argument", 3},
		{"clusterdns cluster.local {\n isolate {\n  tenant_label a b\n }\n}", "isolate tenant_label: expected exactly one argument", 3},
		{"clusterdns cluster.local {\n isolate {\n  tenant_label -bad-\n }\n}", `isolate tenant_label: invalid label key "-bad-"`, 3},
		{"clusterdns cluster.local {\n isolate {\n  tenant_label a\n  tenant_label b\n }\n}", "isolate tenant_label: given twice", 4},
		{"clusterdns cluster.local {\n isolate {\n  unknown maybe\n }\n}", `isolate unknown: invalid value "maybe", must be allow or deny`, 3},
		{"clusterdns cluster.local {\n isolate {\n  unknown\n }\n}", "isolate unknown: expected exactly one argument", 3},
		{"clusterdns cluster.local {\n isolate {\n  hide dev\n }\n}", `isolate: unknown option "hide", must be shared, tenant_label or unknown`, 3},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) { checkParseError(t, tc.input, tc.want, tc.line) })
	}
}
