//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// isolateClientAddr is the source address of the queries of the client pod
// in testIsolate, on loopback like every address the suite uses.
const isolateClientAddr = "127.0.0.31"

// isolateTenantLabel is the namespace label naming tenants in testIsolate.
const isolateTenantLabel = "e2e.clusterdns/tenant"

// digReply is what dig printed of one reply: the status, and the answer
// and authority records with the SOA serial and the TTLs left out.
type digReply struct {
	status            string
	answer, authority []string
}

var (
	digStatus = regexp.MustCompile(`status: ([A-Z]+)`)
	digRecord = regexp.MustCompile(`^(\S+)\s+\d+\s+IN\s+(\S+)\s+(.*)$`)
)

// digFrom asks the feature server name and qtype with dig, from source
// address src.
func digFrom(src, name string, qtype uint16) (digReply, error) {
	out, err := exec.Command("dig", "-b", src, "@"+featureAddr, "+time=2", "+tries=1", "+norecurse",
		"+noall", "+comments", "+answer", "+authority", name, dns.TypeToString[qtype]).CombinedOutput()
	if err != nil {
		return digReply{}, fmt.Errorf("dig %s %s: %v: %s", name, dns.TypeToString[qtype], err, out)
	}
	var r digReply
	section := ""
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case digStatus.MatchString(line) && r.status == "":
			r.status = digStatus.FindStringSubmatch(line)[1]
		case strings.HasPrefix(line, ";; ANSWER SECTION"):
			section = "answer"
		case strings.HasPrefix(line, ";; AUTHORITY SECTION"):
			section = "authority"
		case digRecord.MatchString(line):
			m := digRecord.FindStringSubmatch(line)
			rec := m[1] + " " + m[2] + " " + m[3]
			if m[2] == "SOA" {
				f := strings.Fields(m[3]) // mname rname serial ...: drop the serial
				rec = m[1] + " SOA " + f[0] + " " + f[1] + " " + strings.Join(f[3:], " ")
			}
			if section == "answer" {
				r.answer = append(r.answer, rec)
			} else {
				r.authority = append(r.authority, rec)
			}
		}
	}
	if r.status == "" {
		return r, fmt.Errorf("dig %s: no status in %s", name, out)
	}
	return r, nil
}

