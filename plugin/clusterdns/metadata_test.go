package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

func TestNameFields(t *testing.T) {
	tests := []struct {
		rel  string
		want queryFields
		ok   bool
	}{
		{"svc", queryFields{kind: "svc"}, true},
		{"prod.svc", queryFields{kind: "svc", namespace: "prod"}, true},
		{"web.prod.svc", queryFields{kind: "svc", namespace: "prod", service: "web"}, true},
		{"db-0.db.prod.svc", queryFields{kind: "svc", namespace: "prod", service: "db", endpoint: "db-0"}, true},
		{"_http._tcp.web.prod.svc", queryFields{kind: "svc", namespace: "prod", service: "web", port: "http", protocol: "tcp"}, true},
		{"10-244-1-5.prod.pod", queryFields{kind: "pod", namespace: "prod", service: "10-244-1-5"}, true},
		{"a.b.c.web.prod.svc", queryFields{}, false},
		{"dns-version", queryFields{}, false},
		{"web.prod.other", queryFields{}, false},
	}
	for _, tc := range tests {
		got, ok := nameFields(dnsname.Parse(tc.rel), false)
		if got != tc.want || ok != tc.ok {
			t.Errorf("nameFields(%q) = %+v, %v; want %+v, %v", tc.rel, got, ok, tc.want, tc.ok)
		}
	}
}

// TestNameFieldsMulticluster checks the endpoint names of a multicluster
// zone, <endpoint>.<cluster>.<svc>, are read as the kubernetes plugin reads
// them there: a leading underscore on either label makes a port name.
func TestNameFieldsMulticluster(t *testing.T) {
	tests := []struct {
		rel  string
		want queryFields
	}{
		{"db-0.east.db.prod.svc", queryFields{kind: "svc", namespace: "prod", service: "db", endpoint: "db-0", cluster: "east"}},
		{"_pg._tcp.db.prod.svc", queryFields{kind: "svc", namespace: "prod", service: "db", port: "pg", protocol: "tcp"}},
		{"pg._tcp.db.prod.svc", queryFields{kind: "svc", namespace: "prod", service: "db", port: "pg", protocol: "tcp"}},
		{"db-0.db.prod.svc", queryFields{kind: "svc", namespace: "prod", service: "db", endpoint: "db-0"}},
	}
	for _, tc := range tests {
		if got, ok := nameFields(dnsname.Parse(tc.rel), true); got != tc.want || !ok {
			t.Errorf("nameFields(%q, multicluster) = %+v, %v; want %+v", tc.rel, got, ok, tc.want)
		}
	}
}

func TestMetadata(t *testing.T) {
	const podIP = "10.244.0.9"
	c := newTestPlugin(t, verifiedConfig(), fixture.Namespace("prod"), fixture.Pod("prod", "client-0", corev1.PodRunning, 1, podIP))
	insecure := testConfig()
	insecure.PodMode = podsInsecure
	ci := newTestPlugin(t, insecure, fixture.Namespace("prod"), fixture.Pod("prod", "client-0", corev1.PodRunning, 1, podIP))
	tests := []struct {
		name  string
		c     *ClusterDNS
		from  string
		qname string
		want  map[string]string // every label set, with its value once answered
	}{
		{"SRV name from a pod", c, podIP, "_HTTP._tcp.web.prod.svc.cluster.local.", map[string]string{
			mdKind: "svc", mdNamespace: "prod", mdService: "web", mdPortName: "http", mdProtocol: "tcp",
			mdClientNamespace: "prod", mdClientPodName: "client-0", mdNegativeReason: "no_service",
		}},
		{"endpoint name from elsewhere", c, "10.0.0.1", "db-0.db.prod.svc.cluster.local.", map[string]string{
			mdKind: "svc", mdNamespace: "prod", mdService: "db", mdEndpoint: "db-0", mdNegativeReason: "search_expansion",
		}},
		{"outside the zones, from a pod", c, podIP, "example.com.", map[string]string{
			mdClientNamespace: "prod", mdClientPodName: "client-0", mdNegativeReason: "-",
		}},
		{"zone apex", c, "10.0.0.1", "cluster.local.", map[string]string{mdNegativeReason: "no_record_of_type"}},
		{"reverse name", c, "10.0.0.1", "9.0.244.10.in-addr.arpa.", map[string]string{mdNegativeReason: "no_address"}},
		{"pods insecure: no client", ci, podIP, "web.prod.svc.cluster.local.", map[string]string{
			mdKind: "svc", mdNamespace: "prod", mdService: "web", mdNegativeReason: "no_service",
		}},
		{"a pod name", ci, podIP, "10-244-0-9.prod.pod.cluster.local.", map[string]string{
			mdKind: "pod", mdNamespace: "prod", mdService: "10-244-0-9", mdNegativeReason: "-",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := new(dns.Msg)
			r.SetQuestion(tc.qname, dns.TypeA)
			ctx := metadata.ContextWithMetadata(context.Background())
			w := &test.ResponseWriter{RemoteIP: tc.from}
			ctx = tc.c.Metadata(ctx, request.Request{W: w, Req: r})
			// The log plugin reads the values once the reply is written.
			_, _ = tc.c.ServeDNS(ctx, dnstest.NewRecorder(w), r)
			got := map[string]string{}
			for label, f := range metadata.ValueFuncs(ctx) {
				got[label] = f()
			}
			if len(got) != len(tc.want) {
				t.Errorf("labels %v, want %v", got, tc.want)
			}
			for label, v := range tc.want {
				if got[label] != v {
					t.Errorf("%s = %q, want %q", label, got[label], v)
				}
			}
		})
	}
}
