package clusterdns

import (
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/dnsname"
)

// init registers the plugin so a Corefile can name it.
func init() { plugin.Register(pluginName, setup) }

// setup is the caddy entry point: it parses the stanza, builds the plugin,
// ties its cache lifecycle to the server's and inserts it in the chain.
func setup(c *caddy.Controller) error {
	cfg, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}

	// client-go logs through klog; route it into our logger so its messages
	// share CoreDNS's format instead of going to stderr in klog's own.
	// klog.InitFlags is deliberately not called: it panics on reload.
	klog.SetLogger(logr.New(&klogAdapter{}))

	cfg.hostSearch = hostSearch(resolvConf)
	cd := newClusterDNS(cfg)
	c.OnStartup(cd.onStartup)
	c.OnShutdown(cd.onShutdown)
	// The listen addresses are only final once the server starts.
	c.OnStartup(func() error {
		cd.answers.LocalIPs = boundAddrs(c)
		return nil
	})

	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		cd.Next = next
		return cd
	})
	return nil
}

// boundAddrs returns the addresses this server answers on, which the plugin
// needs to recognise queries about itself. Explicit listen hosts (from the
// bind plugin) are used as given; a server bound to the wildcard, or with no
// usable host, answers on every interface, so the interfaces' unicast
// addresses are used, minus loopback and link-local ones, which no client
// elsewhere in the cluster can reach.
func boundAddrs(c *caddy.Controller) []netip.Addr {
	return listenAddrs(dnsserver.GetConfig(c).ListenHosts, net.InterfaceAddrs)
}

// listenAddrs is boundAddrs with its inputs injected, so it can be tested
// without a running server or real interfaces.
func listenAddrs(hosts []string, interfaceAddrs func() ([]net.Addr, error)) []netip.Addr {
	var addrs []netip.Addr
	wildcard := false
	for _, h := range hosts {
		a, ok := parseHostAddr(h)
		switch {
		case h == "" || (ok && a.IsUnspecified()):
			wildcard = true
		case ok:
			addrs = append(addrs, a)
		}
	}
	if len(addrs) > 0 && !wildcard {
		return addrs
	}

	ifAddrs, err := interfaceAddrs()
	if err != nil {
		log.Warningf("Cannot list interface addresses: %v", err)
		return nil
	}
	addrs = addrs[:0]
	for _, ia := range ifAddrs {
		a, ok := parseHostAddr(ia.String())
		if !ok || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() {
			continue
		}
		addrs = append(addrs, a)
	}
	return addrs
}

// parseHostAddr accepts an address either plain ("10.0.0.1") or in the CIDR
// form interfaces report ("10.0.0.1/24"). IPv4-mapped IPv6 addresses are
// unmapped so they compare equal to the IPv4 addresses in Kubernetes objects.
func parseHostAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// parse reads the clusterdns stanza of a server block. A second stanza in the
// same block is an error: two instances would fight over the same zones.
func parse(c *caddy.Controller) (*config, error) {
	var cfg *config
	for c.Next() {
		if cfg != nil {
			return nil, plugin.ErrOnce
		}
		var err error
		if cfg, err = parseStanza(c); err != nil {
			return nil, err
		}
	}
	if cfg == nil {
		// Not reachable through caddy, which only calls setup for a
		// present directive; guards direct callers.
		return nil, c.Errf("%s: no stanza found", pluginName)
	}
	return cfg, nil
}

