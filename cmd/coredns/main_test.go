package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

func TestInsertBefore(t *testing.T) {
	tests := []struct {
		name    string
		list    []string
		want    []string
		wantErr string
	}{
		{
			name: "in the middle",
			list: []string{"cache", "hosts", "kubernetes", "file", "forward"},
			want: []string{"cache", "hosts", "clusterdns", "kubernetes", "file", "forward"},
		},
		{
			name: "at the front",
			list: []string{"kubernetes", "forward"},
			want: []string{"clusterdns", "kubernetes", "forward"},
		},
		{
			name: "at the end",
			list: []string{"cache", "kubernetes"},
			want: []string{"cache", "clusterdns", "kubernetes"},
		},
		{
			name:    "anchor missing",
			list:    []string{"cache", "forward"},
			wantErr: `"kubernetes" not found`,
		},
		{
			name:    "empty list",
			list:    nil,
			wantErr: `"kubernetes" not found`,
		},
		{
			name:    "already present before anchor",
			list:    []string{"clusterdns", "kubernetes"},
			wantErr: `"clusterdns" is already in the list`,
		},
		{
			name:    "already present after anchor",
			list:    []string{"kubernetes", "clusterdns"},
			wantErr: `"clusterdns" is already in the list`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := slices.Clone(tc.list)
			got, err := insertBefore(tc.list, "clusterdns", "kubernetes")
			if !slices.Equal(tc.list, orig) {
				t.Errorf("input modified: got %v, was %v", tc.list, orig)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				if got != nil {
					t.Errorf("list = %v on error, want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDirectivePlacement checks the list init left behind: clusterdns runs
// right before kubernetes, which is still there, and appears exactly once.
func TestDirectivePlacement(t *testing.T) {
	dirs := dnsserver.Directives
	k := slices.Index(dirs, "kubernetes")
	if k < 0 {
		t.Fatalf("kubernetes missing from directives: %v", dirs)
	}
	c := slices.Index(dirs, "clusterdns")
	if c != k-1 {
		t.Fatalf("clusterdns at index %d, kubernetes at %d; want clusterdns at %d", c, k, k-1)
	}
	n := 0
	for _, d := range dirs {
		if d == "clusterdns" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("clusterdns listed %d times, want 1", n)
	}
}

func TestAppVersion(t *testing.T) {
	if caddy.AppVersion != version {
		t.Errorf("caddy.AppVersion = %q, want %q", caddy.AppVersion, version)
	}
	if !strings.Contains(version, "+clusterdns-") {
		t.Errorf("version %q does not name clusterdns", version)
	}
}

// TestBinary builds the command and checks what it reports about itself.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	bin := filepath.Join(t.TempDir(), "coredns")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	run := func(flag string) string {
		t.Helper()
		out, err := exec.Command(bin, flag).CombinedOutput()
		if err != nil {
			t.Fatalf("coredns %s: %v\n%s", flag, err, out)
		}
		return string(out)
	}

	// Older caddy releases print plugins as "dns.<name>"; v1.1.4 drops the
	// server-type prefix. Accept either so the check survives a caddy bump.
	plugins := strings.Fields(run("-plugins"))
	for _, want := range []string{"clusterdns", "kubernetes"} {
		if !slices.Contains(plugins, want) && !slices.Contains(plugins, "dns."+want) {
			t.Errorf("-plugins does not list %s:\n%s", want, strings.Join(plugins, "\n"))
		}
	}

	out := run("-version")
	if !strings.Contains(out, "CoreDNS-"+version) {
		t.Errorf("-version output %q does not contain %q", out, "CoreDNS-"+version)
	}
	if !strings.Contains(out, "clusterdns") {
		t.Errorf("-version output %q does not mention clusterdns", out)
	}
}
