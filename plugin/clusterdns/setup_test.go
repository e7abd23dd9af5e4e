package clusterdns

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"

	"k8s.io/apimachinery/pkg/labels"
)

// setupParseInput runs parse on a Corefile fragment, as setup would.
func setupParseInput(t *testing.T, input string) (*config, error) {
	t.Helper()
	return parse(caddy.NewTestController("dns", input))
}

// TestSetupParseDefaults pins the defaults, which must match the kubernetes plugin's.
func TestSetupParseDefaults(t *testing.T) {
	cfg, err := setupParseInput(t, `clusterdns cluster.local`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.zones, []string{"cluster.local."}) || cfg.PrimaryZone != "cluster.local." {
		t.Errorf("zones %v primary %q, want [cluster.local.] cluster.local.", cfg.zones, cfg.PrimaryZone)
	}
	if cfg.ttl != 5 || cfg.startupTimeout != 5*time.Second || cfg.PodMode != podsDisabled ||
		cfg.ObjectsFilePoll != time.Second {
		t.Errorf("ttl %d startup_timeout %v pods %q poll %v; want 5 5s disabled 1s",
			cfg.ttl, cfg.startupTimeout, cfg.PodMode, cfg.ObjectsFilePoll)
	}
	if cfg.Endpoint != "" || cfg.Kubeconfig != "" || cfg.ObjectsFile != "" || cfg.TLSCert != "" ||
		cfg.LabelSelector != nil || cfg.NamespaceSelector != nil || cfg.Namespaces != nil ||
		cfg.EndpointPodNames || cfg.NoEndpoints || cfg.IgnoreEmptyServices || cfg.FallbackTerminating || cfg.Zonal || cfg.ClientZoneFirst || len(cfg.fall.Zones) != 0 ||
		cfg.APIQPS != 0 || cfg.APIBurst != 0 || cfg.APIMaxInflight != 0 || cfg.readyStaleLimit != 0 || cfg.Resync != 0 || cfg.SnapshotPath != "" {
		t.Errorf("unexpected non-default config: %+v", cfg)
	}
}

