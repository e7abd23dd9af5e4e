package clusterdns

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/kubernetes"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// differenceObjects is the cluster both plugins answer from in
// TestDifferencesFromUpstream.
func differenceObjects() []runtime.Object {
	http := fixture.SlicePort("http", corev1.ProtocolTCP, 8080)
	pg := fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)
	dnsPort := fixture.SlicePort("dns", corev1.ProtocolUDP, 53)
	return []runtime.Object{
		fixture.Namespace("prod"), fixture.Namespace("kube-system"),
		fixture.Service("kube-system", "kube-dns", []string{"10.96.0.10"}, fixture.Port("dns", corev1.ProtocolUDP, 53)),
		fixture.Slice("kube-system", "kube-dns", "kube-dns-1", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{dnsPort},
			fixture.Endpoint{IP: "10.244.5.5"}),
		fixture.Service("prod", "web", []string{"10.96.0.20"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Slice("prod", "web", "web-1", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{http},
			fixture.Endpoint{IP: "10.244.0.5"}),
		fixture.Service("prod", "dual", []string{"10.96.0.30", "fd00::30"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		fixture.Service("prod", "idle", []string{"10.96.0.40"}, fixture.Port("http", corev1.ProtocolTCP, 80)),
		// Headless, one endpoint listed in two slices, as during rebalancing.
		fixture.Service("prod", "db", []string{"None"}, fixture.Port("pg", corev1.ProtocolTCP, 5432)),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{pg},
			fixture.Endpoint{IP: "10.244.1.1", Hostname: "db-0"}, fixture.Endpoint{IP: "10.244.1.2", Hostname: "db-1"}),
		fixture.Slice("prod", "db", "db-b", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{pg},
			fixture.Endpoint{IP: "10.244.1.2", Hostname: "db-1"}),
		fixture.ExternalName("prod", "search", "search.example.com"),
		fixture.ExternalName("prod", "alias", "web.prod.svc.cluster.local"),
		// A headless service whose only slice is of the deprecated FQDN type.
		fixture.Service("prod", "fq", []string{"None"}),
		fixture.Slice("prod", "fq", "fq-1", discoveryv1.AddressTypeFQDN, nil, fixture.Endpoint{IP: "example.com"}),
		// Endpoint names that are not one DNS label.
		fixture.Service("prod", "odd", []string{"None"}),
		fixture.Slice("prod", "odd", "odd-1", discoveryv1.AddressTypeIPv4, nil,
			fixture.Endpoint{IP: "10.244.4.1", Hostname: "a.b"}, fixture.Endpoint{IP: "10.244.4.2", Pod: "api.v2"}),
		// A slice whose Service does not exist.
		fixture.Slice("prod", "ghost", "ghost-1", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.9.9"}),
		// A service in a namespace that does not exist.
		fixture.Service("gone", "web", []string{"10.96.9.9"}),
	}
}

// diffAnswer is what one plugin answers: the rcode and the answer section
// in zone-file form (nil: empty); extra, when not nil, is the additional
// section.
type diffAnswer struct {
	rcode  int
	answer []string
	extra  []string
}

// TestDifferencesFromUpstream asks CoreDNS's kubernetes plugin and ours the
// same questions about the same objects, one row per observable item of the
// list in DIFFERENCES.md (the number in
// each row). Items that ServeDNS on a fixed set of objects cannot show are
// not in this table: 9 (the SOA serial moves only when objects change), 15
// (where objects are cut down) and 20 (metrics). 16 and the options of 17
// are checked by TestOptionDifferencesFromUpstream, 22 to 24 (what autopath,
// transfer and metadata get) by TestPluginDifferencesFromUpstream.
func TestDifferencesFromUpstream(t *testing.T) {
	nodata := diffAnswer{rcode: dns.RcodeSuccess}
	nxdomain := diffAnswer{rcode: dns.RcodeNameError}
	ok := func(rrs ...string) diffAnswer { return diffAnswer{rcode: dns.RcodeSuccess, answer: rrs} }
	rcode := func(rc int) diffAnswer { return diffAnswer{rcode: rc} }

	tests := []struct {
		diff     int
		name     string
		options  string // stanza options, given to both plugins
		unsynced bool   // the caches have not synced yet
		localIP  string // an address the server listens on ("" none)
		qname    string
		qtype    uint16
		edit     func(*dns.Msg) // changes to the query, if any
		same     bool           // both answer alike: the row marks where the difference stops

		ours, upstream diffAnswer
	}{
		{diff: 1, name: "empty non-terminal _tcp",
			qname: "_tcp.web.prod.svc.cluster.local.", qtype: dns.TypeSRV,
			ours: nodata, upstream: nxdomain},
		{diff: 1, name: "namespace TXT",
			qname: "prod.svc.cluster.local.", qtype: dns.TypeTXT,
			ours: nodata, upstream: nxdomain},
		{diff: 1, name: "svc TXT",
			qname: "svc.cluster.local.", qtype: dns.TypeTXT,
			ours: nodata, upstream: nxdomain},
		{diff: 1, name: "apex TXT",
			qname: "cluster.local.", qtype: dns.TypeTXT,
			ours: nodata, upstream: nxdomain},
		{diff: 1, name: "dns-version A",
			qname: "dns-version.cluster.local.", qtype: dns.TypeA,
			ours: nodata, upstream: nxdomain},
		{diff: 1, name: "partial reverse name",
			qname: "0.96.10.in-addr.arpa.", qtype: dns.TypePTR,
			ours: nodata, upstream: nxdomain},

		{diff: 1, name: "zonal empty non-terminal pin._zone", options: "zonal",
			qname: "pin._zone.db.prod.svc.cluster.local.", qtype: dns.TypeA,
			ours: nodata, upstream: nxdomain},
		{diff: 1, name: "zonal empty non-terminal _zone", options: "zonal",
			qname: "_zone.db.prod.svc.cluster.local.", qtype: dns.TypeA,
			ours: nodata, upstream: nxdomain},

		{diff: 2, name: "SOA at a name that does not exist",
			qname: "nothere.prod.svc.cluster.local.", qtype: dns.TypeSOA,
			ours: nxdomain, upstream: nodata},

		{diff: 3, name: "ExternalName TXT",
			qname: "search.prod.svc.cluster.local.", qtype: dns.TypeTXT,
			ours:     ok("search.prod.svc.cluster.local. 5 IN CNAME search.example.com."),
			upstream: nodata},
		{diff: 3, name: "ExternalName SRV",
			qname: "search.prod.svc.cluster.local.", qtype: dns.TypeSRV,
			ours:     ok("search.prod.svc.cluster.local. 5 IN CNAME search.example.com."),
			upstream: nodata},
		{diff: 3, name: "ExternalName to an in-zone name without the type",
			qname: "alias.prod.svc.cluster.local.", qtype: dns.TypeAAAA,
			ours:     ok("alias.prod.svc.cluster.local. 5 IN CNAME web.prod.svc.cluster.local."),
			upstream: nodata},

		{diff: 4, name: "dual-stack ClusterIP SRV weight",
			qname: "_http._tcp.dual.prod.svc.cluster.local.", qtype: dns.TypeSRV,
			ours:     ok("_http._tcp.dual.prod.svc.cluster.local. 5 IN SRV 0 100 80 dual.prod.svc.cluster.local."),
			upstream: ok("_http._tcp.dual.prod.svc.cluster.local. 5 IN SRV 0 50 80 dual.prod.svc.cluster.local.")},
		{diff: 4, name: "headless SRV weight with an endpoint in two slices",
			qname: "_pg._tcp.db.prod.svc.cluster.local.", qtype: dns.TypeSRV,
			ours: ok(
				"_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local.",
				"_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.prod.svc.cluster.local."),
			upstream: ok(
				"_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 33 5432 db-0.db.prod.svc.cluster.local.",
				"_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 33 5432 db-1.db.prod.svc.cluster.local.")},

		{diff: 5, name: "label below a pod name", options: "pods insecure",
			qname: "x.10-244-0-5.prod.pod.cluster.local.", qtype: dns.TypeA,
			ours:     nxdomain,
			upstream: ok("x.10-244-0-5.prod.pod.cluster.local. 5 IN A 10.244.0.5")},

		{diff: 6, name: "port and protocol without underscores",
			qname: "http.tcp.web.prod.svc.cluster.local.", qtype: dns.TypeSRV,
			ours:     nxdomain,
			upstream: ok("http.tcp.web.prod.svc.cluster.local. 5 IN SRV 0 100 80 web.prod.svc.cluster.local.")},
		{diff: 6, name: "A at a port name",
			qname: "_http._tcp.web.prod.svc.cluster.local.", qtype: dns.TypeA,
			ours:     nodata,
			upstream: ok("_http._tcp.web.prod.svc.cluster.local. 5 IN A 10.96.0.20")},

		// Upstream treats the FQDN as a CNAME target; for A it would chase it
		// through the server, of which this test has none, so it finds no A.
		{diff: 7, name: "headless service with only an FQDN slice",
			qname: "fq.prod.svc.cluster.local.", qtype: dns.TypeCNAME,
			ours:     nxdomain,
			upstream: ok("fq.prod.svc.cluster.local. 5 IN CNAME example.com.")},
		{diff: 7, name: "A of a headless service with only an FQDN slice",
			qname: "fq.prod.svc.cluster.local.", qtype: dns.TypeA,
			ours: nxdomain, upstream: nodata},

		{diff: 8, name: "PTR of a slice without a Service",
			qname: "9.9.244.10.in-addr.arpa.", qtype: dns.TypePTR,
			ours:     nxdomain,
			upstream: ok("9.9.244.10.in-addr.arpa. 5 IN PTR 10-244-9-9.ghost.prod.svc.cluster.local.")},

		{diff: 10, name: "existing name before sync", unsynced: true,
			qname: "web.prod.svc.cluster.local.", qtype: dns.TypeA,
			ours:     rcode(dns.RcodeServerFailure),
			upstream: ok("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")},
		{diff: 10, name: "missing name before sync", unsynced: true, same: true,
			qname: "nothere.prod.svc.cluster.local.", qtype: dns.TypeA,
			ours: rcode(dns.RcodeServerFailure), upstream: rcode(dns.RcodeServerFailure)},

		// Upstream learns its addresses only from the server's listen
		// addresses at setup (none here, as with the bind plugin).
		{diff: 11, name: "apex NS", localIP: "10.244.5.5",
			qname: "cluster.local.", qtype: dns.TypeNS,
			ours: diffAnswer{rcode: dns.RcodeSuccess,
				answer: []string{"cluster.local. 5 IN NS ns.dns.cluster.local."},
				extra:  []string{"ns.dns.cluster.local. 5 IN A 10.96.0.10"}},
			upstream: nodata},

		{diff: 12, name: "NOTIFY",
			qname: "cluster.local.", qtype: dns.TypeSOA,
			edit: func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify },
			ours: rcode(dns.RcodeNotImplemented), upstream: diffAnswer{rcode: dns.RcodeSuccess, answer: []string{
				"cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"}}},
		{diff: 12, name: "CHAOS class",
			qname: "web.prod.svc.cluster.local.", qtype: dns.TypeA,
			edit: func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS },
			ours: rcode(dns.RcodeRefused), upstream: ok("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")},
		{diff: 12, name: "two questions",
			qname: "web.prod.svc.cluster.local.", qtype: dns.TypeA,
			edit: func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) },
			ours: rcode(dns.RcodeFormatError), upstream: ok("web.prod.svc.cluster.local. 5 IN A 10.96.0.20")},

		{diff: 13, name: "pod subtree with pods disabled",
			qname: "pod.cluster.local.", qtype: dns.TypeA,
			ours: nxdomain, upstream: nodata},

		{diff: 14, name: "hostname that is not one label",
			qname: "10-244-4-1.odd.prod.svc.cluster.local.", qtype: dns.TypeA,
			ours:     ok("10-244-4-1.odd.prod.svc.cluster.local. 5 IN A 10.244.4.1"),
			upstream: nxdomain},
		{diff: 14, name: "pod name that is not one label", options: "endpoint_pod_names",
			qname: "10-244-4-2.odd.prod.svc.cluster.local.", qtype: dns.TypeA,
			ours:     ok("10-244-4-2.odd.prod.svc.cluster.local. 5 IN A 10.244.4.2"),
			upstream: nxdomain},

		{diff: 18, name: "PTR of a service in a namespace that does not exist",
			qname: "9.9.96.10.in-addr.arpa.", qtype: dns.TypePTR,
			ours:     nxdomain,
			upstream: ok("9.9.96.10.in-addr.arpa. 5 IN PTR web.gone.svc.cluster.local.")},
		{diff: 19, name: "PTR of an empty ClusterIP service with ignore empty_service", options: "ignore empty_service",
			qname: "40.0.96.10.in-addr.arpa.", qtype: dns.TypePTR,
			ours:     nxdomain,
			upstream: ok("40.0.96.10.in-addr.arpa. 5 IN PTR idle.prod.svc.cluster.local.")},
	}

	objs := differenceObjects()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Both answers are pinned below, so distinct expectations keep
			// the listed difference true: a row expecting one answer from
			// both would pass with the difference gone.
			if reflect.DeepEqual(tc.ours, tc.upstream) != tc.same {
				t.Fatalf("difference %d: the row expects %v from clusterdns and %v from kubernetes, but says same: %v", tc.diff, tc.ours, tc.upstream, tc.same)
			}
			ours := differenceOurs(t, tc.options, tc.unsynced, tc.localIP, objs)
			theirs := differenceUpstream(t, tc.options, tc.unsynced, objs)
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			if tc.edit != nil {
				tc.edit(m)
			}
			if err := checkDiffAnswer(ours, m, tc.ours); err != "" {
				t.Errorf("difference %d: clusterdns: %s", tc.diff, err)
			}
			if err := checkDiffAnswer(theirs, m, tc.upstream); err != "" {
				t.Errorf("difference %d: kubernetes: %s", tc.diff, err)
			}
		})
	}
}

