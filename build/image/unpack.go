package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// unpack writes img's file system under rootfs as a container runtime's
// unpacker does: owners, modes, times and the "SCHILY.xattr." records of
// each entry as extended attributes (security.capability among them, so it
// needs root), and img's config file, for the runtime's configuration, to
// configPath.
func unpack(img v1.Image, rootfs, configPath string) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(configPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(configPath, b, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return err
	}
	fsys := mutate.Extract(img)
	defer func() { _ = fsys.Close() }() // read to the end, or the error is reported
	tr := tar.NewReader(fsys)
	var dirs []*tar.Header
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := extract(rootfs, hdr, tr); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr)
		}
	}
	// A directory's time changes as entries are made in it: set them last.
	for _, hdr := range dirs {
		if err := os.Chtimes(filepath.Join(rootfs, hdr.Name), hdr.ModTime, hdr.ModTime); err != nil {
			return err
		}
	}
	return nil
}

// extract makes one entry of the layer under rootfs.
func extract(rootfs string, hdr *tar.Header, r io.Reader) error {
	rel := filepath.Clean(hdr.Name)
	if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
		return errors.New("path outside the root")
	}
	path := filepath.Join(rootfs, rel)
	mode := os.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(path, 0o755); err != nil {
			return err
		}
	case tar.TypeReg:
		f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			_ = f.Close() // the copy's error is the one to report
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, path); err != nil {
			return err
		}
		return os.Lchown(path, hdr.Uid, hdr.Gid)
	default:
		return fmt.Errorf("entry type %q not supported", hdr.Typeflag)
	}
	// In this order: chown clears security.capability, and chmod after
	// chown keeps the sticky bit.
	if err := os.Lchown(path, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if hdr.Mode&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	for key, value := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(key, "SCHILY.xattr."); ok {
			if err := syscall.Setxattr(path, name, []byte(value), 0); err != nil {
				return fmt.Errorf("setting %s: %w", name, err)
			}
		}
	}
	return os.Chtimes(path, hdr.ModTime, hdr.ModTime)
}
