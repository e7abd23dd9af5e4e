// Command bench measures clusterdns beside CoreDNS's kubernetes plugin, in
// the same binary and in stock CoreDNS, on the same cluster, in the same
// run: queries per second
// under dnsperf with a realistic query mix, latency percentiles, CPU per
// query, memory after sync and during a relist, time to ready and DNS
// programming latency, with the whoami plugin as the server's ceiling. The
// cluster is served by a real kube-apiserver and etcd (test/controlplane)
// and grows through a list of sizes for the memory and qps curves. At each
// size it first measures the memory of clusterdns as deploy/ runs it (its
// Corefile, a full cache), which sizes the manifests' requests and limits.
//
// Two other runs replace the comparison: -soak loads clusterdns for a long
// time under churn (bench/SOAK.md), and -churn measures the cost of a change
// in one namespace of many services (bench/CHURN.md).
//
// bench/run.sh builds what it needs and runs it; see BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// options are the command's flags.
type options struct {
	coredns, cpBin  string
	stock           string
	quick           bool
	sizes           []int
	headline        int
	duration        time.Duration
	rounds          int
	starts          int
	startupOnly     bool
	changes         int
	latencyBound    time.Duration
	withCache       bool
	pprofDir        string
	out, chart      string
	soak            time.Duration
	soakOut         string
	churn           time.Duration
	churnOut        string
	churnServices   int
	churnRate       int
	churnWriters    int
	createWorkers   int
	keepControlDirs bool
	note            string
	deployCorefile  string
	settle          time.Duration
	cacheNames      int
}

