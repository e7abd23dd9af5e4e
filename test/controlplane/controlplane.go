// Package controlplane runs etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok on 127.0.0.1 from binaries built by build.sh in
// this directory (see README.md). The end-to-end suite and the load
// benchmark in bench/ share it.
package controlplane

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
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

// ControlPlane is etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok running on 127.0.0.1, started from the binaries in
// bin.
type ControlPlane struct {
	Bin, Dir  string
	EtcdPort  int
	APIPort   int
	PeerPort  int
	Token     string // admin bearer token (group system:masters)
	Procs     map[string]*Process
	AdminConf string // kubeconfig of the admin user
	CAFile    string // the API server's self-signed certificate
}

// Process is one started binary and where its output goes.
type Process struct {
	Cmd  *exec.Cmd
	Done chan struct{}
	Log  string
}

// New prepares a control plane that runs the binaries in bin and keeps its
// state, credentials and logs in dir; nothing is started yet.
func New(bin, dir string) (*ControlPlane, error) {
	cp := &ControlPlane{Bin: bin, Dir: dir, Procs: make(map[string]*Process)}
	var err error
	if cp.EtcdPort, err = FreePort(); err != nil {
		return nil, err
	}
	if cp.PeerPort, err = FreePort(); err != nil {
		return nil, err
	}
	if cp.APIPort, err = FreePort(); err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	cp.Token = hex.EncodeToString(b)
	if err := cp.writeCredentials(); err != nil {
		return nil, err
	}
	return cp, nil
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, err
	}
	return port, nil
}

// writeCredentials writes the admin token file and the service account
// signing key.
func (cp *ControlPlane) writeCredentials() error {
	if err := os.WriteFile(cp.Path("tokens.csv"), []byte(cp.Token+",admin,admin,system:masters\n"), 0o600); err != nil {
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
	if err := os.WriteFile(cp.Path("sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(cp.Path("sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}

// Path is the file name in the control plane's directory.
func (cp *ControlPlane) Path(name string) string { return filepath.Join(cp.Dir, name) }

// APIURL is the API server's address.
func (cp *ControlPlane) APIURL() string { return "https://127.0.0.1:" + strconv.Itoa(cp.APIPort) }

// Start runs a binary with args; its output goes to <dir>/<name>.log.
func (cp *ControlPlane) Start(name, binary string, env []string, args ...string) error {
	logPath := cp.Path(name + ".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = out.Close() // the start's error is the one to report
		return fmt.Errorf("%s: %w", name, err)
	}
	p := &Process{Cmd: cmd, Done: make(chan struct{}), Log: logPath}
	go func() {
		_ = cmd.Wait()
		_ = out.Close()
		close(p.Done)
	}()
	cp.Procs[name] = p
	return nil
}

// Stop ends one started process and waits for it.
func (cp *ControlPlane) Stop(name string) {
	p := cp.Procs[name]
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.Done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.Done
	}
	delete(cp.Procs, name)
}

// StopAll ends every process this control plane started, in reverse order
// of dependency.
func (cp *ControlPlane) StopAll() {
	for _, name := range []string{"kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
		cp.Stop(name)
	}
	for name := range cp.Procs {
		cp.Stop(name)
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

// StartEtcd starts etcd; fresh wipes its data first (a new revision history).
func (cp *ControlPlane) StartEtcd(fresh bool) error {
	data := cp.Path("etcd-data")
	if fresh {
		_ = os.RemoveAll(data)
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", cp.EtcdPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", cp.PeerPort)
	return cp.Start("etcd", filepath.Join(cp.Bin, "etcd"), environ(),
		"--name=e2e", "--data-dir="+data,
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=e2e="+peer, "--log-level=warn")
}

// StartAPIServer starts kube-apiserver with TLS, token authentication and
// RBAC, and waits until it is ready.
func (cp *ControlPlane) StartAPIServer(ctx context.Context) error {
	err := cp.Start("kube-apiserver", filepath.Join(cp.Bin, "kube-apiserver"), environ(),
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", cp.EtcdPort),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", cp.APIPort),
		"--cert-dir="+cp.Path("certs"),
		"--token-auth-file="+cp.Path("tokens.csv"),
		"--authorization-mode=Node,RBAC",
		"--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+cp.Path("sa.pub"),
		"--service-account-signing-key-file="+cp.Path("sa.key"),
		// A loopback advertise address is refused by the endpoint reconciler.
		"--endpoint-reconciler-type=none",
		// Nothing else would remove the not-ready taint from kwok's nodes.
		"--disable-admission-plugins=TaintNodesByCondition",
		"--allow-privileged=true", "--profiling=false", "-v=1")
	if err != nil {
		return err
	}
	cp.CAFile = cp.Path("certs/apiserver.crt")
	return cp.WaitReady(ctx, "kube-apiserver", cp.APIURL()+"/readyz")
}

// WaitReady polls url with the admin token until it answers 200.
func (cp *ControlPlane) WaitReady(ctx context.Context, name, url string) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback readiness probe only
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if p := cp.Procs[name]; p != nil {
			select {
			case <-p.Done:
				return fmt.Errorf("%s exited; see %s:\n%s", name, p.Log, Tail(p.Log))
			default:
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+cp.Token)
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 90s; see %s:\n%s", name, cp.Procs[name].Log, Tail(cp.Procs[name].Log))
}

// Tail returns the last lines of a log file.
func Tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// WriteKubeconfig writes a kubeconfig for the API server with a bearer token.
func (cp *ControlPlane) WriteKubeconfig(path, token string) error {
	ca, err := os.ReadFile(cp.CAFile)
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
`, cp.APIURL(), base64.StdEncoding.EncodeToString(ca), token)
	return os.WriteFile(path, []byte(conf), 0o600)
}

// StartControllers starts kube-controller-manager, kube-scheduler and kwok.
func (cp *ControlPlane) StartControllers() error {
	cp.AdminConf = cp.Path("admin.kubeconfig")
	if err := cp.WriteKubeconfig(cp.AdminConf, cp.Token); err != nil {
		return err
	}
	err := cp.Start("kube-controller-manager", filepath.Join(cp.Bin, "kube-controller-manager"), environ(),
		"--kubeconfig="+cp.AdminConf,
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--leader-elect=false",
		"--controllers=*",
		"--service-account-private-key-file="+cp.Path("sa.key"),
		"--root-ca-file="+cp.CAFile,
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
	cp.Stop("kube-scheduler")
	err = cp.Start("kube-scheduler", filepath.Join(cp.Bin, "kube-scheduler"), environ(),
		"--kubeconfig="+cp.AdminConf,
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--leader-elect=false",
		"-v=1")
	if err != nil {
		return err
	}
	return cp.Start("kwok", filepath.Join(cp.Bin, "kwok"), environ(),
		"--kubeconfig="+cp.AdminConf,
		"--manage-all-nodes=true",
		"--config="+filepath.Join(cp.Bin, "..", "kwok", "stages-fast.yaml"),
		"-v=WARN")
}

// AdminConfig is the client configuration with the admin token.
func (cp *ControlPlane) AdminConfig() *rest.Config {
	return &rest.Config{
		Host:            cp.APIURL(),
		BearerToken:     cp.Token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile},
		QPS:             100, Burst: 200,
	}
}

// AdminClient is a client with the admin token.
func (cp *ControlPlane) AdminClient() (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(cp.AdminConfig())
}
