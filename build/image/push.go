package main

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// push uploads img to ref with the credentials of the default keychain
// (the Docker config file, ~/.docker/config.json or $DOCKER_CONFIG, and the
// credential helpers it names) and returns the pushed digest.
func push(img v1.Image, ref name.Reference, opts ...remote.Option) (v1.Hash, error) {
	opts = append([]remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.Write(ref, img, opts...); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}
