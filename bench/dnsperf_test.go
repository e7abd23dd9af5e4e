package main

import (
	"testing"
	"time"
)

const dnsperfOutput = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 15353 -d q.txt -l 3 -v
> NOERROR a.example A 0.000300
> NXDOMAIN b.example AAAA 0.000100
> NOERROR c.example A 0.000200
> NOERROR d.example A 0.004000
[Timeout] Query timed out: msg id 7

Statistics:

  Queries sent:         77427
  Queries completed:    77420 (99.99%)
  Queries lost:         7 (0.01%)

  Response codes:       NOERROR 51000 (65.87%), NXDOMAIN 26420 (34.13%)
  Average packet size:  request 27, response 85
  Run time (s):         3.008201
  Queries per second:   25738.639140

  Average Latency (s):  0.003381 (min 0.000023, max 0.056167)
  Latency StdDev (s):   0.003936
`

func TestParseDNSPerf(t *testing.T) {
	r, err := parseDNSPerf([]byte(dnsperfOutput))
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 77427 || r.Completed != 77420 || r.Lost != 7 {
		t.Errorf("sent/completed/lost = %d/%d/%d", r.Sent, r.Completed, r.Lost)
	}
	if r.QPS < 25738 || r.QPS > 25739 {
		t.Errorf("qps = %f", r.QPS)
	}
	if r.AvgLatency != 3381*time.Microsecond {
		t.Errorf("average latency = %s", r.AvgLatency)
	}
	if r.Rcodes["NOERROR"] != 51000 || r.Rcodes["NXDOMAIN"] != 26420 {
		t.Errorf("rcodes = %v", r.Rcodes)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{25, 100 * time.Microsecond}, {50, 200 * time.Microsecond}, {75, 300 * time.Microsecond}, {99, 4 * time.Millisecond}, {100, 4 * time.Millisecond}} {
		if got := r.percentile(tc.p); got != tc.want {
			t.Errorf("p%v = %s, want %s", tc.p, got, tc.want)
		}
	}
}

func TestParseDNSPerfRejectsOutputWithoutStatistics(t *testing.T) {
	if _, err := parseDNSPerf([]byte("dnsperf: invalid argument\n")); err == nil {
		t.Fatal("no error for output without statistics")
	}
}
