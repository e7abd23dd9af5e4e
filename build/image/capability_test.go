package main

import (
	"encoding/hex"
	"testing"
)

// TestFileCapability compares the encoding with what setcap(8) of libcap
// writes for the same capability sets (read back with getxattr).
func TestFileCapability(t *testing.T) {
	tests := []struct {
		name string
		caps []int
		want string
	}{
		{"cap_net_bind_service=+ep", []int{capNetBindService}, "0100000200040000000000000000000000000000"},
		{"cap_net_bind_service,cap_sys_admin=+ep", []int{capNetBindService, 21}, "0100000200042000000000000000000000000000"},
		{"cap_net_bind_service,cap_bpf=+ep", []int{capNetBindService, 39}, "0100000200040000000000008000000000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(fileCapability(tc.caps...)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
