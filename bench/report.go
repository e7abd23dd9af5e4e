package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
)

// report is everything one run measured, written as BENCHMARKS.md.
type report struct {
	Started, Finished time.Time
	Machine, Command  string
	Quick             bool
	Points            []sizePoint
	latencyBound      time.Duration
	note              string
	chartPath         string
	settle            time.Duration // of the deployed server, after ready
	cacheNames        int           // put through the deployed server's cache
	// StockVersion is stock CoreDNS's own -version ("CoreDNS-1.15.0");
	// empty when the run left it out.
	StockVersion string
	Idle         []idlePoint // each binary serving only whoami
	// Stopped says why the curve ended before the last size asked for;
	// empty when it did not.
	Stopped string
}

// columns adds a column per server of names to a table's header and rule
// rows, headed prefix and the server's label.
func (r *report) columns(head, rule *string, prefix string, names []string) {
	for _, n := range names {
		*head += " " + prefix + r.label(n) + " |"
		*rule += "---|"
	}
}

// label is how the report names a measured server.
func (r *report) label(name string) string {
	if name == stock {
		return "kubernetes in " + r.StockVersion
	}
	return name
}

// compared lists the servers of p that answer from the cluster, ours first.
func compared(p *sizePoint) []string {
	var out []string
	for _, name := range []string{ours, upstream, stock} {
		if p.Plugins[name] != nil {
			out = append(out, name)
		}
	}
	return out
}

func (r *report) headline() *sizePoint {
	for i := range r.Points {
		if r.Points[i].Headline != nil {
			return &r.Points[i]
		}
	}
	return nil
}

// ratio formats a/b, "n/a" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// latencyStats returns p50, p90, p99, max of ds and how many reached limit.
func latencyStats(ds []time.Duration, limit time.Duration) (p50, p90, p99, worst time.Duration, timeouts int) {
	s := perfRun{latencies: append([]time.Duration(nil), ds...)}
	sort.Slice(s.latencies, func(i, j int) bool { return s.latencies[i] < s.latencies[j] })
	for _, d := range ds {
		if d >= limit {
			timeouts++
		}
	}
	if len(ds) == 0 {
		return
	}
	return s.percentile(50), s.percentile(90), s.percentile(99), s.latencies[len(ds)-1], timeouts
}

// fitLine returns a and b of y = a + b·x by least squares, or NaN for both
// without two distinct x values to draw a line through.
func fitLine(xs, ys []float64) (a, b float64) {
	if len(xs) < 2 || slices.Min(xs) == slices.Max(xs) {
		return math.NaN(), math.NaN()
	}
	return stat.LinearRegression(xs, ys, nil, false)
}

// fitMB fits a memory figure in MB against thousands of services plus
// endpoints, over the sizes where bytes has it.
func (r *report) fitMB(bytes func(p sizePoint) (int64, bool)) (a, b float64) {
	var xs, ys []float64
	for _, p := range r.Points {
		if y, ok := bytes(p); ok {
			xs = append(xs, float64(p.Stats.Items())/1000)
			ys = append(ys, mb(y))
		}
	}
	return fitLine(xs, ys)
}

