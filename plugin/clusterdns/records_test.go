package clusterdns

import (
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestDashedIP(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"10.0.0.1", "10-0-0-1"},
		{"fd00::1", "fd00--1"},
		{"fd00:1:2:3:4:5:6:7", "fd00-1-2-3-4-5-6-7"},
		{"fd00::", "fd00--0"},
		{"::1", "--1"},
	} {
		if got := dashedIP(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("dashedIP(%s) = %s, want %s", tc.ip, got, tc.want)
		}
	}
}

func TestPodAddr(t *testing.T) {
	for _, tc := range []struct {
		label string
		want  string // "" when not an address
	}{
		{"10-244-0-5", "10.244.0.5"},
		{"fd00--5", "fd00::5"},
		{"fd00-0-0-0-0-0-0-5", "fd00::5"},
		{"10-244-0", ""},
		{"10-244-0-256", ""},
		{"web", ""},
		{"", ""},
		{"fe80--1%eth0", ""},
	} {
		a, ok := podAddr(tc.label)
		if got := ""; ok {
			got = a.String()
			if got != tc.want {
				t.Errorf("podAddr(%q) = %s, want %q", tc.label, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("podAddr(%q) failed, want %s", tc.label, tc.want)
		}
	}
}

func TestParseReverse(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string // "" when not a reverse name
	}{
		{"1.0.96.10.in-addr.arpa.", "10.96.0.1/32"},
		{"96.10.in-addr.arpa.", "10.96.0.0/16"},
		{"10.in-addr.arpa.", "10.0.0.0/8"},
		{"1.1.0.96.10.in-addr.arpa.", ""},
		{"01.0.96.10.in-addr.arpa.", ""},
		{"256.0.96.10.in-addr.arpa.", ""},
		{"x.in-addr.arpa.", ""},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "fd00::1/128"},
		{"d.f.ip6.arpa.", "fd00::/8"},
		{"dd.f.ip6.arpa.", ""},
		{"g.f.ip6.arpa.", ""},
		{"example.com.", ""},
	} {
		p, ok := parseReverse(tc.name)
		switch {
		case ok && tc.want == "":
			t.Errorf("parseReverse(%s) = %s, want failure", tc.name, p)
		case !ok && tc.want != "":
			t.Errorf("parseReverse(%s) failed, want %s", tc.name, tc.want)
		case ok && p.String() != tc.want:
			t.Errorf("parseReverse(%s) = %s, want %s", tc.name, p, tc.want)
		}
	}
}

func TestIsReverseZone(t *testing.T) {
	for zone, want := range map[string]bool{
		"in-addr.arpa.": true, "10.in-addr.arpa.": true, "ip6.arpa.": true, "IP6.ARPA.": true,
		"cluster.local.": false, "arpa.": false, "xin-addr.arpa.": false,
	} {
		if got := isReverseZone(zone); got != want {
			t.Errorf("isReverseZone(%s) = %v, want %v", zone, got, want)
		}
	}
}

