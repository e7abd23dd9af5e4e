package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// buildBinary builds ./cmd/coredns of the repository at repo for
// linux/arch into out: static (no cgo), without the paths of the build
// machine (-trimpath), without symbol tables and DWARF (-s -w), and without
// version control stamps (-buildvcs=false), which would differ between a
// checkout and an unpacked source archive of the same commit.
func buildBinary(goCmd, repo, arch, out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	cmd := exec.Command(goCmd, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", abs, "./cmd/coredns")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/coredns: %w", err)
	}
	return nil
}
