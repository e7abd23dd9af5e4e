//go:build e2e

// Package e2e runs the real coredns binary against a real control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok,
// built from Go modules and run by test/controlplane) on loopback, and queries
// it the way pods do: dig over UDP and TCP, dig +search and glibc's
// resolver with a pod's resolv.conf. It also installs the manifests of
// deploy/ on that cluster the way the README switches a kubeadm cluster.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// env is the running environment the tests share.
var env struct {
	bin         string // the control plane's binaries
	dir         string
	cp          *controlplane.ControlPlane
	coredns     string // the binary under test
	readyPort   int
	metricsPort int
	dnsConf     string // kubeconfig of the DNS server's user
}

// dnsToken is the bearer token of the DNS server's user, "clusterdns",
// which holds nothing but the ClusterRole the deploy manifests ship.
const dnsToken = "clusterdns-e2e-token"

// noSlicesToken is the bearer token of "clusterdns-noslices", a user that
// holds that ClusterRole without its endpointslices rule (testDeploy).
const noSlicesToken = "clusterdns-noslices-e2e-token"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	env.bin = os.Getenv("CLUSTERDNS_E2E_BIN")
	if env.bin == "" {
		fmt.Fprintln(os.Stderr, "CLUSTERDNS_E2E_BIN is not set: run `make e2e`, which builds the control plane and sets it")
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "the end-to-end tests need root: they serve DNS on 127.0.0.2:53 for glibc and use mount namespaces")
		return 1
	}
	for _, tool := range []string{"dig", "unshare", "getent", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "%s is missing: apt-get install bind9-dnsutils util-linux libc-bin mount\n", tool)
			return 1
		}
	}
	dir, err := os.MkdirTemp("", "clusterdns-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.dir = dir
	defer func() {
		if env.cp != nil {
			env.cp.StopAll()
		}
		if os.Getenv("CLUSTERDNS_E2E_KEEP") == "" {
			_ = os.RemoveAll(dir)
		} else {
			fmt.Fprintln(os.Stderr, "logs kept in", dir)
		}
	}()

	env.coredns = os.Getenv("CLUSTERDNS_E2E_COREDNS")
	if env.coredns == "" {
		env.coredns = filepath.Join(dir, "coredns")
		build := exec.Command("go", "build", "-o", env.coredns, "../../cmd/coredns")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building coredns:", err)
			return 1
		}
	}
	if err := startCluster(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "starting the control plane:", err)
		return 1
	}
	return m.Run()
}

// startCluster starts the control plane, seeds it, and starts coredns.
func startCluster(ctx context.Context) error {
	cp, err := controlplane.New(env.bin, env.dir)
	if err != nil {
		return err
	}
	env.cp = cp
	// The DNS server's user comes from the token file, so it outlives a
	// fresh etcd; its permissions come from RBAC objects seeded below.
	if err := appendFile(cp.Path("tokens.csv"), dnsToken+",clusterdns,clusterdns\n"+noSlicesToken+",clusterdns-noslices,clusterdns-noslices\n"+
		namespacedToken+",clusterdns-ns,clusterdns-ns\n"); err != nil {
		return err
	}
	if err := cp.StartEtcd(true); err != nil {
		return err
	}
	if err := cp.StartAPIServer(ctx); err != nil {
		return err
	}
	if err := cp.StartControllers(); err != nil {
		return err
	}
	if err := seed(ctx); err != nil {
		return err
	}
	env.dnsConf = cp.Path("clusterdns.kubeconfig")
	if err := cp.WriteKubeconfig(env.dnsConf, dnsToken); err != nil {
		return err
	}
	if env.readyPort, err = controlplane.FreePort(); err != nil {
		return err
	}
	if env.metricsPort, err = controlplane.FreePort(); err != nil {
		return err
	}
	// Beyond kubeadm's options: not ready once the API server has been out
	// of reach for a few seconds (testOutage), and a snapshot file for
	// testWarmStart.
	return startDNS("coredns", dnsAddr, upstreamAddr, env.readyPort, env.metricsPort,
		"ready_stale_limit 3s", "snapshot "+snapshotPath()+" 1s")
}

// startDNS runs the binary with clusterdns on addr and, when upstream is
// set, the kubernetes plugin on upstream, both with the DNS user's
// kubeconfig and kubeadm's options; options are added to clusterdns's. A
// metricsPort other than 0 serves the metrics on 127.0.0.1.
func startDNS(name, addr, upstream string, readyPort, metricsPort int, options ...string) error {
	stanza := `%s cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %s
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
        startup_timeout 2s%s
    }`
	ours := ""
	for _, o := range options {
		ours += "\n        " + o
	}
	// monitor continuously: ready_stale_limit can take readiness back.
	server := fmt.Sprintf(".:53 {\n    bind %s\n    ready 127.0.0.1:%d {\n        monitor continuously\n    }\n", addr, readyPort)
	if metricsPort != 0 {
		server += fmt.Sprintf("    prometheus 127.0.0.1:%d\n", metricsPort)
	}
	corefile := server + fmt.Sprintf("    "+stanza+"\n}\n", "clusterdns", env.dnsConf, ours)
	if upstream != "" {
		corefile += fmt.Sprintf(".:53 {\n    bind %s\n    "+stanza+"\n}\n", upstream, "kubernetes", env.dnsConf, "")
	}
	path := env.cp.Path(name + ".Corefile")
	if err := os.WriteFile(path, []byte(corefile), 0o600); err != nil {
		return err
	}
	return env.cp.Start(name, env.coredns, os.Environ(), "-conf", path)
}

// ready reports the ready plugin's verdict on port.
func ready(port int) bool {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", port))
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		_ = f.Close() // the write's error is the one to report
		return err
	}
	return f.Close()
}

// waitFor polls cond every 50 ms until it holds or timeout passes, and
// returns how long it took.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}
