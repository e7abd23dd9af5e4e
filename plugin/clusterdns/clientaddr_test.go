package clusterdns

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/pkg/proxyproto"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/answer"
)

// addrWriter is a ResponseWriter whose client address is whatever a
// transport reports.
type addrWriter struct {
	test.ResponseWriter
	remote net.Addr
}

func (w *addrWriter) RemoteAddr() net.Addr { return w.remote }

// transportAddrs are the client addresses each of CoreDNS's transports
// hands a plugin for a query from 10.240.0.2: UDP and TCP, DoH (a TCPAddr
// built with net.ParseIP, so 16 bytes), DoQ (its QUIC connection's
// UDPAddr), and DoH or DoQ behind a PROXY-protocol listener, whose
// address is the proxyproto package's own type.
func transportAddrs() map[string]net.Addr {
	udp := &net.UDPAddr{IP: net.IPv4(10, 240, 0, 2).To4(), Port: 40000}
	return map[string]net.Addr{
		"udp":            udp,
		"tcp":            &net.TCPAddr{IP: net.IPv4(10, 240, 0, 2).To4(), Port: 40000},
		"doh":            &net.TCPAddr{IP: net.ParseIP("10.240.0.2"), Port: 40000},
		"doq":            &net.UDPAddr{IP: net.ParseIP("10.240.0.2"), Port: 40000},
		"proxy protocol": proxyproto.NewAddr(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 443}, udp, nil),
	}
}

func TestClientAddr(t *testing.T) {
	want := netip.MustParseAddr("10.240.0.2")
	for name, a := range transportAddrs() {
		if got, ok := answer.ClientAddr(&addrWriter{remote: a}); !ok || got != want {
			t.Errorf("%s: clientAddr = %v, %v; want %s", name, got, ok, want)
		}
	}
	for _, tc := range []struct {
		w    *test.ResponseWriter
		want string
	}{
		{&test.ResponseWriter{RemoteIP: "10.0.0.1"}, "10.0.0.1"},
		{&test.ResponseWriter{RemoteIP: "10.0.0.1", TCP: true}, "10.0.0.1"},
		{&test.ResponseWriter{RemoteIP: "::ffff:10.0.0.1"}, "10.0.0.1"},
		{&test.ResponseWriter{RemoteIP: "fd00::1"}, "fd00::1"},
	} {
		if got, ok := answer.ClientAddr(tc.w); !ok || got != netip.MustParseAddr(tc.want) {
			t.Errorf("clientAddr(%s) = %v, %v; want %s", tc.w.RemoteIP, got, ok, tc.want)
		}
	}
	if _, ok := answer.ClientAddr(&addrWriter{}); ok {
		t.Error("a writer without an address gave one")
	}
	if _, ok := answer.ClientAddr(nil); ok {
		t.Error("no writer gave an address")
	}
}

// TestClientOverEveryTransport checks that every feature that needs the
// client's pod finds it whichever transport the query came over:
// client_zone_first's order, autopath's search path and the client
// metadata.
func TestClientOverEveryTransport(t *testing.T) {
	cfg := verifiedConfig()
	cfg.ClientZoneFirst = true
	c := newTestPlugin(t, cfg, clientZoneObjects()...)
	zoneB := []string{"10.244.1.2", "10.244.1.4", "10.244.1.1", "10.244.1.3"}
	for name, a := range transportAddrs() {
		t.Run(name, func(t *testing.T) {
			r := new(dns.Msg)
			r.SetQuestion("db.prod.svc.cluster.local.", dns.TypeA)
			rec := dnstest.NewRecorder(&addrWriter{remote: a})
			if _, err := c.ServeDNS(context.Background(), rec, r); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rr := range rec.Msg.Answer {
				got = append(got, rr.(*dns.A).A.String())
			}
			if !slices.Equal(got, zoneB) {
				t.Errorf("client_zone_first answer %v, want zone-b first: %v", got, zoneB)
			}
			search := c.AutoPath(request.Request{W: &addrWriter{remote: a}, Req: r})
			if len(search) == 0 || search[0] != "other.svc.cluster.local." {
				t.Errorf("autopath search %q, want the client pod's namespace first", search)
			}
		})
	}
}