func (r *report) write(path string) error {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Benchmarks: clusterdns beside the kubernetes plugin")
	w("")
	w("Measured %s on %s; the run took %s.", r.Started.Format("2006-01-02"), r.Machine, r.Finished.Sub(r.Started).Round(time.Second))
	w("Both plugins run in the same `coredns` binary (`cmd/coredns`), on the same cluster, in the same run, each in its")
	if r.StockVersion != "" {
		w("own process so that memory is its own, and beside them stock %s (built from its module, every in-tree", r.StockVersion)
		w("plugin) runs its own kubernetes plugin with the same stanza: what clusters run today. Load runs alternate between")
		w("them (clusterdns, kubernetes, stock, whoami; clusterdns, ...) so that drift of the machine hits all. The figures")
	} else {
		w("own process so that memory is its own; load runs alternate between them (clusterdns, kubernetes, whoami;")
		w("clusterdns, ...) so that drift of the machine hits all. The figures")
	}
	w("that matter are the ratios; absolute numbers depend on the machine. Nothing here is asserted by a test.")
	w("")
	if r.note != "" {
		w("%s", r.note)
		w("")
	}
	w("Reproduce with `make benchmark` (which runs `bash bench/run.sh`); `bash bench/run.sh -h` lists the")
	w("options. This run: `%s`.", r.Command)
	w("")
	hp := r.headline()
	if hp != nil {
		r.writeTargets(w, hp)
		r.writeHeadline(w, hp)
	}
	r.writeIdle(w)
	r.writeCurve(w)
	r.writeStartup(w)
	if hp != nil {
		r.writeSetup(w, hp)
	}
	// Measurements made by other commands live below keptMarker; a new run
	// replaces everything above it.
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), keptMarker); i >= 0 {
			b.WriteString(string(old[i:]))
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// keptMarker starts the part of the report that a run leaves as it is.
const keptMarker = "<!-- Measured by other commands; bench/run.sh keeps what follows. -->"

func (r *report) writeHeadline(w func(string, ...any), p *sizePoint) {
	h := p.Headline
	top := p.Plugins[ceiling]
	names := compared(p)
	pt := func(name string) *pluginPoint { return p.Plugins[name] }
	w("## Headline: %d services, %d endpoints (%d Services + EndpointSlices)", p.Stats.Services, p.Stats.Endpoints, p.Stats.Objects())
	w("")
	w("No `cache` plugin in front of any (kubeadm's Corefile turns cache off for cluster.local answers).")
	w("")
	head, rule := "| |", "|---|"
	r.columns(&head, &rule, "", names)
	r.columns(&head, &rule, "clusterdns / ", names[1:])
	w("%s", head)
	w("%s", rule)
	// row writes one line: a cell per server and, when num is given, the
	// ratio of clusterdns to each of the others.
	row := func(what string, cell func(name string) string, num func(name string) float64) {
		line := "| " + what + " |"
		for _, n := range names {
			line += " " + cell(n) + " |"
		}
		for _, n := range names[1:] {
			if num == nil {
				line += " |"
			} else {
				line += " " + ratio(num(ours), num(n)) + " |"
			}
		}
		w("%s", line)
	}
	qps := func(n string) float64 { return median(pt(n).QPS) }
	qc := median(top.QPS)
	row(fmt.Sprintf("queries per second, unbounded (median of %d runs)", len(pt(ours).QPS)), func(n string) string { return fmt.Sprintf("%.0f", qps(n)) }, qps)
	row(fmt.Sprintf("share of the whoami ceiling (%.0f qps)", qc), func(n string) string { return fmt.Sprintf("%.0f%%", 100*qps(n)/qc) }, nil)
	bound := func(n string) float64 { return h.BoundQPS[n] }
	row(fmt.Sprintf("queries per second with p99 ≤ %s, at most 1%% lost", ms(r.latencyBound)), func(n string) string { return fmt.Sprintf("%.0f", bound(n)) }, bound)
	for i, pname := range []string{"p50", "p90", "p99", "p99.9"} {
		lat := func(n string) float64 {
			if len(h.Percentiles[n]) <= i {
				return 0
			}
			return float64(h.Percentiles[n][i])
		}
		row(fmt.Sprintf("latency %s at %d qps offered", pname, h.OfferedQPS), func(n string) string { return ms(time.Duration(lat(n))) }, lat)
	}
	row(fmt.Sprintf("queries lost at %d qps offered (whoami: %d)", h.OfferedQPS, h.LostAtOffered[ceiling]), func(n string) string { return fmt.Sprint(h.LostAtOffered[n]) }, nil)
	cpu := func(n string) float64 { return median(pt(n).CPUPer100k) }
	row("CPU seconds per 100,000 queries", func(n string) string { return fmt.Sprintf("%.2f", cpu(n)) }, cpu)
	rss := func(n string) float64 { return float64(pt(n).RSS) }
	row("RSS after sync", func(n string) string { return fmt.Sprintf("%.1f MB", mb(pt(n).RSS)) }, rss)
	above := func(n string) float64 { return float64(pt(n).RSS - top.RSS) }
	row(fmt.Sprintf("RSS after sync above our binary's whoami server (%.1f MB)", mb(top.RSS)), func(n string) string { return fmt.Sprintf("%.1f MB", above(n)/(1<<20)) }, above)
	heap := func(n string) float64 { return pt(n).Heap }
	row("live Go heap after sync", func(n string) string { return fmt.Sprintf("%.1f MB", heap(n)/1e6) }, heap)
	peak := func(n string) float64 { return float64(pt(n).PeakSyncRSS) }
	row("peak RSS during the initial sync", func(n string) string { return fmt.Sprintf("%.1f MB", mb(pt(n).PeakSyncRSS)) }, peak)
	if h.Relist[ours] != nil {
		rel := func(n string) string {
			if rr := h.Relist[n]; rr != nil {
				return fmt.Sprintf("%.2f", float64(rr.PeakRSS)/float64(rr.SteadyRSS))
			}
			return "n/a"
		}
		row("peak RSS during a forced relist / RSS before it", rel, nil)
		back := func(n string) string {
			if rr := h.Relist[n]; rr != nil {
				return ms(rr.Recovered)
			}
			return "n/a"
		}
		row("API server back → a new service answered", back, nil)
	}
	ready := func(n string) float64 { return float64(pt(n).ReadyIn) }
	row(fmt.Sprintf("start → ready and answering (median of %d starts)", len(pt(ours).Starts)), func(n string) string { return ms(pt(n).ReadyIn) }, ready)
	readyHTTP := func(n string) float64 { return float64(pt(n).ReadyHTTP) }
	row(fmt.Sprintf("start → /ready 200 (median of %d starts)", len(pt(ours).Starts)), func(n string) string { return ms(pt(n).ReadyHTTP) }, readyHTTP)
	w("")
	if len(h.Programming[ours]) > 0 {
		w("Programming latency: %d changes, alternately a new ClusterIP service and an endpoint of a headless", len(h.Programming[ours]))
		w("service moved to a new address, timed from the start of the API write until the server's answer")
		w("shows it (each server is polled every millisecond over UDP). The API write row is how long the write call")
		w("itself took, a part all servers share: a new Service waits for its ClusterIP to be allocated and stored.")
		w("The last rows count from the end of the write call instead (0 when the answer came first).")
		w("")
		w("| programming latency | p50 | p90 | p99 | max |")
		w("|---|---|---|---|---|")
		for _, name := range append(slices.Clone(names), apiWrite) {
			if len(h.Programming[name]) == 0 {
				continue
			}
			p50, p90, p99, worst, timeouts := latencyStats(h.Programming[name], h.ProgrammingLimit)
			what := "API write → changed answer, " + r.label(name)
			if name == apiWrite {
				what = "the API write call alone"
			}
			w("| %s | %s | %s | %s | %s%s |", what, ms(p50), ms(p90), ms(p99), ms(worst), timeoutNote(timeouts))
		}
		for _, name := range names {
			if after := afterWrite(h.Programming[name], h.Programming[apiWrite]); after != nil {
				p50, p90, p99, worst, _ := latencyStats(after, h.ProgrammingLimit)
				w("| end of the API write call → changed answer, %s | %s | %s | %s | %s |", r.label(name), ms(p50), ms(p90), ms(p99), ms(worst))
			}
		}
		w("")
	}
	if len(h.Cached) > 0 {
		ca, cb := median(h.Cached[ours+"+cache"]), median(h.Cached[upstream+"+cache"])
		w("With `cache 30` in front of each plugin of our binary (same query file; most answers then come from the cache):")
		w("")
		w("| | clusterdns + cache | kubernetes + cache | ratio |")
		w("|---|---|---|---|")
		w("| queries per second, unbounded | %.0f | %.0f | %s |", ca, cb, ratio(ca, cb))
		w("")
	}
	if len(h.Profiles) > 0 {
		w("Profiles of this run (clusterdns and the kubernetes plugin of our binary): %s.", strings.Join(h.Profiles, ", "))
		w("")
	}
}

// writeIdle reports each binary serving only whoami.
func (r *report) writeIdle(w func(string, ...any)) {
	if len(r.Idle) == 0 {
		return
	}
	w("## Idle: each binary serving only whoami")
	w("")
	w("Before the cluster exists, each binary alone runs `bind`, `prometheus`, `ready`, `pprof` and `whoami`, with no")
	w("load; its memory is read %s after `/ready` first answers 200.", idleSettle)
	w("")
	w("| binary | executable | RSS (anon + file) | live Go heap |")
	w("|---|---|---|---|")
	for _, p := range r.Idle {
		w("| %s | %.1f MB | %.1f MB (%.1f + %.1f) | %.1f MB |", p.Binary, mb(p.Size), mb(p.Memory.RSS), mb(p.Memory.Anon), mb(p.Memory.File), p.Heap/1e6)
	}
	w("")
}

// writeTargets compares the run with the targets the project set itself.
func (r *report) writeTargets(w func(string, ...any), hp *sizePoint) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	us, them, top := hp.Plugins[ours], hp.Plugins[upstream], hp.Plugins[ceiling]
	largest := r.Points[len(r.Points)-1]
	la, lb := largest.Plugins[ours], largest.Plugins[upstream]
	h := hp.Headline
	w("## Targets")
	w("")
	w("| target | measured | |")
	w("|---|---|---|")
	qa, qb, qc := median(us.QPS), median(them.QPS), median(top.QPS)
	w("| qps ≥ 1.5× the kubernetes plugin on the realistic mix | %s | %s |", ratio(qa, qb), verdict(qa >= 1.5*qb))
	w("| qps ≥ 90%% of the whoami ceiling | %.0f%% | %s |", 100*qa/qc, verdict(qa >= 0.9*qc))
	w("| memory after sync ≤ 0.4× at the largest size (%d Services + endpoints): live Go heap | %s | %s |", largest.Stats.Items(), ratio(la.Heap, lb.Heap), verdict(la.Heap <= 0.4*lb.Heap))
	w("| the same, RSS of the whole process | %s | %s |", ratio(float64(la.RSS), float64(lb.RSS)), verdict(la.RSS*10 <= lb.RSS*4))
	if ra := h.Relist[ours]; ra != nil {
		peak := float64(ra.PeakRSS) / float64(ra.SteadyRSS)
		w("| relist peak ≤ 1.2× steady RSS (%d services) | %.2f× | %s |", hp.Stats.Services, peak, verdict(peak <= 1.2))
	}
	_, _, p99, _, timeouts := latencyStats(h.Programming[ours], h.ProgrammingLimit)
	w("| programming latency p99 ≤ 50 ms | %s | %s |", ms(p99), verdict(p99 <= 50*time.Millisecond && timeouts == 0))
	w("")
}

