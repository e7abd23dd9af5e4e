//go:build e2e

package e2e

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// snapshotPath is where the main DNS server keeps its snapshot file.
func snapshotPath() string { return env.cp.Path("coredns.snapshot") }

// testWarmStart starts a DNS server while the API server is down, from the
// snapshot file the main server wrote: it answers as the main server does,
// ready and marked stale; once the API server is back, a change made after
// that is answered and the answers are current.
func testWarmStart(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	const addr = "127.0.0.6"
	want := snapshotAnswers(t, dnsAddr)
	env.cp.Stop("kube-apiserver")
	data, err := os.ReadFile(snapshotPath())
	if err != nil {
		t.Fatalf("the main server wrote no snapshot: %v", err)
	}
	path := env.cp.Path("coredns-warm.snapshot")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	readyPort, metricsPort := must(controlplane.FreePort()), must(controlplane.FreePort())
	started := time.Now()
	if err := startDNS("coredns-warm", addr, "", readyPort, metricsPort, "snapshot "+path+" 1s"); err != nil {
		t.Fatal(err)
	}
	defer env.cp.Stop("coredns-warm")
	waitFor(t, "the server started from the snapshot to answer", 30*time.Second, func() bool {
		a, err := query(addr, "udp", steadyNames[0].name, steadyNames[0].qtype)
		return err == nil && a.rcode == dns.RcodeSuccess
	})
	record("DNS started without the API, from a snapshot: start -> answering", time.Since(started))
	for i, got := range snapshotAnswers(t, addr) {
		if got.rcode != want[i].rcode || !slices.Equal(got.records, want[i].records) {
			t.Errorf("from the snapshot, %s: %v; the main server answers %v", steadyNames[i].name, got, want[i])
		}
	}
	if !ready(readyPort) {
		t.Error("/ready is false while answering from the snapshot")
	}
	if v := metric(t, metricsPort, "coredns_clusterdns_stale"); v != 1 {
		t.Errorf("coredns_clusterdns_stale %v while answering from the snapshot, want 1", v)
	}

	back := restartAPIAndCreate(t, ctx, cs, "after-warm")
	waitFor(t, "the new service answered by the server started from the snapshot", 60*time.Second, func() bool {
		a, err := query(addr, "udp", "after-warm.prod.svc.cluster.local.", dns.TypeA)
		return err == nil && count("A", 1)(a)
	})
	record("DNS started from a snapshot: API back -> new service answered", time.Since(back))
	if v := metric(t, metricsPort, "coredns_clusterdns_stale"); v != 0 {
		t.Errorf("coredns_clusterdns_stale %v after the sync, want 0", v)
	}
}
