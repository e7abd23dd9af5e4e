package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// FuzzServeDNS feeds arbitrary messages to the handler: whatever comes in,
// it must not panic, and what it writes must pack. Run longer with
// `go test -fuzz FuzzServeDNS ./plugin/clusterdns/`.
func FuzzServeDNS(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"web.prod.svc.cluster.local.", dns.TypeA},
		{"_pg._tcp.db.prod.svc.cluster.local.", dns.TypeSRV},
		{"db-0.db.prod.svc.cluster.local.", dns.TypeAAAA},
		{"alias.prod.svc.cluster.local.", dns.TypeA},
		{"2.1.244.10.in-addr.arpa.", dns.TypePTR},
		{"d.f.ip6.arpa.", dns.TypePTR},
		{"10-244-0-5.prod.pod.cluster.local.", dns.TypeA},
		{"cluster.local.", dns.TypeNS},
		{`a\.b.prod.svc.cluster.local.`, dns.TypeANY},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(1232, true)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cfg := testConfig()
	cfg.PodMode = podsInsecure
	c := newTestPlugin(f, cfg, handlerObjects()...)
	c.Next = test.NextHandler(dns.RcodeSuccess, nil)
	f.Fuzz(func(t *testing.T, wire []byte) {
		m := new(dns.Msg)
		if err := m.Unpack(wire); err != nil {
			return // the server drops what does not unpack
		}
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		if _, err := c.ServeDNS(context.Background(), rec, m); err != nil {
			t.Fatalf("ServeDNS error: %v", err)
		}
		if rec.Msg != nil {
			if _, err := rec.Msg.Pack(); err != nil {
				t.Fatalf("reply does not pack: %v\n%v", err, rec.Msg)
			}
		}
	})
}
