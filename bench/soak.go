package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// soakInterval is one stretch of the soak.
type soakInterval struct {
	At                 time.Duration
	QPS                float64
	Sent, Lost         int
	P50, P99           time.Duration
	RSS                int64
	Heap, Goroutines   float64
	ChurnWrites, Fails int64
}

// soak loads clusterdns at 80% of its measured capacity for o.soak while
// services and endpoints change every second, and records, per interval,
// throughput, losses, latency, memory and goroutines.
func soak(ctx context.Context, o *options, e *env) error {
	if err := grow(ctx, e.cs, 0, o.headline, o.createWorkers, func(done int) { logf("created %d services", done) }); err != nil {
		return err
	}
	qc, err := clusterForQueries(ctx, e, o.headline)
	if err != nil {
		return err
	}
	queryFile := e.cp.Path("queries.txt")
	if _, err := writeQueryFile(queryFile, qc, 20000); err != nil {
		return err
	}
	s := &server{name: ours, plugin: ours}
	if err := startServer(e.cp, o.coredns, s, e.kubeconfig); err != nil {
		return err
	}
	defer e.cp.Stop(s.name)
	if _, err := s.waitReady(ctx, 10*time.Minute); err != nil {
		return err
	}
	capRun, err := runDNSPerf(s.dnsPort, queryFile, unboundedLoad(5*time.Second))
	if err != nil {
		return err
	}
	offered := int(capRun.QPS * 0.8)
	logf("soak: capacity %.0f qps, offering %d qps for %s with churn", capRun.QPS, offered, o.soak)

	var writes, fails atomic.Int64
	churnCtx, stopChurn := context.WithCancel(ctx)
	defer stopChurn()
	go churn(churnCtx, e.cs, o.headline, &writes, &fails)

	interval := 30 * time.Second
	if o.quick {
		interval = 5 * time.Second
	}
	var rows []soakInterval
	start := time.Now()
	for time.Since(start) < o.soak && ctx.Err() == nil {
		run, err := runDNSPerf(s.dnsPort, queryFile, perfLoad{duration: interval, clients: 4, outstanding: 500, maxQPS: offered, verbose: true})
		if err != nil {
			return err
		}
		row := soakInterval{At: time.Since(start), QPS: run.QPS, Sent: run.Sent, Lost: run.Lost, P50: run.percentile(50), P99: run.percentile(99), ChurnWrites: writes.Load(), Fails: fails.Load()}
		if row.RSS, err = s.rss(); err != nil {
			return err
		}
		row.Heap, _ = s.liveHeap()
		row.Goroutines, _ = s.metric("go_goroutines")
		rows = append(rows, row)
		logf("soak %s: %.0f qps, lost %d, p99 %s, RSS %.1f MB, heap %.1f MB, %0.f goroutines, %d writes (%d failed)",
			row.At.Round(time.Second), row.QPS, row.Lost, row.P99, mb(row.RSS), row.Heap/1e6, row.Goroutines, row.ChurnWrites, row.Fails)
	}
	return writeSoak(o, capRun.QPS, offered, rows)
}

// churn changes the cluster every second: five endpoints move to new
// addresses and one service is created while an older one is deleted.
func churn(ctx context.Context, cs kubernetes.Interface, services int, writes, fails *atomic.Int64) {
	r := rand.New(rand.NewPCG(7, 7))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		count := func(err error) {
			writes.Add(1)
			if err != nil && ctx.Err() == nil {
				fails.Add(1)
			}
		}
		for k := 0; k < 5; k++ {
			i := r.IntN(services)
			s := serviceAt(i)
			sls := slicesFor(s, i)
			if len(sls) == 0 {
				continue
			}
			sl, err := cs.DiscoveryV1().EndpointSlices(s.ns).Get(ctx, sls[0].Name, metav1.GetOptions{})
			if err == nil {
				sl.Endpoints[0].Addresses = []string{netip.AddrFrom4([4]byte{10, 121, byte(n >> 8), byte(n)}).String()}
				_, err = cs.DiscoveryV1().EndpointSlices(s.ns).Update(ctx, sl, metav1.UpdateOptions{})
			}
			count(err)
		}
		ns := namespaceOf(0)
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("churn-%d", n)},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
		}
		_, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
		count(err)
		if n >= 10 {
			count(cs.CoreV1().Services(ns).Delete(ctx, fmt.Sprintf("churn-%d", n-10), metav1.DeleteOptions{}))
		}
	}
}

func writeSoak(o *options, capacity float64, offered int, rows []soakInterval) error {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Soak: clusterdns offered 80%% of its measured capacity, with continuous churn")
	w("")
	w("Measured %s on %s with `%s`.", time.Now().UTC().Format("2006-01-02"), machine(), commandLine(os.Args[1:]))
	w("Cluster: %d services as in BENCHMARKS.md. Capacity measured first: %.0f qps (unbounded, realistic mix);", o.headline, capacity)
	w("offered: %d qps. Churn: every second five endpoints move to new addresses, one service is created and one", offered)
	w("deleted. Each row is one `dnsperf -v` run; RSS, live heap and goroutines are read at its end. A lost query")
	w("is one that `dnsperf` sent and had no answer to within its 2 s timeout.")
	if o.note != "" {
		w("")
		w("%s", o.note)
	}
	w("")
	w("| at | qps | sent | lost | p50 | p99 | RSS | heap | goroutines | API writes (failed) |")
	w("|---|---|---|---|---|---|---|---|---|---|")
	var sent, lost int
	var lowest, highest float64
	for i, r := range rows {
		sent, lost = sent+r.Sent, lost+r.Lost
		if i == 0 || r.QPS < lowest {
			lowest = r.QPS
		}
		highest = max(highest, r.QPS)
		w("| %s | %.0f | %d | %d | %s | %s | %.1f MB | %.1f MB | %.0f | %d (%d) |", r.At.Round(time.Second), r.QPS, r.Sent, r.Lost, ms(r.P50), ms(r.P99), mb(r.RSS), r.Heap/1e6, r.Goroutines, r.ChurnWrites, r.Fails)
	}
	if len(rows) > 0 {
		first, last := rows[0], rows[len(rows)-1]
		w("")
		w("In all: %d queries sent, %d lost (%.4f%%); qps per interval from %.0f to %.0f against %d offered; RSS %.1f MB in the",
			sent, lost, 100*float64(lost)/float64(max(1, sent)), lowest, highest, offered, mb(first.RSS))
		w("first interval, %.1f MB in the last; goroutines %.0f → %.0f.", mb(last.RSS), first.Goroutines, last.Goroutines)
	}
	if err := os.WriteFile(o.soakOut, []byte(b.String()), 0o644); err != nil {
		return err
	}
	logf("soak report written to %s", o.soakOut)
	return nil
}
