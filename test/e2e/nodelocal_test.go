//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// A node with NodeLocal DNSCache, made of two network namespaces: the
// node's, where node-local-dns and the node's own nameserver run, and a
// pod's, joined to it by a veth pair as a CNI plugin joins pods. The
// cluster DNS behind the cache is clusterdns on the suite's loopback,
// reached through kube-dns-upstream's address inside the node, where a
// relay does kube-proxy's part.
const (
	behindCacheAddr  = "127.0.0.40" // clusterdns behind the cache, on the suite's loopback
	nodeResolverAddr = "127.0.0.53" // the node's own nameserver, in the node's namespace
	nodeVethAddr     = "10.244.9.1/24"
	podAddr          = "10.244.9.2/24"
	podAddr6         = "fd00:10:244:9::2/64" // for AI_ADDRCONFIG: a pod has both families
)

// nodeZone is the node's first search domain as the node's nameserver
// serves it; tools is named like a namespace of the cluster.
const nodeZone = `$ORIGIN example.internal.
@       30 IN SOA ns hostmaster 1 3600 600 86400 30
@       30 IN NS  ns
ns      30 IN A   127.0.0.53
tools   30 IN A   192.0.2.20
build01 30 IN A   192.0.2.21
`

// outsideZone stands for a domain outside the cluster and the node.
const outsideZone = `$ORIGIN partner.test.
@       30 IN SOA ns hostmaster 1 3600 600 86400 30
@       30 IN NS  ns
ns      30 IN A   127.0.0.53
api     30 IN A   192.0.2.30
`

// nodeResolverCorefile is the node's nameserver: the node's domain and the
// outside one, SERVFAIL for the node's second domain (its servers are
// down), and NXDOMAIN for any other name, as the Internet answers the
// names that reach it from a pod's search list.
const nodeResolverCorefile = `example.internal:53 {
    bind %[1]s
    file %[2]s
}
partner.test:53 {
    bind %[1]s
    file %[3]s
}
lab.internal:53 {
    bind %[1]s
    template ANY ANY {
        rcode SERVFAIL
    }
}
.:53 {
    bind %[1]s
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`

// cacheNode is the running node of TestNodeLocalDNS.
type cacheNode struct {
	netns, pod  ipNetns
	bind        []string      // node-local-dns's addresses
	localIP     string        // the first, the pods' nameserver
	dnsTTL      time.Duration // clusterdns's
	corefile    string        // node-local-dns's Corefile, as it runs
	relay       *dnsRelay
	metricsPort int // clusterdns's, on 127.0.0.1
}

// startNode runs the nodelocaldns overlay: Service kube-dns-upstream in
// the API, clusterdns behind it configured as ConfigMap coredns says, and
// ConfigMap node-local-dns's Corefile as node-local-dns, with the two
// addresses node-cache fills in at startup filled in the same way.
func startNode(t *testing.T, ctx context.Context, cs kubernetes.Interface) *cacheNode {
	t.Helper()
	objs := renderObjects(t, "deploy/overlays/nodelocaldns")
	cacheCorefile := find[*corev1.ConfigMap](t, objs, "node-local-dns").Data["Corefile"]
	dnsCorefile := find[*corev1.ConfigMap](t, objs, "coredns").Data["Corefile"]
	upstream := find[*corev1.Service](t, objs, "kube-dns-upstream")
	bind := firstArgs(cacheCorefile, "bind")
	if len(bind) == 0 || bind[0] != "169.254.20.10" {
		t.Fatalf("node-local-dns binds %v, want 169.254.20.10 first", bind)
	}
	n := &cacheNode{bind: bind, localIP: bind[0]}

	upstream, err := cs.CoreV1().Services(upstream.Namespace).Create(ctx, upstream, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Services(upstream.Namespace).Delete(context.Background(), upstream.Name, metav1.DeleteOptions{})
	})
	n.metricsPort, n.dnsTTL = startBehindCache(t, dnsCorefile)

	n.netns = newIPNetns(t, "clusterdns-e2e-node")
	n.pod = newIPNetns(t, "clusterdns-e2e-pod")
	// node-local-dns puts its addresses on a dummy interface; this kernel
	// has none, and the node's loopback serves the same purpose.
	for _, a := range append(bind, upstream.Spec.ClusterIP) {
		n.netns.ip(t, "addr", "add", a+"/32", "dev", "lo")
	}
	n.netns.ip(t, "link", "add", "veth-pod", "type", "veth", "peer", "name", "eth0", "netns", string(n.pod))
	n.netns.ip(t, "addr", "add", nodeVethAddr, "dev", "veth-pod")
	n.netns.ip(t, "link", "set", "veth-pod", "up")
	n.pod.ip(t, "addr", "add", podAddr, "dev", "eth0")
	n.pod.ip(t, "addr", "add", podAddr6, "dev", "eth0", "nodad")
	n.pod.ip(t, "link", "set", "eth0", "up")
	n.pod.ip(t, "route", "add", "default", "via", strings.TrimSuffix(nodeVethAddr, "/24"))
	n.relay = startDNSRelay(t, n.netns, upstream.Spec.ClusterIP+":53", behindCacheAddr+":53")

	zone, outside := env.cp.Path("example.internal.zone"), env.cp.Path("partner.test.zone")
	for path, text := range map[string]string{zone: nodeZone, outside: outsideZone} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n.startIn(t, "node-resolver", fmt.Sprintf(nodeResolverCorefile, nodeResolverAddr, zone, outside))

	// What node-cache does when it starts, in iptables mode.
	n.corefile = strings.NewReplacer("__PILLAR__CLUSTER__DNS__", upstream.Spec.ClusterIP, "__PILLAR__UPSTREAM__SERVERS__", nodeResolverAddr).Replace(cacheCorefile)
	if strings.Contains(n.corefile, "__PILLAR__") {
		t.Fatalf("node-local-dns's Corefile has placeholders node-cache does not fill:\n%s", n.corefile)
	}
	n.startIn(t, "node-local-dns", n.corefile)
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		a, err := n.query(n.localIP, "kubernetes.default.svc.cluster.local", dns.TypeA)
		if err == nil && a.rcode == dns.RcodeSuccess && len(a.records) == 1 {
			return n
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("node-local-dns does not answer the pod: %v (err %v); its log:\n%s", a, err, controlplane.Tail(env.cp.Path("node-local-dns.log")))
		}
	}
}

