package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFitLine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		xs, ys []float64
		a, b   float64
	}{
		{"exact", []float64{0, 10, 20}, []float64{5, 25, 45}, 5, 2},
		{"noisy", []float64{1, 2, 3, 4}, []float64{2, 4, 5, 8}, 0, 1.9},
		{"falling", []float64{1, 3}, []float64{10, 4}, 13, -3},
		{"flat", []float64{5, 10, 15}, []float64{7, 7, 7}, 7, 0},
		{"one point", []float64{1}, []float64{1}, math.NaN(), math.NaN()},
		{"one x", []float64{2, 2, 2}, []float64{1, 2, 3}, math.NaN(), math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fitLine(tc.xs, tc.ys)
			if !closeOrBothNaN(a, tc.a) || !closeOrBothNaN(b, tc.b) {
				t.Errorf("fit = %v + %v·x, want %v + %v·x", a, b, tc.a, tc.b)
			}
		})
	}
}

func closeOrBothNaN(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= 1e-9
}

func TestLatencyStats(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p50, p90, p99, worst, timeouts := latencyStats(ds, 95*time.Millisecond)
	if p50 != 50*time.Millisecond || p90 != 90*time.Millisecond || p99 != 99*time.Millisecond || worst != 100*time.Millisecond || timeouts != 6 {
		t.Errorf("got %s %s %s %s %d", p50, p90, p99, worst, timeouts)
	}
}