// TestSetupParseOptions checks each option's accepted forms land in the config.
func TestSetupParseOptions(t *testing.T) {
	tests := []struct {
		name  string
		input string
		check func(*config) error
	}{
		{"endpoint", "clusterdns cluster.local {\n endpoint https://10.0.0.1:6443\n}", func(c *config) error {
			return setupWant(c.Endpoint, "https://10.0.0.1:6443")
		}},
		{"endpoint first of many", "clusterdns cluster.local {\n endpoint http://a:8080 http://b:8080\n}", func(c *config) error {
			return setupWant(c.Endpoint, "http://a:8080")
		}},
		{"tls", "clusterdns cluster.local {\n tls cert.pem key.pem ca.pem\n}", func(c *config) error {
			return setupWant(c.TLSCert+","+c.TLSKey+","+c.TLSCA, "cert.pem,key.pem,ca.pem")
		}},
		{"kubeconfig", "clusterdns cluster.local {\n kubeconfig /etc/kube.conf\n}", func(c *config) error {
			return setupWant(c.Kubeconfig+"|"+c.KubeContext, "/etc/kube.conf|")
		}},
		{"kubeconfig context", "clusterdns cluster.local {\n kubeconfig kube.conf prod\n}", func(c *config) error {
			return setupWant(c.Kubeconfig+"|"+c.KubeContext, "kube.conf|prod")
		}},
		{"namespaces", "clusterdns cluster.local {\n namespaces a b\n namespaces c\n}", func(c *config) error {
			if len(c.Namespaces) != 3 || !c.NamespaceAllowed("a") || !c.NamespaceAllowed("c") || c.NamespaceAllowed("d") {
				return fmt.Errorf("namespaces %v, want a b c", c.Namespaces)
			}
			return nil
		}},
		{"labels", "clusterdns cluster.local {\n labels app=dns, tier in (a, b)\n}", func(c *config) error {
			return setupWantSelector(c.LabelSelector, labels.Set{"app": "dns", "tier": "b"}, labels.Set{"app": "dns"})
		}},
		{"namespace_labels", "clusterdns cluster.local {\n namespace_labels team notin (x)\n}", func(c *config) error {
			return setupWantSelector(c.NamespaceSelector, labels.Set{"team": "y"}, labels.Set{"team": "x"})
		}},
		{"pods insecure", "clusterdns cluster.local {\n pods insecure\n}", func(c *config) error {
			return setupWant(c.PodMode, podsInsecure)
		}},
		{"pods verified", "clusterdns cluster.local {\n pods verified\n}", func(c *config) error {
			return setupWant(c.PodMode, podsVerified)
		}},
		{"pods disabled", "clusterdns cluster.local {\n pods disabled\n}", func(c *config) error {
			return setupWant(c.PodMode, podsDisabled)
		}},
		{"endpoint_pod_names", "clusterdns cluster.local {\n endpoint_pod_names\n}", func(c *config) error {
			return setupWant(c.EndpointPodNames, true)
		}},
		{"ttl 0", "clusterdns cluster.local {\n ttl 0\n}", func(c *config) error { return setupWant(c.ttl, uint32(0)) }},
		{"ttl 3600", "clusterdns cluster.local {\n ttl 3600\n}", func(c *config) error { return setupWant(c.ttl, uint32(3600)) }},
		{"noendpoints", "clusterdns cluster.local {\n noendpoints\n}", func(c *config) error {
			return setupWant(c.NoEndpoints, true)
		}},
		{"fallback_terminating", "clusterdns cluster.local {\n fallback_terminating\n}", func(c *config) error {
			return setupWant(c.FallbackTerminating, true)
		}},
		{"zonal", "clusterdns cluster.local {\n zonal\n}", func(c *config) error {
			return setupWant(c.Zonal, true)
		}},
		{"client_zone_first", "clusterdns cluster.local {\n client_zone_first\n}", func(c *config) error {
			return setupWant(c.ClientZoneFirst, true)
		}},
		{"fallthrough all", "clusterdns cluster.local {\n fallthrough\n}", func(c *config) error {
			return setupWant(strings.Join(c.fall.Zones, ","), ".")
		}},
		{"fallthrough zones", "clusterdns cluster.local {\n fallthrough in-addr.arpa ip6.arpa\n}", func(c *config) error {
			if !c.fall.Through("10.in-addr.arpa.") || c.fall.Through("cluster.local.") {
				return fmt.Errorf("fallthrough zones %v", c.fall.Zones)
			}
			return nil
		}},
		{"ignore", "clusterdns cluster.local {\n ignore empty_service\n}", func(c *config) error {
			return setupWant(c.IgnoreEmptyServices, true)
		}},
		{"max_answers", "clusterdns cluster.local {\n max_answers 20\n}", func(c *config) error {
			return setupWant(c.MaxAnswers, 20)
		}},
		{"max_answers unset", "clusterdns cluster.local {\n}", func(c *config) error {
			return setupWant(c.MaxAnswers, 0)
		}},
		{"startup_timeout", "clusterdns cluster.local {\n startup_timeout 1m30s\n}", func(c *config) error {
			return setupWant(c.startupTimeout, 90*time.Second)
		}},
		{"startup_timeout 0", "clusterdns cluster.local {\n startup_timeout 0s\n}", func(c *config) error {
			return setupWant(c.startupTimeout, time.Duration(0))
		}},
		{"ready_stale_limit", "clusterdns cluster.local {\n ready_stale_limit 2m\n}", func(c *config) error {
			return setupWant(c.readyStaleLimit, 2*time.Minute)
		}},
		{"resync", "clusterdns cluster.local {\n resync 30m\n}", func(c *config) error {
			return setupWant(c.Resync, 30*time.Minute)
		}},
		{"snapshot", "clusterdns cluster.local {\n snapshot /var/lib/coredns/snapshot\n}", func(c *config) error {
			return setupWant(c.SnapshotPath+"|"+c.SnapshotInterval.String(), "/var/lib/coredns/snapshot|10s")
		}},
		{"snapshot interval", "clusterdns cluster.local {\n snapshot snap 1m\n}", func(c *config) error {
			return setupWant(c.SnapshotPath+"|"+c.SnapshotInterval.String(), "snap|1m0s")
		}},
		{"apiserver_qps", "clusterdns cluster.local {\n apiserver_qps 2.5\n}", func(c *config) error {
			return setupWant(c.APIQPS, float32(2.5))
		}},
		{"apiserver_burst", "clusterdns cluster.local {\n apiserver_burst 20\n}", func(c *config) error {
			return setupWant(c.APIBurst, 20)
		}},
		{"apiserver_max_inflight", "clusterdns cluster.local {\n apiserver_max_inflight 0\n}", func(c *config) error {
			return setupWant(c.APIMaxInflight, 0)
		}},
		{"objects_file", "clusterdns cluster.local {\n objects_file testdata/objects.yaml\n}", func(c *config) error {
			return setupWant(c.ObjectsFile+"|"+c.ObjectsFilePoll.String(), "testdata/objects.yaml|1s")
		}},
		{"objects_file poll", "clusterdns cluster.local {\n objects_file /x/objects.yaml 250ms\n}", func(c *config) error {
			return setupWant(c.ObjectsFile+"|"+c.ObjectsFilePoll.String(), "/x/objects.yaml|250ms")
		}},
		{"objects_file with other options", "clusterdns cluster.local {\n objects_file o.yaml\n namespaces a\n pods verified\n ttl 30\n}", func(c *config) error {
			return setupWant(fmt.Sprint(c.ObjectsFile, c.PodMode, c.ttl), "o.yamlverified30")
		}},
		{"empty block", "clusterdns cluster.local {\n}", func(c *config) error { return setupWant(c.ttl, uint32(defaultTTL)) }},
		{"zones lower-cased", `clusterdns Cluster.LOCAL`, func(c *config) error {
			return setupWant(c.PrimaryZone, "cluster.local.")
		}},
		{"reverse zones first", `clusterdns 10.in-addr.arpa 10.0.0.0/24 cluster.local example.org`, func(c *config) error {
			if !slices.Equal(c.zones, []string{"10.in-addr.arpa.", "0.0.10.in-addr.arpa.", "cluster.local.", "example.org."}) {
				return fmt.Errorf("zones %v", c.zones)
			}
			return setupWant(c.PrimaryZone, "cluster.local.")
		}},
		{"multicluster", "clusterdns cluster.local ClusterSet.Local {\n multicluster clusterset.local CLUSTERSET.local\n}", func(c *config) error {
			if !slices.Equal(c.MulticlusterZones, []string{"clusterset.local."}) || !c.Multicluster() {
				return fmt.Errorf("multicluster zones %v", c.MulticlusterZones)
			}
			if o := answerOptions(c); !o.IsMulticluster("clusterset.local.") || o.IsMulticluster("cluster.local.") {
				return fmt.Errorf("IsMulticluster wrong for %v", c.MulticlusterZones)
			}
			return setupWant(c.PrimaryZone, "cluster.local.")
		}},
		{"multicluster zone listed first is not the PTR zone", "clusterdns clusterset.local cluster.local {\n multicluster clusterset.local\n}", func(c *config) error {
			return setupWant(c.PrimaryZone, "cluster.local.")
		}},
		{"only a multicluster zone", "clusterdns clusterset.local {\n multicluster clusterset.local\n}", func(c *config) error {
			return setupWant(c.PrimaryZone, "clusterset.local.")
		}},
		{"cidr on non-octet boundary", `clusterdns cluster.local 10.0.0.0/23`, func(c *config) error {
			if !slices.Equal(c.zones, []string{"cluster.local.", "0.0.10.in-addr.arpa.", "1.0.10.in-addr.arpa."}) {
				return fmt.Errorf("zones %v", c.zones)
			}
			return nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := setupParseInput(t, tc.input)
			if err != nil {
				t.Fatalf("parse(%q): %v", tc.input, err)
			}
			if err := tc.check(cfg); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestSetupParseErrors checks every rejected input names its option and, for
// errors raised while reading the block, the Corefile line.
func TestSetupParseErrors(t *testing.T) {
	tests := []struct {
		input string
		want  string // must appear in the error
		line  int    // Corefile line the error must cite
	}{
		{"clusterdns cluster.local {\n endpoint\n}", "endpoint: expected at least one argument", 2},
		{"clusterdns cluster.local {\n tls a b\n}", "tls: expected exactly 3 arguments, got 2", 2},
		{"clusterdns cluster.local {\n tls a b c d\n}", "tls: expected exactly 3 arguments", 2},
		{"clusterdns cluster.local {\n kubeconfig\n}", "kubeconfig: expected 1 or 2 arguments", 2},
		{"clusterdns cluster.local {\n kubeconfig a b c\n}", "kubeconfig: expected 1 or 2 arguments", 2},
		{"clusterdns cluster.local {\n namespaces\n}", "namespaces: expected at least one argument", 2},
		{"clusterdns cluster.local {\n labels\n}", "labels: expected at least one argument", 2},
		{"clusterdns cluster.local {\n labels a=b=c\n}", "labels: invalid selector", 2},
		{"clusterdns cluster.local {\n labels app in (a\n}", "labels: invalid selector", 2},
		{"clusterdns cluster.local {\n namespace_labels\n}", "namespace_labels: expected at least one argument", 2},
		{"clusterdns cluster.local {\n namespace_labels !!x\n}", "namespace_labels: invalid selector", 2},
		{"clusterdns cluster.local {\n pods\n}", "pods: expected exactly one argument", 2},
		{"clusterdns cluster.local {\n pods insecure verified\n}", "pods: expected exactly one argument", 2},
		{"clusterdns cluster.local {\n pods secure\n}", `pods: invalid mode "secure"`, 2},
		{"clusterdns cluster.local {\n endpoint_pod_names yes\n}", "endpoint_pod_names: expected no arguments, got 1", 2},
		{"clusterdns cluster.local {\n ttl\n}", "ttl: expected exactly one argument, got 0", 2},
		{"clusterdns cluster.local {\n ttl 5 6\n}", "ttl: expected exactly one argument, got 2", 2},
		{"clusterdns cluster.local {\n ttl -1\n}", `ttl: invalid value "-1"`, 2},
		{"clusterdns cluster.local {\n ttl 3601\n}", `ttl: invalid value "3601"`, 2},
		{"clusterdns cluster.local {\n ttl abc\n}", `ttl: invalid value "abc"`, 2},
		{"clusterdns cluster.local {\n noendpoints x\n}", "noendpoints: expected no arguments", 2},
		{"clusterdns cluster.local {\n fallback_terminating yes\n}", "fallback_terminating: expected no arguments, got 1", 2},
		{"clusterdns cluster.local {\n noendpoints\n fallback_terminating\n}", "fallback_terminating: cannot be combined with noendpoints", 3},
		{"clusterdns cluster.local {\n fallback_terminating\n noendpoints\n}", "noendpoints: cannot be combined with fallback_terminating", 3},
		{"clusterdns cluster.local {\n ignore\n}", "ignore: expected exactly one argument", 2},
		{"clusterdns cluster.local {\n ignore empty_service x\n}", "ignore: expected exactly one argument", 2},
		{"clusterdns cluster.local {\n ignore empty_services\n}", `ignore: invalid value "empty_services"`, 2},
		{"clusterdns cluster.local {\n startup_timeout\n}", "startup_timeout: expected exactly one argument", 2},
		{"clusterdns cluster.local {\n startup_timeout 5\n}", `startup_timeout: invalid duration "5"`, 2},
		{"clusterdns cluster.local {\n startup_timeout -1s\n}", `startup_timeout: invalid duration "-1s"`, 2},
		{"clusterdns cluster.local {\n ready_stale_limit\n}", "ready_stale_limit: expected exactly one argument, got 0", 2},
		{"clusterdns cluster.local {\n ready_stale_limit 1m 2m\n}", "ready_stale_limit: expected exactly one argument, got 2", 2},
		{"clusterdns cluster.local {\n ready_stale_limit 0s\n}", `ready_stale_limit: invalid duration "0s"`, 2},
		{"clusterdns cluster.local {\n ready_stale_limit -1m\n}", `ready_stale_limit: invalid duration "-1m"`, 2},
		{"clusterdns cluster.local {\n ready_stale_limit 60\n}", `ready_stale_limit: invalid duration "60"`, 2},
		{"clusterdns cluster.local {\n objects_file o.yaml\n ready_stale_limit 1m\n}", "ready_stale_limit: cannot be combined with objects_file", 3},
		{"clusterdns cluster.local {\n ready_stale_limit 1m\n objects_file o.yaml\n}", "objects_file: cannot be combined with ready_stale_limit", 3},
		{"clusterdns cluster.local {\n resync\n}", "resync: expected exactly one argument, got 0", 2},
		{"clusterdns cluster.local {\n resync 1h 2h\n}", "resync: expected exactly one argument, got 2", 2},
		{"clusterdns cluster.local {\n resync 0s\n}", `resync: invalid duration "0s"`, 2},
		{"clusterdns cluster.local {\n resync -5m\n}", `resync: invalid duration "-5m"`, 2},
		{"clusterdns cluster.local {\n resync hourly\n}", `resync: invalid duration "hourly"`, 2},
		{"clusterdns cluster.local {\n objects_file o.yaml\n resync 1h\n}", "resync: cannot be combined with objects_file", 3},
		{"clusterdns cluster.local {\n resync 1h\n objects_file o.yaml\n}", "objects_file: cannot be combined with resync", 3},
		{"clusterdns cluster.local {\n snapshot\n}", "snapshot: expected 1 or 2 arguments, got 0", 2},
		{"clusterdns cluster.local {\n snapshot a 1s 2s\n}", "snapshot: expected 1 or 2 arguments, got 3", 2},
		{"clusterdns cluster.local {\n snapshot \"\"\n}", "snapshot: path must not be empty", 2},
		{"clusterdns cluster.local {\n snapshot s 0s\n}", `snapshot: invalid interval "0s"`, 2},
		{"clusterdns cluster.local {\n snapshot s -1s\n}", `snapshot: invalid interval "-1s"`, 2},
		{"clusterdns cluster.local {\n snapshot s often\n}", `snapshot: invalid interval "often"`, 2},
		{"clusterdns cluster.local {\n objects_file o.yaml\n snapshot s\n}", "snapshot: cannot be combined with objects_file", 3},
		{"clusterdns cluster.local {\n snapshot s\n objects_file o.yaml\n}", "objects_file: cannot be combined with snapshot", 3},
		{"clusterdns cluster.local {\n apiserver_qps\n}", "apiserver_qps: expected exactly one argument", 2},
		{"clusterdns cluster.local {\n apiserver_qps -1\n}", `apiserver_qps: invalid value "-1"`, 2},
		{"clusterdns cluster.local {\n apiserver_qps fast\n}", `apiserver_qps: invalid value "fast"`, 2},
		{"clusterdns cluster.local {\n apiserver_qps NaN\n}", `apiserver_qps: invalid value "NaN"`, 2},
		{"clusterdns cluster.local {\n apiserver_burst 1 2\n}", "apiserver_burst: expected exactly one argument", 2},
		{"clusterdns cluster.local {\n apiserver_burst -3\n}", `apiserver_burst: invalid value "-3"`, 2},
		{"clusterdns cluster.local {\n apiserver_burst 1.5\n}", `apiserver_burst: invalid value "1.5"`, 2},
		{"clusterdns cluster.local {\n apiserver_max_inflight\n}", "apiserver_max_inflight: expected exactly one argument", 2},
		{"clusterdns cluster.local {\n apiserver_max_inflight -1\n}", `apiserver_max_inflight: invalid value "-1"`, 2},
		{"clusterdns cluster.local {\n apiserver_max_inflight x\n}", `apiserver_max_inflight: invalid value "x"`, 2},
		{"clusterdns cluster.local {\n max_answers\n}", "max_answers: expected exactly one argument, got 0", 2},
		{"clusterdns cluster.local {\n max_answers 1 2\n}", "max_answers: expected exactly one argument, got 2", 2},
		{"clusterdns cluster.local {\n max_answers 0\n}", `max_answers: invalid value "0", must be an integer in [1, 4095]`, 2},
		{"clusterdns cluster.local {\n max_answers -5\n}", `max_answers: invalid value "-5"`, 2},
		{"clusterdns cluster.local {\n max_answers 4096\n}", `max_answers: invalid value "4096"`, 2},
		{"clusterdns cluster.local {\n max_answers ten\n}", `max_answers: invalid value "ten"`, 2},
		{"clusterdns cluster.local {\n max_answers 2.5\n}", `max_answers: invalid value "2.5"`, 2},
		{"clusterdns cluster.local {\n multicluster\n}", "multicluster: expected at least one argument, got 0", 2},
		{"clusterdns cluster.local {\n multicluster clusterset.local\n}", "multicluster: zone clusterset.local. is not one of the plugin's zones [cluster.local.]", 2},
		{"clusterdns cluster.local clusterset.local 10.0.0.0/8 {\n ttl 3\n multicluster clusterset.local 10.in-addr.arpa\n}", "multicluster: zone 10.in-addr.arpa. is a reverse zone", 3},
		{"clusterdns cluster.local clusterset.local {\n objects_file o.yaml\n multicluster clusterset.local\n}", "multicluster: cannot be combined with objects_file", 3},
		{"clusterdns cluster.local clusterset.local {\n multicluster clusterset.local\n objects_file o.yaml\n}", "objects_file: cannot be combined with multicluster", 3},
		{"clusterdns cluster.local clusterset.local {\n snapshot s\n multicluster clusterset.local\n}", "multicluster: cannot be combined with snapshot", 3},
		{"clusterdns cluster.local clusterset.local {\n multicluster clusterset.local\n snapshot s\n}", "snapshot: cannot be combined with multicluster", 3},
		{"clusterdns cluster.local {\n zonal yes\n}", "zonal: expected no arguments, got 1", 2},
		{"clusterdns cluster.local {\n client_zone_first yes\n}", "client_zone_first: expected no arguments, got 1", 2},
		{"clusterdns cluster.local {\n max_answers 20\n client_zone_first\n}", "client_zone_first: cannot be combined with max_answers", 3},
		{"clusterdns cluster.local {\n objects_file o.yaml\n client_zone_first\n}", "client_zone_first: cannot be combined with objects_file", 3},
		{"clusterdns cluster.local {\n client_zone_first\n noendpoints\n}", "noendpoints: cannot be combined with client_zone_first", 3},
		{"clusterdns cluster.local {\n client_zone_first\n max_answers 20\n}", "max_answers: cannot be combined with client_zone_first", 3},
		{"clusterdns cluster.local {\n client_zone_first\n objects_file o.yaml\n}", "objects_file: cannot be combined with client_zone_first", 3},
		{"clusterdns cluster.local {\n noendpoints\n zonal\n}", "zonal: cannot be combined with noendpoints", 3},
		{"clusterdns cluster.local {\n zonal\n noendpoints\n}", "noendpoints: cannot be combined with zonal", 3},
		{"clusterdns cluster.local {\n ttl 5\n bogus 1\n}", `unknown option "bogus"`, 3},
		{"clusterdns cluster.local {\n objects_file\n}", "objects_file: expected 1 or 2 arguments", 2},
		{"clusterdns cluster.local {\n objects_file a 1s 2s\n}", "objects_file: expected 1 or 2 arguments", 2},
		{"clusterdns cluster.local {\n objects_file \"\"\n}", "objects_file: path must not be empty", 2},
		{"clusterdns cluster.local {\n objects_file o.yaml 0s\n}", `objects_file: invalid poll interval "0s"`, 2},
		{"clusterdns cluster.local {\n objects_file o.yaml -1s\n}", `objects_file: invalid poll interval "-1s"`, 2},
		{"clusterdns cluster.local {\n objects_file o.yaml soon\n}", `objects_file: invalid poll interval "soon"`, 2},
		{"clusterdns cluster.local {\n objects_file o.yaml\n endpoint http://a\n}", "endpoint: cannot be combined with objects_file", 3},
		{"clusterdns cluster.local {\n endpoint http://a\n ttl 3\n objects_file o.yaml\n}", "objects_file: cannot be combined with endpoint", 4},
		{"clusterdns cluster.local {\n tls a b c\n objects_file o.yaml\n}", "objects_file: cannot be combined with tls", 3},
		{"clusterdns cluster.local {\n objects_file o.yaml\n tls a b c\n}", "tls: cannot be combined with objects_file", 3},
		{"clusterdns cluster.local {\n kubeconfig k\n objects_file o.yaml\n}", "objects_file: cannot be combined with kubeconfig", 3},
		{"clusterdns cluster.local {\n objects_file o.yaml\n kubeconfig k\n}", "kubeconfig: cannot be combined with objects_file", 3},
		{"clusterdns cluster.local {\n namespaces a\n namespace_labels x=y\n}", "namespace_labels: cannot be combined with namespaces", 3},
		{"clusterdns cluster.local {\n namespace_labels x=y\n namespaces a\n}", "namespaces: cannot be combined with namespace_labels", 3},
		{"clusterdns 10.in-addr.arpa 2001:db8::/32", "non-reverse zone name must be used", 1},
		{"\nclusterdns 10.0.0.0/8 {\n ttl 3\n}", "clusterdns: non-reverse zone name must be used; zones are [10.in-addr.arpa.]", 2},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) { checkParseError(t, tc.input, tc.want, tc.line) })
	}
}

// checkParseError checks that parsing input fails with an error that
// contains want and cites Corefile line line.
func checkParseError(t *testing.T, input, want string, line int) {
	t.Helper()
	_, err := setupParseInput(t, input)
	if err == nil {
		t.Fatalf("parse(%q) succeeded, want error containing %q", input, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("parse(%q) error %q, want it to contain %q", input, err, want)
	}
	if cite := fmt.Sprintf("Testfile:%d - ", line); !strings.Contains(err.Error(), cite) {
		t.Errorf("parse(%q) error %q, want it to cite %q", input, err, cite)
	}
}

// TestSetupParseOnce checks a second stanza in one server block is refused.
func TestSetupParseOnce(t *testing.T) {
	_, err := setupParseInput(t, "clusterdns cluster.local\nclusterdns example.org")
	if !errors.Is(err, plugin.ErrOnce) {
		t.Errorf("error %v, want plugin.ErrOnce", err)
	}
}

// TestSetupParseServerBlockZones checks zones default to the server block keys,
// which CoreDNS hands over with their port and in the case typed.
func TestSetupParseServerBlockZones(t *testing.T) {
	c := caddy.NewTestController("dns", "clusterdns")
	c.ServerBlockKeys = []string{"10.in-addr.arpa.:53", "Cluster.Local.:53"}
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.zones, []string{"10.in-addr.arpa.", "cluster.local."}) || cfg.PrimaryZone != "cluster.local." {
		t.Errorf("zones %v primary %q", cfg.zones, cfg.PrimaryZone)
	}

	// Arguments win over the server block keys.
	c = caddy.NewTestController("dns", "clusterdns example.org")
	c.ServerBlockKeys = []string{"cluster.local.:53"}
	if cfg, err = parse(c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.zones, []string{"example.org."}) {
		t.Errorf("zones %v, want [example.org.]", cfg.zones)
	}
}

// TestSetupListenAddrs checks which addresses the plugin treats as its own.
func TestSetupListenAddrs(t *testing.T) {
	ifaces := func() ([]net.Addr, error) {
		var out []net.Addr
		for _, s := range []string{"127.0.0.1/8", "10.1.2.3/24", "::1/128", "fe80::1/64", "169.254.0.5/16", "2001:db8::7/64"} {
			ip, n, _ := net.ParseCIDR(s)
			out = append(out, &net.IPNet{IP: ip, Mask: n.Mask})
		}
		return out, nil
	}
	fromIfaces := []string{"10.1.2.3", "2001:db8::7"}
	tests := []struct {
		hosts []string
		want  []string
	}{
		{nil, fromIfaces},
		{[]string{""}, fromIfaces},
		{[]string{"0.0.0.0"}, fromIfaces},
		{[]string{"::"}, fromIfaces},
		{[]string{"10.9.9.9", ""}, fromIfaces},
		{[]string{"not-an-ip"}, fromIfaces},
		{[]string{"10.9.9.9", "127.0.0.1"}, []string{"10.9.9.9", "127.0.0.1"}},
		{[]string{"10.9.9.9/24", "::ffff:10.0.0.1"}, []string{"10.9.9.9", "10.0.0.1"}},
	}
	for _, tc := range tests {
		var got []string
		for _, a := range listenAddrs(tc.hosts, ifaces) {
			got = append(got, a.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("listenAddrs(%q) = %v, want %v", tc.hosts, got, tc.want)
		}
	}

	failing := func() ([]net.Addr, error) { return nil, errors.New("no interfaces") }
	if got := listenAddrs(nil, failing); len(got) != 0 {
		t.Errorf("listenAddrs with failing interfaces = %v, want none", got)
	}
}

// TestSetupKlogAdapter checks client-go log lines keep their context.
func TestSetupKlogAdapter(t *testing.T) {
	a := &klogAdapter{}
	if !a.Enabled(0) || a.Enabled(1) {
		t.Error("only level 0 should be enabled")
	}
	sink := a.WithName("reflector").WithValues("resource", "services")
	got := sink.(*klogAdapter).format("watch failed", errors.New("EOF"), []any{"attempt", 3, "dangling"})
	want := `reflector: watch failed: EOF attempt=3 dangling="(MISSING)" resource="services"`
	if got != want {
		t.Errorf("format = %s, want %s", got, want)
	}
	if len(a.values) != 0 || a.name != "" {
		t.Error("WithName/WithValues modified the receiver")
	}
}

// setupWant reports a mismatch between got and wanted values.
func setupWant[T comparable](got, wanted T) error {
	if got != wanted {
		return fmt.Errorf("got %v, want %v", got, wanted)
	}
	return nil
}

// setupWantSelector checks sel matches match and not miss.
func setupWantSelector(sel labels.Selector, match, miss labels.Set) error {
	if sel == nil {
		return errors.New("selector not set")
	}
	if !sel.Matches(match) || sel.Matches(miss) {
		return fmt.Errorf("selector %q: want match %v and not %v", sel, match, miss)
	}
	return nil
}
