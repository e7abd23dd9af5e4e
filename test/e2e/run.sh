#!/usr/bin/env bash
# Runs the end-to-end suite: builds (or reuses) the control plane, builds
# the coredns binary, installs the DNS clients the suite uses, and runs the
# Go tests with the e2e tag. Needs root (DNS on 127.0.0.2:53 for glibc,
# mount namespaces for a pod's resolv.conf).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [ "$(id -u)" -ne 0 ]; then
    echo "test/e2e/run.sh must run as root: the suite serves DNS on 127.0.0.2:53 and uses mount namespaces" >&2
    exit 1
fi
missing=()
command -v dig >/dev/null 2>&1 || missing+=(bind9-dnsutils)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v getent >/dev/null 2>&1 || missing+=(libc-bin)
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# The image runs under runc (TestImageUnderRunc); getcap reads its binary's capability.
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v getcap >/dev/null 2>&1 || missing+=(libcap2-bin)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

start=$(date +%s)
bin_dir=$(bash test/controlplane/build.sh | tail -n 1)
echo "control plane binaries: ${bin_dir} ($(( $(date +%s) - start ))s)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/coredns" ./cmd/coredns

CLUSTERDNS_E2E_BIN="$bin_dir" CLUSTERDNS_E2E_COREDNS="$work/coredns" \
    go test -tags e2e -count=1 -v -timeout 20m ./test/e2e/ "$@"

# The Helm chart's tests (charts/clusterdns) are a module of their own,
# test/helm: Helm's Kubernetes libraries are newer than those the coredns
# binary links. They start their own control plane, only when a test needs it.
CLUSTERDNS_E2E_BIN="$bin_dir" \
    go -C test/helm test -tags e2e -count=1 -v -timeout 10m ./... "$@"
