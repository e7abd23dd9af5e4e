package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestQueryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.txt")
	c := &queryCluster{services: 1000, clusterIPs: []string{"10.96.0.10", "fd00:10:96::a"}}
	counts, err := writeQueryFile(path, c, 5000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != len(lines) {
		t.Fatalf("counted %d queries, file has %d", total, len(lines))
	}
	nxdomain := 0
	for _, line := range lines {
		name, qtype, ok := strings.Cut(line, " ")
		if !ok || dns.StringToType[qtype] == 0 {
			t.Fatalf("bad line %q", line)
		}
		if _, ok := dns.IsDomainName(name); !ok || !dns.IsFqdn(name) {
			t.Fatalf("bad name in %q", line)
		}
		if !strings.HasSuffix(name, ".cluster.local.") && !strings.HasSuffix(name, ".arpa.") {
			t.Fatalf("%q leaves the cluster's zones", line)
		}
		if strings.Contains(name, "example.com") {
			nxdomain++
		}
	}
	// 35 of every 100 lookups are external names, each 6 queries, out of
	// 340 queries per 100 lookups: about 62% of the queries.
	if share := float64(nxdomain) / float64(len(lines)); share < 0.55 || share > 0.68 {
		t.Errorf("search-path expansions of external names are %.2f of the queries", share)
	}
	// glibc sends A and AAAA together: equal numbers of each.
	if counts["A"] != counts["AAAA"] {
		t.Errorf("A %d, AAAA %d", counts["A"], counts["AAAA"])
	}
	if counts["SRV"] == 0 || counts["PTR"] == 0 {
		t.Errorf("no SRV or PTR queries: %v", counts)
	}
}

func TestSearchPathExpansion(t *testing.T) {
	got := searchPath("bench-007")
	want := []string{"bench-007.svc.cluster.local", "svc.cluster.local", "cluster.local"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("search path %v, want %v", got, want)
	}
}