// testIsolate runs a server with `isolate` and a client pod in iso-a1
// (tenant a) whose address the queries come from, with dig: it sees its
// own namespace, iso-a2 of its tenant and the shared default namespace;
// iso-b, of tenant b, answers exactly as a namespace that does not exist,
// for every form of name asked, until iso-b joins tenant a. A source that
// is no pod sees the shared namespace only.
func testIsolate(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) {
	// The option watches Pods, which the deploy manifests' role does not
	// grant: run as the admin.
	metricsPort := startFeatureServerAs(t, env.cp.AdminConf, fmt.Sprintf("isolate {\n shared default\n tenant_label %s\n unknown deny\n }", isolateTenantLabel))
	clusterIPs := map[string]string{}
	for ns, tenant := range map[string]string{"iso-a1": "a", "iso-a2": "a", "iso-b": "b"} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{isolateTenantLabel: tenant}}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		svc := must(cs.CoreV1().Services(ns).Create(ctx, service(ns, "web", false, nil, port("http", corev1.ProtocolTCP, 80)), metav1.CreateOptions{}))
		clusterIPs[ns] = svc.Spec.ClusterIP
		db := service(ns, "db", true, &singleStack, port("http", corev1.ProtocolTCP, 80))
		db.Spec.Selector = nil
		if _, err := cs.CoreV1().Services(ns).Create(ctx, db, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.DiscoveryV1().EndpointSlices(ns).Create(ctx, manualSlice(ns, "db", "db-a", "10.252.9.1"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The client pod, at the loopback address the queries come from; it
	// is deleted when the step ends, as later steps give their own client
	// pods loopback addresses.
	unscheduledPod(t, ctx, cs, "iso-a1", "client", isolateClientAddr, false)

	// sees reports whether src gets the address of web.<ns>, or of
	// kubernetes.default, the one service of the shared namespace.
	sees := func(src, ns string) bool {
		svc := "web"
		if ns == "default" {
			svc = "kubernetes"
		}
		r, err := digFrom(src, svc+"."+ns+".svc.cluster.local.", dns.TypeA)
		return err == nil && r.status == "NOERROR" && len(r.answer) == 1
	}
	waitFor(t, "the client pod sees its own namespace", 30*time.Second, func() bool { return sees(isolateClientAddr, "iso-a1") })
	for _, tc := range []struct {
		src, ns string
		want    bool
	}{
		{isolateClientAddr, "iso-a2", true},
		{isolateClientAddr, "default", true},
		{isolateClientAddr, "iso-b", false},
		{"127.0.0.1", "iso-a1", false},
		{"127.0.0.1", "default", true},
	} {
		if got := sees(tc.src, tc.ns); got != tc.want {
			t.Errorf("from %s, the service of %s visible %t, want %t", tc.src, tc.ns, got, tc.want)
		}
	}

	// Every form of name of iso-b answers as that of a namespace nowhere.
	reverse := func(ip string) string { return must(dns.ReverseAddr(ip)) }
	forms := []struct {
		name  string
		qtype uint16
	}{
		{"web.%s.svc.cluster.local.", dns.TypeA},
		{"web.%s.svc.cluster.local.", dns.TypeSRV},
		{"_http._tcp.web.%s.svc.cluster.local.", dns.TypeSRV},
		{"db.%s.svc.cluster.local.", dns.TypeA},
		{"10-252-9-1.db.%s.svc.cluster.local.", dns.TypeA},
		{"%s.svc.cluster.local.", dns.TypeA},
		{"%s.svc.cluster.local.", dns.TypeTXT},
	}
	for _, f := range forms {
		hidden := must(digFrom(isolateClientAddr, fmt.Sprintf(f.name, "iso-b"), f.qtype))
		nowhere := must(digFrom(isolateClientAddr, fmt.Sprintf(f.name, "iso-nowhere"), f.qtype))
		if hidden.status != "NXDOMAIN" || len(hidden.answer) != 0 || !slices.Equal(hidden.authority, nowhere.authority) || hidden.status != nowhere.status {
			t.Errorf("%s %s: %+v; want it as %s: %+v", dns.TypeToString[f.qtype], fmt.Sprintf(f.name, "iso-b"), hidden, fmt.Sprintf(f.name, "iso-nowhere"), nowhere)
		}
		// iso-a2, of the client's tenant, answers as without isolate.
		if r := must(digFrom(isolateClientAddr, fmt.Sprintf(f.name, "iso-a2"), f.qtype)); r.status != "NOERROR" {
			t.Errorf("%s %s: %+v, want NOERROR", dns.TypeToString[f.qtype], fmt.Sprintf(f.name, "iso-a2"), r)
		}
	}
	if r := must(digFrom(isolateClientAddr, reverse(clusterIPs["iso-b"]), dns.TypePTR)); r.status != "NXDOMAIN" {
		t.Errorf("PTR of iso-b's ClusterIP %s: %+v, want NXDOMAIN", clusterIPs["iso-b"], r)
	}
	if r := must(digFrom(isolateClientAddr, reverse(clusterIPs["iso-a2"]), dns.TypePTR)); len(r.answer) != 1 || !strings.HasSuffix(r.answer[0], "web.iso-a2.svc.cluster.local.") {
		t.Errorf("PTR of iso-a2's ClusterIP %s: %+v, want web.iso-a2", clusterIPs["iso-a2"], r)
	}
	// The endpoint address is in all three namespaces: only the visible
	// ones are named.
	if r := must(digFrom(isolateClientAddr, reverse("10.252.9.1"), dns.TypePTR)); len(r.answer) != 2 || slices.ContainsFunc(r.answer, func(a string) bool { return strings.Contains(a, "iso-b") }) {
		t.Errorf("PTR of the shared endpoint address: %+v, want the names in iso-a1 and iso-a2 only", r)
	}
	if n := metric(t, metricsPort, `coredns_clusterdns_negative_answers_total{reason="hidden"}`); n == 0 {
		t.Error("no negative answer counted as hidden")
	}

	// iso-b joins tenant a: the client sees it.
	b := must(cs.CoreV1().Namespaces().Get(ctx, "iso-b", metav1.GetOptions{}))
	b.Labels[isolateTenantLabel] = "a"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the client sees iso-b once it joins tenant a", 15*time.Second, func() bool { return sees(isolateClientAddr, "iso-b") })
}
