package source

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/cert"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// twoContexts is a kubeconfig whose contexts name different servers and
// users; "a" is the current one.
const twoContexts = `apiVersion: v1
kind: Config
current-context: a
clusters:
- name: cluster-a
  cluster: {server: "https://127.0.0.1:6443"}
- name: cluster-b
  cluster: {server: "https://127.0.0.2:7443"}
users:
- name: user-a
  user: {token: token-a}
- name: user-b
  user: {token: token-b}
contexts:
- name: a
  context: {cluster: cluster-a, user: user-a}
- name: b
  context: {cluster: cluster-b, user: user-b}
`

func TestRestConfigKubeconfigContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, path, twoContexts)
	tests := []struct {
		context, host, token, err string
	}{
		{context: "", host: "https://127.0.0.1:6443", token: "token-a"},
		{context: "a", host: "https://127.0.0.1:6443", token: "token-a"},
		{context: "b", host: "https://127.0.0.2:7443", token: "token-b"},
		{context: "c", err: `context "c" does not exist`},
	}
	for _, tc := range tests {
		t.Run("context "+tc.context, func(t *testing.T) {
			cfg := testConfig()
			cfg.Kubeconfig, cfg.KubeContext = path, tc.context
			rc, err := restConfig(cfg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rc.Host != tc.host || rc.BearerToken != tc.token {
				t.Errorf("server %s with token %q, want %s with %q", rc.Host, rc.BearerToken, tc.host, tc.token)
			}
		})
	}
}

func TestRestConfigRates(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, kubeconfig, twoContexts)
	tests := []struct {
		name       string
		kubeconfig string
		qps        float32
		burst      int
	}{
		{name: "endpoint", qps: 7.5, burst: 11},
		{name: "kubeconfig", kubeconfig: kubeconfig, qps: 250, burst: 500},
		{name: "client-go defaults", kubeconfig: kubeconfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Endpoint, cfg.Kubeconfig = "https://127.0.0.1:6443", tc.kubeconfig
			cfg.APIQPS, cfg.APIBurst = tc.qps, tc.burst
			rc, err := restConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rc.QPS != tc.qps || rc.Burst != tc.burst {
				t.Errorf("rest.Config QPS %v, burst %d; want %v, %d", rc.QPS, rc.Burst, tc.qps, tc.burst)
			}
			// The clients the plugin builds from it use that rate.
			cs, err := kubernetes.NewForConfig(rc)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.qps
			if want == 0 {
				want = rest.DefaultQPS
			}
			if got := cs.CoreV1().RESTClient().GetRateLimiter().QPS(); got != want {
				t.Errorf("client rate limiter at %v QPS, want %v", got, want)
			}
		})
	}
}

// TestRestConfigTLS checks that the tls files are the ones a request uses:
// the server is trusted through the CA file alone, and it sees the client
// certificate from the cert and key files.
func TestRestConfigTLS(t *testing.T) {
	var peer atomic.Value // CommonName of the client certificate
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			peer.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
		}
	}))
	ts.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	ts.StartTLS()
	defer ts.Close()

	dir := t.TempDir()
	certPEM, keyPEM, err := cert.GenerateSelfSignedCertKey("clusterdns-client", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Endpoint = ts.URL
	cfg.TLSCert, cfg.TLSKey, cfg.TLSCA = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"), filepath.Join(dir, "ca.crt")
	writeFile(t, cfg.TLSCert, string(certPEM))
	writeFile(t, cfg.TLSKey, string(keyPEM))
	writeFile(t, cfg.TLSCA, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})))

	rc, err := restConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc := rc.TLSClientConfig
	if tc.CertFile != cfg.TLSCert || tc.KeyFile != cfg.TLSKey || tc.CAFile != cfg.TLSCA {
		t.Errorf("TLSClientConfig has cert %q, key %q, CA %q; want %q, %q, %q", tc.CertFile, tc.KeyFile, tc.CAFile, cfg.TLSCert, cfg.TLSKey, cfg.TLSCA)
	}
	client, err := rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(ts.URL + "/version")
	if err != nil {
		t.Fatalf("request with the tls files: %v", err)
	}
	_ = resp.Body.Close()
	if cn, _ := peer.Load().(string); !strings.HasPrefix(cn, "clusterdns-client@") {
		t.Errorf("server saw client certificate %q, want the one of %s", cn, cfg.TLSCert)
	}
}

// TestRestConfigMaxInflight drives more concurrent requests than
// apiserver_max_inflight allows through the client transport and counts,
// at a loopback server that holds each request until the test releases
// it, how many are in flight at once.
func TestRestConfigMaxInflight(t *testing.T) {
	const limit, requests = 3, 24
	var (
		mu                  sync.Mutex
		inflight, most      int
		arrived             = make(chan struct{}, requests)
		release             = make(chan struct{})
		started             atomic.Int32
		completed, failures atomic.Int32
	)
	ts := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		inflight--
		mu.Unlock()
	}))
	defer ts.Close()

	cfg := testConfig()
	cfg.Endpoint = ts.URL
	cfg.APIMaxInflight = limit
	rc, err := restConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Outside the limiter: counts the requests the client has begun.
	rc.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			started.Add(1)
			return next.RoundTrip(r)
		})
	})
	client, err := rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range requests {
		wg.Go(func() {
			resp, err := client.Get(ts.URL + "/api")
			if err != nil {
				failures.Add(1)
				return
			}
			_ = resp.Body.Close()
			completed.Add(1)
		})
	}

	// Every request is under way before the first is answered; then each
	// answer lets one more through. Without the cap all of them would be
	// at the server together.
	fixture.Eventually(t, "all requests begun", func() bool { return started.Load() == requests })
	for i := range requests {
		<-arrived
		if i < limit-1 {
			continue
		}
		release <- struct{}{}
	}
	for range limit - 1 {
		release <- struct{}{}
	}
	wg.Wait()

	if failures.Load() != 0 || completed.Load() != requests {
		t.Fatalf("%d requests failed, %d of %d completed", failures.Load(), completed.Load(), requests)
	}
	if most != limit {
		t.Errorf("%d requests in flight at once, want the cap of %d", most, limit)
	}
}

// roundTripFunc is a function as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
