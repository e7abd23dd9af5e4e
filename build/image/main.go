// Command image builds, pushes and unpacks the OCI image of the coredns
// binary without a container engine, with go-containerregistry. The image
// is one layer: the static binary at /coredns with the file capability
// cap_net_bind_service=+ep, /etc/passwd and /etc/group with the nonroot user
// 65532, and CA roots; it runs as 65532:65532 with /coredns as entrypoint.
// Every timestamp is the source date (SOURCE_DATE_EPOCH, or the commit's),
// so one commit and one Go toolchain give one digest.
//
// Usage, from the repository root (the Makefile's image and image-push
// targets run these):
//
//	go -C build/image run . build [-repo DIR] [-o LAYOUT] [-docker-archive FILE] [-tag REF] [-arch ARCH]
//	go -C build/image run . push [-image LAYOUT] REF
//	go -C build/image run . unpack [-image LAYOUT] -rootfs DIR -config FILE
//
// build writes an OCI image layout (by default bin/image) and prints the
// image's digest; push uploads it with the credentials of the Docker config
// (docker login, or a credential helper); unpack writes its file system and
// config for a runtime such as runc.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	commands := map[string]func([]string) error{
		"build":  buildCmd,
		"push":   pushCmd,
		"unpack": unpackCmd,
	}
	run, ok := commands[os.Args[1]]
	if !ok {
		usage()
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "image %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: image build|push|unpack [flags]; see `go doc` in build/image")
	os.Exit(2)
}

// flags is a flag set named after a subcommand that exits on -h.
func flags(name string) *flag.FlagSet {
	return flag.NewFlagSet("image "+name, flag.ExitOnError)
}
