package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// churnNamespace holds the whole cluster of the -churn run.
const churnNamespace = "churn"

// churnTimeout is how long a changed answer is waited for; a change not
// seen by then counts as this long.
const churnTimeout = 5 * time.Second

// churnBufsize is the EDNS0 UDP size of the polling queries: a headless
// service's A answer, up to 100 addresses, is longer than 512 bytes, and a
// truncated answer might leave out the moved address.
const churnBufsize = 4096

// churnSlot is one headless service whose slice the churn moves endpoints
// of, and the slice as the API server last returned it. mu orders the
// changes of one slice, so that each update carries the resourceVersion
// of the one before.
type churnSlot struct {
	mu    sync.Mutex
	slice *discoveryv1.EndpointSlice
	qname string // the service's name, whose A answer lists the slice's addresses
}

// churnRun is the -churn mode: a cluster whose services all live in one
// namespace, the servers started one at a time, an idle window, then a
// window of endpoint changes at a fixed rate, with each server's CPU and
// the time until each change shows in its answers.
func churnRun(ctx context.Context, o *options, e *env) error {
	res := &churnResult{Started: time.Now().UTC(), Machine: machine(), Command: commandLine(os.Args[1:]), Quick: o.quick, Note: o.note,
		Services: o.churnServices, Rate: o.churnRate, Writers: o.churnWriters, Duration: o.churn, Timeout: churnTimeout}
	var err error
	if res.Version, err = binaryVersion(o.coredns); err != nil {
		return err
	}
	if o.stock != "" {
		if res.StockVersion, err = binaryVersion(o.stock); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := growOneNamespace(ctx, e.cs, churnNamespace, o.churnServices, o.createWorkers, func(done int) { logf("created %d services", done) }); err != nil {
		return err
	}
	res.Stats = statsFor(o.churnServices)
	res.GrowTime = time.Since(start)
	logf("namespace %s: %d services, %d slices, %d endpoints in %s", churnNamespace, res.Stats.Services, res.Stats.Slices, res.Stats.Endpoints, res.GrowTime.Round(time.Second))
	slots, err := headlessSlots(ctx, e.cs, o.churnServices)
	if err != nil {
		return err
	}
	res.Headless = len(slots)

	servers := []*server{{name: ours, plugin: ours}, {name: upstream, plugin: upstream}}
	if o.stock != "" {
		servers = append(servers, &server{name: stock, plugin: upstream, binary: o.stock})
	}
	defer func() {
		for _, s := range servers {
			e.cp.Stop(s.name)
		}
	}()
	// One at a time, so that none syncs while another competes for CPU.
	for _, s := range servers {
		if err := startServer(e.cp, o.coredns, s, e.kubeconfig); err != nil {
			return err
		}
		ready, err := s.waitReady(ctx, 10*time.Minute)
		if err != nil {
			return err
		}
		logf("%s ready in %s", s.name, ready.Round(time.Millisecond))
		res.Servers = append(res.Servers, &churnServer{Name: s.name, Label: res.label(s.name), ReadyIn: ready})
	}
	time.Sleep(3 * time.Second) // let the first full publish and GC settle

	idle0, err := cpuOf(servers)
	if err != nil {
		return err
	}
	idleStart := time.Now()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.churn):
	}
	idle1, err := cpuOf(servers)
	if err != nil {
		return err
	}
	res.IdleWindow = time.Since(idleStart)
	for i, s := range res.Servers {
		s.IdleCPU = idle1[i] - idle0[i]
	}
	logf("idle window of %s done; churning at %d changes per second for %s", res.IdleWindow.Round(time.Millisecond), o.churnRate, o.churn)

	cpu0, err := cpuOf(servers)
	if err != nil {
		return err
	}
	if err := churnWindow(ctx, e.cs, o, servers, slots, res); err != nil {
		return err
	}
	cpu1, err := cpuOf(servers)
	if err != nil {
		return err
	}
	for i, s := range res.Servers {
		s.CPU = cpu1[i] - cpu0[i]
	}
	res.Finished = time.Now().UTC()
	logf("churn: %d changes in %s (%.1f per second), %d not sent, %d failed", res.Changes, res.WriteWindow.Round(time.Millisecond), res.achievedRate(), res.Missed, res.Failed)
	if err := os.WriteFile(o.churnOut, []byte(res.markdown()), 0o644); err != nil {
		return err
	}
	logf("churn report written to %s", o.churnOut)
	fmt.Print(res.table())
	return nil
}

