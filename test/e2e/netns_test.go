//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// netns is a network namespace the suite creates, with only its loopback
// interface, up: what runs there reaches nothing else unless the suite
// relays it. It stays alive while it is bind-mounted on path, which is also
// how a runtime is told to join it.
type netns struct {
	path string
	fd   int // open on path, for setns
}

// newNetns creates a network namespace, brings its loopback up and
// bind-mounts it at a file under dir; t's cleanup removes it.
func newNetns(t *testing.T, dir string) *netns {
	t.Helper()
	path := dir + "/netns"
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		// The thread that enters the new namespace never runs Go code
		// again: a goroutine that exits while locked takes its thread with
		// it.
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("unshare: %w", err)
			}
			if err := loopbackUp(); err != nil {
				return err
			}
			return unix.Mount(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), path, "", unix.MS_BIND, "")
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("creating a network namespace: %v", err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := &netns{path: path, fd: fd}
	t.Cleanup(func() {
		_ = unix.Close(n.fd)
		_ = unix.Unmount(path, unix.MNT_DETACH)
	})
	return n
}

// loopbackUp sets the flag IFF_UP on lo in the calling thread's network
// namespace.
func loopbackUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer func() { _ = unix.Close(s) }()
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading lo's flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// do runs fn on a thread that has entered the namespace; sockets fn opens
// belong to the namespace for their whole life, whichever thread uses them
// later.
func (n *netns) do(fn func()) error {
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer func() { _ = unix.Close(self) }()
	if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering the network namespace: %w", err)
	}
	fn()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, so it dies with this goroutine instead of
		// running other goroutines in the wrong namespace.
		return fmt.Errorf("leaving the network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return nil
}

// dial connects from inside the namespace, as a client in the pod would.
func (n *netns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	var dialErr error
	if err := n.do(func() { conn, dialErr = (&net.Dialer{}).DialContext(ctx, network, addr) }); err != nil {
		return nil, err
	}
	return conn, dialErr
}

// relay listens on addr inside the namespace and forwards every connection
// to target outside it, as a Service's virtual address reaches the API
// server; it stops with t.
func (n *netns) relay(t *testing.T, addr, target string) {
	t.Helper()
	var l net.Listener
	var listenErr error
	if err := n.do(func() { l, listenErr = net.Listen("tcp", addr) }); err != nil || listenErr != nil {
		t.Fatalf("listening on %s in the namespace: %v %v", addr, err, listenErr)
	}
	forward(t, l, target, func(in, out net.Conn) { go pipe(in, out) })
}

// forward accepts connections on l until t ends, dials target for each and
// hands both ends to handle, which must not block; a connection whose
// target cannot be reached is closed. t's end closes l and waits for the
// loop.
func forward(t *testing.T, l net.Listener, target string, handle func(in, out net.Conn)) {
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			handle(in, out)
		}
	})
}

// pipe copies both ways until either side closes, then closes both.
func pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	copyHalf := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src) // ends when either side closes or resets
		done <- struct{}{}
	}
	go copyHalf(a, b)
	go copyHalf(b, a)
	<-done
	_ = a.Close()
	_ = b.Close()
	<-done
}
