package main

import (
	"bytes"
	"encoding/pem"
	"io/fs"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// nonroot is the user and group the server runs as: numeric, so that the
// kubelet can check runAsNonRoot without reading the image's /etc/passwd,
// and the number distroless images give their "nonroot" user.
const nonroot = 65532

// entry is one file, directory or the binary in the image's only layer.
type entry struct {
	path     string // relative to /, without a leading slash
	mode     fs.FileMode
	uid, gid int
	data     []byte
	xattrs   map[string][]byte
}

// entries lists the image's file system in the order the layer writes it:
// the binary, a passwd and group file naming root and nonroot, the CA roots
// forward uses for DNS over TLS, a home for nonroot and /tmp. Nothing else:
// no shell, no package manager, no libc (the binary is static).
func entries(binary []byte) []entry {
	dir := func(path string, perm fs.FileMode, owner int) entry {
		return entry{path: path, mode: fs.ModeDir | perm, uid: owner, gid: owner}
	}
	file := func(path string, data []byte) entry {
		return entry{path: path, mode: 0o644, data: data}
	}
	return []entry{
		{path: "coredns", mode: 0o755, data: binary,
			xattrs: map[string][]byte{capabilityXattr: fileCapability(capNetBindService)}},
		dir("etc", 0o755, 0),
		file("etc/group", []byte("root:x:0:\nnonroot:x:65532:\nnobody:x:65534:\n")),
		file("etc/passwd", []byte("root:x:0:0:root:/root:/sbin/nologin\n"+
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")),
		dir("etc/ssl", 0o755, 0),
		dir("etc/ssl/certs", 0o755, 0),
		// Where Go's crypto/x509 looks first on Linux.
		file("etc/ssl/certs/ca-certificates.crt", caBundle()),
		dir("home", 0o755, 0),
		dir("home/nonroot", 0o700, nonroot),
		dir("tmp", fs.ModeSticky|0o777, 0),
	}
}

// caBundle is the Mozilla NSS root store, as golang.org/x/crypto/x509roots
// ships it at the version go.mod pins, in PEM: the same bytes on every
// machine, where the build machine's own store would make the image depend
// on its distribution and the day it was updated. Roots that NSS trusts
// only for certificates issued before a date are left out, since a PEM
// file cannot say so.
func caBundle() []byte {
	var b bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		// Writing PEM to a bytes.Buffer cannot fail.
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return b.Bytes()
}
