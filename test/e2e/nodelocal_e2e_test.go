//go:build e2e

package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNodeLocalDNS runs the nodelocaldns overlay on a node made of network
// namespaces (startNode): node-local-dns with the overlay's Corefile on
// 169.254.20.10, forwarding the cluster domain over TCP to clusterdns. A
// pod there resolves through it with glibc and with musl: the answers are
// clusterdns's, repeated lookups do not reach clusterdns, and the
// search-path expansions that do not exist are asked again only once the
// overlay's denial TTL has passed.
func TestNodeLocalDNS(t *testing.T) {
	ctx := context.Background()
	cs := must(env.cp.AdminClient())
	for _, ns := range []string{"shop", "tools"} {
		if err := ensureNamespace(ctx, cs, ns); err != nil {
			t.Fatal(err)
		}
	}
	cart := service("shop", "cart", true, &singleStack, port("api", corev1.ProtocolTCP, 9000))
	cart.Spec.Selector = nil
	alias := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "alias"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "web.shop.svc.cluster.local"}}
	for _, s := range []*corev1.Service{
		service("shop", "web", false, &requireDual, port("http", corev1.ProtocolTCP, 80)),
		service("shop", "api", false, &singleStack, port("http", corev1.ProtocolTCP, 80)),
		cart, alias,
	} {
		if _, err := cs.CoreV1().Services("shop").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.DiscoveryV1().EndpointSlices("shop").Create(ctx, manualSlice("shop", "cart", "cart-a", "10.250.9.1", "10.250.9.2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, ns := range []string{"shop", "tools"} {
			_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	web := clusterIPsOf(ctx, cs, "shop", "web")
	api := clusterIPsOf(ctx, cs, "shop", "api")
	kube := clusterIPsOf(ctx, cs, "default", "kubernetes")

	n := startNode(t, ctx, cs)
	expectAt(t, behindCacheAddr, "cart's endpoints", "cart.shop.svc.cluster.local", dns.TypeA, 10*time.Second, count("A", 2))
	expectAt(t, behindCacheAddr, "the ExternalName", "alias.shop.svc.cluster.local", dns.TypeCNAME, 10*time.Second, count("CNAME", 1))

	t.Run("answers are clusterdns's", func(t *testing.T) {
		tests := []struct {
			name  string
			qtype uint16
		}{
			{"web.shop.svc.cluster.local", dns.TypeA},
			{"web.shop.svc.cluster.local", dns.TypeAAAA},
			{"_http._tcp.web.shop.svc.cluster.local", dns.TypeSRV},
			{"cart.shop.svc.cluster.local", dns.TypeA},
			{"alias.shop.svc.cluster.local", dns.TypeA},
			{"nothere.shop.svc.cluster.local", dns.TypeA}, // NXDOMAIN
			{"shop.svc.cluster.local", dns.TypeA},         // NODATA
			{must(dns.ReverseAddr(web[0])), dns.TypePTR},  // in-addr.arpa
			{must(dns.ReverseAddr(web[1])), dns.TypePTR},  // ip6.arpa
			{"dns-version.cluster.local", dns.TypeTXT},
		}
		for _, tc := range tests {
			want, err := query(behindCacheAddr, "udp", tc.name, tc.qtype)
			if err != nil {
				t.Fatal(err)
			}
			// Pods reach node-local-dns on its own address and, in
			// iptables mode, on kube-dns's, which it takes over too.
			for _, server := range n.bind {
				got, err := n.query(server, tc.name, tc.qtype)
				if err != nil || got.rcode != want.rcode || !slices.Equal(got.records, want.records) {
					t.Errorf("%s %s from the pod through %s: %v (err %v); clusterdns answers %v", tc.name, dns.TypeToString[tc.qtype], server, got, err, want)
				}
			}
		}
	})

	// The pod's resolv.conf, as the kubelet writes it on a node with
	// node-local-dns; the same lookups directly against clusterdns, from
	// the suite's namespace, for comparison.
	pod := podDNS{ns: "shop", nameserver: n.localIP, netns: string(n.pod)}
	direct := podDNS{ns: "shop", nameserver: behindCacheAddr}

	t.Run("glibc and musl through the cache", func(t *testing.T) {
		webCanon := "web.shop.svc.cluster.local"
		tests := []struct {
			db, name string
			want     resolution // glibc's
			cluster  bool       // a cluster name: clusterdns alone resolves it the same
			muslErr  string     // musl finds nothing, with this error (README: Pods on Alpine)
		}{
			{db: "hosts", name: "web", want: resolution{addrs: web[1:], canon: webCanon}, cluster: true},
			{db: "ahostsv4", name: "web", want: resolution{addrs: web[:1], canon: webCanon}, cluster: true},
			{db: "ahostsv6", name: "web.shop.svc", want: resolution{addrs: web[1:], canon: webCanon}, cluster: true},
			{db: "ahosts", name: "web.shop", want: resolution{addrs: sorted(web), canon: webCanon}, cluster: true},
			{db: "ahostsv4", name: "cart", want: resolution{addrs: []string{"10.250.9.1", "10.250.9.2"}, canon: "cart.shop.svc.cluster.local"}, cluster: true},
			{db: "hosts", name: "alias", want: resolution{addrs: web[1:], canon: webCanon}, cluster: true},
			{db: "ahostsv4", name: "kubernetes.default", want: resolution{addrs: kube[:1], canon: "kubernetes.default.svc.cluster.local"}, cluster: true},
			// After three NXDOMAIN expansions, the node's domain.
			{db: "ahostsv4", name: "build01", want: resolution{addrs: []string{"192.0.2.21"}, canon: "build01.example.internal"}},
			// tools.svc.cluster.local exists (NODATA): a namespace.
			// musl stops there; glibc goes on to the node's domain.
			{db: "ahostsv4", name: "tools", want: resolution{addrs: []string{"192.0.2.20"}, canon: "tools.example.internal"}, muslErr: "Name does not resolve"},
			// Every expansion NXDOMAIN but lab.internal's, SERVFAIL; the
			// name as it is exists. musl retries the SERVFAIL until its
			// timeout, then gives up; glibc goes on.
			{db: "ahostsv4", name: "api.partner.test", want: resolution{addrs: []string{"192.0.2.30"}, canon: "api.partner.test"}, muslErr: "Try again"},
			{db: "ahostsv4", name: "nothere", want: resolution{failed: "any"}},
		}
		for _, tc := range tests {
			glibc, musl, err := resolveBoth(pod, tc.db, tc.name)
			if err != nil {
				t.Errorf("%s %s: %v", tc.db, tc.name, err)
				continue
			}
			if !glibc.sameAs(tc.want) {
				t.Errorf("getent %s %s through node-local-dns: %v, want %v", tc.db, tc.name, glibc, tc.want)
			}
			switch {
			case tc.muslErr != "" && musl.failed != tc.name+": "+tc.muslErr:
				t.Errorf("musl %s %s: %v; want, as the README says, nothing found (%s)", tc.db, tc.name, musl, tc.muslErr)
			case tc.muslErr == "" && !musl.sameAs(glibc):
				t.Errorf("%s %s through node-local-dns: glibc %v, musl %v", tc.db, tc.name, glibc, musl)
			}
			if tc.cluster {
				if g, m, err := resolveBoth(direct, tc.db, tc.name); err != nil || !g.sameAs(glibc) || !m.sameAs(musl) {
					t.Errorf("%s %s: through node-local-dns glibc %v, musl %v; from clusterdns glibc %v, musl %v (err %v)", tc.db, tc.name, glibc, musl, g, m, err)
				}
			}
		}
	})

	t.Run("repeated lookups come from the cache", func(t *testing.T) {
		denial, success := cacheTTL(t, n.corefile, "denial"), cacheTTL(t, n.corefile, "success")
		if kept := min(success, n.dnsTTL); denial+time.Second >= kept {
			t.Fatalf("the cache keeps denials %s and answers %s (clusterdns's TTL %s): the test cannot tell them apart", denial, kept, n.dnsTTL)
		}
		// api.shop from a pod of shop: api.shop.shop.svc.cluster.local does
		// not exist, api.shop.svc.cluster.local does. ahostsv4 asks for A
		// records only, glibc and musl alike.
		expansion, answer := "api.shop.shop.svc.cluster.local", "api.shop.svc.cluster.local"
		lookup := func(what string) {
			t.Helper()
			glibc, musl, err := resolveBoth(pod, "ahostsv4", "api.shop")
			if err != nil || !slices.Equal(glibc.addrs, api) || !musl.sameAs(glibc) {
				t.Fatalf("%s: glibc %v, musl %v (err %v); want %v", what, glibc, musl, err, api)
			}
		}
		asked := func() (int, int) { return n.relay.count(expansion, dns.TypeA), n.relay.count(answer, dns.TypeA) }

		start := time.Now()
		lookup("first lookup")
		if e, a := asked(); e != 1 || a != 1 {
			t.Fatalf("first lookups by glibc then musl: clusterdns was asked %s %d times and %s %d times, want once each", expansion, e, answer, a)
		}
		requests := n.requests(t)
		hits, denials := n.cacheHits(t, "success"), n.cacheHits(t, "denial")
		const repeats = 3
		for range repeats {
			lookup("repeated lookup")
		}
		if e, a := asked(); e != 1 || a != 1 {
			t.Errorf("repeated lookups: clusterdns was asked %s %d times and %s %d times, want still once each", expansion, e, answer, a)
		}
		if r := n.requests(t); r != requests {
			t.Errorf("clusterdns's requests went from %v to %v during lookups the cache should answer", requests, r)
		}
		// Each lookup, by glibc and by musl, is one denial and one answer.
		if h, d := n.cacheHits(t, "success")-hits, n.cacheHits(t, "denial")-denials; h != 2*repeats || d != 2*repeats {
			t.Errorf("cache hits: %v answers and %v denials, want %d of each", h, d, 2*repeats)
		}
		t.Logf("%d repeated lookups: 0 queries to clusterdns, %d cache hits; %d TCP connections to clusterdns so far", 2*repeats, 4*repeats, n.relay.connections())

		// Once the denial TTL has passed, the expansion is asked again; the
		// answer is still cached (clusterdns's TTL and the overlay's
		// success TTL are longer).
		time.Sleep(time.Until(start.Add(denial + time.Second)))
		lookup("lookup after the denial TTL")
		if e, a := asked(); e != 2 || a != 1 {
			t.Errorf("%s after the first lookup (denial TTL %s): clusterdns was asked %s %d times and %s %d times, want 2 and 1", time.Since(start).Round(100*time.Millisecond), denial, expansion, e, answer, a)
		}
	})

	t.Run("forwards over TCP on a few connections", func(t *testing.T) {
		// The relay listens on TCP only: every answer above came over
		// TCP. Connections are reused, not one per query.
		if queries, c := n.relay.total(), n.relay.connections(); c == 0 || c >= queries/2 {
			t.Errorf("node-local-dns opened %d connections to clusterdns for %d queries", c, queries)
		} else {
			t.Logf("%d queries on %d connections", queries, c)
		}
	})
}

// sorted returns a sorted copy of s.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
