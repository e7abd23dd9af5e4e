package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"

	"github.com/miekg/dns"
)

// lookup is one kind of name an application in a pod resolves, with how
// often it happens and the queries its resolver sends for it.
type lookup struct {
	what    string
	percent int
	// queries returns the DNS queries a pod in namespace ns sends for one
	// such lookup, in the order the resolver sends them.
	queries func(r *rand.Rand, c *queryCluster, ns string) []string
}

// queryCluster is what the query generator knows of the cluster.
type queryCluster struct {
	services   int
	clusterIPs []string // ClusterIPs read back from the API, for PTR
}

// searchPath is the search list of a pod in ns (kubelet's resolv.conf);
// with ndots:5 a name with fewer than five dots is tried with each suffix
// before it is tried as is.
func searchPath(ns string) []string {
	return []string{ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}
}

// bothFamilies is what glibc sends for getaddrinfo(AF_UNSPEC): A and AAAA.
func bothFamilies(name string) []string { return []string{name + " A", name + " AAAA"} }

// pick returns a service of kind want in namespace ns (or a random one when
// ns is empty). Every full namespace holds services of each kind.
func pick(r *rand.Rand, c *queryCluster, ns string, want func(serviceKind) bool) genService {
	for {
		i := r.IntN(c.services)
		if ns != "" {
			first := nsIndex(ns) * servicesPerNamespace
			i = first + r.IntN(min(servicesPerNamespace, c.services-first))
		}
		if s := serviceAt(i); want(s.kind) {
			return s
		}
	}
}

func nsIndex(ns string) int {
	var n int
	if _, err := fmt.Sscanf(ns, "bench-%d", &n); err != nil {
		return 0
	}
	return n
}

func isClusterIP(k serviceKind) bool { return k == kindClusterIP || k == kindDualStack }
func isHeadless(k serviceKind) bool  { return k == kindHeadless }

// queryMix is the realistic mix: what applications look up, in what
// proportion, and what each lookup costs in queries with ndots:5.
var queryMix = []lookup{
	{"service in the pod's namespace, by short name (A+AAAA)", 45, func(r *rand.Rand, c *queryCluster, ns string) []string {
		s := pick(r, c, ns, isClusterIP)
		return bothFamilies(s.name + "." + searchPath(ns)[0] + ".")
	}},
	{"headless service in the pod's namespace (A+AAAA)", 5, func(r *rand.Rand, c *queryCluster, ns string) []string {
		s := pick(r, c, ns, isHeadless)
		return bothFamilies(s.name + "." + searchPath(ns)[0] + ".")
	}},
	{"service in another namespace, as svc.ns (1 NXDOMAIN expansion, then the answer)", 5, func(r *rand.Rand, c *queryCluster, ns string) []string {
		s := pick(r, c, "", isClusterIP)
		short := s.name + "." + s.ns
		return append(bothFamilies(short+"."+searchPath(ns)[0]+"."), bothFamilies(short+".svc.cluster.local.")...)
	}},
	{"name outside the cluster, e.g. api.example.com (3 NXDOMAIN expansions; the final query goes to forward and is not sent)", 35, func(r *rand.Rand, _ *queryCluster, ns string) []string {
		name := fmt.Sprintf("api%d.example.com", r.IntN(50))
		var qs []string
		for _, suffix := range searchPath(ns) {
			qs = append(qs, bothFamilies(name+"."+suffix+".")...)
		}
		return qs
	}},
	{"SRV of a named port (FQDN, no expansion)", 5, func(r *rand.Rand, c *queryCluster, ns string) []string {
		s := pick(r, c, ns, func(k serviceKind) bool { return k != kindExternalName })
		return []string{"_http._tcp." + s.name + "." + s.ns + ".svc.cluster.local. SRV"}
	}},
	{"PTR of a ClusterIP", 5, func(r *rand.Rand, c *queryCluster, _ string) []string {
		ip := c.clusterIPs[r.IntN(len(c.clusterIPs))]
		rev, _ := dns.ReverseAddr(netip.MustParseAddr(ip).String())
		return []string{rev + " PTR"}
	}},
}

// writeQueryFile writes a dnsperf data file of lookups lookups drawn from
// queryMix by pods in random namespaces, and returns the share of each
// query type and of queries that end in NXDOMAIN by construction.
func writeQueryFile(path string, c *queryCluster, lookups int) (map[string]int, error) {
	r := rand.New(rand.NewPCG(42, 42))
	namespaces := (c.services + servicesPerNamespace - 1) / servicesPerNamespace
	total := 0
	for _, l := range queryMix {
		total += l.percent
	}
	var b strings.Builder
	counts := map[string]int{}
	for n := 0; n < lookups; n++ {
		ns := namespaceOf(r.IntN(namespaces) * servicesPerNamespace)
		x := r.IntN(total)
		for _, l := range queryMix {
			if x < l.percent {
				for _, q := range l.queries(r, c, ns) {
					b.WriteString(q)
					b.WriteByte('\n')
					counts[q[strings.LastIndexByte(q, ' ')+1:]]++
				}
				break
			}
			x -= l.percent
		}
	}
	return counts, os.WriteFile(path, []byte(b.String()), 0o644)
}
