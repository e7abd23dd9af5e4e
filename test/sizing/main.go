// Command sizing measures the memory of the coredns binary serving clusters
// of several sizes, to size the requests and limits in deploy/.
//
// For each size it writes an objects file (a `kind: List` of Namespaces,
// Services and EndpointSlices, the shape `kubectl get -o yaml` writes) and
// starts the binary with the Corefile the manifests ship, reading the
// objects through the API of a kube-apiserver it first loads them into
// (-kubeconfig, the way a cluster runs it) or else from the file
// (objects_file). It waits for /ready and reads VmRSS, its anonymous and
// file-backed parts, and VmHWM from /proc; again after a while; and again
// after filling the cache with distinct names outside the cluster, as a
// busy cluster would. Finally it fits MB = a + b * (services + endpoints) /
// 1000 by least squares.
//
//	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /tmp/coredns ./cmd/coredns
//	go run ./test/sizing -coredns /tmp/coredns [-kubeconfig admin.kubeconfig]
//
// The API server must start empty, with a service range that holds
// 10.96.1.0 onwards (10.96.0.0/16 does for up to 65,000 services). Linux
// only (it reads /proc).
package main

import (
	"bufio"
	"flag"
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

	"github.com/miekg/dns"
	"gonum.org/v1/gonum/stat"
)

// endpointsPerService is how many ready endpoints each service has.
const endpointsPerService = 10

