#!/usr/bin/env bash
# Runs the load and memory benchmark: clusterdns beside the kubernetes
# plugin in one coredns binary, on a real kube-apiserver + etcd, loaded by
# dnsperf. Builds (or reuses) the control plane and the binary, installs
# dnsperf when it is missing and we are root, then runs ./bench with the
# arguments given (see `bash bench/run.sh -h`; `-quick` is the smoke test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v dnsperf >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "dnsperf is missing: apt-get install dnsperf (or run this as root)" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dnsperf
fi

bin_dir=$(bash test/controlplane/build.sh | tail -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The binary as the image builds it (build/image/binary.go), so that its
# memory is what ships.
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o "$work/coredns" ./cmd/coredns
go build -o "$work/bench" ./bench
"$work/bench" -coredns "$work/coredns" -controlplane "$bin_dir" "$@"
