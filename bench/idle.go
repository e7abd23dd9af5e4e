package main

import (
	"context"
	"os"
	"time"
)

// idlePoint is the memory of one coredns binary serving only whoami, with
// no cluster plugin and no load: what the binary costs before any data.
type idlePoint struct {
	Binary string // what it is, as the report names it
	Size   int64  // bytes of the executable
	Memory procMemory
	Heap   float64 // live Go heap, after a forced collection
}

// idleSettle is how long an idle server runs after ready before its
// memory is read.
const idleSettle = 5 * time.Second

// measureIdle starts each binary in turn serving whoami, alone on the
// machine, and reads its memory once it has settled: our binary, and stock
// CoreDNS when o.stock names one (stockVersion, as it reports itself).
func measureIdle(ctx context.Context, o *options, e *env, stockVersion string) ([]idlePoint, error) {
	type candidate struct{ label, binary string }
	binaries := []candidate{{"coredns with clusterdns (cmd/coredns)", o.coredns}}
	if o.stock != "" {
		binaries = append(binaries, candidate{stockVersion + " (stock)", o.stock})
	}
	var out []idlePoint
	for i, b := range binaries {
		fi, err := os.Stat(b.binary)
		if err != nil {
			return nil, err
		}
		s := &server{name: "idle-" + string(rune('a'+i)), plugin: ceiling, binary: b.binary}
		if err := startServer(e.cp, o.coredns, s, e.kubeconfig); err != nil {
			return nil, err
		}
		p, err := readIdle(ctx, s, b.label, fi.Size())
		e.cp.Stop(s.name)
		if err != nil {
			return nil, err
		}
		logf("idle %s: RSS %.1f MB (%.1f anon + %.1f file), heap %.1f MB, binary %.1f MB", p.Binary, mb(p.Memory.RSS), mb(p.Memory.Anon), mb(p.Memory.File), p.Heap/1e6, mb(p.Size))
		out = append(out, p)
	}
	return out, nil
}

// readIdle waits for s to be ready and settled and reads its memory.
func readIdle(ctx context.Context, s *server, label string, size int64) (idlePoint, error) {
	p := idlePoint{Binary: label, Size: size}
	if _, err := s.waitReady(ctx, time.Minute); err != nil {
		return p, err
	}
	select {
	case <-ctx.Done():
		return p, ctx.Err()
	case <-time.After(idleSettle):
	}
	var err error
	// RSS first: the forced collection behind the heap figure changes it.
	if p.Memory, err = s.memory(); err != nil {
		return p, err
	}
	p.Heap, err = s.liveHeap()
	return p, err
}
