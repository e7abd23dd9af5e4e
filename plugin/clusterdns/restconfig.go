package clusterdns

import (
	"net/http"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// restConfig builds the API client configuration from the stanza: a
// kubeconfig, else an endpoint (with optional client TLS), else the pod's
// in-cluster service account.
func restConfig(cfg *config) (*rest.Config, error) {
	var (
		rc  *rest.Config
		err error
	)
	switch {
	case cfg.kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.kubeconfig}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.kubeContext}
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	case cfg.endpoint != "":
		rc = &rest.Config{Host: cfg.endpoint}
		rc.TLSClientConfig = rest.TLSClientConfig{CertFile: cfg.tlsCert, KeyFile: cfg.tlsKey, CAFile: cfg.tlsCA}
	default:
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, err
	}
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	rc.UserAgent = "clusterdns/" + Version
	if cfg.apiQPS > 0 {
		rc.QPS = cfg.apiQPS
	}
	if cfg.apiBurst > 0 {
		rc.Burst = cfg.apiBurst
	}
	if n := cfg.apiMaxInflight; n > 0 {
		rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return newInflightLimiter(rt, n) })
	}
	return rc, nil
}

// inflightLimiter caps concurrent API requests. A slot is held until the
// response headers arrive, so long-running watches do not keep one.
type inflightLimiter struct {
	next  http.RoundTripper
	slots chan struct{}
}

func newInflightLimiter(next http.RoundTripper, n int) *inflightLimiter {
	return &inflightLimiter{next: next, slots: make(chan struct{}, n)}
}

// RoundTrip implements http.RoundTripper.
func (l *inflightLimiter) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case l.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	defer func() { <-l.slots }()
	return l.next.RoundTrip(r)
}