// afterWrite returns, change by change, how much longer than the API write
// call a server took to answer it (0 when the answer came first: the watch
// event can arrive before the call returns); nil without write times.
func afterWrite(seen, writes []time.Duration) []time.Duration {
	if len(writes) == 0 || len(seen) != len(writes) {
		return nil
	}
	out := make([]time.Duration, len(seen))
	for i := range seen {
		out[i] = max(0, seen[i]-writes[i])
	}
	return out
}

func timeoutNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d not seen within the limit)", n)
}

func (r *report) writeCurve(w func(string, ...any)) {
	w("## By cluster size")
	w("")
	if r.chartPath != "" {
		w("![queries per second and memory by cluster size](%s) ([SVG](%s))", r.chartPath, filepath.ToSlash(svgPath(r.chartPath)))
		w("")
	}
	if len(r.Points) == 0 {
		return
	}
	names := compared(&r.Points[0])
	head, rule := "| services | endpoints | Services + EndpointSlices | created in |", "|---|---|---|---|"
	r.columns(&head, &rule, "qps ", append(slices.Clone(names), ceiling))
	r.columns(&head, &rule, "ready ", names)
	w("%s", head)
	w("%s", rule)
	for _, p := range r.Points {
		line := fmt.Sprintf("| %d | %d | %d | %s |", p.Stats.Services, p.Stats.Endpoints, p.Stats.Objects(), p.GrowTime.Round(time.Second))
		for _, n := range append(slices.Clone(names), ceiling) {
			line += fmt.Sprintf(" %.0f |", median(p.Plugins[n].QPS))
		}
		for _, n := range names {
			line += " " + ms(p.Plugins[n].ReadyIn) + " |"
		}
		w("%s", line)
	}
	w("")
	w("Memory after sync, and the ratio of clusterdns's to each other server's:")
	w("")
	head, rule = "| services |", "|---|"
	r.columns(&head, &rule, "RSS ", append(slices.Clone(names), ceiling))
	r.columns(&head, &rule, "RSS ratio to ", names[1:])
	r.columns(&head, &rule, "heap ", names)
	r.columns(&head, &rule, "heap ratio to ", names[1:])
	w("%s", head)
	w("%s", rule)
	for _, p := range r.Points {
		a := p.Plugins[ours]
		line := fmt.Sprintf("| %d |", p.Stats.Services)
		for _, n := range append(slices.Clone(names), ceiling) {
			line += fmt.Sprintf(" %.1f MB |", mb(p.Plugins[n].RSS))
		}
		for _, n := range names[1:] {
			line += " " + ratio(float64(a.RSS), float64(p.Plugins[n].RSS)) + " |"
		}
		for _, n := range names {
			line += fmt.Sprintf(" %.1f MB |", p.Plugins[n].Heap/1e6)
		}
		for _, n := range names[1:] {
			line += " " + ratio(a.Heap, p.Plugins[n].Heap) + " |"
		}
		w("%s", line)
	}
	w("")
	if r.Stopped != "" {
		w("The curve stopped before the last size asked for: %s.", r.Stopped)
		w("")
	}
	if a, b := r.fitMB(func(p sizePoint) (int64, bool) { return p.Plugins[ours].RSS, true }); !math.IsNaN(a) {
		w("Sizing: a least-squares line through clusterdns's RSS above gives **RSS ≈ %.0f MB + %.2f MB per 1,000 (services + endpoints)**.", a, b)
		w("")
	}
	r.writeDeployed(w)
}

