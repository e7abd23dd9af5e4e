package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

// churnFixture is a run of 1000 changes over 10 s, after an idle window of
// 5 s, with the servers' figures as given.
func churnFixture(servers ...*churnServer) *churnResult {
	r := &churnResult{StockVersion: "CoreDNS-1.15.0", Rate: 100, Duration: 10 * time.Second, Changes: 1000, Scheduled: 1000,
		IdleWindow: 5 * time.Second, Window: 10 * time.Second, WriteWindow: 10 * time.Second, Timeout: time.Second}
	for _, s := range servers {
		s.Label = r.label(s.Name)
		r.Servers = append(r.Servers, s)
	}
	return r
}

func latencies(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, v := range ms {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestChurnCPUPerChange(t *testing.T) {
	tests := []struct {
		name         string
		cpu, idleCPU float64
		changes      int
		want         float64
	}{
		// 0.5 s idle in 5 s is 1 s in the 10 s churn window.
		{name: "idle subtracted, scaled", cpu: 3, idleCPU: 0.5, changes: 1000, want: 0.002},
		{name: "no idle CPU", cpu: 1, changes: 1000, want: 0.001},
		{name: "fewer changes", cpu: 3, idleCPU: 0.5, changes: 500, want: 0.004},
		{name: "no changes", cpu: 3, changes: 0, want: math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &churnServer{Name: ours, CPU: tc.cpu, IdleCPU: tc.idleCPU}
			r := churnFixture(s)
			r.Changes = tc.changes
			if got := r.cpuPerChange(s); !closeOrBothNaN(got, tc.want) {
				t.Errorf("cpuPerChange = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestChurnVerdicts(t *testing.T) {
	tests := []struct {
		name             string
		oursCPU, refCPU  float64
		oursLat, refLat  []time.Duration
		cpuMet, latMet   bool
		cpuText, latText string
	}{
		{name: "both met", oursCPU: 1, refCPU: 2, oursLat: latencies(1, 2, 3), refLat: latencies(1, 2, 4), cpuMet: true, latMet: true, cpuText: "0.001000 s", latText: "3.00 ms"},
		{name: "equal is met", oursCPU: 2, refCPU: 2, oursLat: latencies(5), refLat: latencies(5), cpuMet: true, latMet: true, cpuText: "0.002000 s", latText: "5.00 ms"},
		{name: "both missed", oursCPU: 3, refCPU: 2, oursLat: latencies(1, 9), refLat: latencies(1, 2), cpuMet: false, latMet: false, cpuText: "0.003000 s", latText: "9.00 ms"},
		{name: "timeouts count as the timeout", oursCPU: 1, refCPU: 2, oursLat: latencies(1, 1000), refLat: latencies(1, 999), cpuMet: true, latMet: false, cpuText: "0.001000 s", latText: "1000.00 ms"},
		{name: "nothing timed is missed", oursCPU: 1, refCPU: 2, oursLat: nil, refLat: latencies(1), cpuMet: true, latMet: false, cpuText: "0.001000 s", latText: "0.00 ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := churnFixture(&churnServer{Name: ours, CPU: tc.oursCPU, Latencies: tc.oursLat}, &churnServer{Name: upstream, CPU: tc.refCPU, Latencies: tc.refLat})
			v := r.verdicts()
			if len(v) != 2 {
				t.Fatalf("%d verdicts, want 2", len(v))
			}
			if v[0].Met != tc.cpuMet || v[0].Ours != tc.cpuText {
				t.Errorf("CPU verdict = %+v, want met %v with %s", v[0], tc.cpuMet, tc.cpuText)
			}
			if v[1].Met != tc.latMet || v[1].Ours != tc.latText {
				t.Errorf("latency verdict = %+v, want met %v with %s", v[1], tc.latMet, tc.latText)
			}
		})
	}
	if v := churnFixture(&churnServer{Name: ours}).verdicts(); v != nil {
		t.Errorf("verdicts without the kubernetes plugin = %v, want none", v)
	}
}

func TestChurnRate(t *testing.T) {
	tests := []struct {
		name    string
		changes int
		window  time.Duration
		rate    float64
		held    bool
	}{
		{name: "all", changes: 1000, window: 10 * time.Second, rate: 100, held: true},
		{name: "one tick short", changes: 999, window: 10 * time.Second, rate: 99.9, held: true},
		{name: "writes ran late", changes: 1000, window: 20 * time.Second, rate: 50, held: true},
		{name: "missed", changes: 800, window: 10 * time.Second, rate: 80, held: false},
		{name: "no window", changes: 0, window: 0, rate: 0, held: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := churnFixture()
			r.Changes, r.WriteWindow = tc.changes, tc.window
			if got := r.achievedRate(); math.Abs(got-tc.rate) > 1e-9 {
				t.Errorf("achievedRate = %v, want %v", got, tc.rate)
			}
			if got := r.rateHeld(); got != tc.held {
				t.Errorf("rateHeld = %v, want %v", got, tc.held)
			}
		})
	}
}

func TestChurnMarkdown(t *testing.T) {
	r := churnFixture(
		&churnServer{Name: ours, CPU: 2, IdleCPU: 0.5, Latencies: latencies(1, 2, 3, 4), Queries: 40},
		&churnServer{Name: upstream, CPU: 5, IdleCPU: 0.5, Latencies: latencies(1, 2, 3, 1000), Queries: 90},
		&churnServer{Name: stock, CPU: 5, IdleCPU: 0.5, Latencies: latencies(2, 2, 2, 2), Queries: 50},
	)
	r.Version, r.Command, r.Services, r.Headless = "CoreDNS-1.15.0", "bash bench/run.sh -churn 10s", 10000, 1000
	r.Changes, r.Missed = 980, 20
	r.Writes = latencies(10, 20, 30)
	md := r.markdown()
	checkContains(t, "report", md, []string{
		"# Churn: the cost of a change in a big namespace",
		"with `bash bench/run.sh -churn 10s`",
		"| clusterdns | 980 | 98.0/s | 0.001020 s | 0.25× | 2.00 ms | 4.00 ms | 4.00 ms |",
		"| kubernetes | 980 | 98.0/s | 0.004082 s | 1.00× | 2.00 ms | 1000.00 ms | 1000.00 ms |",
		"| kubernetes in CoreDNS-1.15.0 | 980 | 98.0/s | 0.004082 s | 1.00× |",
		"- CPU per change ≤ the kubernetes plugin: **met** (clusterdns 0.001020 s, the kubernetes plugin 0.004082 s).",
		"- programming latency p99 ≤ the kubernetes plugin: **met** (clusterdns 4.00 ms, the kubernetes plugin 1000.00 ms).",
		"- Rate: **missed**. 980 of 1000 planned changes applied (98.0 per second over 10s); 20 ticks of 1000 found every writer",
		"| kubernetes | 0.00 ms | 4 | 1 | 90 | 5.00 s | 1.00 s |",
		"p50 20.00 ms, p99 30.00 ms, max 30.00 ms,",
	}...)
	if strings.Contains(md, "smoke test") {
		t.Errorf("report of a full run calls itself a smoke test:\n%s", md)
	}
}
