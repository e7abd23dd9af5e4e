#!/usr/bin/env bash
# Builds a local Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl) and kwok from Go modules
# for the end-to-end tests and the benchmark. Nothing is downloaded except
# Go modules through the Go module proxy; no containers are used.
#
# Usage (from anywhere):   bash test/controlplane/build.sh
# The binaries are cached in
#   ${CLUSTERDNS_E2E_CACHE:-$HOME/.cache/clusterdns-e2e}/<version-key>/bin
# (kwok's stage configuration is next to it, in ../kwok/stages-fast.yaml)
# and that directory is printed as the last (and only) line on stdout, so
#   BIN=$(bash test/controlplane/build.sh)
# works. Progress goes to stderr. When all binaries are already cached the
# script only prints the directory. Every binary is built under a temporary
# name and renamed into place, so an interrupted run can simply be re-run:
# binaries that already exist are not rebuilt.
#
# Environment:
#   CLUSTERDNS_E2E_CACHE   cache root (default $HOME/.cache/clusterdns-e2e)
#   CLUSTERDNS_E2E_GO      go command to use (default: go in PATH, else /usr/local/go/bin/go)
#   CLUSTERDNS_E2E_BUILD_P parallelism passed to go build -p (default 2)
set -euo pipefail

# Pinned versions. ETCD_VERSION must match what k8s.io/kubernetes pins in its
# go.mod for go.etcd.io/etcd/server/v3 (checked during the build).
KUBE_VERSION=v1.37.2        # k8s.io/kubernetes
KUBE_STAGING_VERSION=v0.37.2 # k8s.io/<staging repos> published with KUBE_VERSION
ETCD_VERSION=v3.7.0         # go.etcd.io/etcd/server/v3
KWOK_VERSION=v0.8.0         # sigs.k8s.io/kwok
# Bump when the way the binaries are built changes, to get a fresh cache entry.
RECIPE=1

VERSION_KEY="k8s-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_r${RECIPE}"
CACHE_ROOT="${CLUSTERDNS_E2E_CACHE:-${HOME:?HOME is not set}/.cache/clusterdns-e2e}"
KEY_DIR="${CACHE_ROOT}/${VERSION_KEY}"
BIN_DIR="${KEY_DIR}/bin"

KUBE_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
ALL_BINS=(etcd "${KUBE_BINS[@]}" kwok)
# kwok runs no stages unless given some: the "fast" node and pod stages that
# kwokctl uses by default are copied from the kwok module to this file.
KWOK_STAGES="${KEY_DIR}/kwok/stages-fast.yaml"
KWOK_STAGE_FILES=(
  kustomize/stage/node/fast/node-initialize.yaml
  kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  kustomize/stage/pod/fast/pod-ready.yaml
  kustomize/stage/pod/fast/pod-complete.yaml
  kustomize/stage/pod/fast/pod-delete.yaml
)

log() { printf '[controlplane-build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

missing_bins() {
  local b
  for b in "$@"; do
    if [[ "$b" == kwok ]]; then
      [[ -x "${BIN_DIR}/kwok" && -s "${KWOK_STAGES}" ]] || printf '%s\n' "$b"
    else
      [[ -x "${BIN_DIR}/${b}" ]] || printf '%s\n' "$b"
    fi
  done
}

# Fast path: everything is cached.
if [[ -z "$(missing_bins "${ALL_BINS[@]}")" ]]; then
  printf '%s\n' "${BIN_DIR}"
  exit 0
fi

# ---------------------------------------------------------------------------
# Toolchain and environment.
GO="${CLUSTERDNS_E2E_GO:-}"
if [[ -z "$GO" ]]; then
  if command -v go >/dev/null 2>&1; then GO=go
  elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
  else die "no go command found (install Go or set CLUSTERDNS_E2E_GO)"
  fi
fi
BUILD_P="${CLUSTERDNS_E2E_BUILD_P:-2}"

# Build outside any workspace and for this machine, statically, reproducibly.
export GOWORK=off
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
unset GOOS GOARCH GOEXPERIMENT 2>/dev/null || true

mkdir -p "${BIN_DIR}"

# Serialise concurrent runs for the same version key.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${KEY_DIR}/.lock"
  if ! flock -n 9; then
    log "another build holds ${KEY_DIR}/.lock; waiting"
    flock 9
  fi
  if [[ -z "$(missing_bins "${ALL_BINS[@]}")" ]]; then
    printf '%s\n' "${BIN_DIR}"
    exit 0
  fi
  # Holding the lock, any work directory left behind is from a killed run.
  rm -rf "${KEY_DIR}"/work.*
fi

WORK="$(mktemp -d "${KEY_DIR}/work.XXXXXX")"
cleanup() { rm -rf "${WORK}"; }
trap cleanup EXIT

log "$("$GO" version)"
log "cache: ${KEY_DIR}"
log "missing: $(missing_bins "${ALL_BINS[@]}" | tr '\n' ' ')"

now() { date +%s; }
T_START=$(now)

# install_bin NAME: move ${WORK}/out/NAME into ${BIN_DIR} atomically, after
# checking it runs.
install_bin() {
  local name=$1 tmp="${WORK}/out/$1"
  [[ -x "$tmp" ]] || die "build produced no ${name}"
  # etcd treats every ETCD_* variable as a flag: check with a clean environment.
  local out
  case "$name" in
    kubectl) out=$(env -i PATH=/usr/bin:/bin HOME="${WORK}" "$tmp" version --client 2>&1) || die "${name} version failed: ${out}" ;;
    kwok)    out=$(env -i PATH=/usr/bin:/bin HOME="${WORK}" "$tmp" --version 2>&1) || die "${name} --version failed: ${out}" ;;
    *)       out=$(env -i PATH=/usr/bin:/bin HOME="${WORK}" "$tmp" --version 2>&1) || die "${name} --version failed: ${out}" ;;
  esac
  log "${name}: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-160)"
  # Same filesystem (both under KEY_DIR), so mv is an atomic rename.
  mv -f "$tmp" "${BIN_DIR}/.${name}.tmp"
  mv -f "${BIN_DIR}/.${name}.tmp" "${BIN_DIR}/${name}"
}

