package clusterdns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/answer"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
)

// The clients of the isolation tests: a pod in shop (tenant a), a pod in
// dev (no tenant), a host-network pod, and an address no pod has.
const (
	shopClient  = "10.244.50.1"
	devClient   = "10.244.50.2"
	hostClient  = "10.244.50.3"
	strayClient = "10.1.2.3"
	tenantKey   = "tenant.example.com/name"
)

// isolateNamespaces are the namespaces of isolateObjects, in the order
// that numbers their addresses: web.<ns> is 10.96.<i>.20 and db-0.db.<ns>
// 10.244.<i>.1.
var isolateNamespaces = []string{"shop", "shop-db", "bank", "kube-system", "dev"}

// isolateObjects are the same services in five namespaces: shop and
// shop-db of tenant a, bank of tenant b, kube-system (shared in the tests)
// and dev with no tenant; the client pods; and aliases from shop into bank
// and shop-db.
func isolateObjects() []runtime.Object {
	tenants := map[string]string{"shop": "a", "shop-db": "a", "bank": "b"}
	http := []discoveryv1.EndpointPort{fixture.SlicePort("http", corev1.ProtocolTCP, 80)}
	var objs []runtime.Object
	for i, ns := range isolateNamespaces {
		n := fixture.Namespace(ns)
		if t := tenants[ns]; t != "" {
			n.Labels = map[string]string{tenantKey: t}
		}
		objs = append(objs, n,
			fixture.Service(ns, "web", []string{fmt.Sprintf("10.96.%d.20", i)}, fixture.Port("http", corev1.ProtocolTCP, 80)),
			fixture.Service(ns, "db", []string{"None"}),
			fixture.Slice(ns, "db", "db-a", discoveryv1.AddressTypeIPv4, http, fixture.Endpoint{IP: fmt.Sprintf("10.244.%d.1", i), Hostname: "db-0"}),
			fixture.ExternalName(ns, "ext", "example.com"),
		)
	}
	return append(objs,
		fixture.Pod("shop", "client", corev1.PodRunning, 1, shopClient),
		fixture.Pod("dev", "client", corev1.PodRunning, 1, devClient),
		fixture.HostNetwork(fixture.Pod("kube-system", "agent", corev1.PodRunning, 1, hostClient)),
		fixture.ExternalName("shop", "alias", "web.bank.svc.cluster.local"),
		fixture.ExternalName("shop", "sibling", "web.shop-db.svc.cluster.local"),
	)
}

// isolateConfig is `isolate` with kube-system shared and, with tenants,
// tenant_label; pod names are on (insecure), so they can leak too.
func isolateConfig(tenants, allowUnknown bool) *config {
	cfg := testConfig()
	cfg.PodMode = podsInsecure
	cfg.Isolate = true
	cfg.isolation = &index.Isolation{Shared: map[string]struct{}{"kube-system": {}}, Tenants: tenants, AllowUnknown: allowUnknown}
	if tenants {
		cfg.TenantLabel = tenantKey
	}
	return cfg
}

// leakForm is a query of a namespace's name, %s standing for the
// namespace (and %[2]d for its number in isolateNamespaces, in addresses).
type leakForm struct {
	name  string
	qtype uint16
}

// leakForms are the query forms of a namespace's names.
var leakForms = []leakForm{
	{"web.%s.svc.cluster.local.", dns.TypeA},
	{"web.%s.svc.cluster.local.", dns.TypeAAAA},
	{"web.%s.svc.cluster.local.", dns.TypeSRV},
	{"web.%s.svc.cluster.local.", dns.TypeTXT},
	{"web.%s.svc.cluster.local.", dns.TypeANY},
	{"_http._tcp.web.%s.svc.cluster.local.", dns.TypeSRV},
	{"_tcp.web.%s.svc.cluster.local.", dns.TypeSRV},
	{"db.%s.svc.cluster.local.", dns.TypeA},
	{"db.%s.svc.cluster.local.", dns.TypeSRV},
	{"db-0.db.%s.svc.cluster.local.", dns.TypeA},
	{"_http._tcp.db.%s.svc.cluster.local.", dns.TypeSRV},
	{"ext.%s.svc.cluster.local.", dns.TypeCNAME},
	{"ext.%s.svc.cluster.local.", dns.TypeA},
	{"%s.svc.cluster.local.", dns.TypeA},
	{"%s.svc.cluster.local.", dns.TypeSOA},
	{"%s.pod.cluster.local.", dns.TypeA},
	{"10-244-%[2]d-1.%s.pod.cluster.local.", dns.TypeA},
	{"20.%[2]d.96.10.in-addr.arpa.", dns.TypePTR},
	{"20.%[2]d.96.10.in-addr.arpa.", dns.TypeA},
	{"1.%[2]d.244.10.in-addr.arpa.", dns.TypePTR},
	{"%[2]d.96.10.in-addr.arpa.", dns.TypePTR},
}

