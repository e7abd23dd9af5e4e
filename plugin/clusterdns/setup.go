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

	cfg.HostSearch = hostSearch(resolvConf)
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
			cfg.PrimaryZone = z
			break
		}
	}
	if cfg.PrimaryZone == "" {
		return nil, c.Errf("%s: non-reverse zone name must be used; zones are %v", pluginName, cfg.zones)
	}

	p := &stanzaParser{c: c, cfg: cfg, seen: map[string]bool{}}

	for c.NextBlock() {
		o := option{name: c.Val(), args: c.RemainingArgs()}
		read, ok := stanzaOptions[o.name]
		if !ok {
			return nil, c.Errf("unknown option %q", o.name)
		}
		if err := read(p, o); err != nil {
			return nil, err
		}
		p.seen[o.name] = true
	}
	cfg.PrimaryZone = primaryZone(cfg)
	return cfg, nil
}

// stanzaParser reads the options of one stanza into cfg.
type stanzaParser struct {
	c    *caddy.Controller
	cfg  *config
	seen map[string]bool // the options given so far
}

// option is one line of a stanza: an option's name and its arguments.
type option struct {
	name string
	args []string
}

// stanzaOptions reads each option of a stanza. Every reader checks its
// arguments and the options it cannot be combined with, and sets cfg.
var stanzaOptions = map[string]func(*stanzaParser, option) error{
	"endpoint":               (*stanzaParser).endpoint,
	"tls":                    (*stanzaParser).tls,
	"kubeconfig":             (*stanzaParser).kubeconfig,
	"objects_file":           (*stanzaParser).objectsFile,
	"namespaces":             (*stanzaParser).namespaces,
	"namespace_labels":       (*stanzaParser).namespaceLabels,
	"labels":                 (*stanzaParser).labels,
	"pods":                   (*stanzaParser).pods,
	"endpoint_pod_names":     (*stanzaParser).endpointPodNames,
	"ttl":                    (*stanzaParser).ttl,
	"fallback_terminating":   (*stanzaParser).fallbackTerminating,
	"noendpoints":            (*stanzaParser).noendpoints,
	"fallthrough":            (*stanzaParser).fallThrough,
	"ignore":                 (*stanzaParser).ignore,
	"max_answers":            (*stanzaParser).maxAnswers,
	"startup_timeout":        (*stanzaParser).startupTimeout,
	"ready_stale_limit":      (*stanzaParser).readyStaleLimit,
	"resync":                 (*stanzaParser).resync,
	"snapshot":               (*stanzaParser).snapshot,
	"apiserver_qps":          (*stanzaParser).apiserverQPS,
	"apiserver_burst":        (*stanzaParser).apiserverBurst,
	"apiserver_max_inflight": (*stanzaParser).apiserverMaxInflight,
	"zonal":                  (*stanzaParser).zonal,
	"client_zone_first":      (*stanzaParser).clientZoneFirst,
	"traffic_distribution":   (*stanzaParser).trafficDistribution,
	"multicluster":           (*stanzaParser).multicluster,
	"isolate":                (*stanzaParser).isolate,
}

// conflict rejects option opt if one of others was given before it, so a
// conflicting pair is reported at the line of the second one, in
// whichever order they appear.
func (p *stanzaParser) conflict(opt string, others ...string) error {
	for _, o := range others {
		if p.seen[o] {
			return p.c.Errf("%s: cannot be combined with %s", opt, o)
		}
	}
	return nil
}

// endpoint reads `endpoint`.
func (p *stanzaParser) endpoint(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 1, -1); err != nil {
		return err
	}
	if err = p.conflict(o.name, "objects_file"); err != nil {
		return err
	}
	p.cfg.Endpoint = o.args[0]
	if len(o.args) > 1 {
		log.Warningf("Multiple endpoints are deprecated, only the first one, %q, is used", o.args[0])
	}
	return err
}

// tls reads `tls`.
func (p *stanzaParser) tls(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 3, 3); err != nil {
		return err
	}
	if err = p.conflict(o.name, "objects_file"); err != nil {
		return err
	}
	p.cfg.TLSCert, p.cfg.TLSKey, p.cfg.TLSCA = o.args[0], o.args[1], o.args[2]
	return err
}

