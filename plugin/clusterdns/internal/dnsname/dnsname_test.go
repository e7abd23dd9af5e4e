package dnsname

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestDashed(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"10.0.0.1", "10-0-0-1"},
		{"fd00::1", "fd00--1"},
		{"fd00:1:2:3:4:5:6:7", "fd00-1-2-3-4-5-6-7"},
		{"fd00::", "fd00--0"},
		{"::1", "--1"},
	} {
		if got := Dashed(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Dashed(%s) = %s, want %s", tc.ip, got, tc.want)
		}
	}
}

func TestParseDashed(t *testing.T) {
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
		a, ok := ParseDashed(tc.label)
		if got := ""; ok {
			got = a.String()
			if got != tc.want {
				t.Errorf("ParseDashed(%q) = %s, want %q", tc.label, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("ParseDashed(%q) failed, want %s", tc.label, tc.want)
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
		p, ok := ParseReverse(tc.name)
		switch {
		case ok && tc.want == "":
			t.Errorf("ParseReverse(%s) = %s, want failure", tc.name, p)
		case !ok && tc.want != "":
			t.Errorf("ParseReverse(%s) failed, want %s", tc.name, tc.want)
		case ok && p.String() != tc.want:
			t.Errorf("ParseReverse(%s) = %s, want %s", tc.name, p, tc.want)
		}
	}
}

func TestIsReverseZone(t *testing.T) {
	for zone, want := range map[string]bool{
		"in-addr.arpa.": true, "10.in-addr.arpa.": true, "ip6.arpa.": true, "IP6.ARPA.": true,
		"cluster.local.": false, "arpa.": false, "xin-addr.arpa.": false,
	} {
		if got := IsReverseZone(zone); got != want {
			t.Errorf("IsReverseZone(%s) = %v, want %v", zone, got, want)
		}
	}
}

func TestMatchZone(t *testing.T) {
	zones := []string{"cluster.local.", "in-addr.arpa.", "10.in-addr.arpa."}
	for _, tc := range []struct{ name, want string }{
		{"web.prod.svc.cluster.local.", "cluster.local."},
		{"WEB.Cluster.LOCAL.", "cluster.local."},
		{"cluster.local.", "cluster.local."},
		{"xcluster.local.", ""},
		{`a\.cluster.local.`, ""},
		{`a\\.cluster.local.`, "cluster.local."},
		{"1.0.0.10.in-addr.arpa.", "10.in-addr.arpa."},
		{"1.0.0.11.in-addr.arpa.", "in-addr.arpa."},
		{"local.", ""},
		{".", ""},
	} {
		if got := MatchZone(tc.name, zones); got != tc.want {
			t.Errorf("MatchZone(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := MatchZone("example.org.", []string{"."}); got != "." {
		t.Errorf("root zone: %q", got)
	}
}

func TestSearchPath(t *testing.T) {
	tests := []struct {
		ns, zone string
		host     []string
		want     []string
	}{
		{"prod", "cluster.local.", nil, []string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", ""}},
		{"prod", "cluster.local.", []string{"corp.example.", "example."},
			[]string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", "corp.example.", "example.", ""}},
		{"prod", ".", nil, []string{"prod.svc.", "svc.", ".", ""}},
	}
	for _, tc := range tests {
		if got := SearchPath(tc.ns, tc.zone, tc.host); !slices.Equal(got, tc.want) {
			t.Errorf("SearchPath(%q, %q, %v) = %q, want %q", tc.ns, tc.zone, tc.host, got, tc.want)
		}
	}
}

// FuzzParseReverse checks the reverse-name reader never panics and that
// what it reads spells back to a name it reads the same way.
func FuzzParseReverse(f *testing.F) {
	for _, s := range []string{"1.0.96.10.in-addr.arpa.", "10.in-addr.arpa.", "d.f.ip6.arpa.", "x.in-addr.arpa.", "in-addr.arpa."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, ok := ParseReverse(name)
		if !ok || !p.IsSingleIP() {
			return
		}
		back, err := dns.ReverseAddr(p.Addr().String())
		if err != nil {
			t.Fatalf("%s read as %s, which has no reverse name: %v", name, p, err)
		}
		if q, ok := ParseReverse(back); !ok || q != p {
			t.Fatalf("%s read as %s, spelled back %s, read as %v", name, p, back, q)
		}
	})
}

func TestParse(t *testing.T) {
	tests := []struct {
		rel  string
		want Name
	}{
		{"", Name{}},
		{"dns-version", Name{Rel: "dns-version"}},
		{"ns.dns", Name{Rel: "ns.dns"}},
		{"svc", Name{Rel: "svc", Kind: KindService}},
		{"pod", Name{Rel: "pod", Kind: KindPod}},
		{"prod.svc", Name{Rel: "prod.svc", Kind: KindService, Namespace: "prod"}},
		{"web.prod.svc", Name{Rel: "web.prod.svc", Kind: KindService, Namespace: "prod", Service: "web"}},
		{"db-0.db.prod.svc", Name{Rel: "db-0.db.prod.svc", Kind: KindService, Namespace: "prod", Service: "db", Label: "db-0"}},
		{"_http._tcp.web.prod.svc", Name{Rel: "_http._tcp.web.prod.svc", Kind: KindService, Namespace: "prod", Service: "web", Label: "_tcp", Rest: "_http"}},
		{"a.pin._zone.db.prod.svc", Name{Rel: "a.pin._zone.db.prod.svc", Kind: KindService, Namespace: "prod", Service: "db", Label: "_zone", Rest: "a.pin"}},
		{"10-244-1-5.prod.pod", Name{Rel: "10-244-1-5.prod.pod", Kind: KindPod, Namespace: "prod", Service: "10-244-1-5"}},
		{"web.prod.other", Name{Rel: "web.prod.other"}},
	}
	for _, tc := range tests {
		if got := Parse(tc.rel); got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.rel, got, tc.want)
		}
	}
}

func TestRelative(t *testing.T) {
	for _, tc := range []struct{ name, zone, want string }{
		{"Web.Prod.svc.cluster.local.", "cluster.local.", "web.prod.svc"},
		{"cluster.local.", "cluster.local.", ""},
		{"Web.Prod.svc.", ".", "web.prod.svc"},
		{".", ".", ""},
	} {
		if got := Relative(tc.name, tc.zone); got != tc.want {
			t.Errorf("Relative(%q, %q) = %q, want %q", tc.name, tc.zone, got, tc.want)
		}
		if tc.want != "" && !strings.EqualFold(Join(tc.want, tc.zone), tc.name) {
			t.Errorf("Join(%q, %q) = %q, want %q", tc.want, tc.zone, Join(tc.want, tc.zone), tc.name)
		}
	}
}

func TestLabels(t *testing.T) {
	for _, tc := range []struct {
		s               string
		dnsLabel, valid bool
	}{
		{"web", true, true},
		{"Web-1", true, true},
		{"-web", false, true},
		{"web-", false, true},
		{"we_b", false, true},
		{"a.b", false, false},
		{"", false, false},
		{strings.Repeat("a", 63), true, true},
		{strings.Repeat("a", 64), false, false},
	} {
		if got := IsDNSLabel(tc.s); got != tc.dnsLabel {
			t.Errorf("IsDNSLabel(%q) = %v, want %v", tc.s, got, tc.dnsLabel)
		}
		if got := ValidLabel(tc.s); got != tc.valid {
			t.Errorf("ValidLabel(%q) = %v, want %v", tc.s, got, tc.valid)
		}
	}
	for host, want := range map[string]bool{"example.com": true, "a..b": false, "": false, strings.Repeat("a.", 127) + "a": false} {
		if got := ValidHost(host); got != want {
			t.Errorf("ValidHost(%q) = %v, want %v", host, got, want)
		}
	}
	for p, want := range map[string]string{"": "tcp", "TCP": "tcp", "UDP": "udp", "SCTP": "sctp", "Other": "other"} {
		if got := Proto(p); got != want {
			t.Errorf("Proto(%q) = %q, want %q", p, got, want)
		}
	}
}
