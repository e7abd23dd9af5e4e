//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// dnsAddr is where the clusterdns server listens; glibc can only use port 53.
const (
	dnsAddr      = "127.0.0.2"
	upstreamAddr = "127.0.0.3" // the same binary serving the kubernetes plugin
)

// answer is a reply reduced to what tests compare.
type answer struct {
	rcode   int
	records []string // answer section, "TYPE data", sorted
	tc      bool
}

func (a answer) String() string {
	return fmt.Sprintf("%s %v", dns.RcodeToString[a.rcode], a.records)
}

// query asks server (port 53) name/qtype over UDP or TCP.
func query(server, network, name string, qtype uint16) (answer, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, server+":53")
	if err != nil {
		return answer{}, err
	}
	return answerOf(r), nil
}

func answerOf(r *dns.Msg) answer {
	a := answer{rcode: r.Rcode, tc: r.Truncated}
	for _, rr := range r.Answer {
		a.records = append(a.records, dns.TypeToString[rr.Header().Rrtype]+" "+strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	slices.Sort(a.records)
	return a
}

// podResolvConf is what the kubelet writes for a pod in namespace ns.
func podResolvConf(ns string) string {
	return resolvConf(dnsAddr, ns)
}

// resolvConf is a pod's resolv.conf in namespace ns with the cluster DNS at
// nameserver; the kubelet appends the node's search domains, if any, to
// the cluster's.
func resolvConf(nameserver, ns string, nodeDomains ...string) string {
	search := strings.Join(append([]string{ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}, nodeDomains...), " ")
	return fmt.Sprintf("nameserver %s\nsearch %s\noptions ndots:5 timeout:2 attempts:2\n", nameserver, search)
}

// inPod runs a command in a mount namespace of its own whose
// /etc/resolv.conf is a pod's in namespace ns, so glibc and dig resolve as
// they would in that pod.
func inPod(dir, ns string, args ...string) (string, error) {
	conf := filepath.Join(dir, "resolv-"+ns+".conf")
	if err := os.WriteFile(conf, []byte(podResolvConf(ns)), 0o644); err != nil {
		return "", err
	}
	script := `mount --bind "$1" /etc/resolv.conf && shift && exec "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", conf}, args...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
