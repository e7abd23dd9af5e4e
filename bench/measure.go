package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The compared servers and the ceiling, in the order of each round: the
// two plugins in our binary, the kubernetes plugin in stock CoreDNS (with
// -stock) and whoami in our binary.
const (
	ours     = "clusterdns"
	upstream = "kubernetes"
	stock    = "stock"
	ceiling  = "whoami"
)

// pluginPoint is what was measured of one server at one cluster size.
type pluginPoint struct {
	ReadyIn     time.Duration // process start to ready and answering correctly, the median of Starts
	ReadyHTTP   time.Duration // process start to /ready 200, the median of Starts
	Starts      []startupRun  // each timed start, in order
	PeakSyncRSS int64         // high-water RSS up to a few seconds after ready
	RSS         int64         // after sync
	Heap        float64       // live Go heap after sync (after a forced collection)
	QPS         []float64     // one per round, unbounded load
	CPUPer100k  []float64     // CPU seconds per 100,000 answered queries, per round
	AvgLatency  []time.Duration
	Lost        int
	Rcodes      map[string]int // of the last round
}

// sizePoint is one cluster size of the curve.
type sizePoint struct {
	Stats    clusterStats
	Plugins  map[string]*pluginPoint
	Deployed *deployedPoint
	Headline *headline
	// GrowTime is how long creating the services added at this size took;
	// MeasureTime how long the measurements at this size took.
	GrowTime, MeasureTime time.Duration
}

// headline holds the measurements made at the headline size only.
type headline struct {
	Lookups, Queries int
	QueryTypes       map[string]int
	OfferedQPS       int
	Percentiles      map[string][]time.Duration // p50, p90, p99, p99.9 at OfferedQPS
	LostAtOffered    map[string]int
	BoundQPS         map[string]float64 // highest qps with p99 within the bound, at most 1% lost
	Cached           map[string][]float64
	Programming      map[string][]time.Duration
	ProgrammingLimit time.Duration
	Relist           map[string]*relistResult
	Profiles         []string
}

// relistResult is memory around a forced relist (an API server restart).
type relistResult struct {
	SteadyRSS, PeakRSS int64
	Recovered          time.Duration // API ready again -> a service created then is answered
}

