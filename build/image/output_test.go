package main

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var tag = name.MustParseReference(defaultTag).(name.Tag)

// TestLayout writes a layout over that of an earlier build and reads it
// back: the new image, alone in the layout with its blobs only; a directory
// that is not a layout is never overwritten.
func TestLayout(t *testing.T) {
	img := mustAssemble(t, standIn, date)
	dir := filepath.Join(t.TempDir(), "image")
	for _, i := range []v1.Image{mustAssemble(t, standIn, date.Add(-time.Hour)), img} {
		if err := writeLayout(dir, i, tag); err != nil {
			t.Fatal(err)
		}
	}
	back, err := readLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := digest(t, back), digest(t, img); got != want {
		t.Errorf("the layout holds %s, want %s", got, want)
	}
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil || len(blobs) != 3 {
		t.Errorf("%d blobs (%v), want the manifest, the config and the layer", len(blobs), err)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeLayout(other, img, tag); err == nil {
		t.Error("wrote over a directory that is not a layout")
	}
}

// TestDockerArchive reads the archive for `docker load` back: the same
// config (Docker's image ID) and layer.
func TestDockerArchive(t *testing.T) {
	img := mustAssemble(t, standIn, date)
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := writeDockerArchive(path, img, tag); err != nil {
		t.Fatal(err)
	}
	back, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	for what, pair := range map[string][2]func() (string, error){
		"config": {hashString(img.ConfigName), hashString(back.ConfigName)},
		"layer":  {layerDiffID(img), layerDiffID(back)},
	} {
		want, err1 := pair[0]()
		got, err2 := pair[1]()
		if err1 != nil || err2 != nil || got != want {
			t.Errorf("%s %s (%v, %v), want %s", what, got, err1, err2, want)
		}
	}
}

// TestPush pushes to a registry served on loopback and pulls the manifest
// back by tag: the digest the registry holds is the image's.
func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(u.Host + "/dns/clusterdns:test")
	if err != nil {
		t.Fatal(err)
	}
	img := mustAssemble(t, standIn, date)
	pushed, err := push(img, ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if want := digest(t, img); pushed != want || desc.Digest != want {
		t.Errorf("pushed %s, registry holds %s; want %s", pushed, desc.Digest, want)
	}
}
