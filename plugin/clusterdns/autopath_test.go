package clusterdns

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

func TestHostSearch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(path, []byte("nameserver 127.0.0.53\nsearch Corp.Example example.org.\noptions ndots:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := hostSearch(path), []string{"corp.example.", "example.org."}; !slices.Equal(got, want) {
		t.Errorf("hostSearch = %q, want %q", got, want)
	}
	if got := hostSearch(filepath.Join(dir, "missing")); got != nil {
		t.Errorf("hostSearch of a missing file = %q, want none", got)
	}
}

func TestAutoPath(t *testing.T) {
	const podIP = "10.244.0.9"
	objs := []runtime.Object{fixture.Namespace("prod"), fixture.Pod("prod", "client", corev1.PodRunning, 1, podIP)}
	verified := verifiedConfig()
	verified.zones = append(verified.zones, "example.org.")
	verified.HostSearch = []string{"corp.example."}
	insecure := testConfig()
	insecure.PodMode = podsInsecure
	tests := []struct {
		name  string
		cfg   *config
		from  string
		qname string
		want  []string
	}{
		{"pod in prod", verified, podIP, "api.example.com.prod.svc.cluster.local.",
			[]string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", "corp.example.", ""}},
		{"mixed case name", verified, podIP, "API.Example.com.PROD.svc.Cluster.Local.",
			[]string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", "corp.example.", ""}},
		{"second forward zone", verified, podIP, "x.prod.svc.example.org.",
			[]string{"prod.svc.example.org.", "svc.example.org.", "example.org.", "corp.example.", ""}},
		{"unknown source", verified, "10.244.0.10", "api.example.com.prod.svc.cluster.local.", nil},
		{"outside the zones", verified, podIP, "api.example.com.", nil},
		{"reverse zone", verified, podIP, "9.0.244.10.in-addr.arpa.", nil},
		{"without pods verified", insecure, podIP, "api.example.com.prod.svc.cluster.local.", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestPlugin(t, tc.cfg, objs...)
			r := new(dns.Msg)
			r.SetQuestion(tc.qname, dns.TypeA)
			got := c.AutoPath(request.Request{W: &test.ResponseWriter{RemoteIP: tc.from}, Req: r})
			if !slices.Equal(got, tc.want) {
				t.Errorf("AutoPath = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAutoPathNotSynced(t *testing.T) {
	c := newTestPlugin(t, verifiedConfig(), fixture.Pod("prod", "client", corev1.PodRunning, 1, "10.244.0.9"))
	c.ctl.Store(nil) // as before the first sync
	r := new(dns.Msg)
	r.SetQuestion("api.example.com.prod.svc.cluster.local.", dns.TypeA)
	if got := c.AutoPath(request.Request{W: &test.ResponseWriter{RemoteIP: "10.244.0.9"}, Req: r}); got != nil {
		t.Errorf("AutoPath before sync = %q, want nil", got)
	}
}