// names returns the sorted owner names of a build.
func names(r *serviceRecords) []string {
	var out []string
	for n := range r.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestBuildService(t *testing.T) {
	pg := []discoveryv1.EndpointPort{testSlicePort("pg", corev1.ProtocolTCP, 5432)}
	tests := []struct {
		name   string
		svc    *corev1.Service
		slices []*discoveryv1.EndpointSlice
		opts   buildOptions
		names  []string
		ptrs   int
	}{
		{
			name:  "clusterIP with a named and an unnamed port",
			svc:   testService("ns", "web", []string{"10.0.0.1"}, testPort("http", corev1.ProtocolTCP, 80), testPort("", corev1.ProtocolUDP, 53)),
			names: []string{"_http._tcp.web.ns.svc", "_tcp.web.ns.svc", "web.ns.svc"},
			ptrs:  1,
		},
		{
			name:  "clusterIP without endpoints is still served",
			svc:   testService("ns", "web", []string{"10.0.0.1"}),
			names: []string{"web.ns.svc"},
			ptrs:  1,
		},
		{
			name:  "ignore empty_service hides a clusterIP without ready endpoints",
			svc:   testService("ns", "web", []string{"10.0.0.1"}),
			opts:  buildOptions{ignoreEmptyServices: true},
			names: nil,
		},
		{
			name:   "headless with hostnames, duplicates across slices",
			svc:    testService("ns", "db", []string{"None"}, testPort("pg", corev1.ProtocolTCP, 5432)),
			slices: []*discoveryv1.EndpointSlice{testSlice("ns", "db", "a", discoveryv1.AddressTypeIPv4, pg, testEndpoint{ip: "10.1.0.1", hostname: "db-0"}), testSlice("ns", "db", "b", discoveryv1.AddressTypeIPv4, pg, testEndpoint{ip: "10.1.0.1", hostname: "db-0"})},
			names:  []string{"_pg._tcp.db.ns.svc", "_tcp.db.ns.svc", "db-0.db.ns.svc", "db.ns.svc"},
			ptrs:   1,
		},
		{
			name:   "headless with endpoint_pod_names",
			svc:    testService("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{testSlice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil, testEndpoint{ip: "10.1.0.1", pod: "db-7d9f"}, testEndpoint{ip: "10.1.0.2", pod: "bad.name"})},
			opts:   buildOptions{endpointPodNames: true},
			names:  []string{"10-1-0-2.db.ns.svc", "db-7d9f.db.ns.svc", "db.ns.svc"},
			ptrs:   2,
		},
		{
			name:   "headless with only not-ready endpoints does not exist",
			svc:    testService("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{testSlice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil, testEndpoint{ip: "10.1.0.1", ready: boolPtr(false)})},
			names:  nil,
		},
		{
			name:   "bad addresses and mismatched families are skipped",
			svc:    testService("ns", "db", []string{"None"}),
			slices: []*discoveryv1.EndpointSlice{testSlice("ns", "db", "a", discoveryv1.AddressTypeIPv4, nil, testEndpoint{ip: "not-an-ip"}, testEndpoint{ip: "fd00::1"}, testEndpoint{ip: "10.1.0.9"})},
			names:  []string{"10-1-0-9.db.ns.svc", "db.ns.svc"},
			ptrs:   1,
		},
		{
			name:  "ExternalName",
			svc:   testExternalName("ns", "ext", "Example.COM."),
			names: []string{"ext.ns.svc"},
		},
		{
			name:  "ExternalName with an IP is not served",
			svc:   testExternalName("ns", "ext", "192.0.2.1"),
			names: nil,
		},
		{
			name:  "ExternalName with an unusable name is not served",
			svc:   testExternalName("ns", "ext", "bad..name"),
			names: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := buildService(tc.svc, tc.slices, tc.opts)
			if got := names(r); !slices.Equal(got, tc.names) {
				t.Errorf("names = %v, want %v", got, tc.names)
			}
			if len(r.ptrs) != tc.ptrs {
				t.Errorf("%d PTRs, want %d", len(r.ptrs), tc.ptrs)
			}
		})
	}
	ext := buildService(testExternalName("ns", "ext", "Example.COM."), nil, buildOptions{})
	if got := ext.names["ext.ns.svc"].cname; got != "example.com." {
		t.Errorf("ExternalName target %q, want example.com.", got)
	}
}

func TestSRVWeights(t *testing.T) {
	http := []discoveryv1.EndpointPort{testSlicePort("http", corev1.ProtocolTCP, 80)}
	svc := testService("ns", "h", []string{"None"})
	var eps []testEndpoint
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		eps = append(eps, testEndpoint{ip: ip})
	}
	// The third endpoint again in another slice: weights count distinct records.
	r := buildService(svc, []*discoveryv1.EndpointSlice{
		testSlice("ns", "h", "a", discoveryv1.AddressTypeIPv4, http, eps...),
		testSlice("ns", "h", "b", discoveryv1.AddressTypeIPv4, http, eps[2]),
	}, buildOptions{})
	srv := r.names["_http._tcp.h.ns.svc"].srv
	if len(srv) != 3 {
		t.Fatalf("%d SRV records, want 3", len(srv))
	}
	for _, s := range srv {
		if s.weight != 33 || s.port != 80 || len(s.a) != 1 {
			t.Errorf("SRV %+v: want weight 33, port 80, one glue address", s)
		}
	}
	// Dual-stack ClusterIP: one record, weight 100.
	dual := buildService(testService("ns", "d", []string{"10.0.0.1", "fd00::1"}, testPort("http", corev1.ProtocolTCP, 80)), nil, buildOptions{})
	if s := dual.names["_http._tcp.d.ns.svc"].srv; len(s) != 1 || s[0].weight != 100 || len(s[0].a) != 1 || len(s[0].aaaa) != 1 {
		t.Errorf("dual-stack SRV %+v: want one record, weight 100, A and AAAA glue", s)
	}
}