// writeDeployed reports clusterdns as deploy/ runs it, with the fits that
// size the manifests' memory request and limit.
func (r *report) writeDeployed(w func(string, ...any)) {
	var rows []sizePoint
	for _, p := range r.Points {
		if p.Deployed != nil {
			rows = append(rows, p)
		}
	}
	if len(rows) == 0 {
		return
	}
	w("### clusterdns as deployed")
	w("")
	w("Before the comparison at each size, alone on the machine: the same binary with `deploy/base/Corefile` (on")
	w("loopback ports, reading the API through a kubeconfig, `forward` sending to a local resolver). RSS when")
	w("`/ready` first answers 200; %s later (settled; its anonymous and file-backed parts, the latter the binary's", r.settle)
	w("own pages); after %d distinct names outside the cluster went through `cache` (half answered, half NXDOMAIN:", r.cacheNames)
	w("a full cache); and the peak (VmHWM) by then. deploy/README.md sizes requests and limits from these lines.")
	w("")
	w("| services | endpoints | ready in | RSS at ready | settled (anon + file) | with a full cache | peak |")
	w("|---|---|---|---|---|---|---|")
	for _, p := range rows {
		d := p.Deployed
		w("| %d | %d | %s | %.1f MB | %.1f MB (%.1f + %.1f) | %.1f MB | %.1f MB |", p.Stats.Services, p.Stats.Endpoints, ms(d.ReadyIn),
			mb(d.AtReady.RSS), mb(d.Settled.RSS), mb(d.Settled.Anon), mb(d.Settled.File), mb(d.Cached.RSS), mb(d.Cached.Peak))
	}
	w("")
	fits := []struct {
		what  string
		bytes func(d *deployedPoint) int64
	}{
		{"settled", func(d *deployedPoint) int64 { return d.Settled.RSS }},
		{"with a full cache", func(d *deployedPoint) int64 { return d.Cached.RSS }},
		{"peak", func(d *deployedPoint) int64 { return d.Cached.Peak }},
	}
	var lines []string
	for _, f := range fits {
		a, b := r.fitMB(func(p sizePoint) (int64, bool) {
			if p.Deployed == nil {
				return 0, false
			}
			return f.bytes(p.Deployed), true
		})
		if !math.IsNaN(a) {
			lines = append(lines, fmt.Sprintf("    %-20s MB = %.0f + %.2f x", f.what+":", a, b))
		}
	}
	if len(lines) > 0 {
		w("Least-squares lines through these rows, with *x* = (services + endpoints) / 1000:")
		w("")
		for _, l := range lines {
			w("%s", l)
		}
		w("")
	}
}