// differenceStanza is the stanza both plugins are configured with.
func differenceStanza(directive, options string) string {
	return directive + " cluster.local in-addr.arpa ip6.arpa {\n" + options + "\n}"
}

// differenceOurs builds clusterdns from the stanza and objs.
func differenceOurs(t *testing.T, options string, unsynced bool, localIP string, objs []runtime.Object) *ClusterDNS {
	t.Helper()
	cfg, err := parse(caddy.NewTestController("dns", differenceStanza(pluginName, options)))
	if err != nil {
		t.Fatal(err)
	}
	c := newTestPlugin(t, cfg, objs...)
	if unsynced {
		c.ctl.Store(nil) // as before the first sync
	}
	if localIP != "" {
		a, ok := parseHostAddr(localIP)
		if !ok {
			t.Fatalf("bad local address %q", localIP)
		}
		c.answers.LocalIPs = append(c.answers.LocalIPs, a)
	}
	return c
}

// unsyncedConn is an upstream connection whose caches have not synced.
type unsyncedConn struct{ *upstreamConn }

func (unsyncedConn) HasSynced() bool { return false }

// differenceUpstream builds CoreDNS's kubernetes plugin from the same stanza
// through its own parser, answering from objs.
func differenceUpstream(t *testing.T, options string, unsynced bool, objs []runtime.Object) *kubernetes.Kubernetes {
	t.Helper()
	c := caddy.NewTestController("dns", differenceStanza("kubernetes", options))
	c.Next()
	k, err := kubernetes.ParseStanza(c)
	if err != nil {
		t.Fatal(err)
	}
	conn := newUpstreamConn(t, objs...)
	k.APIConn = conn
	if unsynced {
		k.APIConn = unsyncedConn{conn}
	}
	return k
}