func parseFlags() (*options, error) {
	o := &options{}
	var sizes string
	flag.StringVar(&o.coredns, "coredns", "", "coredns binary with clusterdns compiled in (required)")
	flag.StringVar(&o.cpBin, "controlplane", "", "directory of etcd and kube-apiserver, from test/controlplane/build.sh (required)")
	flag.StringVar(&o.stock, "stock", "", "stock CoreDNS binary (bench/run.sh builds v1.15.0) whose own kubernetes plugin is measured beside the two; empty to leave it out")
	flag.BoolVar(&o.quick, "quick", false, "small cluster and short runs: a smoke test of the harness, not a measurement")
	// 50,000 services have about 540,000 endpoints and 43,500 IPv4
	// ClusterIPs. The API server's /16 of ClusterIPs (65,534 addresses, 87
	// in every 100 services take one) holds up to about 75,000 services; a
	// wider range would slow every allocation, which writes the range's
	// bitmap to etcd.
	flag.StringVar(&sizes, "sizes", "1000,5000,10000,20000,50000", "cluster sizes in services, ascending, for the curves (at most 70000)")
	flag.IntVar(&o.headline, "headline", 10000, "the size (one of -sizes) of the headline table")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "length of each dnsperf run")
	flag.IntVar(&o.rounds, "rounds", 3, "alternation rounds at the headline size (A, B, ceiling; A, B, ceiling; ...); one fewer at the other sizes")
	flag.IntVar(&o.starts, "starts", 3, "starts of each plugin at each size, alternated (A, B, A, B, ...), whose median is its start → ready")
	flag.BoolVar(&o.startupOnly, "startup-only", false, "measure start → ready at each size and nothing else; the report is that table alone")
	flag.IntVar(&o.changes, "changes", 200, "API changes for the programming-latency run")
	flag.DurationVar(&o.latencyBound, "latency-bound", 2*time.Millisecond, "p99 bound of the max-qps-at-bound search")
	flag.BoolVar(&o.withCache, "cache", true, "also measure both plugins behind the cache plugin (second table)")
	flag.StringVar(&o.pprofDir, "pprof", "", "write CPU and heap profiles of both plugins at the headline size into this directory (created if missing)")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "report file")
	flag.StringVar(&o.chart, "chart", "bench/benchmarks.png", "chart file (PNG; the same chart as SVG is written beside it)")
	flag.DurationVar(&o.soak, "soak", 0, "instead of the comparison, soak clusterdns at 80% of its capacity with churn for this long")
	flag.StringVar(&o.soakOut, "soak-out", "bench/SOAK.md", "report file of -soak")
	flag.DurationVar(&o.churn, "churn", 0, "instead of the comparison, measure CPU per change and programming latency of the servers while endpoints in one big namespace change, for this long (after an idle window as long)")
	flag.StringVar(&o.churnOut, "churn-out", "bench/CHURN.md", "report file of -churn")
	flag.IntVar(&o.churnServices, "churn-services", 10000, "services in the one namespace of -churn")
	flag.IntVar(&o.churnRate, "churn-rate", 100, "endpoint changes per second of -churn")
	flag.IntVar(&o.churnWriters, "churn-writers", 16, "parallel API writers of -churn")
	flag.IntVar(&o.createWorkers, "workers", 32, "parallel API writers while growing the cluster")
	flag.BoolVar(&o.keepControlDirs, "keep", false, "keep the control plane's directory (logs) after the run")
	flag.StringVar(&o.note, "note", "", "a remark on the conditions of the run, printed in the report")
	flag.StringVar(&o.deployCorefile, "deploy-corefile", "deploy/base/Corefile", "the Corefile the manifests ship, measured at each size for their memory requests and limits")
	flag.DurationVar(&o.settle, "settle", 30*time.Second, "how long the deployed server runs after ready before its settled RSS is read")
	flag.IntVar(&o.cacheNames, "cache-names", 20000, "distinct names outside the cluster put through the deployed server's cache (half answered, half NXDOMAIN), enough to fill it")
	flag.Parse()
	if o.coredns == "" || o.cpBin == "" {
		return nil, fmt.Errorf("-coredns and -controlplane are required (bench/run.sh sets them)")
	}
	if o.quick {
		sizes, o.headline, o.duration, o.rounds, o.changes = "200,500", 500, 2*time.Second, 1, 20
		if !flagSet("starts") {
			o.starts = 2 // enough to take the alternation through its paces
		}
		o.settle, o.cacheNames = 2*time.Second, 1000
		// Not over the committed reports, unless asked to.
		if !flagSet("out") {
			o.out = os.DevNull
		}
		if !flagSet("soak-out") {
			o.soakOut = os.DevNull
		}
		if !flagSet("churn-out") {
			o.churnOut = os.DevNull
		}
		if !flagSet("churn-services") {
			o.churnServices = 500
		}
		if !flagSet("chart") {
			// Drawn all the same, so that the smoke test covers the chart,
			// but not over the committed one.
			o.chart = filepath.Join(os.TempDir(), "clusterdns-bench-quick.png")
		}
		if o.soak > 0 {
			o.soak = 20 * time.Second
		}
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		// Whole namespaces only: the query generator picks each kind of
		// service inside the client's namespace.
		if err != nil || n < servicesPerNamespace || n%servicesPerNamespace != 0 {
			return nil, fmt.Errorf("-sizes: %q is not a multiple of %d services", s, servicesPerNamespace)
		}
		o.sizes = append(o.sizes, n)
	}
	if !slices.IsSorted(o.sizes) {
		return nil, fmt.Errorf("-sizes must be ascending")
	}
	if o.soak > 0 && o.churn > 0 {
		return nil, fmt.Errorf("-soak and -churn are separate runs")
	}
	if o.churn > 0 && (o.churnServices < 1 || o.churnServices > maxServices || o.churnRate < 1 || o.churnWriters < 1) {
		return nil, fmt.Errorf("-churn-services must be within 1..%d, -churn-rate and -churn-writers at least 1", maxServices)
	}
	if !slices.Contains(o.sizes, o.headline) && o.soak == 0 && o.churn == 0 {
		return nil, fmt.Errorf("-headline %d is not one of -sizes", o.headline)
	}
	if slices.Max(o.sizes) > maxServices {
		return nil, fmt.Errorf("-sizes: more than %d services do not fit the API server's service range", maxServices)
	}
	return o, nil
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// env is the running control plane and what the servers need to reach it.
type env struct {
	cp         *controlplane.ControlPlane
	cs         *kubernetes.Clientset
	kubeconfig string
}

