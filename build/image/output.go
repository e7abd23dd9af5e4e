package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// refNameAnnotation names an image within an OCI layout (OCI image-spec,
// annotations.md).
const refNameAnnotation = "org.opencontainers.image.ref.name"

// writeLayout writes img as the only image of a fresh OCI image layout at
// dir, named tag. A layout already there is replaced; any other non-empty
// directory is left alone and is an error.
func writeLayout(dir string, img v1.Image, tag name.Tag) error {
	if err := clearLayout(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: tag.TagStr()}))
}

// clearLayout removes dir if it holds an OCI layout, so that blobs of an
// earlier build do not accumulate.
func clearLayout(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(ents) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("%s is not empty and not an OCI layout; not overwriting it", dir)
	}
	return os.RemoveAll(dir)
}

// readLayout returns the only image of the OCI layout at dir.
func readLayout(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("%s holds %d images, want 1", dir, len(m.Manifests))
	}
	return idx.Image(m.Manifests[0].Digest)
}

// writeDockerArchive writes img as a tarball that `docker load` reads,
// tagged tag. Docker keeps the image's config (and so its image ID) but not
// its manifest: the digest to compare is that of the layout or the pushed
// image.
func writeDockerArchive(path string, img v1.Image, tag name.Tag) error {
	return tarball.WriteToFile(path, tag, img)
}