// checkDiffAnswer asks h the query m and compares the rcode and answer
// section with want; it returns "" when they match.
func checkDiffAnswer(h plugin.Handler, m *dns.Msg, want diffAnswer) string {
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	rc, _ := h.ServeDNS(context.Background(), rec, m.Copy())
	var answer, extra []dns.RR
	if rec.Msg != nil {
		rc = rec.Msg.Rcode
		answer, extra = rec.Msg.Answer, rec.Msg.Extra
	}
	if rc != want.rcode {
		return "rcode " + dns.RcodeToString[rc] + ", want " + dns.RcodeToString[want.rcode]
	}
	if err := sameRecords("answer", answer, want.answer); err != "" {
		return err
	}
	if want.extra != nil {
		return sameRecords("additional", extra, want.extra)
	}
	return ""
}

// sameRecords compares a section with records in zone-file form, in any order.
func sameRecords(section string, rrs []dns.RR, want []string) string {
	var got, exp []string
	for _, rr := range rrs {
		got = append(got, rr.String())
	}
	for _, s := range want {
		rr, err := dns.NewRR(s)
		if err != nil {
			return "bad expected record " + s + ": " + err.Error()
		}
		exp = append(exp, rr.String())
	}
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		return section + " [" + strings.Join(got, "; ") + "], want [" + strings.Join(exp, "; ") + "]"
	}
	return ""
}

