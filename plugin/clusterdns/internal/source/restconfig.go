package source

import (
	"net/http"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// restConfig builds the API client configuration from the stanza: a
// kubeconfig, else an endpoint (with optional client TLS), else the pod's
// in-cluster service account.
func restConfig(cfg *Config) (*rest.Config, error) {
	var (
		rc  *rest.Config
		err error
	)
	switch {
	case cfg.Kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.Kubeconfig}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.KubeContext}
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	case cfg.Endpoint != "":
		rc = &rest.Config{Host: cfg.Endpoint}
		rc.TLSClientConfig = rest.TLSClientConfig{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CAFile: cfg.TLSCA}
	default:
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, err
	}
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	rc.UserAgent = cfg.UserAgent
	if cfg.APIQPS > 0 {
		rc.QPS = cfg.APIQPS
	}
	if cfg.APIBurst > 0 {
		rc.Burst = cfg.APIBurst
	}
	if n := cfg.APIMaxInflight; n > 0 {
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
