#!/usr/bin/env bash
# Runs the load and memory benchmark: clusterdns beside the kubernetes
# plugin in one coredns binary and in stock CoreDNS, on a real
# kube-apiserver + etcd, loaded by dnsperf. Builds (or reuses) the control
# plane, the binary and stock CoreDNS, installs dnsperf when it is missing
# and we are root, then runs ./bench with the arguments given (see `bash bench/run.sh -h`; `-quick` is the smoke test).
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

# Stock CoreDNS, what clusters run today: built from its own module (every
# in-tree plugin, the versions of its own go.mod) with the same flags, and
# cached outside the repository beside the control plane. `-stock=` leaves
# it out of a run, and then it is not built: on a new machine the build is
# a whole CoreDNS with dependencies of other versions than ours.
stock_version=v1.15.0
stock_dir="${CLUSTERDNS_E2E_CACHE:-${HOME:?HOME is not set}/.cache/clusterdns-e2e}/coredns-${stock_version}"
stock_wanted=true
for arg in "$@"; do
    case "$arg" in
        -stock=|--stock=) stock_wanted=false ;;
    esac
done
if $stock_wanted && [ ! -x "$stock_dir/coredns" ]; then
    echo "building stock CoreDNS ${stock_version} into ${stock_dir}" >&2
    mkdir -p "$stock_dir" "$work/stock"
    (cd "$work/stock" && GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$work/stock" \
        go install -trimpath -ldflags="-s -w" "github.com/coredns/coredns@${stock_version}")
    cp "$work/stock/coredns" "$stock_dir/.coredns.tmp"
    mv -f "$stock_dir/.coredns.tmp" "$stock_dir/coredns"
fi

"$work/bench" -coredns "$work/coredns" -controlplane "$bin_dir" -stock "$stock_dir/coredns" "$@"
