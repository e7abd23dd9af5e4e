//go:build e2e

// Package helm tests the Helm chart charts/clusterdns through the Helm v4
// Go module: with default values (and the values of charts/clusterdns/ci)
// it renders the objects of deploy/ (and of its overlays), it lints, and it
// installs, upgrades and rolls back on a real control plane
// (test/controlplane), where it also takes over from a release of a chart
// shaped like coredns/helm's. It is a module of its own because Helm's
// Kubernetes libraries are newer than those the coredns binary links;
// test/e2e/run.sh runs it after the end-to-end suite.
package helm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// chartDir is the chart under test.
var chartDir = filepath.Join(repoRoot, "charts", "clusterdns")

// env is what the tests share: the control plane's binaries, and the
// control plane once a test has asked for it.
var env struct {
	bin  string
	dir  string
	once sync.Once
	cp   *controlplane.ControlPlane
	err  error
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// Helm's template engine logs each `fail` it meets; the tests that
	// expect one check its error instead.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	env.bin = os.Getenv("CLUSTERDNS_E2E_BIN")
	if env.bin == "" {
		fmt.Fprintln(os.Stderr, "CLUSTERDNS_E2E_BIN is not set: run `make e2e`, which builds the control plane and sets it")
		return 1
	}
	dir, err := os.MkdirTemp("", "clusterdns-helm-")
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
	return m.Run()
}

// cluster returns the control plane, started on first use with a kwok node
// for the DNS pods: the render and lint tests need none.
func cluster(t *testing.T) *controlplane.ControlPlane {
	t.Helper()
	env.once.Do(func() { env.cp, env.err = startCluster(context.Background()) })
	if env.err != nil {
		t.Fatalf("starting the control plane: %v", env.err)
	}
	return env.cp
}

func startCluster(ctx context.Context) (*controlplane.ControlPlane, error) {
	cp, err := controlplane.New(env.bin, env.dir)
	if err != nil {
		return nil, err
	}
	if err := cp.StartEtcd(true); err != nil {
		return cp, err
	}
	if err := cp.StartAPIServer(ctx); err != nil {
		return cp, err
	}
	if err := cp.StartControllers(); err != nil {
		return cp, err
	}
	return cp, addNode(ctx, cp)
}

// kubectl runs the control plane's kubectl in the repository.
func kubectl(args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(env.bin, "kubectl"), args...)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return nil, fmt.Errorf("kubectl %v: %w\n%s", args, err, ee.Stderr)
	}
	return out, err
}