mkdir -p "${WORK}/out"

# ---------------------------------------------------------------------------
# etcd: a tiny main around go.etcd.io/etcd/server/v3/etcdmain, in its own
# module so it gets exactly the dependency versions etcd itself pins.
build_etcd() {
  local t0; t0=$(now)
  local m="${WORK}/etcd"
  mkdir -p "$m"
  cat >"${m}/go.mod" <<GOMOD
module clusterdns.local/e2e/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}
GOMOD
  cat >"${m}/main.go" <<'GOSRC'
// Command etcd runs the etcd server, exactly as the upstream etcd binary does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
GOSRC
  log "etcd ${ETCD_VERSION}: resolving modules"
  (cd "$m" && "$GO" mod tidy) >&2
  log "etcd: building"
  (cd "$m" && "$GO" build -p "$BUILD_P" -trimpath -ldflags="-s -w" -o "${WORK}/out/etcd" .) >&2
  install_bin etcd
  log "etcd done in $(( $(now) - t0 ))s"
}

# ---------------------------------------------------------------------------
# Kubernetes: k8s.io/kubernetes requires its staging repos (k8s.io/api, ...)
# at v0.0.0 and replaces them with ./staging/... paths, which only work inside
# its own repository. As a dependency it builds when the main module replaces
# each of those with the published staging version.
build_kube() {
  local want=("$@")
  local t0; t0=$(now)
  local m="${WORK}/kube"
  mkdir -p "$m"

  log "k8s.io/kubernetes ${KUBE_VERSION}: reading its go.mod"
  # Placeholder module so that the download below runs inside ${m} and
  # never touches any go.mod found in a parent directory.
  printf 'module clusterdns.local/e2e/kube\n\ngo 1.26.0\n' >"${m}/go.mod"
  local gomod
  gomod=$(cd "$m" && "$GO" mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -n "$gomod" && -f "$gomod" ]] || die "could not download k8s.io/kubernetes@${KUBE_VERSION}"

  # Staging modules: every k8s.io/... it requires at exactly v0.0.0, plus every
  # k8s.io/... it replaces with a local ./staging path.
  local staging
  staging=$(
    {
      awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$gomod"
      awk '$1 ~ /^k8s\.io\// && $2 == "=>" && $3 ~ /^\.\.?\// { print $1 }' "$gomod"
    } | sort -u
  )
  [[ -n "$staging" ]] || die "found no staging modules in ${gomod}"
  log "staging modules replaced with ${KUBE_STAGING_VERSION}: $(printf '%s\n' "$staging" | wc -l)"

  # etcd must be the version Kubernetes was tested with.
  local pinned_etcd
  pinned_etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2 }' "$gomod")
  if [[ -n "$pinned_etcd" && "$pinned_etcd" != "$ETCD_VERSION" ]]; then
    die "k8s.io/kubernetes ${KUBE_VERSION} pins etcd ${pinned_etcd}, but ETCD_VERSION=${ETCD_VERSION}; update ETCD_VERSION"
  fi

  {
    printf 'module clusterdns.local/e2e/kube\n\ngo 1.26.0\n\ngodebug default=go1.26\n\n'
    printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
    local s
    while read -r s; do
      [[ -n "$s" ]] && printf '\t%s => %s %s\n' "$s" "$s" "$KUBE_STAGING_VERSION"
    done <<<"$staging"
    printf ')\n'
  } >"${m}/go.mod"

  cat >"${m}/tools.go" <<'GOSRC'