// formName fills a leak form for namespace ns, number i.
func formName(form, ns string, i int) string {
	// Explicit argument indexes: a form need not use both.
	return fmt.Sprintf(strings.ReplaceAll(form, "%s", "%[1]s"), ns, i)
}

// hiddenLike reports whether two replies are the same but for the ID and
// the SOA serial: a hidden name must answer exactly as one that does not
// exist. The serial comes from the clock when a plugin publishes its first
// view, so two plugins built a second apart differ in it.
func hiddenLike(a, b *dns.Msg) bool {
	a, b = a.Copy(), b.Copy()
	a.Id, b.Id = 0, 0
	a.Question, b.Question = nil, nil
	for _, m := range []*dns.Msg{a, b} {
		for _, rr := range slices.Concat(m.Answer, m.Ns) {
			if soa, ok := rr.(*dns.SOA); ok {
				soa.Serial = 0
			}
		}
	}
	return a.String() == b.String()
}

// TestIsolateLeaksNothing asks every form of name of every namespace from
// each kind of client: a namespace the client may see answers as without
// `isolate`; one it may not answers exactly as a namespace that exists
// nowhere (namespace "nowhere", addresses in 10.96.9.0 and 10.244.9.0).
func TestIsolateLeaksNothing(t *testing.T) {
	tests := []struct {
		name         string
		tenants      bool
		allowUnknown bool
		client       string
		sees         []string // namespaces this client sees
	}{
		{"pod in shop, tenants", true, false, shopClient, []string{"shop", "shop-db", "kube-system"}},
		{"pod in shop, no tenants", false, false, shopClient, []string{"shop", "kube-system"}},
		{"pod in dev, no tenant of its own", true, false, devClient, []string{"dev", "kube-system"}},
		{"host-network pod, unknown deny", true, false, hostClient, []string{"kube-system"}},
		{"no pod, unknown deny", true, false, strayClient, []string{"kube-system"}},
		{"no pod, unknown allow", true, true, strayClient, isolateNamespaces},
	}
	open := newTestPlugin(t, func() *config { c := testConfig(); c.PodMode = podsInsecure; return c }(), isolateObjects()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestPlugin(t, isolateConfig(tc.tenants, tc.allowUnknown), isolateObjects()...)
			for i, ns := range isolateNamespaces {
				for _, f := range leakForms {
					name := formName(f.name, ns, i)
					got := askFrom(t, c, tc.client, name, f.qtype)
					want := askFrom(t, open, tc.client, name, f.qtype)
					visible := slices.Contains(tc.sees, ns)
					if !visible {
						want = askFrom(t, c, tc.client, formName(f.name, "nowhere", 9), f.qtype)
						want.Question = got.Question
					}
					if partial := strings.Count(name, ".") == 4 && strings.HasSuffix(name, ".in-addr.arpa."); partial && len(tc.sees) < len(isolateNamespaces) {
						// A limited client gets NODATA at every partial
						// reverse name, whether or not addresses lie below.
						if got.Rcode != dns.RcodeSuccess || len(got.Answer) != 0 {
							t.Errorf("%s %s: %s %v, want NODATA", dns.TypeToString[f.qtype], name, dns.RcodeToString[got.Rcode], answerData(got))
						}
						continue
					}
					if !hiddenLike(got, want) {
						t.Errorf("%s %s (visible %t): got\n%v\nwant\n%v", dns.TypeToString[f.qtype], name, visible, got, want)
					}
				}
			}
		})
	}
}