// startBehindCache runs clusterdns on behindCacheAddr with the options of
// the clusterdns stanza of corefile and the suite's kubeconfig, waits until
// it is ready, and returns its metrics port and its TTL.
func startBehindCache(t *testing.T, corefile string) (int, time.Duration) {
	t.Helper()
	args, body := stanza(corefile, "clusterdns")
	ttl := firstArgs(body, "ttl")
	if args == "" || len(ttl) != 1 {
		t.Fatalf("no clusterdns stanza with a ttl in\n%s", corefile)
	}
	readyPort := must(controlplane.FreePort())
	metricsPort := must(controlplane.FreePort())
	conf := fmt.Sprintf(".:53 {\n    bind %s\n    ready 127.0.0.1:%d\n    prometheus 127.0.0.1:%d\n    clusterdns %s {\n        kubeconfig %s\n%s    }\n}\n",
		behindCacheAddr, readyPort, metricsPort, args, env.dnsConf, body)
	path := env.cp.Path("behind-cache.Corefile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := env.cp.Start("behind-cache", env.coredns, os.Environ(), "-conf", path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.cp.Stop("behind-cache") })
	waitFor(t, "clusterdns behind the cache ready", 30*time.Second, func() bool { return ready(readyPort) })
	return metricsPort, time.Duration(must(strconv.Atoi(ttl[0]))) * time.Second
}

// startIn runs the coredns binary with corefile inside the node's network
// namespace until t ends.
func (n *cacheNode) startIn(t *testing.T, name, corefile string) {
	t.Helper()
	path := env.cp.Path(name + ".Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := env.cp.Start(name, "ip", os.Environ(), n.netns.command(env.coredns, "-conf", path)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.cp.Stop(name) })
}

// query asks server name/qtype over UDP from the pod.
func (n *cacheNode) query(server, name string, qtype uint16) (answer, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	c := &dns.Client{Timeout: 2 * time.Second}
	var r *dns.Msg
	var err error
	if doErr := n.pod.do(func() { r, _, err = c.Exchange(m, server+":53") }); doErr != nil {
		return answer{}, doErr
	}
	if err != nil {
		return answer{}, err
	}
	return answerOf(r), nil
}

// cacheHits is node-local-dns's count of answers its cache gave, of kind
// "success" or "denial", over all its servers.
func (n *cacheNode) cacheHits(t *testing.T, kind string) float64 {
	t.Helper()
	code, body, err := n.netns.get("http://127.0.0.1:9253/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("node-local-dns metrics: %d %v", code, err)
	}
	return sumSeries(body, "coredns_cache_hits_total", `type="`+kind+`"`)
}

// requests is clusterdns's count of the requests it was sent.
func (n *cacheNode) requests(t *testing.T) float64 {
	t.Helper()
	return sumSeries(get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", n.metricsPort)), "coredns_dns_requests_total", "")
}

// sumSeries adds up the samples of metric whose labels contain label.
func sumSeries(text, metric, label string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") || !strings.Contains(line, label) {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// firstArgs returns the arguments of the first line of corefile that
// starts with directive.
func firstArgs(corefile, directive string) []string {
	for _, line := range strings.Split(corefile, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == directive {
			return f[1:]
		}
	}
	return nil
}

// stanza returns the arguments of directive's block in corefile and the
// lines inside it, each ending in a newline.
func stanza(corefile, directive string) (args, body string) {
	lines := strings.Split(corefile, "\n")
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != directive || f[len(f)-1] != "{" {
			continue
		}
		for _, inner := range lines[i+1:] {
			if strings.TrimSpace(inner) == "}" {
				return strings.Join(f[1:len(f)-1], " "), body
			}
			body += inner + "\n"
		}
	}
	return "", ""
}

// cacheTTL is the longest time node-local-dns's cache keeps an answer of
// kind "success" or "denial" for the cluster domain, its first block.
func cacheTTL(t *testing.T, corefile, kind string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + kind + ` \d+ (\d+)$`).FindStringSubmatch(corefile)
	if m == nil {
		t.Fatalf("node-local-dns's cache has no %s TTL:\n%s", kind, corefile)
	}
	return time.Duration(must(strconv.Atoi(m[1]))) * time.Second
}