// cpuOf reads the CPU seconds of each server, in order.
func cpuOf(servers []*server) ([]float64, error) {
	out := make([]float64, len(servers))
	for i, s := range servers {
		var err error
		if out[i], err = s.cpuSeconds(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// headlessSlots lists the namespace's slices once and keeps the IPv4 slice
// of every headless service among the first n, so that no change has to
// read its slice first.
func headlessSlots(ctx context.Context, cs kubernetes.Interface, n int) ([]*churnSlot, error) {
	list, err := cs.DiscoveryV1().EndpointSlices(churnNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	byName := map[string]*discoveryv1.EndpointSlice{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	at := inNamespace(churnNamespace)
	var out []*churnSlot
	for i := 0; i < n; i++ {
		s := at(i)
		if s.kind != kindHeadless {
			continue
		}
		name := slicesFor(s, i)[0].Name
		sl := byName[name]
		if sl == nil {
			return nil, fmt.Errorf("slice %s/%s is missing", churnNamespace, name)
		}
		out = append(out, &churnSlot{slice: sl, qname: s.name + "." + churnNamespace + ".svc.cluster.local."})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no headless service among %d", n)
	}
	return out, nil
}

// churnAddress is the address change n moves an endpoint to: unique per
// change, in 10.64.0.0/10, apart from the generated endpoints in
// 10.128.0.0/9.
func churnAddress(n int) string {
	v := uint32(n) & (1<<22 - 1)
	return netip.AddrFrom4([4]byte{10, 64 | byte(v>>16), byte(v >> 8), byte(v)}).String()
}

// churnWindow applies o.churnRate changes per second for o.churn: a ticker
// hands change numbers to o.churnWriters writers, and a tick that finds
// them all busy is counted as missed rather than queued, so that the
// achieved rate shows. Change n moves endpoint n/len(slots) of slot
// n%len(slots) to churnAddress(n); once its write returns, every server is
// polled until its answer holds the new address. The window ends when
// every poll has.
func churnWindow(ctx context.Context, cs kubernetes.Interface, o *options, servers []*server, slots []*churnSlot, res *churnResult) error {
	jobs := make(chan int, o.churnWriters)
	var mu sync.Mutex // guards res's slices and counters below
	var polls, writers sync.WaitGroup
	var failed atomic.Int64
	var lastWrite atomic.Int64 // unix nanoseconds of the last write's end
	queries := make([]atomic.Int64, len(servers))
	for w := 0; w < o.churnWriters; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for n := range jobs {
				slot := slots[n%len(slots)]
				slot.mu.Lock()
				sl := slot.slice.DeepCopy()
				ip := churnAddress(n)
				sl.Endpoints[(n/len(slots))%len(sl.Endpoints)].Addresses = []string{ip}
				begin := time.Now()
				updated, err := cs.DiscoveryV1().EndpointSlices(churnNamespace).Update(ctx, sl, metav1.UpdateOptions{})
				end := time.Now()
				if err == nil {
					slot.slice = updated
				}
				slot.mu.Unlock()
				if err != nil {
					if failed.Add(1) == 1 {
						logf("churn: change %d: %v", n, err)
					}
					continue
				}
				// Writers finish out of order; the window ends at the latest.
				for v := end.UnixNano(); ; {
					old := lastWrite.Load()
					if v <= old || lastWrite.CompareAndSwap(old, v) {
						break
					}
				}
				mu.Lock()
				res.Writes = append(res.Writes, end.Sub(begin))
				mu.Unlock()
				c := change{name: slot.qname, qtype: dns.TypeA, bufsize: churnBufsize, seen: hasA(ip)}
				for i, s := range servers {
					polls.Add(1)
					go func() {
						defer polls.Done()
						pollCtx, cancel := context.WithTimeout(ctx, churnTimeout)
						defer cancel()
						d, q := pollUntil(pollCtx, s.dnsPort, c, end)
						queries[i].Add(int64(q))
						mu.Lock()
						res.Servers[i].Latencies = append(res.Servers[i].Latencies, min(d, churnTimeout))
						mu.Unlock()
					}()
				}
			}
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(o.churnRate))
	start := time.Now()
	deadline := start.Add(o.churn)
	for n := 0; ; {
		var now time.Time
		select {
		case <-ctx.Done():
		case now = <-tick.C:
		}
		if ctx.Err() != nil || !now.Before(deadline) {
			break
		}
		res.Scheduled++
		select {
		case jobs <- n:
			n++
		default:
			res.Missed++
		}
	}
	tick.Stop()
	close(jobs)
	writers.Wait()
	polls.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	res.Window = time.Since(start)
	res.Changes = len(res.Writes)
	res.WriteWindow = res.Window
	if res.Changes > 0 {
		res.WriteWindow = time.Unix(0, lastWrite.Load()).Sub(start)
	}
	res.Failed = int(failed.Load())
	for i, s := range res.Servers {
		s.Queries = queries[i].Load()
	}
	return nil
}

// hasA reports whether an answer holds an A record of ip.
func hasA(ip string) func(*dns.Msg) bool {
	want := netip.MustParseAddr(ip)
	return func(m *dns.Msg) bool {
		return slices.ContainsFunc(m.Answer, func(rr dns.RR) bool {
			a, ok := rr.(*dns.A)
			return ok && a.A.Equal(want.AsSlice())
		})
	}
}