//go:build tools

// Package tools records the commands built from k8s.io/kubernetes so that
// go mod tidy keeps their dependencies.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GOSRC

  log "kubernetes: resolving modules"
  (cd "$m" && "$GO" mod tidy) >&2

  # Version stamping as in kubernetes/hack/lib/version.sh.
  local major minor ldflags k
  major=${KUBE_VERSION#v}; major=${major%%.*}
  minor=${KUBE_VERSION#v*.}; minor=${minor%%.*}
  ldflags="-s -w"
  for k in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${k}.gitVersion=${KUBE_VERSION}"
    ldflags+=" -X ${k}.gitMajor=${major}"
    ldflags+=" -X ${k}.gitMinor=${minor}"
    ldflags+=" -X ${k}.gitTreeState=clean"
  done

  local pkgs=() b
  for b in "${want[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${b}"); done
  log "kubernetes: building ${want[*]} (go build -p ${BUILD_P}; a cold build takes a long while)"
  if [[ ${#pkgs[@]} -eq 1 ]]; then
    (cd "$m" && "$GO" build -p "$BUILD_P" -trimpath -ldflags="$ldflags" -o "${WORK}/out/${want[0]}" "${pkgs[@]}") >&2
  else
    (cd "$m" && "$GO" build -p "$BUILD_P" -trimpath -ldflags="$ldflags" -o "${WORK}/out/" "${pkgs[@]}") >&2
  fi
  for b in "${want[@]}"; do install_bin "$b"; done
  log "kubernetes done in $(( $(now) - t0 ))s"
}

# ---------------------------------------------------------------------------
# kwok: its own module, since it pins older k8s.io libraries than
# k8s.io/kubernetes does.
build_kwok() {
  local t0; t0=$(now)
  local m="${WORK}/kwok"
  mkdir -p "$m"
  cat >"${m}/go.mod" <<GOMOD
module clusterdns.local/e2e/kwok

go 1.26.0

require sigs.k8s.io/kwok ${KWOK_VERSION}
GOMOD
  cat >"${m}/tools.go" <<'GOSRC'
//go:build tools

// Package tools records the kwok command so that go mod tidy keeps its
// dependencies.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
GOSRC
  log "kwok ${KWOK_VERSION}: resolving modules"
  (cd "$m" && "$GO" mod tidy) >&2
  log "kwok: building"
  (cd "$m" && "$GO" build -p "$BUILD_P" -trimpath \
    -ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
    -o "${WORK}/out/kwok" sigs.k8s.io/kwok/cmd/kwok) >&2
  local dir f
  dir=$(cd "$m" && "$GO" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  [[ -n "$dir" && -d "$dir" ]] || die "kwok module source not found"
  mkdir -p "${WORK}/out/kwok-stages"
  {
    printf '# Stages copied from sigs.k8s.io/kwok@%s; pass with kwok --config=<this file>.\n' "${KWOK_VERSION}"
    for f in "${KWOK_STAGE_FILES[@]}"; do
      [[ -f "${dir}/${f}" ]] || die "kwok stage file missing: ${f}"
      printf -- '---\n# %s\n' "$f"
      cat "${dir}/${f}"
    done
  } >"${WORK}/out/kwok-stages/stages-fast.yaml"
  mkdir -p "$(dirname "${KWOK_STAGES}")"
  mv -f "${WORK}/out/kwok-stages/stages-fast.yaml" "${KWOK_STAGES}.tmp"
  mv -f "${KWOK_STAGES}.tmp" "${KWOK_STAGES}"
  install_bin kwok
  log "kwok done in $(( $(now) - t0 ))s"
}

# Smallest first, so a partial run leaves as much as possible behind.
if [[ -n "$(missing_bins etcd)" ]]; then build_etcd; fi
if [[ -n "$(missing_bins kwok)" ]]; then build_kwok; fi
mapfile -t kube_missing < <(missing_bins "${KUBE_BINS[@]}")
if [[ ${#kube_missing[@]} -gt 0 ]]; then build_kube "${kube_missing[@]}"; fi

left=$(missing_bins "${ALL_BINS[@]}")
[[ -z "$left" ]] || die "still missing: ${left}"
log "all binaries ready in $(( $(now) - T_START ))s"
printf '%s\n' "${BIN_DIR}"
