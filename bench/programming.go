package main

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// change is one API write and the answer that shows it was programmed.
type change struct {
	apply func(ctx context.Context) error
	name  string
	qtype uint16
	// bufsize, when not zero, is the EDNS0 UDP size the query offers, for
	// answers longer than 512 bytes (a headless service's many addresses).
	bufsize uint16
	seen    func(*dns.Msg) bool
}

// programmingChanges returns the n-th change of the programming-latency
// run: new ClusterIP services and moved endpoints of a headless service,
// alternately.
func programmingChange(cs kubernetes.Interface, n int) change {
	ns := namespaceOf(0)
	if n%2 == 0 {
		name := "prog-" + strconv.Itoa(n)
		return change{
			apply: func(ctx context.Context) error {
				svc := &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
					Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
				}
				_, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
				return err
			},
			name: name + "." + ns + ".svc.cluster.local.", qtype: dns.TypeA,
			seen: func(m *dns.Msg) bool { return len(m.Answer) > 0 },
		}
	}
	// Service 0 is headless; its first endpoint moves to a new address.
	s := serviceAt(0)
	ip := netip.AddrFrom4([4]byte{10, 120, byte(n >> 8), byte(n)}).String()
	return change{
		apply: func(ctx context.Context) error {
			name := slicesFor(s, 0)[0].Name
			sl, err := cs.DiscoveryV1().EndpointSlices(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			sl.Endpoints[0].Addresses = []string{ip}
			_, err = cs.DiscoveryV1().EndpointSlices(ns).Update(ctx, sl, metav1.UpdateOptions{})
			return err
		},
		name: s.name + "." + ns + ".svc.cluster.local.", qtype: dns.TypeA,
		seen: func(m *dns.Msg) bool {
			for _, rr := range m.Answer {
				if a, ok := rr.(*dns.A); ok && a.A.String() == ip {
					return true
				}
			}
			return false
		},
	}
}

// apiWrite is the key under which programmingLatency records how long the
// API server took to accept each write, the part both servers share.
const apiWrite = "api write"

// programmingLatency applies n changes one after another and returns, per
// server, how long each took from the start of the API write until the
// server's answer showed it, and under apiWrite how long each write call
// took. A change not seen within timeout counts as timeout.
func programmingLatency(ctx context.Context, cs kubernetes.Interface, servers []*server, n int, timeout time.Duration) (map[string][]time.Duration, error) {
	out := map[string][]time.Duration{}
	for i := 0; i < n; i++ {
		c := programmingChange(cs, i)
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		pollCtx, cancel := context.WithTimeout(ctx, timeout)
		for _, s := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, _ := pollUntil(pollCtx, s.dnsPort, c, start)
				mu.Lock()
				out[s.name] = append(out[s.name], d)
				mu.Unlock()
			}()
		}
		err := c.apply(ctx)
		mu.Lock()
		out[apiWrite] = append(out[apiWrite], time.Since(start))
		mu.Unlock()
		if err != nil {
			cancel()
			wg.Wait()
			return nil, fmt.Errorf("change %d: %w", i, err)
		}
		wg.Wait()
		cancel()
	}
	return out, nil
}

// pollUntil queries the server every millisecond until c is seen and
// returns the time since start, or the time until ctx ended, and how many
// queries it sent.
func pollUntil(ctx context.Context, port int, c change, start time.Time) (time.Duration, int) {
	client := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	m := new(dns.Msg)
	m.SetQuestion(c.name, c.qtype)
	if c.bufsize > 0 {
		m.SetEdns0(c.bufsize, false)
	}
	for queries := 1; ; queries++ {
		if r, _, err := client.ExchangeContext(ctx, m, addr); err == nil && c.seen(r) {
			return time.Since(start), queries
		}
		select {
		case <-ctx.Done():
			return time.Since(start), queries
		case <-time.After(time.Millisecond):
		}
	}
}
