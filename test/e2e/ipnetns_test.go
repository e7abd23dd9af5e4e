//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ipNetns is a network namespace made with `ip netns add`, so that commands
// run in it with `ip netns exec` and this process can enter it by name.
type ipNetns string

// newIPNetns creates a network namespace with its loopback up; t's cleanup
// deletes it, after the cleanups registered later (the processes in it).
func newIPNetns(t *testing.T, name string) ipNetns {
	t.Helper()
	n := ipNetns(name)
	_ = exec.Command("ip", "netns", "delete", name).Run() // left by an interrupted run, if any
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v\n%s", name, err, out)
		}
	})
	n.ip(t, "link", "set", "lo", "up")
	return n
}

// ip runs `ip -n <namespace> args...`.
func (n ipNetns) ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", string(n)}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v\n%s", n, strings.Join(args, " "), err, out)
	}
}

// command is name with args run inside the namespace.
func (n ipNetns) command(name string, args ...string) []string {
	return append([]string{"netns", "exec", string(n), name}, args...)
}

// do runs fn on a thread inside the namespace; the sockets fn opens stay
// there whichever thread uses them later. The thread goes back to its own
// namespace afterwards rather than ending: a process started with
// Pdeathsig (controlplane.Start) dies with the thread that started it,
// and any thread may have.
func (n ipNetns) do(fn func()) error {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer func() { _ = self.Close() }()
	target, err := os.Open("/run/netns/" + string(n))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer func() { _ = target.Close() }()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering network namespace %s: %w", n, err)
	}
	fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// Still locked: the thread ends with this goroutine rather than
		// running others in the wrong namespace.
		return fmt.Errorf("leaving network namespace %s: %w", n, err)
	}
	runtime.UnlockOSThread()
	return nil
}

// dial connects from inside the namespace.
func (n ipNetns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	var dialErr error
	if err := n.do(func() { conn, dialErr = (&net.Dialer{}).DialContext(ctx, network, addr) }); err != nil {
		return nil, err
	}
	return conn, dialErr
}

// get fetches url from inside the namespace and returns the status code
// and body.
func (n ipNetns) get(url string) (int, string, error) {
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial, DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
