GO ?= go

.PHONY: run build test bench

# Serve demo/cluster.yaml on 127.0.0.1:1053; no cluster needed.
run:
	$(GO) run ./cmd/coredns -conf demo/Corefile

build:
	CGO_ENABLED=0 $(GO) build -o bin/coredns ./cmd/coredns

test:
	$(GO) vet ./...
	$(GO) test -race ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./plugin/clusterdns/
