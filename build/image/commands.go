package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
)

// defaultTag is the name the manifests in deploy/ give the image.
const defaultTag = "ghcr.io/clusterdns/coredns:0.1.0"

// buildCmd builds the binary and the image, and writes the layout.
func buildCmd(args []string) error {
	fs := flags("build")
	repo := fs.String("repo", "../..", "the repository's root")
	out := fs.String("o", "../../bin/image", "the OCI image layout to write")
	archive := fs.String("docker-archive", "", "also write a tarball for `docker load` here")
	tagName := fs.String("tag", defaultTag, "the image's name in the layout and the archive")
	arch := fs.String("arch", runtime.GOARCH, "the architecture to build for")
	goCmd := fs.String("go", "go", "the go command")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tag, err := name.NewTag(*tagName)
	if err != nil {
		return err
	}
	created, err := sourceDate(*repo)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "clusterdns-image-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	binPath := filepath.Join(tmp, "coredns")
	if err := buildBinary(*goCmd, *repo, *arch, binPath); err != nil {
		return err
	}
	binary, err := os.ReadFile(binPath)
	if err != nil {
		return err
	}
	img, err := assemble(binary, *arch, created)
	if err != nil {
		return err
	}
	if err := writeLayout(*out, img, tag); err != nil {
		return err
	}
	if *archive != "" {
		if err := writeDockerArchive(*archive, img, tag); err != nil {
			return err
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	fmt.Printf("%s %s@%s (%.1f MB compressed, binary %.1f MB, source date %s)\n",
		*out, tag, digest, float64(size)/1e6, float64(len(binary))/1e6, created.Format("2006-01-02T15:04:05Z"))
	return nil
}

// pushCmd pushes the layout's image to the reference given.
func pushCmd(args []string) error {
	fs := flags("push")
	dir := fs.String("image", "../../bin/image", "the OCI image layout to push")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one image reference, such as registry.example.com/dns/clusterdns:0.1.0")
	}
	ref, err := name.ParseReference(fs.Arg(0))
	if err != nil {
		return err
	}
	img, err := readLayout(*dir)
	if err != nil {
		return err
	}
	digest, err := push(img, ref)
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s\n", ref, digest)
	return nil
}

// unpackCmd writes the layout's image as a file system and a config file.
func unpackCmd(args []string) error {
	fs := flags("unpack")
	dir := fs.String("image", "../../bin/image", "the OCI image layout to unpack")
	rootfs := fs.String("rootfs", "", "the directory to write the file system to")
	config := fs.String("config", "", "the file to write the image's config to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rootfs == "" || *config == "" {
		return errors.New("-rootfs and -config are required")
	}
	img, err := readLayout(*dir)
	if err != nil {
		return err
	}
	return unpack(img, *rootfs, *config)
}