func TestReportWritesRatios(t *testing.T) {
	point := func(services int, qps, rss float64) sizePoint {
		return sizePoint{
			Stats: clusterStats{Services: services, Slices: services, Endpoints: services * 10},
			Plugins: map[string]*pluginPoint{
				ours:     {QPS: []float64{qps * 2}, RSS: int64(rss * (1 << 20)), Heap: rss * 1e6 / 2},
				upstream: {QPS: []float64{qps}, RSS: int64(rss * 2 * (1 << 20)), Heap: rss * 1e6},
				ceiling:  {QPS: []float64{qps * 3}, RSS: 10 << 20},
			},
		}
	}
	r := &report{Started: time.Now(), Finished: time.Now(), Machine: "test machine", Command: "bench", latencyBound: 2 * time.Millisecond}
	r.Points = []sizePoint{point(1000, 100, 20), point(2000, 100, 30)}
	r.settle, r.cacheNames = 20*time.Second, 20000
	for i, p := range r.Points {
		base := int64(60+10*i) << 20
		p.Deployed = &deployedPoint{ReadyIn: time.Second,
			AtReady: procMemory{RSS: base},
			Settled: procMemory{RSS: base + 1<<20, Anon: base - 50<<20, File: 51 << 20},
			Cached:  procMemory{RSS: base + 10<<20, Peak: base + 12<<20}}
		r.Points[i] = p
	}
	r.Points[0].Headline = &headline{
		Lookups: 1, Queries: 2, QueryTypes: map[string]int{"A": 1, "AAAA": 1}, OfferedQPS: 1000,
		Percentiles:      map[string][]time.Duration{ours: {1, 2, 3, 4}, upstream: {2, 4, 6, 8}, ceiling: {1, 1, 1, 1}},
		BoundQPS:         map[string]float64{ours: 150, upstream: 100},
		Programming:      map[string][]time.Duration{ours: {10 * time.Millisecond, 60 * time.Millisecond}, upstream: {time.Second}},
		ProgrammingLimit: 30 * time.Second,
		Relist:           map[string]*relistResult{ours: {SteadyRSS: 100, PeakRSS: 110}, upstream: {SteadyRSS: 100, PeakRSS: 200}},
	}
	path := filepath.Join(t.TempDir(), "B.md")
	kept := keptMarker + "\n## Autopath\n\nmeasured elsewhere\n"
	if err := os.WriteFile(path, []byte("# old run\n\n"+kept), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.write(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "old run") || !strings.HasSuffix(string(b), kept) {
		t.Errorf("the old run is not replaced or the kept part is lost:\n%s", b)
	}
	checkContains(t, "report", string(b), []string{"| 1000 | 10000 | 2000 | 0s | 200 | 100 | 300 |", "| 1000 | 20.0 MB | 40.0 MB | 10.0 MB | 0.50× |", "test machine", "RSS ≈ 10 MB + 0.91 MB per 1,000",
		"| qps ≥ 1.5× the kubernetes plugin on the realistic mix | 2.00× | met |",
		"| relist peak ≤ 1.2× steady RSS (1000 services) | 1.10× | met |",
		"| programming latency p99 ≤ 50 ms | 60.00 ms | **missed** |",
		"| queries per second with p99 ≤ 2.00 ms, at most 1% lost | 150 | 100 | 1.50× |",
		"| 2000 | 20000 | 1000.00 ms | 70.0 MB | 71.0 MB (20.0 + 51.0) | 80.0 MB | 82.0 MB |",
		"20s later", "after 20000 distinct names",
		"    settled:             MB = 51 + 0.91 x", "    with a full cache:   MB = 60 + 0.91 x", "    peak:                MB = 62 + 0.91 x",
		"`CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags=\"-s -w\"`"}...)
}

func TestReportWithStock(t *testing.T) {
	r := &report{Started: time.Now(), Finished: time.Now(), Machine: "test machine", Command: "bench", latencyBound: 2 * time.Millisecond, StockVersion: "CoreDNS-1.15.0"}
	pp := func(qps, rss float64, ready time.Duration) *pluginPoint {
		return &pluginPoint{QPS: []float64{qps}, RSS: int64(rss * (1 << 20)), Heap: rss * 1e6 / 2, PeakSyncRSS: int64(rss * (1 << 20)), ReadyIn: ready, CPUPer100k: []float64{1}}
	}
	r.Points = []sizePoint{{
		Stats:    clusterStats{Services: 1000, Slices: 1000, Endpoints: 10000},
		Plugins:  map[string]*pluginPoint{ours: pp(300, 50, time.Second), upstream: pp(200, 100, time.Second), stock: pp(150, 200, 2*time.Second), ceiling: pp(400, 10, time.Second)},
		GrowTime: 90 * time.Second,
		Headline: &headline{
			OfferedQPS: 100, Percentiles: map[string][]time.Duration{ours: {1, 2, 3, 4}, upstream: {2, 4, 6, 8}, stock: {4, 8, 12, 16}},
			BoundQPS:    map[string]float64{ours: 150, upstream: 100, stock: 50},
			Programming: map[string][]time.Duration{ours: {time.Millisecond}, upstream: {time.Millisecond}, stock: {2 * time.Millisecond}, apiWrite: {time.Millisecond}},
		},
	}}
	r.Idle = []idlePoint{{Binary: "ours", Size: 100 << 20, Memory: procMemory{RSS: 40 << 20, Anon: 10 << 20, File: 30 << 20}, Heap: 4e6}}
	r.Stopped = "at 2000 services: out of time"
	path := filepath.Join(t.TempDir(), "B.md")
	if err := r.write(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	checkContains(t, "report", string(b), []string{
		"| | clusterdns | kubernetes | kubernetes in CoreDNS-1.15.0 | clusterdns / kubernetes | clusterdns / kubernetes in CoreDNS-1.15.0 |",
		"| queries per second, unbounded (median of 1 runs) | 300 | 200 | 150 | 1.50× | 2.00× |",
		"| RSS after sync | 50.0 MB | 100.0 MB | 200.0 MB | 0.50× | 0.25× |",
		"| start → ready and answering (median of 0 starts) | 1000.00 ms | 1000.00 ms | 2000.00 ms | 1.00× | 0.50× |",
		"| 1000 | 10000 | 1000.00 ms | 1000.00 ms | 2000.00 ms |",
		"| 1000 | 10000 | 2000 | 1m30s | 300 | 200 | 150 | 400 | 1000.00 ms | 1000.00 ms | 2000.00 ms |",
		"| 1000 | 50.0 MB | 100.0 MB | 200.0 MB | 10.0 MB | 0.50× | 0.25× | 25.0 MB | 50.0 MB | 100.0 MB | 0.50× | 0.25× |",
		"| ours | 100.0 MB | 40.0 MB (10.0 + 30.0) | 4.0 MB |",
		"| end of the API write call → changed answer, kubernetes in CoreDNS-1.15.0 | 1.00 ms |",
		"The curve stopped before the last size asked for: at 2000 services: out of time.",
		"go install github.com/coredns/coredns@v1.15.0",
	}...)
}

func TestCommandLine(t *testing.T) {
	got := commandLine([]string{"-coredns", "/tmp/x/coredns", "-controlplane=/c/bin", "-stock", "/c/coredns", "-quick", "-sizes", "1000,2000", "-stock="})
	if want := "bash bench/run.sh -quick -sizes 1000,2000 -stock="; got != want {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
	got = commandLine([]string{"-note", "the machine's 2 cores", "-sizes=1000"})
	if want := `bash bench/run.sh -note 'the machine'\''s 2 cores' -sizes=1000`; got != want {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
}

func TestAfterWrite(t *testing.T) {
	got := afterWrite([]time.Duration{30, 10, 50}, []time.Duration{20, 15, 45})
	if want := []time.Duration{10, 0, 5}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("afterWrite = %v, want %v", got, want)
	}
	if afterWrite([]time.Duration{1}, nil) != nil {
		t.Error("times without writes")
	}
}