// kubeconfig reads `kubeconfig`.
func (p *stanzaParser) kubeconfig(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 1, 2); err != nil {
		return err
	}
	if err = p.conflict(o.name, "objects_file"); err != nil {
		return err
	}
	p.cfg.Kubeconfig = o.args[0]
	if len(o.args) == 2 {
		p.cfg.KubeContext = o.args[1]
	}
	return err
}

// objectsFile reads `objects_file`.
func (p *stanzaParser) objectsFile(o option) (err error) {
	err = parseObjectsFile(p.c, p.cfg, o.name, o.args)
	if err == nil {
		err = p.conflict(o.name, "endpoint", "tls", "kubeconfig", "ready_stale_limit", "resync", "snapshot", "client_zone_first", "multicluster", "traffic_distribution")
	}
	return err
}

// namespaces reads `namespaces`.
func (p *stanzaParser) namespaces(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 1, -1); err != nil {
		return err
	}
	if err = p.conflict(o.name, "namespace_labels"); err != nil {
		return err
	}
	if p.cfg.Namespaces == nil {
		p.cfg.Namespaces = make(map[string]struct{}, len(o.args))
	}
	for _, ns := range o.args {
		p.cfg.Namespaces[ns] = struct{}{}
	}
	return err
}

// namespaceLabels reads `namespace_labels`.
func (p *stanzaParser) namespaceLabels(o option) (err error) {
	if err = p.conflict(o.name, "namespaces"); err != nil {
		return err
	}
	p.cfg.NamespaceSelector, err = parseSelector(p.c, o.name, o.args)
	return err
}

// labels reads `labels`.
func (p *stanzaParser) labels(o option) (err error) {
	p.cfg.LabelSelector, err = parseSelector(p.c, o.name, o.args)
	return err
}

// pods reads `pods`.
func (p *stanzaParser) pods(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 1, 1); err != nil {
		return err
	}
	switch o.args[0] {
	case podsDisabled, podsInsecure, podsVerified:
		p.cfg.PodMode = o.args[0]
	default:
		err = p.c.Errf("%s: invalid mode %q, must be one of %s, %s, %s",
			o.name, o.args[0], podsDisabled, podsInsecure, podsVerified)
	}
	return err
}

// endpointPodNames reads `endpoint_pod_names`.
func (p *stanzaParser) endpointPodNames(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 0, 0); err == nil {
		p.cfg.EndpointPodNames = true
	}
	return err
}

// ttl reads `ttl`.
func (p *stanzaParser) ttl(o option) (err error) {
	var t int
	if t, err = parseIntIn(p.c, o.name, o.args, 0, maxTTL); err == nil {
		p.cfg.ttl = uint32(t)
	}
	return err
}

// fallbackTerminating reads `fallback_terminating`.
func (p *stanzaParser) fallbackTerminating(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 0, 0); err != nil {
		return err
	}
	if err = p.conflict(o.name, "noendpoints"); err == nil {
		p.cfg.FallbackTerminating = true
	}
	return err
}

// noendpoints reads `noendpoints`.
func (p *stanzaParser) noendpoints(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 0, 0); err != nil {
		return err
	}
	if err = p.conflict(o.name, "fallback_terminating", "zonal", "client_zone_first", "traffic_distribution"); err == nil {
		p.cfg.NoEndpoints = true
	}
	return err
}

// fallThrough reads `fallthrough`.
func (p *stanzaParser) fallThrough(o option) (err error) {
	p.cfg.fall.SetZonesFromArgs(o.args)
	return err
}

// ignore reads `ignore`.
func (p *stanzaParser) ignore(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 1, 1); err != nil {
		return err
	}
	if o.args[0] != "empty_service" {
		err = p.c.Errf("%s: invalid value %q, the only one supported is empty_service", o.name, o.args[0])
		return err
	}
	p.cfg.IgnoreEmptyServices = true
	return err
}

// maxAnswers reads `max_answers`.
func (p *stanzaParser) maxAnswers(o option) (err error) {
	if p.cfg.MaxAnswers, err = parseIntIn(p.c, o.name, o.args, 1, maxAnswersLimit); err == nil {
		err = p.conflict(o.name, "client_zone_first")
	}
	return err
}

