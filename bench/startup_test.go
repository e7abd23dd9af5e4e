package main

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestStartupSchedule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		names  []string
		starts int
		want   []string
	}{
		{"alternated", []string{"a", "b"}, 3, []string{"a", "b", "a", "b", "a", "b"}},
		{"three servers", []string{"a", "b", "c"}, 2, []string{"a", "b", "c", "a", "b", "c"}},
		{"at least once", []string{"a", "b"}, 0, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := startupSchedule(tc.names, tc.starts); !slices.Equal(got, tc.want) {
				t.Errorf("startupSchedule(%v, %d) = %v, want %v", tc.names, tc.starts, got, tc.want)
			}
		})
	}
}

func TestReadyAnswers(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name            string
		runs            []startupRun
		ready, answered time.Duration
	}{
		{"median of three", []startupRun{{300 * ms, 310 * ms}, {100 * ms, 400 * ms}, {200 * ms, 200 * ms}}, 200 * ms, 310 * ms},
		{"the later of the two", []startupRun{{50 * ms, 20 * ms}}, 50 * ms, 50 * ms},
		{"none", nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready, both := readyAnswers(tc.runs)
			if ready != tc.ready || both != tc.answered {
				t.Errorf("readyAnswers = %s, %s; want %s, %s", ready, both, tc.ready, tc.answered)
			}
		})
	}
}

func TestAnswerProbe(t *testing.T) {
	p := answerProbe{name: "svc-00999.bench-009.svc.cluster.local.", ip: "10.96.3.4"}
	answer := func(rcode int, ips ...string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(p.name, dns.TypeA)
		m.Rcode = rcode
		for _, ip := range ips {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: p.name, Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.ParseIP(ip)})
		}
		return m
	}
	for _, tc := range []struct {
		name string
		m    *dns.Msg
		want bool
	}{
		{"its ClusterIP", answer(dns.RcodeSuccess, "10.96.3.4"), true},
		{"another address", answer(dns.RcodeSuccess, "10.96.3.5"), false},
		{"no answer", answer(dns.RcodeSuccess), false},
		{"NXDOMAIN", answer(dns.RcodeNameError), false},
		{"SERVFAIL before sync", answer(dns.RcodeServerFailure), false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.correct(tc.m); got != tc.want {
				t.Errorf("correct = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStartupReport(t *testing.T) {
	ms := time.Millisecond
	pp := func(runs ...startupRun) *pluginPoint {
		p := &pluginPoint{Starts: runs}
		p.ReadyHTTP, p.ReadyIn = readyAnswers(runs)
		return p
	}
	r := &report{Started: time.Now(), Finished: time.Now(), Machine: "test machine", Command: "bench -startup-only"}
	r.Points = []sizePoint{{
		Stats: clusterStats{Services: 1000, Endpoints: 10000},
		Plugins: map[string]*pluginPoint{
			ours:     pp(startupRun{100 * ms, 101 * ms}, startupRun{120 * ms, 120 * ms}, startupRun{90 * ms, 95 * ms}),
			upstream: pp(startupRun{150 * ms, 240 * ms}, startupRun{160 * ms, 200 * ms}, startupRun{140 * ms, 210 * ms}),
		},
	}}
	path := filepath.Join(t.TempDir(), "S.md")
	if err := r.writeStartupOnly(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	checkContains(t, "report", string(b), []string{
		"| services | endpoints | ready and answering, clusterdns | ready and answering, kubernetes | /ready 200, clusterdns | /ready 200, kubernetes | clusterdns / kubernetes |",
		"| 1000 | 10000 | 101.00 ms | 210.00 ms | 100.00 ms | 150.00 ms | 0.48× |",
		"| 1000 | kubernetes | 150 / 240 ms, 160 / 200 ms, 140 / 210 ms |",
		"started 3 times",
	}...)
}