func median[T int64 | float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// measureSize starts the three servers on the cluster as it is and
// measures them; at the headline size it runs everything else too.
func measureSize(ctx context.Context, o *options, e *env, st clusterStats, isHeadline bool) (sizePoint, error) {
	p := sizePoint{Stats: st, Plugins: map[string]*pluginPoint{}}
	if !o.startupOnly {
		// First, alone on the machine: clusterdns as deployed, for sizing.
		deployed, err := measureDeployed(ctx, o, e)
		if err != nil {
			return p, err
		}
		p.Deployed = deployed
	}
	plugins := []*server{{name: ours, plugin: ours}, {name: upstream, plugin: upstream}}
	if o.stock != "" {
		plugins = append(plugins, &server{name: stock, plugin: upstream, binary: o.stock})
	}
	servers := append(slices.Clone(plugins), &server{name: ceiling, plugin: ceiling})
	defer func() {
		for _, s := range servers {
			e.cp.Stop(s.name)
		}
	}()
	probe, err := probeFor(ctx, e, st.Services)
	if err != nil {
		return p, err
	}
	// One at a time, so that neither syncs while the other competes for
	// CPU; o.starts times each, alternately, the last start of each kept.
	runs, err := timeStartups(ctx, o, e, plugins, probe, o.starts)
	if err != nil {
		return p, err
	}
	for _, s := range plugins {
		pp := &pluginPoint{Starts: runs[s.name]}
		pp.ReadyHTTP, pp.ReadyIn = readyAnswers(pp.Starts)
		p.Plugins[s.name] = pp
		logf("%s ready in %s, ready and answering in %s (medians of %d starts)", s.name,
			pp.ReadyHTTP.Round(time.Millisecond), pp.ReadyIn.Round(time.Millisecond), len(pp.Starts))
	}
	if o.startupOnly {
		return p, nil
	}
	top := servers[len(servers)-1]
	if err := startServer(e.cp, o.coredns, top, e.kubeconfig); err != nil {
		return p, err
	}
	ready, err := top.waitReady(ctx, 10*time.Minute)
	if err != nil {
		return p, err
	}
	p.Plugins[top.name] = &pluginPoint{ReadyIn: ready, ReadyHTTP: ready}
	qc, err := clusterForQueries(ctx, e, st.Services)
	if err != nil {
		return p, err
	}
	queryFile := e.cp.Path("queries.txt")
	lookups := 20000
	types, err := writeQueryFile(queryFile, qc, lookups)
	if err != nil {
		return p, err
	}
	time.Sleep(3 * time.Second) // let the first full publish and GC settle
	for _, s := range servers {
		pp := p.Plugins[s.name]
		if pp.RSS, err = s.rss(); err != nil {
			return p, err
		}
		if pp.PeakSyncRSS, err = s.peakRSS(); err != nil {
			return p, err
		}
		if pp.Heap, err = s.liveHeap(); err != nil {
			return p, err
		}
		logf("%s: RSS %.1f MB (peak %.1f MB), heap %.1f MB", s.name, mb(pp.RSS), mb(pp.PeakSyncRSS), pp.Heap/1e6)
	}
	rounds := o.rounds
	if !isHeadline {
		rounds = max(1, rounds-1) // the curve needs less precision than the headline
	}
	if err := throughput(o, rounds, servers, queryFile, p.Plugins); err != nil {
		return p, err
	}
	if !isHeadline {
		return p, nil
	}
	h := &headline{Lookups: lookups, QueryTypes: types}
	for _, n := range types {
		h.Queries += n
	}
	p.Headline = h
	if o.pprofDir != "" {
		if err := profile(o, servers[:2], queryFile, h); err != nil {
			return p, err
		}
	}
	if err := latencyAtLoad(o, servers, queryFile, p.Plugins, h); err != nil {
		return p, err
	}
	if err := boundedQPS(o, servers, queryFile, p.Plugins, h); err != nil {
		return p, err
	}
	if o.withCache {
		if err := cachedQPS(ctx, o, e, queryFile, h); err != nil {
			return p, err
		}
	}
	h.ProgrammingLimit = 30 * time.Second
	logf("programming latency: %d changes", o.changes)
	if h.Programming, err = programmingLatency(ctx, e.cs, plugins, o.changes, h.ProgrammingLimit); err != nil {
		return p, err
	}
	if h.Relist, err = forceRelist(ctx, e, plugins); err != nil {
		return p, err
	}
	return p, nil
}

// clusterForQueries reads the ClusterIPs the API server assigned, for PTR
// queries.
func clusterForQueries(ctx context.Context, e *env, services int) (*queryCluster, error) {
	qc := &queryCluster{services: services}
	list, err := e.cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, s := range list.Items {
		for _, ip := range s.Spec.ClusterIPs {
			if ip != "None" && ip != "" {
				qc.clusterIPs = append(qc.clusterIPs, ip)
			}
		}
	}
	if len(qc.clusterIPs) == 0 {
		return nil, fmt.Errorf("no ClusterIPs assigned")
	}
	return qc, nil
}

// unboundedLoad is dnsperf as fast as the server answers: 4 client
// sockets, 100 queries in flight.
func unboundedLoad(d time.Duration) perfLoad {
	return perfLoad{duration: d, clients: 4, outstanding: 100}
}

// throughput runs the unbounded load against each server in turn, round
// after round, and records qps and CPU per query.
func throughput(o *options, rounds int, servers []*server, queryFile string, into map[string]*pluginPoint) error {
	for _, s := range servers { // warm-up, not recorded
		if _, err := runDNSPerf(s.dnsPort, queryFile, unboundedLoad(time.Second)); err != nil {
			return err
		}
	}
	for r := 0; r < rounds; r++ {
		for _, s := range servers {
			cpu0, err := s.cpuSeconds()
			if err != nil {
				return err
			}
			run, err := runDNSPerf(s.dnsPort, queryFile, unboundedLoad(o.duration))
			if err != nil {
				return err
			}
			cpu1, err := s.cpuSeconds()
			if err != nil {
				return err
			}
			pp := into[s.name]
			pp.QPS = append(pp.QPS, run.QPS)
			pp.AvgLatency = append(pp.AvgLatency, run.AvgLatency)
			pp.CPUPer100k = append(pp.CPUPer100k, (cpu1-cpu0)/float64(max(1, run.Completed))*1e5)
			pp.Lost += run.Lost
			pp.Rcodes = run.Rcodes
			logf("round %d %s: %.0f qps, avg %s, lost %d", r+1, s.name, run.QPS, run.AvgLatency, run.Lost)
		}
	}
	return nil
}

// latencyAtLoad offers the same fixed load to every server and records
// latency percentiles from every query.
func latencyAtLoad(o *options, servers []*server, queryFile string, pts map[string]*pluginPoint, h *headline) error {
	slowest := median(pts[ours].QPS)
	for name, pp := range pts {
		if name != ceiling {
			slowest = min(slowest, median(pp.QPS))
		}
	}
	h.OfferedQPS = max(1000, int(slowest/2)/1000*1000)
	h.Percentiles, h.LostAtOffered = map[string][]time.Duration{}, map[string]int{}
	all := map[string]perfRun{}
	for r := 0; r < o.rounds; r++ {
		for _, s := range servers {
			run, err := runDNSPerf(s.dnsPort, queryFile, perfLoad{duration: o.duration, clients: 4, outstanding: 500, maxQPS: h.OfferedQPS, verbose: true})
			if err != nil {
				return err
			}
			acc := all[s.name]
			acc.latencies = append(acc.latencies, run.latencies...)
			acc.Lost += run.Lost
			all[s.name] = acc
		}
	}
	for name, run := range all {
		slices.Sort(run.latencies)
		h.Percentiles[name] = []time.Duration{run.percentile(50), run.percentile(90), run.percentile(99), run.percentile(99.9)}
		h.LostAtOffered[name] = run.Lost
		logf("%s at %d qps: p50 %s p99 %s p99.9 %s lost %d", name, h.OfferedQPS, run.percentile(50), run.percentile(99), run.percentile(99.9), run.Lost)
	}
	return nil
}

// boundedQPS searches, for each server, the highest offered load whose p99
// stays within the bound with at most 1% lost; the servers take turns at
// each step.
func boundedQPS(o *options, servers []*server, queryFile string, pts map[string]*pluginPoint, h *headline) error {
	h.BoundQPS = map[string]float64{}
	lo, hi := map[string]float64{}, map[string]float64{}
	for _, s := range servers {
		hi[s.name] = median(pts[s.name].QPS) * 1.1
	}
	steps := 5
	if o.quick {
		steps = 2
	}
	for step := 0; step < steps; step++ {
		for _, s := range servers {
			offer := (lo[s.name] + hi[s.name]) / 2
			run, err := runDNSPerf(s.dnsPort, queryFile, perfLoad{duration: o.duration / 2, clients: 4, outstanding: 1000, maxQPS: int(offer), verbose: true})
			if err != nil {
				return err
			}
			// dnsperf -v sends in bursts when printing holds it up, and a few
			// queries of a burst overflow the server's default socket buffer
			// (whoami loses as many): up to 1% lost is the load generator's.
			if run.Lost*100 <= run.Sent && run.percentile(99) <= o.latencyBound {
				lo[s.name] = offer
				h.BoundQPS[s.name] = max(h.BoundQPS[s.name], run.QPS)
			} else {
				hi[s.name] = offer
			}
		}
	}
	for name, q := range h.BoundQPS {
		logf("%s: %.0f qps with p99 <= %s", name, q, o.latencyBound)
	}
	return nil
}

// cachedQPS measures both plugins behind the cache plugin, in two more
// servers started for it.
func cachedQPS(ctx context.Context, o *options, e *env, queryFile string, h *headline) error {
	h.Cached = map[string][]float64{}
	cached := []*server{{name: ours + "+cache", plugin: ours, cache: true}, {name: upstream + "+cache", plugin: upstream, cache: true}}
	defer func() {
		for _, s := range cached {
			e.cp.Stop(s.name)
		}
	}()
	for _, s := range cached {
		if err := startServer(e.cp, o.coredns, s, e.kubeconfig); err != nil {
			return err
		}
		if _, err := s.waitReady(ctx, 10*time.Minute); err != nil {
			return err
		}
	}
	pts := map[string]*pluginPoint{cached[0].name: {}, cached[1].name: {}}
	if err := throughput(o, o.rounds, cached, queryFile, pts); err != nil {
		return err
	}
	for name, pp := range pts {
		h.Cached[name] = pp.QPS
	}
	return nil
}

// profile records a CPU profile of each plugin under the unbounded load
// and a heap profile after it.
func profile(o *options, servers []*server, queryFile string, h *headline) error {
	for _, s := range servers {
		done := make(chan error, 1)
		cpuPath := filepath.Join(o.pprofDir, s.name+".cpu.pprof")
		secs := int(o.duration.Seconds())
		go func() { done <- s.saveProfile(cpuPath, "profile?seconds="+strconv.Itoa(secs)) }()
		if _, err := runDNSPerf(s.dnsPort, queryFile, unboundedLoad(o.duration+time.Second)); err != nil {
			return err
		}
		if err := <-done; err != nil {
			return err
		}
		heapPath := filepath.Join(o.pprofDir, s.name+".heap.pprof")
		if err := s.saveProfile(heapPath, "heap"); err != nil {
			return err
		}
		h.Profiles = append(h.Profiles, cpuPath, heapPath)
	}
	return nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
