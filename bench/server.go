package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// server is one coredns process under measurement: one of the two plugins,
// or whoami for the framework's ceiling, or clusterdns as deployed; in our
// binary or, with binary set, in stock CoreDNS.
type server struct {
	name     string // unique label: the plugin, "+cache" when behind cache
	plugin   string // clusterdns, kubernetes or whoami
	binary   string // the coredns binary to run; empty: the one with clusterdns
	cache    bool   // the cache plugin answers first
	deployed string // deploy/base's Corefile, run instead of a bench stanza
	resolver int    // with deployed: the port forward sends to
	dnsPort  int
	metrics  int // prometheus port
	ready    int // ready plugin port
	pprof    int // pprof port, picked at start
	health   int // health plugin port, with deployed
	pid      int
	started  time.Time
}

// corefile is the Corefile s runs.
func (s *server) corefile(kubeconfig string) (string, error) {
	if s.deployed != "" {
		return deployedCorefile(s.deployed, s, kubeconfig)
	}
	return serverBlock(s, kubeconfig), nil
}

// serverBlock is the Corefile of one measured server. The plugin stanzas
// carry kubeadm's options; neither has cache in front of it.
func serverBlock(s *server, kubeconfig string) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n    bind 127.0.0.1\n    prometheus 127.0.0.1:%d\n    ready 127.0.0.1:%d\n", s.dnsPort, s.metrics, s.ready)
	fmt.Fprintf(&b, "    pprof 127.0.0.1:%d\n", s.pprof)
	if s.cache {
		b.WriteString("    cache 30\n")
	}
	if s.plugin == "whoami" {
		b.WriteString("    whoami\n}\n")
		return b.String()
	}
	fmt.Fprintf(&b, "    %s cluster.local in-addr.arpa ip6.arpa {\n        kubeconfig %s\n        pods insecure\n        fallthrough in-addr.arpa ip6.arpa\n        ttl 30\n    }\n}\n", s.plugin, kubeconfig)
	return b.String()
}

// startServer writes the Corefile of s and starts s.binary, or binary when
// s names none, recording when it started.
func startServer(cp *controlplane.ControlPlane, binary string, s *server, kubeconfig string) error {
	if s.binary != "" {
		binary = s.binary
	}
	for _, p := range []*int{&s.dnsPort, &s.metrics, &s.ready, &s.pprof, &s.health} {
		port, err := controlplane.FreePort()
		if err != nil {
			return err
		}
		*p = port
	}
	corefile, err := s.corefile(kubeconfig)
	if err != nil {
		return err
	}
	conf := cp.Path(s.name + ".Corefile")
	if err := os.WriteFile(conf, []byte(corefile), 0o600); err != nil {
		return err
	}
	s.started = time.Now()
	// GOGC and GOMEMLIMIT stay at their defaults: both plugins run the way
	// a Deployment without tuning runs them.
	if err := cp.Start(s.name, binary, os.Environ(), "-conf", conf); err != nil {
		return err
	}
	s.pid = cp.Procs[s.name].Cmd.Process.Pid
	return nil
}

// waitReady polls the ready plugin until it answers 200 and returns how
// long the server took from its start.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	url := fmt.Sprintf("http://127.0.0.1:%d/ready", s.ready)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(s.started), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(startPoll):
		}
	}
	return 0, fmt.Errorf("%s not ready after %s", s.name, timeout)
}

// procMemory is what /proc/<pid>/status says of a process's memory, in
// bytes.
type procMemory struct {
	RSS  int64 // VmRSS, resident
	Anon int64 // RssAnon: the heap, stacks and the runtime's own
	File int64 // RssFile: pages of the binary, which the kernel can drop and read again
	Peak int64 // VmHWM, the high-water mark of RSS
}

// memory reads the memory of s from /proc.
func (s *server) memory() (procMemory, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.pid), "status"))
	if err != nil {
		return procMemory{}, err
	}
	var m procMemory
	fields := map[string]*int64{"VmRSS:": &m.RSS, "RssAnon:": &m.Anon, "RssFile:": &m.File, "VmHWM:": &m.Peak}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line) // "VmRSS:	  123456 kB"
		if len(f) != 3 || f[2] != "kB" || fields[f[0]] == nil {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return procMemory{}, fmt.Errorf("/proc/%d/status: %q: %w", s.pid, line, err)
		}
		*fields[f[0]] = kb * 1024
		delete(fields, f[0])
	}
	if len(fields) > 0 {
		return procMemory{}, fmt.Errorf("/proc/%d/status lacks %d of VmRSS, RssAnon, RssFile, VmHWM", s.pid, len(fields))
	}
	return m, nil
}

// rss is the resident set size of s in bytes.
func (s *server) rss() (int64, error) {
	m, err := s.memory()
	return m.RSS, err
}

// peakRSS is the high-water mark of the resident set since the start or
// the last resetPeak.
func (s *server) peakRSS() (int64, error) {
	m, err := s.memory()
	return m.Peak, err
}

// resetPeak restarts the high-water mark at the current RSS (Linux
// clear_refs, value 5).
func (s *server) resetPeak() error {
	return os.WriteFile(filepath.Join("/proc", strconv.Itoa(s.pid), "clear_refs"), []byte("5"), 0o200)
}

// cpuSeconds is the user+system CPU time the process has used.
func (s *server) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.pid), "stat"))
	if err != nil {
		return 0, err
	}
	cpu, err := statCPU(b)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", s.pid, err)
	}
	return cpu, nil
}

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat: 100 on
// every Linux architecture (the kernel's ABI, whatever its own HZ), so the
// cgo call to sysconf(_SC_CLK_TCK) is not needed.
const clockTicks = 100

// statCPU is utime+stime of a /proc/<pid>/stat line in seconds (proc(5):
// fields 14 and 15).
func statCPU(b []byte) (float64, error) {
	// The command name, field 2, is in parentheses and may hold spaces and
	// parentheses itself: the fields resume after the last ')'.
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, fmt.Errorf("no command name in %q", b)
	}
	fields := strings.Fields(string(b[end+1:])) // from field 3, the state
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	var sum uint64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("utime or stime %q: %w", f, err)
		}
		sum += v
	}
	return float64(sum) / clockTicks, nil
}

// metric reads one unlabelled value from the server's prometheus endpoint.
func (s *server) metric(name string) (float64, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", s.metrics))
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("%s: no metric %s", s.name, name)
}

// liveHeap is the Go heap after a forced collection: what the process
// keeps alive. Fetching a heap profile with gc=1 runs the collection.
func (s *server) liveHeap() (float64, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", s.pprof))
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return s.metric("go_memstats_heap_alloc_bytes")
}

// saveProfile fetches a pprof profile of s into path.
func (s *server) saveProfile(path, profile string) error {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/%s", s.pprof, profile))
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		_ = out.Close() // the copy's error is the one to report
		return err
	}
	return out.Close()
}
