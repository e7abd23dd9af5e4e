package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// churnServer is what the -churn run measured of one server.
type churnServer struct {
	Name, Label string
	ReadyIn     time.Duration
	// CPU is its CPU seconds over the churn window, IdleCPU over the idle
	// window before it.
	CPU, IdleCPU float64
	// Latencies are from the end of each change's API write until the
	// server's answer showed it, at most the timeout.
	Latencies []time.Duration
	Queries   int64 // polling queries it was sent during the churn window
}

// churnResult is everything the -churn run measured, written as
// bench/CHURN.md.
type churnResult struct {
	Started, Finished  time.Time
	Machine, Command   string
	Version            string // our binary's -version
	StockVersion       string // empty when the run left stock CoreDNS out
	Note               string
	Quick              bool
	Services, Headless int
	Stats              clusterStats
	GrowTime           time.Duration
	Rate, Writers      int
	Duration           time.Duration // of each window, as asked
	IdleWindow, Window time.Duration // as they lasted
	WriteWindow        time.Duration // from the first tick to the end of the last write
	Scheduled, Missed  int           // ticks; of them, ones that found every writer busy
	Changes, Failed    int           // writes that succeeded, writes that failed
	Writes             []time.Duration
	Timeout            time.Duration
	Servers            []*churnServer // in the order they started, ours first
}

// label is how the report names a server.
func (r *churnResult) label(name string) string {
	if name == stock {
		return "kubernetes in " + r.StockVersion
	}
	return name
}

