//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// runc runs containers with the runc binary on PATH, keeping its state
// under a directory of the suite's rather than /run/runc.
type runc struct {
	root string
}

// baseSpec is the configuration `runc spec` writes: the runtime's own
// defaults, which containerSpec overrides with what the pod says.
func (r runc) baseSpec(dir string) (*specs.Spec, error) {
	if out, err := exec.Command("runc", "spec", "--bundle", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("runc spec: %w\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	return &s, json.Unmarshal(b, &s)
}

// start starts the bundle's container in the background, its output going
// to log, and returns once runc has started its process.
func (r runc) start(id, bundle, log string) error {
	out, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = out.Close() }() // the container holds its own copy
	cmd := exec.Command("runc", "--root", r.root, "run", "--detach", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("runc run %s: %w\n%s", id, err, controlplane.Tail(log))
	}
	return nil
}

// run runs the bundle's container in the foreground until it exits or
// timeout passes, and returns its output and runc's.
func (r runc) run(id, bundle string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "runc", "--root", r.root, "run", "--bundle", bundle, id)
	cmd.Cancel = func() error { return r.kill(id, "KILL") }
	out, err := cmd.CombinedOutput()
	_ = r.delete(id) // runc run removes what it ran, unless it was killed
	return string(out), err
}

// state is what `runc state` reports of a container.
type state struct {
	Status string `json:"status"`
	Pid    int    `json:"pid"`
}

func (r runc) state(id string) (state, error) {
	var st state
	out, err := exec.Command("runc", "--root", r.root, "state", id).Output()
	if err != nil {
		return st, fmt.Errorf("runc state %s: %w", id, err)
	}
	return st, json.Unmarshal(out, &st)
}

func (r runc) kill(id, signal string) error {
	if out, err := exec.Command("runc", "--root", r.root, "kill", id, signal).CombinedOutput(); err != nil {
		return fmt.Errorf("runc kill %s: %w\n%s", id, err, out)
	}
	return nil
}

func (r runc) delete(id string) error {
	if out, err := exec.Command("runc", "--root", r.root, "delete", "--force", id).CombinedOutput(); err != nil {
		return fmt.Errorf("runc delete %s: %w\n%s", id, err, out)
	}
	return nil
}