func main() {
	coredns := flag.String("coredns", "", "the coredns binary to measure")
	sizes := flag.String("services", "0,1000,3000,10000,20000", "comma-separated cluster sizes, in services")
	fill := flag.Int("cache-names", 20000, "distinct external names to put through the cache (half answered, half NXDOMAIN)")
	settle := flag.Duration("settle", 20*time.Second, "how long to wait after ready before reading the settled RSS")
	keep := flag.Bool("keep", false, "keep the objects files, Corefiles and logs")
	kubeconfig := flag.String("kubeconfig", "", "load the objects into this API server and serve them from it instead of from a file")
	flag.Parse()
	if *coredns == "" {
		fmt.Fprintln(os.Stderr, "usage: sizing -coredns PATH [-services 0,1000,...]")
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "clusterdns-sizing-")
	check(err)
	if *keep {
		fmt.Println("files kept in", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	fmt.Println("MB; settled = after the settle time, anon/file its anonymous and file-backed parts, cached = after filling the cache")
	fmt.Printf("%8s %9s %12s %8s %8s %8s %6s %6s %8s %8s\n", "services", "endpoints", "objects/1000", "ready(s)", "RSS", "settled", "anon", "file", "peak", "cached")
	var xs, rss, hwm []float64
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		check(err)
		m := measure(*coredns, dir, *kubeconfig, n, *fill, *settle)
		x := float64(n+n*endpointsPerService) / 1000
		fmt.Printf("%8d %9d %12.1f %8.1f %8.1f %8.1f %6.1f %6.1f %8.1f %8.1f\n", n, n*endpointsPerService, x, m.ready.Seconds(),
			m.atReady.rss, m.settled.rss, m.settled.anon, m.settled.file, m.cached.hwm, m.cached.rss)
		xs, rss, hwm = append(xs, x), append(rss, m.settled.rss), append(hwm, m.cached.hwm)
	}
	if len(xs) > 1 {
		a, b := stat.LinearRegression(xs, rss, nil, false)
		fmt.Printf("settled RSS: MB = %.1f + %.2f * (services+endpoints)/1000\n", a, b)
		a, b = stat.LinearRegression(xs, hwm, nil, false)
		fmt.Printf("peak (HWM):  MB = %.1f + %.2f * (services+endpoints)/1000\n", a, b)
	}
}

// result is one size's measurement.
type result struct {
	ready                    time.Duration
	atReady, settled, cached memory
}

// memory is what /proc/PID/status says, in MB.
type memory struct {
	rss, anon, file, hwm float64
}

func measure(coredns, dir, kubeconfig string, services, fill int, settle time.Duration) result {
	objects := filepath.Join(dir, fmt.Sprintf("cluster-%d.yaml", services))
	writeCluster(objects, services)
	source := "objects_file " + objects + " 1h"
	if kubeconfig != "" {
		load(kubeconfig, objects)
		source = "kubeconfig " + kubeconfig + "\n       startup_timeout 5m"
	}
	dnsPort, stubPort, readyPort, healthPort, metricsPort := freePort(), freePort(), freePort(), freePort(), freePort()
	corefile := filepath.Join(dir, "Corefile")
	// The deploy/ Corefile, on loopback ports, with the objects file in
	// place of the API and a local stub in place of the node's resolvers.
	check(os.WriteFile(corefile, fmt.Appendf(nil, `.:%[1]d {
    bind 127.0.0.1
    errors
    health 127.0.0.1:%[3]d {
       lameduck 5s
    }
    ready 127.0.0.1:%[4]d
    clusterdns cluster.local in-addr.arpa ip6.arpa {
       %[6]s
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus 127.0.0.1:%[5]d
    forward . 127.0.0.1:%[2]d {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
.:%[2]d {
    bind 127.0.0.1
    template IN A ok.example {
        answer "{{ .Name }} 60 IN A 192.0.2.1"
    }
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`, dnsPort, stubPort, healthPort, readyPort, metricsPort, source), 0o644))

	logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("coredns-%d.log", services)))
	check(err)
	defer logFile.Close()
	cmd := exec.Command(coredns, "-conf", corefile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	check(cmd.Start())
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	for !isReady(readyPort) {
		if time.Since(start) > 5*time.Minute {
			fmt.Fprintln(os.Stderr, "not ready after 5 minutes")
			os.Exit(1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var r result
	r.ready = time.Since(start)
	r.atReady = procStatus(cmd.Process.Pid)
	// One query to prove the objects are served.
	askA(dnsPort, "service-0.namespace-0.svc.cluster.local.")
	time.Sleep(settle)
	r.settled = procStatus(cmd.Process.Pid)
	for i := range fill {
		zone := "ok.example."
		if i%2 == 1 {
			zone = "nx.example."
		}
		askA(dnsPort, fmt.Sprintf("name-%d.%s", i, zone))
	}
	r.cached = procStatus(cmd.Process.Pid)
	return r
}

// writeCluster writes services Services in namespaces of 20, each with one
// EndpointSlice of endpointsPerService ready endpoints, every tenth service
// headless, every fourth with a second port, with the metadata the API
// server and the controllers fill in.
func writeCluster(path string, services int) {
	f, err := os.Create(path)
	check(err)
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:")
	namespaces := (services + 19) / 20
	rv := 1000
	for n := range namespaces {
		rv++
		fmt.Fprintf(w, `- apiVersion: v1
  kind: Namespace
  metadata:
    creationTimestamp: "2026-01-12T08:00:00Z"
    labels:
      kubernetes.io/metadata.name: namespace-%[1]d
    name: namespace-%[1]d
    resourceVersion: "%[2]d"
    uid: %[3]s
  spec:
    finalizers:
    - kubernetes
  status:
    phase: Active
`, n, rv, uid(0, n))
	}
	ep := 0
	for i := range services {
		ns := i / 20
		clusterIP := ip4(10, 96, 256+i)
		if i%10 == 9 {
			clusterIP = "None"
		}
		ports := "    - name: http\n      port: 80\n      protocol: TCP\n      targetPort: 8080\n"
		slicePorts := "  - name: http\n    port: 8080\n    protocol: TCP\n"
		if i%4 == 0 {
			ports += "    - name: metrics\n      port: 9090\n      protocol: TCP\n      targetPort: metrics\n"
			slicePorts += "  - name: metrics\n    port: 9090\n    protocol: TCP\n"
		}
		rv++
		fmt.Fprintf(w, `- apiVersion: v1
  kind: Service
  metadata:
    creationTimestamp: "2026-01-12T08:00:00Z"
    labels:
      app.kubernetes.io/name: service-%[1]d
      app.kubernetes.io/part-of: shop
    name: service-%[1]d
    namespace: namespace-%[2]d
    resourceVersion: "%[3]d"
    uid: %[4]s
  spec:
    clusterIP: %[5]s
    clusterIPs:
    - %[5]s
    internalTrafficPolicy: Cluster
    ipFamilies:
    - IPv4
    ipFamilyPolicy: SingleStack
    ports:
%[6]s    selector:
      app.kubernetes.io/name: service-%[1]d
    sessionAffinity: None
    type: ClusterIP
  status:
    loadBalancer: {}
`, i, ns, rv, uid(1, i), clusterIP, ports)
		rv++
		fmt.Fprintf(w, `- addressType: IPv4
  apiVersion: discovery.k8s.io/v1
  endpoints:
`)
		for range endpointsPerService {
			fmt.Fprintf(w, `  - addresses:
    - %[1]s
    conditions:
      ready: true
      serving: true
      terminating: false
    nodeName: node-%[2]d
    targetRef:
      kind: Pod
      name: service-%[3]d-7c9d8b6f4-%05[4]x
      namespace: namespace-%[5]d
      uid: %[6]s
    zone: zone-%[7]c
`, ip4(10, 64, ep), ep%300, i, ep&0xfffff, ns, uid(2, ep), 'a'+byte(ep%3))
			ep++
		}
		fmt.Fprintf(w, `  kind: EndpointSlice
  metadata:
    annotations:
      endpoints.kubernetes.io/last-change-trigger-time: "2026-01-12T08:00:01Z"
    creationTimestamp: "2026-01-12T08:00:01Z"
    generateName: service-%[1]d-
    generation: 1
    labels:
      app.kubernetes.io/name: service-%[1]d
      app.kubernetes.io/part-of: shop
      endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
      kubernetes.io/service-name: service-%[1]d
    name: service-%[1]d-%05[2]x
    namespace: namespace-%[3]d
    ownerReferences:
    - apiVersion: v1
      blockOwnerDeletion: true
      controller: true
      kind: Service
      name: service-%[1]d
      uid: %[4]s
    resourceVersion: "%[5]d"
    uid: %[6]s
  ports:
%[7]s`, i, i&0xfffff, ns, uid(1, i), rv, uid(3, i), slicePorts)
	}
	check(w.Flush())
	check(f.Close())
}

// uid is a fixed UID for object n of kind k.
func uid(k, n int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n*2654435761&0xffffffff, k, n&0xfff, (n>>12)&0xfff, n*40503)
}

// ip4 is the n-th address after a.b.0.0.
func ip4(a, b, n int) string {
	return fmt.Sprintf("%d.%d.%d.%d", a, b+n>>16, n>>8&0xff, n&0xff)
}

// procStatus reads the memory of a process.
func procStatus(pid int) memory {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[2] != "kB" {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			m.rss = kb / 1024
		case "RssAnon:":
			m.anon = kb / 1024
		case "RssFile:":
			m.file = kb / 1024
		case "VmHWM:":
			m.hwm = kb / 1024
		}
	}
	return m
}

func isReady(port int) bool {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", port))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func askA(port int, name string) {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	c := &dns.Client{Timeout: 2 * time.Second}
	var err error
	for range 5 {
		if _, _, err = c.Exchange(m, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
