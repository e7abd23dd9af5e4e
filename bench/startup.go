package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// startPoll is how often a starting server is asked whether it is ready
// and answering: fine enough that the poll adds little to a start of a
// few hundred milliseconds, coarse enough that the asking costs the
// server little (the ready plugin logs each refusal).
const startPoll = 2 * time.Millisecond

// startupRun is one start of a server, timed from its process start.
type startupRun struct {
	Ready    time.Duration // /ready first answered 200
	Answered time.Duration // the probe name first answered correctly
}

// both is when the server was ready and answering correctly: the later of
// the two.
func (r startupRun) both() time.Duration { return max(r.Ready, r.Answered) }

// startupSchedule is the order in which the servers are started to time
// their start-up: starts rounds, each server once per round (A, B, A, B,
// ...), so that drift of the machine over the rounds hits all alike.
func startupSchedule(names []string, starts int) []string {
	var out []string
	for range max(1, starts) {
		out = append(out, names...)
	}
	return out
}

// readyAnswers are the medians of runs: start → /ready 200, and start →
// ready and answering correctly.
func readyAnswers(runs []startupRun) (ready, both time.Duration) {
	var r, b []time.Duration
	for _, run := range runs {
		r = append(r, run.Ready)
		b = append(b, run.both())
	}
	return median(r), median(b)
}

// answerProbe is a query whose correct answer shows that a server answers
// from the cluster's content: the A record of a ClusterIP service.
type answerProbe struct {
	name string // FQDN
	ip   string // its ClusterIP
}

// correct reports whether m answers the probe with its ClusterIP.
func (p answerProbe) correct(m *dns.Msg) bool {
	if m == nil || m.Rcode != dns.RcodeSuccess {
		return false
	}
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok && a.A.String() == p.ip {
			return true
		}
	}
	return false
}

// probeFor returns the probe of a cluster of n services: the last service
// created, a ClusterIP one (slot 99 of its hundred), with the address the
// API server gave it.
func probeFor(ctx context.Context, e *env, n int) (answerProbe, error) {
	s := serviceAt(n - 1)
	if s.kind != kindClusterIP {
		return answerProbe{}, fmt.Errorf("service %d is not a single-stack ClusterIP service", n-1)
	}
	svc, err := e.cs.CoreV1().Services(s.ns).Get(ctx, s.name, metav1.GetOptions{})
	if err != nil {
		return answerProbe{}, err
	}
	return answerProbe{name: s.name + "." + s.ns + ".svc.cluster.local.", ip: svc.Spec.ClusterIP}, nil
}

// waitStarted polls s every startPoll until /ready answers 200 and the
// probe is answered correctly, and returns when each first happened.
func (s *server) waitStarted(ctx context.Context, probe answerProbe, timeout time.Duration) (startupRun, error) {
	readyURL := fmt.Sprintf("http://127.0.0.1:%d/ready", s.ready)
	client := &dns.Client{Net: "udp", Timeout: 100 * time.Millisecond}
	addr := "127.0.0.1:" + strconv.Itoa(s.dnsPort)
	q := new(dns.Msg)
	q.SetQuestion(probe.name, dns.TypeA)
	var run startupRun
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if run.Ready == 0 {
			if resp, err := http.Get(readyURL); err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					run.Ready = time.Since(s.started)
				}
			}
		}
		if run.Answered == 0 {
			if m, _, err := client.ExchangeContext(ctx, q, addr); err == nil && probe.correct(m) {
				run.Answered = time.Since(s.started)
			}
		}
		if run.Ready > 0 && run.Answered > 0 {
			return run, nil
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(startPoll):
		}
	}
	return run, fmt.Errorf("%s not ready and answering %s after %s", s.name, probe.name, timeout)
}

// timeStartups starts each server starts times, in startupSchedule's
// order and one at a time, and times each start; every start but the
// last of each server is stopped once timed, the last keeps running for
// the measurements that follow.
func timeStartups(ctx context.Context, o *options, e *env, servers []*server, probe answerProbe, starts int) (map[string][]startupRun, error) {
	byName := map[string]*server{}
	var names []string
	for _, s := range servers {
		byName[s.name] = s
		names = append(names, s.name)
	}
	order := startupSchedule(names, starts)
	out := map[string][]startupRun{}
	for i, name := range order {
		s := byName[name]
		if err := startServer(e.cp, o.coredns, s, e.kubeconfig); err != nil {
			return out, err
		}
		run, err := s.waitStarted(ctx, probe, 10*time.Minute)
		if err != nil {
			return out, err
		}
		out[name] = append(out[name], run)
		logf("%s start %d: ready in %s, answering in %s", name, len(out[name]), run.Ready.Round(time.Millisecond), run.Answered.Round(time.Millisecond))
		if i < len(order)-len(names) {
			e.cp.Stop(name)
		}
	}
	return out, nil
}
