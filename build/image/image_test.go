package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// standIn is what the tests put where the binary goes: the layer and the
// config do not depend on what the binary is.
var standIn = []byte("\x7fELF not really coredns")

var date = time.Date(2026, 12, 1, 10, 20, 30, 0, time.UTC)

func mustAssemble(t *testing.T, binary []byte, created time.Time) v1.Image {
	t.Helper()
	img, err := assemble(binary, "amd64", created)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAssembleReproducible builds the image twice from the same inputs, and
// once each from another binary and another source date: only the same
// inputs give the same digest.
func TestAssembleReproducible(t *testing.T) {
	base := digest(t, mustAssemble(t, standIn, date))
	tests := []struct {
		name    string
		binary  []byte
		created time.Time
		same    bool
	}{
		{"same inputs", standIn, date, true},
		{"same date in another zone", standIn, date.In(time.FixedZone("CET", 3600)), true},
		{"another binary", append(slices.Clone(standIn), '!'), date, false},
		{"another source date", standIn, date.Add(time.Second), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := digest(t, mustAssemble(t, tc.binary, tc.created)); (d == base) != tc.same {
				t.Errorf("digest %s, first build %s; want same=%v", d, base, tc.same)
			}
		})
	}
}

// TestImageConfig checks how the image runs and what it is made of.
func TestImageConfig(t *testing.T) {
	img := mustAssemble(t, standIn, date)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/coredns"}) || len(c.Cmd) != 0 {
		t.Errorf("user %q entrypoint %q cmd %q; want 65532:65532, [/coredns], none", c.User, c.Entrypoint, c.Cmd)
	}
	var ports []string
	for p := range c.ExposedPorts {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	if !slices.Equal(ports, []string{"53/tcp", "53/udp"}) {
		t.Errorf("exposed ports %v, want 53/tcp and 53/udp", ports)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Equal(date) {
		t.Errorf("os %s arch %s created %s; want linux amd64 %s", cf.OS, cf.Architecture, cf.Created, date)
	}
	for _, h := range cf.History {
		if !h.Created.Equal(date) {
			t.Errorf("history entry %+v not at the source date", h)
		}
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("manifest %+v: want an OCI manifest with an OCI config and one OCI layer", m)
	}
}

// layerFiles reads back the image's one layer: the headers by name, and the
// contents of the regular files.
func layerFiles(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	headers, data := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return headers, data
		}
		if err != nil {
			t.Fatal(err)
		}
		headers[hdr.Name] = hdr
		if data[hdr.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLayer checks every entry of the layer: type, mode, owner, time and
// extended attributes, and that there is nothing else (no shell).
func TestLayer(t *testing.T) {
	headers, data := layerFiles(t, mustAssemble(t, standIn, date))
	tests := []struct {
		name     string
		typeflag byte
		mode     int64
		owner    int
		xattr    []byte // security.capability
	}{
		{"coredns", tar.TypeReg, 0o755, 0, fileCapability(capNetBindService)},
		{"etc/", tar.TypeDir, 0o755, 0, nil},
		{"etc/group", tar.TypeReg, 0o644, 0, nil},
		{"etc/passwd", tar.TypeReg, 0o644, 0, nil},
		{"etc/ssl/", tar.TypeDir, 0o755, 0, nil},
		{"etc/ssl/certs/", tar.TypeDir, 0o755, 0, nil},
		{"etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, 0, nil},
		{"home/", tar.TypeDir, 0o755, 0, nil},
		{"home/nonroot/", tar.TypeDir, 0o700, nonroot, nil},
		{"tmp/", tar.TypeDir, 0o1777, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := headers[tc.name]
			if h == nil {
				t.Fatal("not in the layer")
			}
			if h.Typeflag != tc.typeflag || h.Mode != tc.mode || h.Uid != tc.owner || h.Gid != tc.owner {
				t.Errorf("type %q mode %o owner %d:%d; want %q %o %d:%d", h.Typeflag, h.Mode, h.Uid, h.Gid, tc.typeflag, tc.mode, tc.owner, tc.owner)
			}
			if !h.ModTime.Equal(date) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || h.Uname != "" || h.Gname != "" {
				t.Errorf("mtime %s atime %s ctime %s owner names %q %q; want only the source date", h.ModTime, h.AccessTime, h.ChangeTime, h.Uname, h.Gname)
			}
			var xattrs []string
			for k := range h.PAXRecords {
				if strings.HasPrefix(k, "SCHILY.xattr.") {
					xattrs = append(xattrs, k)
				}
			}
			got := h.PAXRecords["SCHILY.xattr."+capabilityXattr]
			if (tc.xattr == nil && len(xattrs) > 0) || (tc.xattr != nil && (len(xattrs) != 1 || got != string(tc.xattr))) {
				t.Errorf("extended attributes %q, security.capability %x; want %x only", xattrs, got, tc.xattr)
			}
		})
	}
	if len(headers) != len(tests) {
		var names []string
		for n := range headers {
			names = append(names, n)
		}
		slices.Sort(names)
		t.Errorf("the layer holds %q; want only the %d entries above", names, len(tests))
	}
	if !bytes.Equal(data["coredns"], standIn) {
		t.Error("/coredns is not the binary")
	}
}

// TestAccounts checks the user and group the server runs as, and that
// no account has a shell.
func TestAccounts(t *testing.T) {
	_, data := layerFiles(t, mustAssemble(t, standIn, date))
	passwd, group := string(data["etc/passwd"]), string(data["etc/group"])
	for _, tc := range []struct{ file, text, line string }{
		{"/etc/passwd", passwd, "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin"},
		{"/etc/passwd", passwd, "root:x:0:0:root:/root:/sbin/nologin"},
		{"/etc/group", group, "nonroot:x:65532:"},
	} {
		if !slices.Contains(strings.Split(tc.text, "\n"), tc.line) {
			t.Errorf("%s has no line %q:\n%s", tc.file, tc.line, tc.text)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(passwd), "\n") {
		if f := strings.Split(line, ":"); len(f) != 7 || f[6] != "/sbin/nologin" {
			t.Errorf("/etc/passwd line %q: want 7 fields and no shell", line)
		}
	}
}

// TestCABundle checks that the CA file is PEM certificates that parse, and
// as many as a system's store holds.
func TestCABundle(t *testing.T) {
	_, data := layerFiles(t, mustAssemble(t, standIn, date))
	rest := data["etc/ssl/certs/ca-certificates.crt"]
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); block.Type != "CERTIFICATE" || err != nil {
			t.Fatalf("block %d: %s, %v", n, block.Type, err)
		}
		n++
	}
	if len(bytes.TrimSpace(rest)) > 0 || n < 100 {
		t.Errorf("%d certificates and %d bytes of something else; want over 100 and nothing else", n, len(rest))
	}
}