// TestIsolateAliases checks that an ExternalName in a namespace the client
// sees is not followed into one it does not: the CNAME, which the alias's
// owner wrote, and nothing from the target.
func TestIsolateAliases(t *testing.T) {
	c := newTestPlugin(t, isolateConfig(true, false), isolateObjects()...)
	for _, tc := range []struct {
		from, name string
		want       []string
	}{
		{shopClient, "alias.shop.svc.cluster.local.", []string{"web.bank.svc.cluster.local."}},
		{shopClient, "sibling.shop.svc.cluster.local.", []string{"web.shop-db.svc.cluster.local.", "10.96.1.20"}},
		{strayClient, "alias.shop.svc.cluster.local.", nil},
	} {
		got := askFrom(t, c, tc.from, tc.name, dns.TypeA)
		if d := answerData(got); !slices.Equal(d, tc.want) {
			t.Errorf("A %s from %s: %v, want %v", tc.name, tc.from, d, tc.want)
		}
	}
}

// TestIsolateReason checks that a hidden name is counted as hidden, and a
// namespace that does not exist still as no_namespace.
func TestIsolateReason(t *testing.T) {
	c := newTestPlugin(t, isolateConfig(true, false), isolateObjects()...)
	for _, tc := range []struct {
		name   string
		reason answer.Reason
	}{
		{"web.bank.svc.cluster.local.", answer.ReasonHidden},
		{"20.2.96.10.in-addr.arpa.", answer.ReasonHidden},
		{"web.nowhere.svc.cluster.local.", answer.ReasonNoNamespace},
	} {
		before := testutil.ToFloat64(negativeAnswers[tc.reason])
		qtype := dns.TypeA
		if strings.HasSuffix(tc.name, ".arpa.") {
			qtype = dns.TypePTR
		}
		if m := askFrom(t, c, shopClient, tc.name, qtype); m.Rcode != dns.RcodeNameError {
			t.Fatalf("%s: %s, want NXDOMAIN", tc.name, dns.RcodeToString[m.Rcode])
		}
		if d := testutil.ToFloat64(negativeAnswers[tc.reason]) - before; d != 1 {
			t.Errorf("%s: %s counted %v times, want once", tc.name, tc.reason, d)
		}
	}
}

// TestIsolateTransfer checks that a zone transfer, whose client the
// transfer plugin does not name, holds the shared namespaces only.
func TestIsolateTransfer(t *testing.T) {
	c := newTestPlugin(t, isolateConfig(true, true), isolateObjects()...)
	var owners []string
	for _, rr := range transferAll(t, c, "cluster.local.", 0) {
		if name := rr.Header().Name; strings.HasSuffix(name, ".svc.cluster.local.") {
			owners = append(owners, name)
		}
	}
	if len(owners) == 0 {
		t.Fatal("the transfer holds no service names; want kube-system's")
	}
	for _, o := range owners {
		if !strings.HasSuffix(o, ".kube-system.svc.cluster.local.") {
			t.Errorf("transfer holds %s, outside the shared namespace kube-system", o)
		}
	}
}

// TestIsolateFollowsChanges changes a namespace's tenant and a client pod
// through a running watch: what the client sees follows both.
func TestIsolateFollowsChanges(t *testing.T) {
	ctx := context.Background()
	c, cs := startFake(t, isolateConfig(true, false), isolateObjects()...)
	sees := func(from, ns string) bool {
		return askFrom(t, c, from, "web."+ns+".svc.cluster.local.", dns.TypeA).Rcode == dns.RcodeSuccess
	}
	if sees(shopClient, "bank") {
		t.Fatal("shop sees bank before bank joins tenant a")
	}
	bank, err := cs.CoreV1().Namespaces().Get(ctx, "bank", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bank.Labels[tenantKey] = "a"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, bank, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "shop sees bank once bank joins tenant a", func() bool { return sees(shopClient, "bank") })

	const newClient = "10.244.50.9"
	if sees(newClient, "bank") {
		t.Fatal("an address no pod has sees bank under unknown deny")
	}
	if _, err := cs.CoreV1().Pods("bank").Create(ctx, fixture.Pod("bank", "new", corev1.PodRunning, 2, newClient), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "the new pod in bank sees bank", func() bool { return sees(newClient, "bank") })
	if err := cs.CoreV1().Pods("bank").Delete(ctx, "new", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	fixture.Eventually(t, "the address is unknown again once its pod is gone", func() bool { return !sees(newClient, "bank") })
}