func (r *report) writeSetup(w func(string, ...any), p *sizePoint) {
	h := p.Headline
	w("## Set-up")
	w("")
	w("- Cluster: a real kube-apiserver and etcd (built from their Go modules by `test/controlplane/build.sh`)")
	w("  on loopback. Per 100 services: 10 headless with 2–100 ready endpoints (half with hostnames), 3")
	w("  ExternalName, 87 with a ClusterIP, one in five of those dual-stack (an IPv4 and an IPv6 slice); ClusterIP")
	w("  services have 1–10 endpoints; every service has two named TCP ports. 100 services per namespace.")
	w("- Binary: `coredns` built as the image builds it (`CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags=\"-s -w\"`,")
	w("  see `build/image/binary.go`), so that its memory is that of what ships.")
	if r.StockVersion != "" {
		w("- Stock: %s, built by `bench/run.sh` from its own module with `go install github.com/coredns/coredns@v%s`", r.StockVersion, strings.TrimPrefix(r.StockVersion, "CoreDNS-"))
		w("  and the same flags: every in-tree plugin, its own `kubernetes` plugin and the versions of its own go.mod.")
	}
	w("- Servers: `coredns` with `bind`, `prometheus`, `ready`, `pprof` and the plugin stanza kubeadm writes (`pods insecure`,")
	w("  `fallthrough in-addr.arpa ip6.arpa`, `ttl 30`), on 127.0.0.1; the ceiling is our binary serving `whoami`.")
	w("  Default GOGC and no memory limit. RSS is VmRSS from /proc; the peak is VmHWM (reset before the relist);")
	w("  the live heap is `go_memstats_heap_alloc_bytes` right after a collection forced through `pprof`.")
	w("- Load: `dnsperf` (Debian), 4 client sockets, up to 100 queries in flight for the unbounded runs; the latency")
	w("  percentiles come from every answered query of `dnsperf -v` at a fixed offered rate, half of the slowest")
	w("  server's unbounded rate. The bounded-qps search halves the interval between 0 and 1.1× the unbounded rate.")
	w("  `dnsperf -v` (needed for per-query latencies) sends in bursts when its printing holds it up; queries")
	w("  that overflow the server's default UDP receive buffer then are lost, for the ceiling as for the plugins")
	w("  (the lost row above). The unbounded runs, without `-v`, lost %d queries in all at this size.", unboundedLost(p))
	w("- Query mix: %d lookups by pods in random namespaces (resolv.conf `ndots:5`, kubelet's search list), %d", h.Lookups, h.Queries)
	w("  queries in all:")
	w("")
	w("  | lookup | share of lookups |")
	w("  |---|---|")
	for _, l := range queryMix {
		w("  | %s | %d%% |", l.what, l.percent)
	}
	w("")
	var types []string
	for t, n := range h.QueryTypes {
		types = append(types, fmt.Sprintf("%s %.1f%%", t, 100*float64(n)/float64(h.Queries)))
	}
	sort.Strings(types)
	w("  By query type: %s.", strings.Join(types, ", "))
	if rc := p.Plugins[ours].Rcodes; len(rc) > 0 {
		var parts []string
		total := 0
		for _, n := range rc {
			total += n
		}
		for code, n := range rc {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", code, 100*float64(n)/float64(total)))
		}
		sort.Strings(parts)
		w("  Answers (clusterdns): %s.", strings.Join(parts, ", "))
	}
	w("")
}

