//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// imageTool is the image builder of build/image (a module of its own),
// built once per run.
var imageTool struct {
	once sync.Once
	path string
	err  error
}

// buildImageTool builds build/image into the suite's directory.
func buildImageTool() (string, error) {
	imageTool.once.Do(func() {
		imageTool.path = filepath.Join(env.dir, "image")
		cmd := exec.Command("go", "-C", filepath.Join(repoRoot, "build", "image"), "build", "-o", imageTool.path, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			imageTool.err = fmt.Errorf("building build/image: %w\n%s", err, out)
		}
	})
	return imageTool.path, imageTool.err
}

// runImageTool runs a subcommand of the image builder from the repository's
// root and returns what it printed.
func runImageTool(args ...string) (string, error) {
	tool, err := buildImageTool()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(tool, args...)
	cmd.Dir = repoRoot
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("image %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// buildImage runs `make image`'s command into the OCI layout dir and
// returns the digest of the image it holds, read from the layout's index.
func buildImage(dir string) (string, error) {
	if _, err := runImageTool("build", "-repo", ".", "-o", dir); err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return "", err
	}
	var index struct {
		Manifests []struct {
			Digest string `json:"digest"`
			Size   int64  `json:"size"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return "", err
	}
	if len(index.Manifests) != 1 {
		return "", fmt.Errorf("%s lists %d images, want 1", dir, len(index.Manifests))
	}
	return index.Manifests[0].Digest, nil
}

// imageConfig is the part of an image's config (OCI image-spec, config.md)
// a runtime reads to start a container.
type imageConfig struct {
	Config struct {
		User         string              `json:"User"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		Env          []string            `json:"Env"`
		WorkingDir   string              `json:"WorkingDir"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	} `json:"config"`
}

// unpackImage writes the layout's image as a root file system under dir,
// the way a runtime's unpacker does, and returns it with the image config.
func unpackImage(layout, dir string) (string, imageConfig, error) {
	rootfs, configPath := filepath.Join(dir, "rootfs"), filepath.Join(dir, "image-config.json")
	var cfg imageConfig
	if _, err := runImageTool("unpack", "-image", layout, "-rootfs", rootfs, "-config", configPath); err != nil {
		return "", cfg, err
	}
	b, err := os.ReadFile(configPath)
	if err != nil {
		return "", cfg, err
	}
	return rootfs, cfg, json.Unmarshal(b, &cfg)
}
