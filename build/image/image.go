package main

import (
	"bytes"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// createdBy is the history entry of the image's one layer.
const createdBy = "make image (build/image)"

// config is how the image runs: the binary as entrypoint, as nonroot,
// serving DNS on 53 over UDP and TCP. The Deployment adds the arguments,
// and the pod's securityContext must still grant NET_BIND_SERVICE for the
// file capability to take effect.
func config() v1.Config {
	return v1.Config{
		User:       "65532:65532",
		Entrypoint: []string{"/coredns"},
		WorkingDir: "/",
		ExposedPorts: map[string]struct{}{
			"53/tcp": {},
			"53/udp": {},
		},
	}
}

// assemble makes the OCI image of the binary for linux/arch, every
// timestamp at created. The layer is gzip-compressed by the pinned
// go-containerregistry, so the same inputs give the same digest.
func assemble(binary []byte, arch string, created time.Time) (v1.Image, error) {
	created = created.UTC().Truncate(time.Second)
	raw, err := layerTar(entries(binary), created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: createdBy},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: created}
	cf.Config = config()
	return mutate.ConfigFile(img, cf)
}