// server is the result of the named server, nil if it did not run.
func (r *churnResult) server(name string) *churnServer {
	for _, s := range r.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// planned is how many changes the rate and the duration ask for.
func (r *churnResult) planned() int { return int(float64(r.Rate) * r.Duration.Seconds()) }

// achievedRate is the changes applied per second of the write window.
func (r *churnResult) achievedRate() float64 {
	if r.WriteWindow <= 0 {
		return 0
	}
	return float64(r.Changes) / r.WriteWindow.Seconds()
}

// rateHeld reports whether at least 99% of the planned changes were
// applied: the pacing loses a tick at either end of the window, no more.
func (r *churnResult) rateHeld() bool { return float64(r.Changes) >= 0.99*float64(r.planned()) }

// idleShare is the server's idle CPU scaled to the length of the churn
// window, what it would have used in that time without the churn.
func (r *churnResult) idleShare(s *churnServer) float64 {
	if r.IdleWindow <= 0 {
		return 0
	}
	return s.IdleCPU * r.Window.Seconds() / r.IdleWindow.Seconds()
}

// cpuPerChange is the server's CPU seconds per change applied, less its
// idle share; NaN without changes.
func (r *churnResult) cpuPerChange(s *churnServer) float64 {
	if r.Changes == 0 {
		return math.NaN()
	}
	return (s.CPU - r.idleShare(s)) / float64(r.Changes)
}

// churnVerdict is one target: the compared server's figure at or below the
// reference's.
type churnVerdict struct {
	What            string
	Ours, Reference string // the figures, formatted
	Met             bool
}

// verdicts compares clusterdns with the kubernetes plugin of our binary on
// CPU per change and programming latency p99; none when either is
// missing.
func (r *churnResult) verdicts() []churnVerdict {
	a, b := r.server(ours), r.server(upstream)
	if a == nil || b == nil {
		return nil
	}
	ca, cb := r.cpuPerChange(a), r.cpuPerChange(b)
	_, _, pa, _, _ := latencyStats(a.Latencies, r.Timeout)
	_, _, pb, _, _ := latencyStats(b.Latencies, r.Timeout)
	return []churnVerdict{
		{What: "CPU per change ≤ the kubernetes plugin", Ours: cpuFigure(ca), Reference: cpuFigure(cb), Met: ca <= cb},
		{What: "programming latency p99 ≤ the kubernetes plugin", Ours: ms(pa), Reference: ms(pb), Met: len(a.Latencies) > 0 && pa <= pb},
	}
}

// cpuFigure formats CPU seconds per change.
func cpuFigure(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.6f s", v)
}

// metWord is a verdict as the reports write it.
func metWord(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}

// table is the main table, also printed at the end of the run.
func (r *churnResult) table() string {
	var b strings.Builder
	b.WriteString("| server | changes | achieved rate | CPU s per change | ratio to the kubernetes plugin | programming p50 | p99 | max |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	var ref float64
	if u := r.server(upstream); u != nil {
		ref = r.cpuPerChange(u)
	}
	for _, s := range r.Servers {
		p50, _, p99, worst, _ := latencyStats(s.Latencies, r.Timeout)
		c := r.cpuPerChange(s)
		fmt.Fprintf(&b, "| %s | %d | %.1f/s | %s | %s | %s | %s | %s |\n", s.Label, r.Changes, r.achievedRate(), cpuFigure(c), ratio(c, ref), ms(p50), ms(p99), ms(worst))
	}
	return b.String()
}

// markdown is the report.
func (r *churnResult) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Churn: the cost of a change in a big namespace")
	w("")
	w("Measured %s on %s with `%s`; the run took %s, of which growing the namespace %s.",
		r.Started.Format("2006-01-02"), r.Machine, r.Command, r.Finished.Sub(r.Started).Round(time.Second), r.GrowTime.Round(time.Second))
	w("Binaries: `cmd/coredns` built by `bench/run.sh` as the image builds it (%s), running clusterdns and the", r.Version)
	if r.StockVersion != "" {
		w("kubernetes plugin each in its own process, and stock %s (built by `bench/run.sh` from its own module)", r.StockVersion)
		w("running its own kubernetes plugin, all with the stanza of BENCHMARKS.md, started one at a time and each ready")
		w("before the next starts. All three watch the same changes at the same time.")
	} else {
		w("kubernetes plugin each in its own process with the stanza of BENCHMARKS.md, started one at a time and each")
		w("ready before the next starts. Both watch the same changes at the same time.")
	}
	if r.Quick {
		w("")
		w("**A smoke test of the harness (`-quick`), not a measurement.**")
	}
	if r.Note != "" {
		w("")
		w("%s", r.Note)
	}
	w("")
	w("Cluster: %d services in the one namespace `%s` (the generated services of BENCHMARKS.md with their", r.Services, churnNamespace)
	w("namespaces merged into one): %d EndpointSlices, %d endpoints; %d of the services are headless.", r.Stats.Slices, r.Stats.Endpoints, r.Headless)
	w("")
	w("Churn: %d changes per second planned for %s (%d changes), paced by a ticker that hands each change to one of %d",
		r.Rate, r.Duration, r.planned(), r.Writers)
	w("parallel writers; a tick that finds every writer busy is counted, not queued. Each change updates the IPv4")
	w("EndpointSlice of one headless service, round robin over all %d, moving one endpoint to a new address; the", r.Headless)
	w("update carries the slice as the previous update returned it, so a change is one API call.")
	w("")
	w("CPU per change: utime+stime from /proc/<pid>/stat over the churn window (from the first tick until every")
	w("change was seen or timed out, %s), minus the same server's CPU over an idle window of the same length", r.Window.Round(time.Millisecond))
	w("measured just before it (%s, scaled to the churn window's length), divided by the changes applied. The", r.IdleWindow.Round(time.Millisecond))
	w("churn window's CPU includes answering the polling queries below; each server's count is in the second table.")
	w("")
	w("Programming latency: every change applied is timed, from the end of its API write call until the server's")
	w("answer to an A query of the service (UDP, EDNS0 size %d, so that no address is truncated away) holds the new", churnBufsize)
	w("address; all servers are polled at once, each every millisecond. A change not seen within %s counts as %s", r.Timeout, r.Timeout)
	w("and is counted as a timeout.")
	w("")
	w("%s", strings.TrimSuffix(r.table(), "\n"))
	w("")
	for _, v := range r.verdicts() {
		w("- %s: **%s** (clusterdns %s, the kubernetes plugin %s).", v.What, metWord(v.Met), v.Ours, v.Reference)
	}
	held := "held"
	if !r.rateHeld() {
		held = "**missed**"
	}
	w("- Rate: %s. %d of %d planned changes applied (%.1f per second over %s); %d ticks of %d found every writer",
		held, r.Changes, r.planned(), r.achievedRate(), r.WriteWindow.Round(time.Millisecond), r.Missed, r.Scheduled)
	w("  busy; %d writes failed.", r.Failed)
	w("")
	w("| server | ready in | changes timed | timeouts | polling queries | CPU, churn window | CPU, idle window (scaled) |")
	w("|---|---|---|---|---|---|---|")
	for _, s := range r.Servers {
		_, _, _, _, timeouts := latencyStats(s.Latencies, r.Timeout)
		w("| %s | %s | %d | %d | %d | %.2f s | %.2f s |", s.Label, ms(s.ReadyIn), len(s.Latencies), timeouts, s.Queries, s.CPU, r.idleShare(s))
	}
	w("")
	p50, _, p99, worst, _ := latencyStats(r.Writes, time.Duration(math.MaxInt64))
	w("The API write call alone (a part all servers share, before their timing starts): p50 %s, p99 %s, max %s,", ms(p50), ms(p99), ms(worst))
	w("%d writes.", len(r.Writes))
	return b.String()
}
