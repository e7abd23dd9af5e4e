package main

import v1 "github.com/google/go-containerregistry/pkg/v1"

// hashString turns a hash getter into a string getter.
func hashString(f func() (v1.Hash, error)) func() (string, error) {
	return func() (string, error) {
		h, err := f()
		return h.String(), err
	}
}

// layerDiffID returns the uncompressed digest of img's only layer.
func layerDiffID(img v1.Image) func() (string, error) {
	return func() (string, error) {
		layers, err := img.Layers()
		if err != nil {
			return "", err
		}
		h, err := layers[0].DiffID()
		return h.String(), err
	}
}
