package main

import (
	"context"
	"sync"
	"time"
)

// relistProbe numbers the service the relist measurement creates; the
// programming-latency run never gets this far.
const relistProbe = 1 << 20

// forceRelist restarts the API server, which ends every watch; when it is
// back its watch cache starts at the current revision, so clients whose
// watches resumed from older revisions list everything again. It records
// each server's RSS before and its high-water mark from the restart until
// a few seconds after the server answers a service created once the API
// was back.
func forceRelist(ctx context.Context, e *env, servers []*server) (map[string]*relistResult, error) {
	out := map[string]*relistResult{}
	for _, s := range servers {
		steady, err := s.rss()
		if err != nil {
			return nil, err
		}
		if err := s.resetPeak(); err != nil {
			return nil, err
		}
		out[s.name] = &relistResult{SteadyRSS: steady}
	}
	logf("relist: restarting kube-apiserver")
	e.cp.Stop("kube-apiserver")
	time.Sleep(2 * time.Second)
	if err := e.cp.StartAPIServer(ctx); err != nil {
		return nil, err
	}
	back := time.Now()
	probe := programmingChange(e.cs, relistProbe)
	limit := 2 * time.Minute
	pollCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _ := pollUntil(pollCtx, s.dnsPort, probe, back)
			mu.Lock()
			out[s.name].Recovered = d
			mu.Unlock()
		}()
	}
	for {
		err := probe.apply(ctx)
		if err == nil {
			break
		}
		if time.Since(back) > limit {
			cancel()
			wg.Wait()
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	time.Sleep(5 * time.Second)
	for _, s := range servers {
		peak, err := s.peakRSS()
		if err != nil {
			return nil, err
		}
		out[s.name].PeakRSS = peak
		logf("relist %s: steady %.1f MB, peak %.1f MB, new service answered %s after the API returned", s.name, mb(out[s.name].SteadyRSS), mb(peak), out[s.name].Recovered.Round(time.Millisecond))
	}
	return out, nil
}