// unboundedLost is how many queries the unbounded runs at p lost, over all
// servers and rounds.
func unboundedLost(p *sizePoint) int {
	n := 0
	for _, pp := range p.Plugins {
		n += pp.Lost
	}
	return n
}

// summary is the headline in a few lines for the terminal.
func (r *report) summary() string {
	p := r.headline()
	if p == nil {
		return ""
	}
	us, them, top := p.Plugins[ours], p.Plugins[upstream], p.Plugins[ceiling]
	return fmt.Sprintf("qps clusterdns %.0f, kubernetes %.0f (%s), whoami %.0f; RSS %.1f MB vs %.1f MB (%s)\n",
		median(us.QPS), median(them.QPS), ratio(median(us.QPS), median(them.QPS)), median(top.QPS),
		mb(us.RSS), mb(them.RSS), ratio(float64(us.RSS), float64(them.RSS)))
}

// writeChart draws qps and memory against cluster size.
func (r *report) writeChart(path string) error {
	if len(r.Points) == 0 {
		return nil
	}
	names := append(compared(&r.Points[0]), ceiling)
	var xs []float64
	qps := map[string][]float64{}
	mem := map[string][]float64{}
	for _, p := range r.Points {
		xs = append(xs, float64(p.Stats.Items()))
		for _, name := range names {
			qps[name] = append(qps[name], median(p.Plugins[name].QPS))
			mem[name] = append(mem[name], mb(p.Plugins[name].RSS))
		}
	}
	series := func(m map[string][]float64) []Series {
		var out []Series
		for _, n := range names {
			// The legend's slots are narrow: stock CoreDNS by its version.
			label := n
			if n == stock {
				label = r.StockVersion
			}
			out = append(out, Series{Name: label, Values: m[n]})
		}
		return out
	}
	if err := WriteChart(path,
		Panel{Title: "queries per second (realistic mix)", XLabel: "services + endpoints", YLabel: "qps", X: xs, Series: series(qps)},
		Panel{Title: "memory after sync (RSS)", XLabel: "services + endpoints", YLabel: "MB", X: xs, Series: series(mem)},
	); err != nil {
		return err
	}
	r.chartPath = filepath.ToSlash(path)
	return nil
}