// parseStanza parses one clusterdns stanza, the controller positioned on the
// directive. Options take the names, arguments and defaults of the upstream
// kubernetes plugin so an existing Corefile carries over unchanged; every
// error names the option and carries the Corefile file and line.
func parseStanza(c *caddy.Controller) (*config, error) {
	cfg := defaultConfig()

	cfg.zones = plugin.OriginsFromArgsOrServerBlock(c.RemainingArgs(), c.ServerBlockKeys)
	for i, z := range cfg.zones {
		cfg.zones[i] = strings.ToLower(z)
	}
	for _, z := range cfg.zones {
		if !dnsname.IsReverseZone(z) {
			cfg.primaryZone = z
			break
		}
	}
	if cfg.primaryZone == "" {
		return nil, c.Errf("%s: non-reverse zone name must be used; zones are %v", pluginName, cfg.zones)
	}

	// seen records the options given so far, to reject conflicting pairs at
	// the line of the second one, in whichever order they appear.
	seen := map[string]bool{}
	conflict := func(opt string, others ...string) error {
		for _, o := range others {
			if seen[o] {
				return c.Errf("%s: cannot be combined with %s", opt, o)
			}
		}
		return nil
	}

	for c.NextBlock() {
		opt := c.Val()
		args := c.RemainingArgs()
		var err error
		switch opt {
		case "endpoint":
			if err = argCount(c, opt, args, 1, -1); err != nil {
				break
			}
			if err = conflict(opt, "objects_file"); err != nil {
				break
			}
			cfg.endpoint = args[0]
			if len(args) > 1 {
				log.Warningf("Multiple endpoints are deprecated, only the first one, %q, is used", args[0])
			}

		case "tls":
			if err = argCount(c, opt, args, 3, 3); err != nil {
				break
			}
			if err = conflict(opt, "objects_file"); err != nil {
				break
			}
			cfg.tlsCert, cfg.tlsKey, cfg.tlsCA = args[0], args[1], args[2]

		case "kubeconfig":
			if err = argCount(c, opt, args, 1, 2); err != nil {
				break
			}
			if err = conflict(opt, "objects_file"); err != nil {
				break
			}
			cfg.kubeconfig = args[0]
			if len(args) == 2 {
				cfg.kubeContext = args[1]
			}

		case "objects_file":
			err = parseObjectsFile(c, cfg, opt, args)
			if err == nil {
				err = conflict(opt, "endpoint", "tls", "kubeconfig", "ready_stale_limit", "resync", "snapshot", "client_zone_first", "multicluster")
			}

		case "namespaces":
			if err = argCount(c, opt, args, 1, -1); err != nil {
				break
			}
			if err = conflict(opt, "namespace_labels"); err != nil {
				break
			}
			if cfg.namespaces == nil {
				cfg.namespaces = make(map[string]struct{}, len(args))
			}
			for _, ns := range args {
				cfg.namespaces[ns] = struct{}{}
			}

		case "namespace_labels":
			if err = conflict(opt, "namespaces"); err != nil {
				break
			}
			cfg.namespaceSelector, err = parseSelector(c, opt, args)

		case "labels":
			cfg.labelSelector, err = parseSelector(c, opt, args)

		case "pods":
			if err = argCount(c, opt, args, 1, 1); err != nil {
				break
			}
			switch args[0] {
			case podsDisabled, podsInsecure, podsVerified:
				cfg.podMode = args[0]
			default:
				err = c.Errf("%s: invalid mode %q, must be one of %s, %s, %s",
					opt, args[0], podsDisabled, podsInsecure, podsVerified)
			}

		case "endpoint_pod_names":
			if err = argCount(c, opt, args, 0, 0); err == nil {
				cfg.endpointPodNames = true
			}

		case "ttl":
			var t int
			if t, err = parseIntIn(c, opt, args, 0, maxTTL); err == nil {
				cfg.ttl = uint32(t)
			}

		case "fallback_terminating":
			if err = argCount(c, opt, args, 0, 0); err != nil {
				break
			}
			if err = conflict(opt, "noendpoints"); err == nil {
				cfg.fallbackTerminating = true
			}

		case "noendpoints":
			if err = argCount(c, opt, args, 0, 0); err != nil {
				break
			}
			if err = conflict(opt, "fallback_terminating", "zonal", "client_zone_first"); err == nil {
				cfg.noEndpoints = true
			}

		case "fallthrough":
			cfg.fall.SetZonesFromArgs(args)

		case "ignore":
			if err = argCount(c, opt, args, 1, 1); err != nil {
				break
			}
			if args[0] != "empty_service" {
				err = c.Errf("%s: invalid value %q, the only one supported is empty_service", opt, args[0])
				break
			}
			cfg.ignoreEmptyServices = true

		case "max_answers":
			if cfg.maxAnswers, err = parseIntIn(c, opt, args, 1, maxAnswersLimit); err == nil {
				err = conflict(opt, "client_zone_first")
			}

		case "startup_timeout":
			if err = argCount(c, opt, args, 1, 1); err != nil {
				break
			}
			d, perr := time.ParseDuration(args[0])
			if perr != nil || d < 0 {
				err = c.Errf("%s: invalid duration %q, must be a non-negative duration such as 5s", opt, args[0])
				break
			}
			cfg.startupTimeout = d

		case "ready_stale_limit":
			cfg.readyStaleLimit, err = parseAPIDuration(c, opt, args, conflict)

		case "resync":
			cfg.resync, err = parseAPIDuration(c, opt, args, conflict)

		case "snapshot":
			if err = argCount(c, opt, args, 1, 2); err != nil {
				break
			}
			if err = conflict(opt, "objects_file", "multicluster"); err != nil {
				break
			}
			if args[0] == "" {
				err = c.Errf("%s: path must not be empty", opt)
				break
			}
			cfg.snapshotPath = args[0]
			if len(args) == 2 {
				cfg.snapshotInterval, err = parsePositiveDuration(c, opt, "interval", args[1])
			}

		case "apiserver_qps":
			if err = argCount(c, opt, args, 1, 1); err != nil {
				break
			}
			q, perr := strconv.ParseFloat(args[0], 32)
			if perr != nil || q < 0 || math.IsNaN(q) {
				err = c.Errf("%s: invalid value %q, must be a number >= 0", opt, args[0])
				break
			}
			cfg.apiQPS = float32(q)

		case "apiserver_burst":
			cfg.apiBurst, err = parseNonNegativeInt(c, opt, args)

		case "apiserver_max_inflight":
			cfg.apiMaxInflight, err = parseNonNegativeInt(c, opt, args)

		case "zonal":
			if err = argCount(c, opt, args, 0, 0); err != nil {
				break
			}
			// Zone-scoped names select endpoints, which noendpoints does not watch.
			if err = conflict(opt, "noendpoints"); err == nil {
				cfg.zonal = true
			}

		case "client_zone_first":
			if err = argCount(c, opt, args, 0, 0); err != nil {
				break
			}
			// It needs the API's Pods and Nodes and every record of the
			// answer, in an order of its own.
			if err = conflict(opt, "noendpoints", "max_answers", "objects_file"); err == nil {
				cfg.clientZoneFirst = true
			}

		case "multicluster":
			err = parseMulticluster(c, cfg, opt, args)
			if err == nil {
				// Both hold only what the Services and EndpointSlices give.
				err = conflict(opt, "objects_file", "snapshot")
			}

		default:
			err = c.Errf("unknown option %q", opt)
		}
		if err != nil {
			return nil, err
		}
		seen[opt] = true
	}
	cfg.primaryZone = primaryZone(cfg)
	return cfg, nil
}

