//go:build e2e

package e2e

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/miekg/dns"
	"k8s.io/client-go/kubernetes"
)

// comparison is one query put to both plugins; when their answers differ,
// diff must name the item of plugin/clusterdns/DIFFERENCES.md that
// explains it, and when they agree diff must be 0, so that the numbers
// stay true as either plugin changes.
type comparison struct {
	name  string
	qtype uint16
	diff  int
}

var soaSerial = regexp.MustCompile(`^(SOA \S+ \S+ )\d+`)

// normalize drops what legitimately differs between two servers: the SOA
// serial each derives from its own history.
func normalize(a answer) answer {
	out := a
	out.records = nil
	for _, r := range a.records {
		out.records = append(out.records, soaSerial.ReplaceAllString(r, "${1}SERIAL"))
	}
	return out
}

// testCompareUpstream asks the same questions of clusterdns and of the
// kubernetes plugin (same binary, same objects, same options) and prints
// every difference; each must be one the README lists as intentional, and
// each query listed with a difference must still show it.
func testCompareUpstream(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	webIP := clusterIPsOf(ctx, cs, "prod", "web")[0]
	db0 := runningPod(t, ctx, cs, "prod", "app=db")
	queries := []comparison{
		{"web.prod.svc.cluster.local.", dns.TypeA, 0},
		{"web.prod.svc.cluster.local.", dns.TypeAAAA, 0},
		{"web.prod.svc.cluster.local.", dns.TypeSRV, 4},
		{"_http._tcp.web.prod.svc.cluster.local.", dns.TypeSRV, 4},
		{"_http._tcp.web.prod.svc.cluster.local.", dns.TypeA, 6},
		{"_tcp.web.prod.svc.cluster.local.", dns.TypeSRV, 1},
		{"http.tcp.web.prod.svc.cluster.local.", dns.TypeSRV, 6},
		{"single.prod.svc.cluster.local.", dns.TypeAAAA, 0},
		{"db.prod.svc.cluster.local.", dns.TypeA, 0},
		{"db.prod.svc.cluster.local.", dns.TypeAAAA, 0},
		{"_pg._tcp.db.prod.svc.cluster.local.", dns.TypeSRV, 4},
		{"db-0.db.prod.svc.cluster.local.", dns.TypeA, 0},
		{"cache.prod.svc.cluster.local.", dns.TypeA, 0},
		{"multi.prod.svc.cluster.local.", dns.TypeA, 0},
		{"_api._tcp.multi.prod.svc.cluster.local.", dns.TypeSRV, 4},
		{"alias.prod.svc.cluster.local.", dns.TypeA, 0},
		{"alias.prod.svc.cluster.local.", dns.TypeTXT, 3},
		{"late.prod.svc.cluster.local.", dns.TypeA, 0},
		{"dns-version.cluster.local.", dns.TypeTXT, 0},
		{"dns-version.cluster.local.", dns.TypeA, 1},
		{"prod.svc.cluster.local.", dns.TypeA, 0},
		{"prod.svc.cluster.local.", dns.TypeTXT, 1},
		{"cluster.local.", dns.TypeSOA, 0},
		{"cluster.local.", dns.TypeNS, 11},
		{"cluster.local.", dns.TypeTXT, 1},
		{"nothere.prod.svc.cluster.local.", dns.TypeA, 0},
		{"nothere.prod.svc.cluster.local.", dns.TypeSOA, 2},
		{"web.nothere.svc.cluster.local.", dns.TypeA, 0},
		{"web.prod.svc.cluster.local.prod.svc.cluster.local.", dns.TypeA, 0},
		{"web.prod.svc.cluster.local.svc.cluster.local.", dns.TypeAAAA, 0},
		{"10-244-1-77.prod.pod.cluster.local.", dns.TypeA, 0},
		{"x.10-244-1-77.prod.pod.cluster.local.", dns.TypeA, 5},
		{must(dns.ReverseAddr(webIP)), dns.TypePTR, 0},
		{must(dns.ReverseAddr(db0.Status.PodIP)), dns.TypePTR, 0},
	}
	differences := 0
	for _, q := range queries {
		ours, err1 := query(dnsAddr, "udp", q.name, q.qtype)
		theirs, err2 := query(upstreamAddr, "udp", q.name, q.qtype)
		if err1 != nil || err2 != nil {
			t.Errorf("%s %s: errors %v / %v", q.name, dns.TypeToString[q.qtype], err1, err2)
			continue
		}
		ours, theirs = normalize(ours), normalize(theirs)
		if ours.rcode == theirs.rcode && slices.Equal(ours.records, theirs.records) {
			if q.diff != 0 {
				t.Errorf("%s %s: both answer %v, but the query is listed with difference %d", q.name, dns.TypeToString[q.qtype], ours, q.diff)
			}
			continue
		}
		differences++
		t.Logf("%-55s %-5s clusterdns: %v | kubernetes: %v (difference %d)", q.name, dns.TypeToString[q.qtype], ours, theirs, q.diff)
		if q.diff == 0 {
			t.Errorf("%s %s: clusterdns %v, kubernetes %v: not a listed difference", q.name, dns.TypeToString[q.qtype], ours, theirs)
		}
	}
	t.Logf("%d of %d queries answered differently", differences, len(queries))
}
