package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestUnpack writes the image's file system as a runtime would and checks
// what the kernel will see: the capability on /coredns, owners and modes,
// and the config beside it. Setting security.capability needs root, which
// the CI runs as.
func TestUnpack(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unpacking sets owners and security.capability: run as root")
	}
	dir := t.TempDir()
	rootfs, configPath := filepath.Join(dir, "rootfs"), filepath.Join(dir, "config.json")
	if err := unpack(mustAssemble(t, standIn, date), rootfs, configPath); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		mode  os.FileMode
		owner uint32
		xattr []byte
	}{
		{"coredns", 0o755, 0, fileCapability(capNetBindService)},
		{"etc/passwd", 0o644, 0, nil},
		{"home/nonroot", os.ModeDir | 0o700, nonroot, nil},
		{"tmp", os.ModeDir | os.ModeSticky | 0o777, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			path := filepath.Join(rootfs, tc.path)
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode() != tc.mode || st.Uid != tc.owner || st.Gid != tc.owner || !fi.ModTime().Equal(date) {
				t.Errorf("mode %s owner %d:%d mtime %s; want %s %d:%d %s", fi.Mode(), st.Uid, st.Gid, fi.ModTime(), tc.mode, tc.owner, tc.owner, date)
			}
			buf := make([]byte, 64)
			n, err := syscall.Getxattr(path, capabilityXattr, buf)
			if tc.xattr == nil && err == nil || tc.xattr != nil && (err != nil || !bytes.Equal(buf[:n], tc.xattr)) {
				t.Errorf("security.capability %x (%v), want %x", buf[:max(n, 0)], err, tc.xattr)
			}
		})
	}
	b, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(b, &cf); err != nil || cf.Config.User != "65532:65532" {
		t.Errorf("config %s (%v), want the image's", b, err)
	}
}
