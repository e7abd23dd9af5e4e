package clusterdns

import (
	"context"
	"slices"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/kubernetes"
	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// verifiedPlugins returns both plugins with `pods verified` serving objs,
// ours first.
func verifiedPlugins(t *testing.T, objs ...runtime.Object) (*ClusterDNS, *kubernetes.Kubernetes) {
	t.Helper()
	uc := caddy.NewTestController("dns", "kubernetes cluster.local {\npods verified\n}")
	uc.Next()
	k, err := kubernetes.ParseStanza(uc)
	if err != nil {
		t.Fatal(err)
	}
	k.APIConn = newUpstreamConn(t, objs...)
	cfg := verifiedConfig()
	cfg.zones = []string{"cluster.local."}
	return newTestPlugin(t, cfg, objs...), k
}

// TestPluginDifferencesFromUpstream shows DIFFERENCES.md items 22 to 24, in
// what the two plugins give autopath, transfer and metadata.
func TestPluginDifferencesFromUpstream(t *testing.T) {
	const nodeIP = "10.0.0.5"
	ours, theirs := verifiedPlugins(t, append(transferObjects(),
		fixture.HostNetwork(fixture.Pod("kube-system", "kube-proxy-x7k2p", corev1.PodRunning, 1, nodeIP)))...)
	question := func(name string) *dns.Msg {
		r := new(dns.Msg)
		r.SetQuestion(name, dns.TypeA)
		return r
	}

	labels := func(p metadata.Provider, from, qname string) map[string]string {
		ctx := metadata.ContextWithMetadata(context.Background())
		ctx = p.Metadata(ctx, request.Request{W: &test.ResponseWriter{RemoteIP: from}, Req: question(qname)})
		out := map[string]string{}
		for l, f := range metadata.ValueFuncs(ctx) {
			out[l] = f()
		}
		return out
	}

	// Upstream's AutoPath only works on a cache it built from the API
	// itself; its client metadata reads the same pod index.
	t.Run("22 host-network pod", func(t *testing.T) {
		state := request.Request{W: &test.ResponseWriter{RemoteIP: nodeIP}, Req: question("api.example.com.prod.svc.cluster.local.")}
		if got := ours.AutoPath(state); got != nil {
			t.Errorf("clusterdns gives a query from the node the search path %q", got)
		}
		if got, ok := labels(ours, nodeIP, "example.com.")[mdClientNamespace]; ok {
			t.Errorf("clusterdns takes a query from the node for one of namespace %q", got)
		}
		if got := labels(theirs, nodeIP, "example.com.")["kubernetes/client-namespace"]; got != "kube-system" {
			t.Errorf("kubernetes/client-namespace of a query from the node = %q, want kube-proxy's kube-system", got)
		}
	})

	t.Run("23 IXFR with a newer serial", func(t *testing.T) {
		count := func(ch <-chan []dns.RR, err error) int {
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rrs := range ch {
				n += len(rrs)
			}
			return n
		}
		// The upstream test connection's serial is 1.
		if n := count(theirs.Transfer("cluster.local.", 5)); n <= 1 {
			t.Errorf("kubernetes answers an IXFR from a newer serial with %d records, want the whole zone", n)
		}
		if n := count(ours.Transfer("cluster.local.", ours.index.Load().Serial+5)); n != 1 {
			t.Errorf("clusterdns answers an IXFR from a newer serial with %d records, want the SOA alone", n)
		}
	})

	t.Run("24 labels without a value", func(t *testing.T) {
		if v, ok := labels(theirs, "10.0.0.1", "web.prod.svc.cluster.local.")["kubernetes/endpoint"]; !ok || v != "" {
			t.Errorf("kubernetes/endpoint = %q (set %v), want set to the empty string", v, ok)
		}
		got := labels(ours, "10.0.0.1", "web.prod.svc.cluster.local.")
		if _, ok := got[mdEndpoint]; ok {
			t.Errorf("%s is set for a service name", mdEndpoint)
		}
		// negative-reason is always set: it is known only after the answer.
		want := []string{mdKind, mdNamespace, mdService, mdNegativeReason}
		if got[mdNegativeReason] != "-" {
			t.Errorf("%s = %q before an answer, want -", mdNegativeReason, got[mdNegativeReason])
		}
		keys := make([]string, 0, len(got))
		for l := range got {
			keys = append(keys, l)
		}
		slices.Sort(keys)
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("clusterdns sets %q, want %q", keys, want)
		}
	})
}