func run(ctx context.Context, o *options) error {
	dir, err := os.MkdirTemp("", "clusterdns-bench-")
	if err != nil {
		return err
	}
	cp, err := controlplane.New(o.cpBin, dir)
	if err != nil {
		return err
	}
	defer func() {
		cp.StopAll()
		if o.keepControlDirs {
			logf("control plane files kept in %s", dir)
		} else {
			if err := os.RemoveAll(dir); err != nil {
				logf("control plane files left in %s: %v", dir, err)
			}
		}
	}()
	if err := cp.StartEtcd(true); err != nil {
		return err
	}
	if err := cp.StartAPIServer(ctx); err != nil {
		return err
	}
	e := &env{cp: cp, kubeconfig: cp.Path("bench.kubeconfig")}
	if err := cp.WriteKubeconfig(e.kubeconfig, cp.Token); err != nil {
		return err
	}
	rc := &rest.Config{Host: cp.APIURL(), BearerToken: cp.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile}, QPS: 5000, Burst: 5000,
		// Protobuf costs the API server less than JSON, and growing the
		// cluster is bound by the API server's CPU.
		ContentConfig: rest.ContentConfig{ContentType: "application/vnd.kubernetes.protobuf"}}
	if e.cs, err = kubernetes.NewForConfig(rc); err != nil {
		return err
	}
	if o.soak > 0 {
		return soak(ctx, o, e)
	}
	if o.churn > 0 {
		return churnRun(ctx, o, e)
	}
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
	}
	rep := &report{Started: time.Now().UTC(), Machine: machine(), Command: commandLine(os.Args[1:]), Quick: o.quick, latencyBound: o.latencyBound, note: o.note, settle: o.settle, cacheNames: o.cacheNames}
	if o.stock != "" {
		if rep.StockVersion, err = binaryVersion(o.stock); err != nil {
			return err
		}
	}
	// Before the cluster exists: each binary serving whoami alone.
	if !o.startupOnly {
		if rep.Idle, err = measureIdle(ctx, o, e, rep.StockVersion); err != nil {
			return err
		}
	}
	have := 0
	var failed error
	for _, size := range o.sizes {
		start := time.Now()
		err := grow(ctx, e.cs, have, size, o.createWorkers, func(done int) { logf("created %d services", done) })
		grown := time.Since(start)
		var p sizePoint
		if err == nil {
			have = size
			st := statsFor(size)
			logf("cluster: %d services, %d slices, %d endpoints (%d objects) in %s", st.Services, st.Slices, st.Endpoints, st.Objects(), grown.Round(time.Second))
			p, err = measureSize(ctx, o, e, st, size == o.headline)
		}
		if err != nil {
			failed = fmt.Errorf("at %d services: %w", size, err)
			break
		}
		p.GrowTime, p.MeasureTime = grown, time.Since(start)-grown
		rep.Points = append(rep.Points, p)
	}
	if o.startupOnly {
		rep.Finished = time.Now().UTC()
		if failed != nil {
			rep.Stopped = failed.Error()
		}
		if err := rep.writeStartupOnly(o.out); err != nil {
			return err
		}
		logf("report written to %s", o.out)
		return failed
	}
	if failed != nil && rep.headline() == nil {
		return failed
	}
	// A failure past the headline size leaves a report of the sizes
	// measured, which says where and why the curve stopped.
	if failed != nil {
		rep.Stopped = failed.Error()
	}
	rep.Finished = time.Now().UTC()
	if o.chart != "" {
		if err := rep.writeChart(o.chart); err != nil {
			return err
		}
		logf("chart written to %s and %s", o.chart, svgPath(o.chart))
	}
	if err := rep.write(o.out); err != nil {
		return err
	}
	logf("report written to %s", o.out)
	fmt.Print(rep.summary())
	return failed
}

// maxServices is the largest cluster the API server's service range fits:
// 87 of every 100 generated services take an IPv4 ClusterIP from its /16.
const maxServices = 70000

// binaryVersion is what a coredns binary's -version prints first, e.g.
// "CoreDNS-1.15.0".
func binaryVersion(path string) (string, error) {
	out, err := exec.Command(path, "-version").Output()
	if err != nil {
		return "", fmt.Errorf("%s -version: %w", path, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	if !strings.HasPrefix(first, "CoreDNS-") {
		return "", fmt.Errorf("%s -version: %q is not a CoreDNS version", path, first)
	}
	return strings.TrimSpace(first), nil
}

// commandLine is the command that reproduces the run: bench/run.sh with
// the arguments given, less the ones that run.sh supplies. run.sh passes
// -stock as two words; one given as -stock=path stays.
func commandLine(args []string) string {
	out := []string{"bash bench/run.sh"}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-coredns" || a == "-controlplane" || a == "-stock":
			i++
		case strings.HasPrefix(a, "-coredns=") || strings.HasPrefix(a, "-controlplane="):
		default:
			out = append(out, shellQuote(a))
		}
	}
	return strings.Join(out, " ")
}

// shellQuote returns a as one word of a POSIX shell command line.
func shellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@%") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// machine describes where the run happened.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.Fields(strings.Split(string(b), "\n")[0])[1]
		if kb, err := strconv.Atoi(mem); err == nil {
			mem = fmt.Sprintf(", %d GiB RAM", (kb+512*1024)/(1024*1024))
		}
	}
	return fmt.Sprintf("%s, %d CPUs%s, %s %s/%s", model, runtime.NumCPU(), mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
