package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// perfRun is what one dnsperf run measured.
type perfRun struct {
	Sent, Completed, Lost int
	QPS                   float64
	AvgLatency            time.Duration
	Rcodes                map[string]int
	latencies             []time.Duration // per query, only with verbose runs
}

// percentile returns the p-th percentile (0..100) of the per-query latencies.
func (r perfRun) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(r.latencies)))) - 1
	return r.latencies[max(0, min(i, len(r.latencies)-1))]
}

// perfLoad is how dnsperf loads a server.
type perfLoad struct {
	duration    time.Duration
	clients     int
	outstanding int
	maxQPS      int  // 0: as fast as the server answers
	verbose     bool // record every query's latency
	passes      int  // stop after this many passes through the file; 0: run for the duration
}

// runDNSPerf runs dnsperf against 127.0.0.1:port with the queries in file.
func runDNSPerf(port int, file string, l perfLoad) (perfRun, error) {
	args := []string{"-s", "127.0.0.1", "-p", strconv.Itoa(port), "-d", file,
		"-l", strconv.FormatFloat(l.duration.Seconds(), 'f', -1, 64),
		"-c", strconv.Itoa(max(1, l.clients)), "-q", strconv.Itoa(max(1, l.outstanding)), "-t", "2",
		// 2 MB socket buffers, so that answers are not dropped while dnsperf
		// itself is busy (writing -v lines); a loss is then the server's.
		"-b", "2048"}
	if l.maxQPS > 0 {
		args = append(args, "-Q", strconv.Itoa(l.maxQPS))
	}
	if l.verbose {
		args = append(args, "-v")
	}
	if l.passes > 0 {
		args = append(args, "-n", strconv.Itoa(l.passes))
	}
	cmd := exec.Command("dnsperf", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return perfRun{}, fmt.Errorf("dnsperf %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return parseDNSPerf(out)
}

// parseDNSPerf reads dnsperf's statistics and, from -v output, the latency
// of each answered query ("> NOERROR name TYPE 0.000123").
func parseDNSPerf(out []byte) (perfRun, error) {
	r := perfRun{Rcodes: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "> "):
			f := strings.Fields(line)
			if secs, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil && len(f) >= 4 {
				r.latencies = append(r.latencies, time.Duration(secs*float64(time.Second)))
			}
		case strings.HasPrefix(line, "Queries sent:"):
			r.Sent = firstInt(line)
		case strings.HasPrefix(line, "Queries completed:"):
			r.Completed = firstInt(line)
		case strings.HasPrefix(line, "Queries lost:"):
			r.Lost = firstInt(line)
		case strings.HasPrefix(line, "Queries per second:"):
			r.QPS, _ = strconv.ParseFloat(strings.Fields(line)[3], 64)
		case strings.HasPrefix(line, "Average Latency (s):"):
			secs, _ := strconv.ParseFloat(strings.Fields(line)[3], 64)
			r.AvgLatency = time.Duration(secs * float64(time.Second))
		case strings.HasPrefix(line, "Response codes:"):
			// NOERROR 77427 (100.00%), NXDOMAIN 12 (0.01%)
			for _, part := range strings.Split(strings.TrimPrefix(line, "Response codes:"), ",") {
				f := strings.Fields(part)
				if len(f) >= 2 {
					r.Rcodes[f[0]], _ = strconv.Atoi(f[1])
				}
			}
		}
	}
	if r.Completed == 0 && r.Sent == 0 {
		return r, fmt.Errorf("no statistics in dnsperf output:\n%s", out)
	}
	slices.Sort(r.latencies)
	return r, sc.Err()
}

func firstInt(line string) int {
	f := strings.Fields(line[strings.IndexByte(line, ':')+1:])
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}
