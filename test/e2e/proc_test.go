//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// procStatus reads the fields of /proc/<pid>/status.
func procStatus(pid int) (map[string]string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	fields := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			fields[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return fields, sc.Err()
}

// portOwners lists the uids of the sockets bound to port in the network
// namespace of process pid, over IPv4 and IPv6, for proto "tcp" (listening
// sockets) or "udp".
func portOwners(t *testing.T, pid int, proto string, port int) []int64 {
	t.Helper()
	var uids []int64
	for _, file := range []string{proto, proto + "6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, file))
		if err != nil {
			t.Fatal(err)
		}
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 8 {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			p, err := strconv.ParseInt(hexPort, 16, 32)
			if err != nil || int(p) != port || proto == "tcp" && f[3] != "0A" { // 0A: LISTEN
				continue
			}
			uid, err := strconv.ParseInt(f[7], 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", file, line)
			}
			if !slices.Contains(uids, uid) {
				uids = append(uids, uid)
			}
		}
	}
	slices.Sort(uids)
	return uids
}

// rootMountOptions is the mount options of the root of process pid's mount
// namespace, from its mountinfo (proc(5)).
func rootMountOptions(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	var opts []string
	for _, line := range strings.Split(string(b), "\n") {
		// id parent major:minor root mount-point options ...
		if f := strings.Fields(line); len(f) > 5 && f[4] == "/" {
			opts = strings.Split(f[5], ",") // the last mount on / is the one seen
		}
	}
	return opts
}

// memoryLimit is the memory limit of process pid's cgroup, in bytes, from
// the v1 memory controller or the v2 unified hierarchy.
func memoryLimit(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		// hierarchy-id:controllers:path
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var file string
		switch {
		case slices.Contains(strings.Split(f[1], ","), "memory"):
			file = "/sys/fs/cgroup/memory" + f[2] + "/memory.limit_in_bytes"
		case f[0] == "0" && f[1] == "":
			file = "/sys/fs/cgroup" + f[2] + "/memory.max"
		default:
			continue
		}
		v, err := os.ReadFile(file)
		if err != nil {
			continue // a v2 line on a host that mounts v1
		}
		limit, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
		if err != nil {
			t.Fatalf("%s: %q", file, v)
		}
		return limit
	}
	t.Fatalf("no memory cgroup in /proc/%d/cgroup:\n%s", pid, b)
	return 0
}