// TestOptionDifferencesFromUpstream gives both parsers the same stanzas.
// clusterdns rejects each with an error that names the option and the
// Corefile line; upstream accepts it, or rejects it without saying where
// (DIFFERENCES.md items 16 and 17).
func TestOptionDifferencesFromUpstream(t *testing.T) {
	tests := []struct {
		diff           int
		option         string // the option line; its name must appear in our error
		upstreamAccept bool   // else upstream's error lacks the line
	}{
		{16, "ignore", true},
		{16, "ignore empty_service extra", true},
		{16, "apiserver_qps NaN", true},
		{16, "startup_timeout -5s", true},
		{16, "ttl 30 60", true},
		{16, "ttl abc", false},
		{16, "pods bogus", false},
		{16, "labels a in (", false},
		{17, "multicluster", true},
	}
	for _, tc := range tests {
		t.Run(tc.option, func(t *testing.T) {
			stanza := " cluster.local clusterset.local {\n" + tc.option + "\n}"
			uc := caddy.NewTestController("dns", "kubernetes"+stanza)
			uc.Next()
			_, uerr := kubernetes.ParseStanza(uc)
			switch {
			case tc.upstreamAccept && uerr != nil:
				t.Errorf("difference %d: kubernetes rejected %q: %v", tc.diff, tc.option, uerr)
			case !tc.upstreamAccept && uerr == nil:
				t.Errorf("difference %d: kubernetes accepted %q", tc.diff, tc.option)
			case !tc.upstreamAccept && strings.Contains(uerr.Error(), ":2 - "):
				t.Errorf("difference %d: kubernetes error %q names the line", tc.diff, uerr)
			}

			_, err := parse(caddy.NewTestController("dns", pluginName+stanza))
			if err == nil {
				t.Fatalf("difference %d: clusterdns accepted %q", tc.diff, tc.option)
			}
			name, _, _ := strings.Cut(tc.option, " ")
			if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), ":2 - ") {
				t.Errorf("difference %d: clusterdns error %q does not name %s and line 2", tc.diff, err, name)
			}
		})
	}
}