// primaryZone returns the zone PTR records point into: the first forward
// zone that is not a multicluster zone, whose names come from ServiceImports
// rather than the Services that own addresses, else the first forward zone.
func primaryZone(cfg *config) string {
	for _, z := range cfg.zones {
		if !dnsname.IsReverseZone(z) && !cfg.isMulticluster(z) {
			return z
		}
	}
	return cfg.primaryZone
}

// parseMulticluster handles `multicluster ZONES...`: the zones whose
// services are the MCS-API ServiceImports (KEP-1645), each one the plugin
// is authoritative for, as the kubernetes plugin requires.
func parseMulticluster(c *caddy.Controller, cfg *config, opt string, args []string) error {
	if err := argCount(c, opt, args, 1, -1); err != nil {
		return err
	}
	for _, z := range plugin.OriginsFromArgsOrServerBlock(args, nil) {
		z = strings.ToLower(z)
		switch {
		case dnsname.IsReverseZone(z):
			return c.Errf("%s: zone %s is a reverse zone; multicluster zones are forward zones", opt, z)
		case !slices.Contains(cfg.zones, z):
			return c.Errf("%s: zone %s is not one of the plugin's zones %v", opt, z, cfg.zones)
		case !cfg.isMulticluster(z):
			cfg.multiclusterZones = append(cfg.multiclusterZones, z)
		}
	}
	return nil
}

