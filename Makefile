GO ?= go

.PHONY: run build image image-push lint test unit e2e bench benchmark benchmark-quick soak churn fuzz

# golangci-lint at a pinned version, run through the module proxy so that it
# stays out of go.mod. .golangci.yml lists the linters and the layering rules.
GOLANGCI_LINT_VERSION = v2.15.0
GOLANGCI_LINT = $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# Serve demo/cluster.yaml on 127.0.0.1:1053; no cluster needed.
run:
	$(GO) run ./cmd/coredns -conf demo/Corefile

build:
	CGO_ENABLED=0 $(GO) build -o bin/coredns ./cmd/coredns

# The OCI image, built without a container engine by build/image (a module
# of its own): an OCI layout in bin/image, and bin/image.tar for `docker
# load`. IMAGE names it; image-push pushes it there with the credentials of
# `docker login` or a credential helper.
IMAGE ?= ghcr.io/clusterdns/coredns:0.1.0
image:
	$(GO) -C build/image run . build -repo $(CURDIR) -o $(CURDIR)/bin/image -docker-archive $(CURDIR)/bin/image.tar -tag $(IMAGE)

image-push: image
	$(GO) -C build/image run . push -image $(CURDIR)/bin/image $(IMAGE)

# Lint the default build, then test/e2e, whose files all carry the e2e tag,
# then the image builder's module and the Helm chart's tests' (e2e tag too).
lint:
	$(GOLANGCI_LINT) run ./...
	$(GOLANGCI_LINT) run --build-tags e2e ./test/e2e/...
	cd build/image && $(GOLANGCI_LINT) run ./...
	cd test/helm && $(GOLANGCI_LINT) run --build-tags e2e ./...

# The whole suite: unit and in-process tests, then the end-to-end suite
# against a real control plane (built from Go modules on first use).
test: unit e2e

# The image builder runs no goroutine of its own, so its tests run without
# the race detector, which would compile its dependencies a second time and
# slow the compression of the image's layers.
unit:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/e2e/
	$(GO) test -race ./...
	$(GO) -C build/image vet ./...
	$(GO) -C build/image test ./...
	$(GO) -C test/helm vet -tags e2e ./...

e2e:
	bash test/e2e/run.sh

# Per-query cost and memory per object, clusterdns beside the kubernetes
# plugin on the same objects in the same run.
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkServeDNS' -benchmem ./plugin/clusterdns/
	$(GO) test -run '^$$' -bench 'BenchmarkRebuildService' -benchmem ./plugin/clusterdns/internal/source/
	$(GO) test -run '^$$' -bench BenchmarkMemory -benchtime 1x ./plugin/clusterdns/

# Both plugins and stock CoreDNS under dnsperf on a real API server, as in
# BENCHMARKS.md. On 2 cores creating the services past 20,000 takes longer
# than the rest of the run (see BENCHMARKS.md); add -sizes 1000,5000,10000,20000
# to stop there. benchmark-quick is the smoke test CI runs.
benchmark:
	bash bench/run.sh -pprof bench/profiles

# The smoke test leaves stock CoreDNS out, so a new machine does not build it.
benchmark-quick:
	bash bench/run.sh -quick -stock=

# clusterdns offered 80% of its measured capacity with churn for 10 minutes (bench/SOAK.md).
soak:
	bash bench/run.sh -soak 10m

# CPU per change and programming latency of clusterdns, the kubernetes plugin
# and stock CoreDNS while 100 endpoints a second change in a namespace of
# 10,000 services, for a minute (bench/CHURN.md).
churn:
	bash bench/run.sh -churn 1m

# Longer runs of the fuzz targets (their seeds also run in `make test`).
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzServeDNS$$' -fuzztime $(FUZZTIME) ./plugin/clusterdns/
	$(GO) test -run '^$$' -fuzz '^FuzzParseReverse$$' -fuzztime $(FUZZTIME) ./plugin/clusterdns/internal/dnsname/
	$(GO) test -run '^$$' -fuzz '^FuzzSnapshotDecode$$' -fuzztime $(FUZZTIME) ./plugin/clusterdns/internal/source/
