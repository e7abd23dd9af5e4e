//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// controlPlane is etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok running on 127.0.0.1, started from the binaries in
// bin.
type controlPlane struct {
	bin, dir  string
	etcdPort  int
	apiPort   int
	peerPort  int
	token     string // admin bearer token (group system:masters)
	procs     map[string]*process
	adminConf string // kubeconfig of the admin user
	caFile    string // the API server's self-signed certificate
}

// process is one started binary and where its output goes.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func newControlPlane(bin, dir string) (*controlPlane, error) {
	cp := &controlPlane{bin: bin, dir: dir, procs: make(map[string]*process)}
	var err error
	if cp.etcdPort, err = freePort(); err != nil {
		return nil, err
	}
	if cp.peerPort, err = freePort(); err != nil {
		return nil, err
	}
	if cp.apiPort, err = freePort(); err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	cp.token = hex.EncodeToString(b)
	if err := cp.writeCredentials(); err != nil {
		return nil, err
	}
	return cp, nil
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeCredentials writes the admin token file and the service account
// signing key.
func (cp *controlPlane) writeCredentials() error {
	if err := os.WriteFile(cp.path("tokens.csv"), []byte(cp.token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(cp.path("sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(cp.path("sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}

func (cp *controlPlane) path(name string) string { return filepath.Join(cp.dir, name) }

func (cp *controlPlane) apiURL() string { return "https://127.0.0.1:" + strconv.Itoa(cp.apiPort) }

// start runs a binary with args; its output goes to <dir>/<name>.log.
func (cp *controlPlane) start(name, binary string, env []string, args ...string) error {
	logPath := cp.path(name + ".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	cp.procs[name] = p
	return nil
}

// stop ends one started process and waits for it.
func (cp *controlPlane) stop(name string) {
	p := cp.procs[name]
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	delete(cp.procs, name)
}

// stopAll ends every process this control plane started, in reverse order
// of dependency.
func (cp *controlPlane) stopAll() {
	for _, name := range []string{"kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
		cp.stop(name)
	}
	for name := range cp.procs {
		cp.stop(name)
	}
}

// environ is the process environment without ETCD_* variables, which etcd
// reads as flags.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	return env
}

// startEtcd starts etcd; fresh wipes its data first (a new revision history).
func (cp *controlPlane) startEtcd(fresh bool) error {
	data := cp.path("etcd-data")
	if fresh {
		_ = os.RemoveAll(data)
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", cp.etcdPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", cp.peerPort)
	return cp.start("etcd", filepath.Join(cp.bin, "etcd"), environ(),
		"--name=e2e", "--data-dir="+data,
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=e2e="+peer, "--log-level=warn")
}

// startAPIServer starts kube-apiserver with TLS, token authentication and
// RBAC, and waits until it is ready.
func (cp *controlPlane) startAPIServer(ctx context.Context) error {
	err := cp.start("kube-apiserver", filepath.Join(cp.bin, "kube-apiserver"), environ(),
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", cp.etcdPort),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", cp.apiPort),
		"--cert-dir="+cp.path("certs"),
		"--token-auth-file="+cp.path("tokens.csv"),
		"--authorization-mode=Node,RBAC",
		"--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+cp.path("sa.pub"),
		"--service-account-signing-key-file="+cp.path("sa.key"),
		// A loopback advertise address is refused by the endpoint reconciler.
		"--endpoint-reconciler-type=none",
		// Nothing else would remove the not-ready taint from kwok's nodes.
		"--disable-admission-plugins=TaintNodesByCondition",
		"--allow-privileged=true", "--profiling=false", "-v=1")
	if err != nil {
		return err
	}
	cp.caFile = cp.path("certs/apiserver.crt")
	return cp.waitReady(ctx, "kube-apiserver", cp.apiURL()+"/readyz")
}

// waitReady polls url with the admin token until it answers 200.
func (cp *controlPlane) waitReady(ctx context.Context, name, url string) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback readiness probe only
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if p := cp.procs[name]; p != nil {
			select {
			case <-p.done:
				return fmt.Errorf("%s exited; see %s:\n%s", name, p.log, tail(p.log))
			default:
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+cp.token)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 90s; see %s:\n%s", name, cp.procs[name].log, tail(cp.procs[name].log))
}

// tail returns the last lines of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// writeKubeconfig writes a kubeconfig for the API server with a bearer token.
func (cp *controlPlane) writeKubeconfig(path, token string) error {
	ca, err := os.ReadFile(cp.caFile)
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: user
  user:
    token: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: user}
current-context: e2e
`, cp.apiURL(), b64(ca), token)
	return os.WriteFile(path, []byte(conf), 0o600)
}

// startControllers starts kube-controller-manager, kube-scheduler and kwok.
func (cp *controlPlane) startControllers() error {
	cp.adminConf = cp.path("admin.kubeconfig")
	if err := cp.writeKubeconfig(cp.adminConf, cp.token); err != nil {
		return err
	}
	err := cp.start("kube-controller-manager", filepath.Join(cp.bin, "kube-controller-manager"), environ(),
		"--kubeconfig="+cp.adminConf,
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--leader-elect=false",
		"--controllers=*",
		"--service-account-private-key-file="+cp.path("sa.key"),
		"--root-ca-file="+cp.caFile,
		"--use-service-account-credentials=false",
		// Publish slice changes at once rather than batching them for a second.
		"--endpointslice-updates-batch-period=0s",
		// A busy machine can delay kwok's node heartbeats; the node must not
		// be declared dead (and its pods unready) for that.
		"--node-monitor-grace-period=10m", "--node-startup-grace-period=10m",
		"-v=1")
	if err != nil {
		return err
	}
	// Pods that name no node (the DNS Deployment of deploy/) need a
	// scheduler; the tests' own pods are bound to the kwok node directly.
	// One left from before a restart of the control plane would schedule
	// alongside the new one: stop it first.
	cp.stop("kube-scheduler")
	err = cp.start("kube-scheduler", filepath.Join(cp.bin, "kube-scheduler"), environ(),
		"--kubeconfig="+cp.adminConf,
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--leader-elect=false",
		"-v=1")
	if err != nil {
		return err
	}
	return cp.start("kwok", filepath.Join(cp.bin, "kwok"), environ(),
		"--kubeconfig="+cp.adminConf,
		"--manage-all-nodes=true",
		"--config="+filepath.Join(cp.bin, "..", "kwok", "stages-fast.yaml"),
		"-v=WARN")
}

// adminClient is a client with the admin token.
func (cp *controlPlane) adminClient() (*kubernetes.Clientset, error) {
	rc := &rest.Config{
		Host:            cp.apiURL(),
		BearerToken:     cp.token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cp.caFile},
		QPS:             100, Burst: 200,
	}
	return kubernetes.NewForConfig(rc)
}