// argCount checks an option got between lo and hi arguments (hi < 0: no
// upper bound), so a miscount is reported with the option's name and line
// rather than caddy's generic "wrong argument count".
func argCount(c *caddy.Controller, opt string, args []string, lo, hi int) error {
	n := len(args)
	if n >= lo && (hi < 0 || n <= hi) {
		return nil
	}
	var want string
	switch {
	case lo == hi && lo == 0:
		want = "no arguments"
	case lo == hi && lo == 1:
		want = "exactly one argument"
	case lo == hi:
		want = "exactly " + strconv.Itoa(lo) + " arguments"
	case hi < 0 && lo == 1:
		want = "at least one argument"
	case hi < 0:
		want = "at least " + strconv.Itoa(lo) + " arguments"
	default:
		want = strconv.Itoa(lo) + " or " + strconv.Itoa(hi) + " arguments"
	}
	return c.Errf("%s: expected %s, got %d", opt, want, n)
}

// parseObjectsFile handles `objects_file PATH [POLL_INTERVAL]`, our own
// option for serving from a file of objects instead of the API. A relative
// PATH is kept as given, so it resolves against the working directory.
func parseObjectsFile(c *caddy.Controller, cfg *config, opt string, args []string) error {
	if err := argCount(c, opt, args, 1, 2); err != nil {
		return err
	}
	if args[0] == "" {
		return c.Errf("%s: path must not be empty", opt)
	}
	cfg.objectsFile = args[0]
	if len(args) == 2 {
		d, err := parsePositiveDuration(c, opt, "poll interval", args[1])
		if err != nil {
			return err
		}
		cfg.objectsFilePoll = d
	}
	return nil
}

// parseAPIDuration parses the single positive duration of an option that
// only means something with the API as source.
func parseAPIDuration(c *caddy.Controller, opt string, args []string, conflict func(string, ...string) error) (time.Duration, error) {
	if err := argCount(c, opt, args, 1, 1); err != nil {
		return 0, err
	}
	if err := conflict(opt, "objects_file"); err != nil {
		return 0, err
	}
	return parsePositiveDuration(c, opt, "duration", args[0])
}

// parsePositiveDuration parses a duration argument of opt that must be
// above zero; what names the argument in the error.
func parsePositiveDuration(c *caddy.Controller, opt, what, arg string) (time.Duration, error) {
	d, err := time.ParseDuration(arg)
	if err != nil || d <= 0 {
		return 0, c.Errf("%s: invalid %s %q, must be a positive duration such as 1s", opt, what, arg)
	}
	return d, nil
}

// parseSelector parses the arguments of `labels` or `namespace_labels`, joined
// by spaces as upstream does, into a selector once at setup rather than per
// event.
func parseSelector(c *caddy.Controller, opt string, args []string) (labels.Selector, error) {
	if err := argCount(c, opt, args, 1, -1); err != nil {
		return nil, err
	}
	expr := strings.Join(args, " ")
	ls, err := metav1.ParseToLabelSelector(expr)
	if err != nil {
		return nil, c.Errf("%s: invalid selector %q: %v", opt, expr, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, c.Errf("%s: invalid selector %q: %v", opt, expr, err)
	}
	return sel, nil
}

// parseNonNegativeInt parses the single integer argument of the API client
// limits, where 0 means "use the client default".
func parseNonNegativeInt(c *caddy.Controller, opt string, args []string) (int, error) {
	if err := argCount(c, opt, args, 1, 1); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 {
		return 0, c.Errf("%s: invalid value %q, must be an integer >= 0", opt, args[0])
	}
	return n, nil
}

// parseIntIn parses the single integer argument of an option that must lie
// in [lo, hi].
func parseIntIn(c *caddy.Controller, opt string, args []string, lo, hi int) (int, error) {
	if err := argCount(c, opt, args, 1, 1); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < lo || n > hi {
		return 0, c.Errf("%s: invalid value %q, must be an integer in [%d, %d]", opt, args[0], lo, hi)
	}
	return n, nil
}
