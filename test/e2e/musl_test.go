//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The musl client is testdata/getaddrinfo.c linked statically with musl, the
// C library of Alpine images; it answers getent's host databases through
// musl's getaddrinfo, so every lookup the suite makes with glibc's getent is
// made with musl's resolver too.
var musl struct {
	once sync.Once
	path string
	err  error
}

// muslClient builds the musl client into the suite's directory, once.
func muslClient() (string, error) {
	musl.once.Do(func() {
		out := filepath.Join(env.dir, "getaddrinfo-musl")
		cmd := exec.Command("musl-gcc", "-static", "-O2", "-Wall", "-Werror", "-o", out, "testdata/getaddrinfo.c")
		if b, err := cmd.CombinedOutput(); err != nil {
			musl.err = fmt.Errorf("building testdata/getaddrinfo.c with musl-gcc (Debian's musl-tools): %w\n%s", err, b)
			return
		}
		musl.path = out
	})
	return musl.path, musl.err
}

// nodeSearch are the node's own search domains, which the kubelet appends
// to a pod's search list after the cluster's: on TestNodeLocalDNS's node,
// the first has a working nameserver, the second's fails (SERVFAIL).
var nodeSearch = []string{"example.internal", "lab.internal"}

// podDNS is where a pod's resolver runs: its namespace (the first search
// domain), the nameserver the kubelet wrote, and the network namespace it
// runs in, "" for the suite's own. Its search list ends with nodeSearch.
type podDNS struct {
	ns, nameserver, netns string
}

// resolution is what one resolver made of a name: the distinct addresses,
// sorted, and the canonical name; or, when it found nothing, why.
type resolution struct {
	addrs  []string
	canon  string
	failed string
}

func (r resolution) String() string {
	if r.failed != "" {
		return "not found (" + r.failed + ")"
	}
	return fmt.Sprintf("%v as %s", r.addrs, r.canon)
}

// found reports whether the resolver found addresses.
func (r resolution) found() bool { return r.failed == "" }

// sameAs reports whether two resolvers found the same addresses under the
// same canonical name, or both found nothing (whatever their reasons).
func (r resolution) sameAs(o resolution) bool {
	if !r.found() || !o.found() {
		return r.found() == o.found()
	}
	return r.canon == o.canon && slices.Equal(r.addrs, o.addrs)
}

// resolveBoth looks name up in getent's database db (hosts, ahosts,
// ahostsv4, ahostsv6) with glibc's getent, then with the musl client, in
// one mount namespace whose /etc/resolv.conf is the pod's.
func resolveBoth(pod podDNS, db, name string) (glibc, musl resolution, err error) {
	client, err := muslClient()
	if err != nil {
		return glibc, musl, err
	}
	conf := filepath.Join(env.dir, fmt.Sprintf("resolv-%s-%s.conf", pod.nameserver, pod.ns))
	if err := os.WriteFile(conf, []byte(resolvConf(pod.nameserver, pod.ns, nodeSearch...)), 0o644); err != nil {
		return glibc, musl, err
	}
	script := `mount --bind "$1" /etc/resolv.conf || exit 100
getent "$3" "$4"; echo "exit $?"
"$2" "$3" "$4" 2>&1; echo "exit $?"`
	args := []string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", conf, client, db, name}
	if pod.netns != "" {
		args = append([]string{"ip", "netns", "exec", pod.netns}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	parts := exitLine.FindAllStringSubmatchIndex(string(out), -1)
	if err != nil || len(parts) != 2 {
		return glibc, musl, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	s := string(out)
	glibc = parseGetent(db, s[:parts[0][0]], s[parts[0][2]:parts[0][3]])
	musl = parseMusl(s[parts[0][1]:parts[1][0]], s[parts[1][2]:parts[1][3]])
	return glibc, musl, nil
}

// exitLine ends each resolver's output in resolveBoth's script.
var exitLine = regexp.MustCompile(`(?m)^exit (\d+)\n`)

// parseGetent reads getent's output: "ADDRESS NAME ALIASES..." for hosts,
// "ADDRESS SOCKTYPE [CANONICAL]" for the ahosts databases, the canonical
// name on the first line only.
func parseGetent(db, out, status string) resolution {
	if status != "0" {
		return resolution{failed: "getent exit " + status}
	}
	var r resolution
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		r.addrs = append(r.addrs, f[0])
		if i == 0 && db == "hosts" && len(f) > 1 {
			r.canon = f[1]
		} else if i == 0 && len(f) > 2 {
			r.canon = f[2]
		}
	}
	slices.Sort(r.addrs)
	r.addrs = slices.Compact(r.addrs)
	return r
}

// parseMusl reads the musl client's output: "ADDRESS CANONICAL" lines, or
// the resolver's error.
func parseMusl(out, status string) resolution {
	out = strings.TrimSpace(out)
	if status != "0" {
		return resolution{failed: out}
	}
	var r resolution
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			r.addrs = append(r.addrs, f[0])
			r.canon = f[1]
		}
	}
	slices.Sort(r.addrs)
	return r
}

// checkMusl looks name up with both resolvers from pod and fails the test
// unless they agree; it returns glibc's resolution.
func checkMusl(t *testing.T, pod podDNS, db, name string) resolution {
	t.Helper()
	glibc, musl, err := resolveBoth(pod, db, name)
	if err != nil {
		t.Errorf("getent %s %s in a pod of %s: %v", db, name, pod.ns, err)
	} else if !glibc.sameAs(musl) {
		t.Errorf("getent %s %s in a pod of %s: glibc %v, musl %v", db, name, pod.ns, glibc, musl)
	}
	return glibc
}