// startupTimeout reads `startup_timeout`.
func (p *stanzaParser) startupTimeout(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 1, 1); err != nil {
		return err
	}
	d, perr := time.ParseDuration(o.args[0])
	if perr != nil || d < 0 {
		err = p.c.Errf("%s: invalid duration %q, must be a non-negative duration such as 5s", o.name, o.args[0])
		return err
	}
	p.cfg.startupTimeout = d
	return err
}

// readyStaleLimit reads `ready_stale_limit`.
func (p *stanzaParser) readyStaleLimit(o option) (err error) {
	p.cfg.readyStaleLimit, err = parseAPIDuration(p.c, o.name, o.args, p.conflict)
	return err
}

// resync reads `resync`.
func (p *stanzaParser) resync(o option) (err error) {
	p.cfg.Resync, err = parseAPIDuration(p.c, o.name, o.args, p.conflict)
	return err
}

// snapshot reads `snapshot`.
func (p *stanzaParser) snapshot(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 1, 2); err != nil {
		return err
	}
	if err = p.conflict(o.name, "objects_file", "multicluster"); err != nil {
		return err
	}
	if o.args[0] == "" {
		err = p.c.Errf("%s: path must not be empty", o.name)
		return err
	}
	p.cfg.SnapshotPath = o.args[0]
	if len(o.args) == 2 {
		p.cfg.SnapshotInterval, err = parsePositiveDuration(p.c, o.name, "interval", o.args[1])
	}
	return err
}

// apiserverQPS reads `apiserver_qps`.
func (p *stanzaParser) apiserverQPS(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 1, 1); err != nil {
		return err
	}
	q, perr := strconv.ParseFloat(o.args[0], 32)
	if perr != nil || q < 0 || math.IsNaN(q) {
		err = p.c.Errf("%s: invalid value %q, must be a number >= 0", o.name, o.args[0])
		return err
	}
	p.cfg.APIQPS = float32(q)
	return err
}

// apiserverBurst reads `apiserver_burst`.
func (p *stanzaParser) apiserverBurst(o option) (err error) {
	p.cfg.APIBurst, err = parseNonNegativeInt(p.c, o.name, o.args)
	return err
}

// apiserverMaxInflight reads `apiserver_max_inflight`.
func (p *stanzaParser) apiserverMaxInflight(o option) (err error) {
	p.cfg.APIMaxInflight, err = parseNonNegativeInt(p.c, o.name, o.args)
	return err
}

// zonal reads `zonal`.
func (p *stanzaParser) zonal(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 0, 0); err != nil {
		return err
	}
	// Zone-scoped names select endpoints, which noendpoints does not watch.
	if err = p.conflict(o.name, "noendpoints"); err == nil {
		p.cfg.Zonal = true
	}
	return err
}

// clientZoneFirst reads `client_zone_first`.
func (p *stanzaParser) clientZoneFirst(o option) (err error) {
	if err = argCount(p.c, o.name, o.args, 0, 0); err != nil {
		return err
	}
	// It needs the API's Pods and Nodes and every record of the
	// answer, in an order of its own.
	if err = p.conflict(o.name, "noendpoints", "max_answers", "objects_file"); err == nil {
		p.cfg.ClientZoneFirst = true
	}
	return err
}

// multicluster reads `multicluster`.
func (p *stanzaParser) multicluster(o option) (err error) {
	err = parseMulticluster(p.c, p.cfg, o.name, o.args)
	if err == nil {
		// Both hold only what the Services and EndpointSlices give.
		err = p.conflict(o.name, "objects_file", "snapshot")
	}
	return err
}

// primaryZone returns the zone PTR records point into: the first forward
// zone that is not a multicluster zone, whose names come from ServiceImports
// rather than the Services that own addresses, else the first forward zone.
func primaryZone(cfg *config) string {
	for _, z := range cfg.zones {
		if !dnsname.IsReverseZone(z) && !slices.Contains(cfg.MulticlusterZones, z) {
			return z
		}
	}
	return cfg.PrimaryZone
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
		case !slices.Contains(cfg.MulticlusterZones, z):
			cfg.MulticlusterZones = append(cfg.MulticlusterZones, z)
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
	cfg.ObjectsFile = args[0]
	if len(args) == 2 {
		d, err := parsePositiveDuration(c, opt, "poll interval", args[1])
		if err != nil {
			return err
		}
		cfg.ObjectsFilePoll = d
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
