//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// defaultReloads is how many reloads the suite's step makes;
// CLUSTERDNS_E2E_RELOADS sets another count for a longer run.
const defaultReloads = 100

// reloadUsage is what a running server holds, read from outside.
type reloadUsage struct {
	goroutines int
	heap       int64 // bytes in use after a GC
	apiConns   int   // established TCP connections to the API server
}

func (u reloadUsage) String() string {
	return fmt.Sprintf("%d goroutines, %.1f MiB heap in use, %d connections to the API server", u.goroutines, float64(u.heap)/(1<<20), u.apiConns)
}

// testReloads reloads a server connected to the API server many times with
// SIGUSR1, CoreDNS's immediate reload, each time with a changed Corefile
// (another TTL). After each reload the answer must carry the new TTL and
// the right address; across the reloads the goroutines, the heap and the
// connections to the API server must stay flat.
func testReloads(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	const (
		name = "coredns-reload"
		addr = "127.0.0.22"
	)
	reloads := defaultReloads
	if s := os.Getenv("CLUSTERDNS_E2E_RELOADS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CLUSTERDNS_E2E_RELOADS=%q: want a positive integer", s)
		}
		reloads = n
	}
	kube := must(cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})).Spec.ClusterIP
	metricsPort, pprofPort := must(controlplane.FreePort()), must(controlplane.FreePort())
	corefile := env.cp.Path(name + ".Corefile")
	write := func(ttl int) {
		conf := fmt.Sprintf(`.:53 {
    bind %s
    prometheus 127.0.0.1:%d
    pprof 127.0.0.1:%d
    clusterdns cluster.local in-addr.arpa {
        kubeconfig %s
        ttl %d
        startup_timeout 5s
    }
}
`, addr, metricsPort, pprofPort, env.dnsConf, ttl)
		if err := os.WriteFile(corefile, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Consecutive TTLs always differ, so each reload shows in the answers.
	ttlOf := func(i int) int { return 10 + i%50 }
	write(ttlOf(0))
	if err := env.cp.Start(name, env.coredns, os.Environ(), "-conf", corefile); err != nil {
		t.Fatal(err)
	}
	defer env.cp.Stop(name)
	pid := env.cp.Procs[name].Cmd.Process.Pid

	// answered waits until kubernetes.default answers its address with ttl.
	answered := func(ttl int) {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion("kubernetes.default.svc.cluster.local.", dns.TypeA)
		c := &dns.Client{Timeout: time.Second}
		var last string
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			r, _, err := c.Exchange(m, addr+":53")
			if err == nil && len(r.Answer) == 1 {
				a, ok := r.Answer[0].(*dns.A)
				if ok && a.A.String() == kube && int(a.Hdr.Ttl) == ttl {
					return
				}
				last = r.Answer[0].String()
			} else if err == nil {
				last = dns.RcodeToString[r.Rcode]
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("no answer %s with TTL %d within 15 s; last: %s\n%s", kube, ttl, last, tail(env.cp.Path(name+".log"), 20))
	}
	usage := func() reloadUsage {
		t.Helper()
		// The heap profile with gc=1 runs a collection first, so the heap
		// figure is what is live, not what waits for the collector.
		get(t, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", pprofPort))
		return reloadUsage{
			goroutines: int(metric(t, metricsPort, "go_goroutines")),
			heap:       int64(metric(t, metricsPort, "go_memstats_heap_inuse_bytes")),
			apiConns:   apiConnections(t, pid, env.cp.APIPort),
		}
	}
	reload := func(i int) {
		write(ttlOf(i))
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		answered(ttlOf(i))
	}

	answered(ttlOf(0))
	// Warm up: the first reloads fill caches that then stay (client-go's
	// transport cache, CoreDNS's plugin registries).
	const warmup = 10
	for i := 1; i <= warmup; i++ {
		reload(i)
	}
	time.Sleep(time.Second)
	before := usage()
	start := time.Now()
	for i := warmup + 1; i <= warmup+reloads; i++ {
		reload(i)
	}
	took := time.Since(start)
	time.Sleep(time.Second)
	after := usage()
	t.Logf("%d reloads in %s (%s each, Corefile written to answer with the new TTL)", reloads, took.Round(time.Millisecond), (took / time.Duration(reloads)).Round(time.Millisecond))
	t.Logf("after %d warm-up reloads: %s", warmup, before)
	t.Logf("after %d more reloads:    %s", reloads, after)
	record(fmt.Sprintf("reload with the API connected (mean of %d)", reloads), took/time.Duration(reloads))

	// Flat: a leak of one goroutine or connection per reload would show as
	// `reloads` more; the margins absorb what a busy moment holds.
	if after.goroutines > before.goroutines+10 {
		t.Errorf("goroutines grew from %d to %d over %d reloads", before.goroutines, after.goroutines, reloads)
	}
	if after.apiConns > before.apiConns+1 {
		t.Errorf("connections to the API server grew from %d to %d over %d reloads", before.apiConns, after.apiConns, reloads)
	}
	if after.heap > before.heap+before.heap/2+4<<20 {
		t.Errorf("heap in use grew from %d to %d bytes over %d reloads", before.heap, after.heap, reloads)
	}
	// Still serving the cluster after the last reload.
	if a := must(query(addr, "udp", "kubernetes.default.svc.cluster.local.", dns.TypeA)); len(a.records) != 1 || a.records[0] != "A "+kube {
		t.Errorf("after the reloads: %v", a)
	}
	if a := must(query(addr, "udp", "nothere.default.svc.cluster.local.", dns.TypeA)); a.rcode != dns.RcodeNameError {
		t.Errorf("after the reloads, a missing service: %v", a)
	}
}

// get fetches url and returns its body.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// apiConnections counts the established TCP connections of process pid to
// port on loopback: its sockets (from /proc/<pid>/fd) that /proc/net/tcp
// and tcp6 list with that remote port.
func apiConnections(t *testing.T, pid, port int) int {
	t.Helper()
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		if link, err := os.Readlink(fd); err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	n := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "01" || !inodes[f[9]] {
				continue
			}
			if _, p, ok := strings.Cut(f[2], ":"); ok {
				if v, err := strconv.ParseInt(p, 16, 32); err == nil && int(v) == port {
					n++
				}
			}
		}
	}
	return n
}

// tail returns the last n lines of a file, for failure messages.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
