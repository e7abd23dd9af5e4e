package source

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// snapshotFixture is a small cluster with every kind of object a snapshot
// holds: ClusterIP (dual-stack), headless, ExternalName and port-less
// services, slices of both families with named and unnamed endpoints, a
// namespace without a Namespace object, and pods.
func snapshotFixture() []runtime.Object {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "db-0"}}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = "10.244.1.1"
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.1"}, {IP: "fd00::1:1"}}
	return []runtime.Object{
		fixture.Namespace("prod"), fixture.Namespace("empty"),
		fixture.Service("prod", "web", []string{"10.96.0.20", "fd00::20"}, fixture.Port("http", corev1.ProtocolTCP, 80), fixture.Port("", corev1.ProtocolUDP, 53)),
		fixture.Service("prod", "db", []string{"None"}, fixture.Port("pg", corev1.ProtocolTCP, 5432)),
		fixture.ExternalName("prod", "ext", "example.com"),
		fixture.Service("other", "bare", []string{"10.96.0.30"}),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{fixture.SlicePort("pg", corev1.ProtocolTCP, 5432)},
			fixture.Endpoint{IP: "10.244.1.1", Hostname: "db-0", Zone: "eu-1a"}, fixture.Endpoint{IP: "10.244.1.2"},
			fixture.Endpoint{IP: "10.244.1.3", Ready: fixture.Bool(false), Serving: fixture.Bool(true), Terminating: fixture.Bool(true)}),
		fixture.Service("prod", "Not_A_Label", []string{"10.96.0.40"}),
		fixture.Slice("prod", "db", "db-b", discoveryv1.AddressTypeIPv6, nil, fixture.Endpoint{IP: "fd00::1:1", Hostname: "db-0"}),
		fixture.Slice("prod", "web", "web-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.2.1", Pod: "web-x"}),
		pod,
	}
}

// snapshotConfig is testConfig with `pods verified`, `fallback_terminating`
// and `zonal`, so pods, terminating endpoints and zones are stored.
func snapshotConfig() *Config {
	cfg := testConfig()
	cfg.PodMode = index.PodsVerified
	cfg.FallbackTerminating = true
	cfg.Zonal = true
	return cfg
}

func TestSnapshotRoundTrip(t *testing.T) {
	cfg := snapshotConfig()
	orig := loaded(t, cfg, snapshotFixture()...).ctl.st
	written := time.Unix(1_700_000_000, 123)
	data := encodeSnapshot(snapshotOf(orig, written), snapshotOptions(cfg))
	if !bytes.Equal(data, encodeSnapshot(snapshotOf(orig, written), snapshotOptions(cfg))) {
		t.Error("the same content encodes to different bytes")
	}
	s, err := decodeSnapshot(data, snapshotOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if !s.written.Equal(written) || s.services() != 5 {
		t.Errorf("written %s, %d services; want %s and 5", s.written, s.services(), written)
	}
	if db := s.namespaces["prod"].slices[0]; db.Name != "db-a" || len(db.Terminating) != 1 || !slices.Contains(db.Zones, "eu-1a") {
		t.Errorf("slice %s keeps %d terminating endpoints and zones %v, want db-a with 1 and eu-1a", db.Name, len(db.Terminating), db.Zones)
	}
	if !slices.ContainsFunc(s.namespaces["prod"].services, func(v *object.Service) bool { return v.Invalid }) {
		t.Error("the invalid service lost its mark")
	}
	got := NewStores(cfg)
	if err := s.fill(got); err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]cache.Indexer{
		"services": {orig.Services, got.Services}, "slices": {orig.Slices, got.Slices},
		"namespaces": {orig.Namespaces, got.Namespaces}, "pods": {orig.Pods, got.Pods},
	} {
		want, have := pair[0].ListKeys(), pair[1].ListKeys()
		slices.Sort(want)
		slices.Sort(have)
		if !slices.Equal(want, have) {
			t.Errorf("%s: keys %v, want %v", name, have, want)
			continue
		}
		for _, k := range want {
			a, _, _ := pair[0].GetByKey(k)
			b, _, _ := pair[1].GetByKey(k)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s %s: decoded %+v, want %+v", name, k, b, a)
			}
		}
	}
}

// TestSnapshotDamaged checks that a file cut anywhere, with any bit
// flipped, of another version, or written under other options, is refused
// as a whole.
func TestSnapshotDamaged(t *testing.T) {
	cfg := snapshotConfig()
	st := loaded(t, cfg, snapshotFixture()...).ctl.st
	data := encodeSnapshot(snapshotOf(st, time.Now()), snapshotOptions(cfg))
	opts := snapshotOptions(cfg)

	for n := range len(data) {
		if _, err := decodeSnapshot(data[:n], opts); err == nil {
			t.Fatalf("truncated to %d of %d bytes: accepted", n, len(data))
		}
	}
	for i := range data {
		for bit := range 8 {
			bad := slices.Clone(data)
			bad[i] ^= 1 << bit
			if _, err := decodeSnapshot(bad, opts); err == nil {
				t.Fatalf("bit %d of byte %d flipped: accepted", bit, i)
			}
		}
	}
	if _, err := decodeSnapshot(append(slices.Clone(data), 0), opts); err == nil {
		t.Error("a byte appended: accepted")
	}

	next := slices.Clone(data)
	binary.BigEndian.PutUint16(next[len(snapshotMagic):], snapshotVersion+1)
	if _, err := decodeSnapshot(withCRC(next[:len(next)-4]), opts); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("another format version: %v, want an error naming it", err)
	}
	other := cfg
	other.EndpointPodNames = true
	if _, err := decodeSnapshot(data, snapshotOptions(other)); err == nil || !strings.Contains(err.Error(), "other options") {
		t.Errorf("other options: %v, want it refused", err)
	}
}

// TestSnapshotMalformed checks content that passes the checksum but does
// not follow the layout is refused, without a panic or a huge allocation.
func TestSnapshotMalformed(t *testing.T) {
	opts := "o"
	head := func() []byte {
		b := append([]byte(snapshotMagic), 0, snapshotVersion)
		b = putString(b, opts)
		return binary.AppendUvarint(b, 1)
	}
	for name, body := range map[string][]byte{
		"no namespace count":       head(),
		"huge namespace count":     binary.AppendUvarint(head(), 1<<62),
		"string past the end":      append(binary.AppendUvarint(head(), 1), 200, 'x'),
		"bool that is 2":           append(putString(binary.AppendUvarint(head(), 1), "ns"), 2),
		"namespace twice":          append(putString(append(putString(binary.AppendUvarint(head(), 2), "ns"), 1, 0, 0, 0), "ns"), 1, 0, 0, 0),
		"address of 5 bytes":       append(putString(putString(append(putString(binary.AppendUvarint(head(), 1), "ns"), 1, 1), "svc"), ""), 0, 1, 5, 1, 2, 3, 4, 5, 0, 0, 0),
		"port 0":                   append(putString(putString(append(putString(binary.AppendUvarint(head(), 1), "ns"), 1, 1), "svc"), ""), 0, 0, 1, 0, 0, 0, 0, 0),
		"trailing bytes":           append(binary.AppendUvarint(head(), 0), 7),
		"varint that never ends":   append(head(), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		"endpoint count past data": append(putString(putString(putString(append(putString(binary.AppendUvarint(head(), 1), "ns"), 1, 0, 1), "s"), "svc"), ""), 0, 100),
	} {
		if _, err := decodeSnapshot(withCRC(body), opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if s, err := decodeSnapshot(withCRC(binary.AppendUvarint(head(), 0)), opts); err != nil || len(s.namespaces) != 0 {
		t.Errorf("an empty cluster: %v, %v; want it accepted", s, err)
	}
}

// withCRC appends the checksum to a snapshot body.
func withCRC(body []byte) []byte {
	return binary.BigEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, snapshotCRC))
}

// FuzzSnapshotDecode feeds the decoder bodies with a valid checksum: it
// must refuse or accept them whole, never panic, and what it accepts must
// fill stores.
func FuzzSnapshotDecode(f *testing.F) {
	cfg := snapshotConfig()
	st := loaded(f, cfg, snapshotFixture()...).ctl.st
	data := encodeSnapshot(snapshotOf(st, time.Now()), snapshotOptions(cfg))
	f.Add(data[:len(data)-4])
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := decodeSnapshot(withCRC(body), snapshotOptions(cfg))
		if err != nil {
			return
		}
		if err := s.fill(NewStores(cfg)); err != nil {
			t.Fatalf("accepted content does not fill stores: %v", err)
		}
	})
}

// TestSnapshotWarmStart writes a snapshot from one server, then starts a
// second while the API server is out of reach: it answers the first's
// names, stale, until the API returns; then the live state replaces the
// snapshot entirely, and the file follows it.
func TestSnapshotWarmStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snapshot")
	cfg := testConfig()
	cfg.SnapshotPath, cfg.SnapshotInterval = path, time.Millisecond
	then := []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Service("prod", "web", []string{"10.96.0.20"}),
		fixture.Service("prod", "gone", []string{"10.96.0.21"}),
		fixture.Service("prod", "db", []string{"None"}),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.1"}),
	}
	first := startClientset(t, cfg, fake.NewClientset(then...))
	fixture.Eventually(t, "the snapshot written", func() bool { return snapshotServices(path, cfg) == 3 })
	first.stop()

	now := []runtime.Object{
		fixture.Namespace("prod"),
		fixture.Service("prod", "web", []string{"10.96.0.20"}),
		fixture.Service("prod", "new", []string{"10.96.0.22"}),
		fixture.Service("prod", "db", []string{"None"}),
		fixture.Slice("prod", "db", "db-a", discoveryv1.AddressTypeIPv4, nil, fixture.Endpoint{IP: "10.244.1.9"}),
	}
	cs := fake.NewClientset(now...)
	api := newFakeAPI(cs)
	api.cut()
	logs := fixture.CaptureLog(t)
	second := starting(t, cfg, NewAPISource(cfg, cs, nil))
	from, ok := second.ctl.ServeSnapshotFile()
	if !ok || !strings.Contains(from, path) {
		t.Fatalf("snapshot served: %t, from %q; want true, from %s", ok, from, path)
	}
	if second.ctl.synced.Load() || !second.ctl.Answering() {
		t.Fatal("synced without an API server, or not answering from the snapshot")
	}
	for name, want := range map[string][]string{"web.prod.svc": {"10.96.0.20"}, "gone.prod.svc": {"10.96.0.21"}, "db.prod.svc": {"10.244.1.1"}, "new.prod.svc": nil} {
		if got := addrsOf(second, name); !slices.Equal(got, want) {
			t.Errorf("from the snapshot, %s: %v, want %v", name, got, want)
		}
	}
	if gaugeValue(t, staleGauge) != 1 {
		t.Error("answers from a snapshot are not marked stale")
	}

	api.restore()
	waitLong(t, "the live state", func() bool { return second.ctl.synced.Load() })
	for name, want := range map[string][]string{"web.prod.svc": {"10.96.0.20"}, "gone.prod.svc": nil, "db.prod.svc": {"10.244.1.9"}, "new.prod.svc": {"10.96.0.22"}} {
		if got := addrsOf(second, name); !slices.Equal(got, want) {
			t.Errorf("after the sync, %s: %v, want %v", name, got, want)
		}
	}
	if gaugeValue(t, staleGauge) != 0 {
		t.Error("still stale after the sync")
	}
	fixture.Eventually(t, "the snapshot rewritten from the live state", func() bool {
		s := readSnapshot(path, cfg)
		if s == nil || s.namespaces["prod"] == nil {
			return false
		}
		named := func(n string) func(*object.Service) bool { return func(v *object.Service) bool { return v.Name == n } }
		svcs := s.namespaces["prod"].services
		return s.services() == 3 && slices.ContainsFunc(svcs, named("new")) && !slices.ContainsFunc(svcs, named("gone"))
	})
	second.stop()
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the snapshot directory holds %d files, want only the snapshot (no temporary files left)", len(entries))
	}
	for _, line := range []string{"the snapshot file's answers are replaced by the API's"} {
		if n := logs.Count(line); n != 1 {
			t.Errorf("%d log lines %q, want 1", n, line)
		}
	}
}

// TestSnapshotIgnored starts without an API server from a snapshot file
// that is damaged or missing: one log line says why, and the server
// answers SERVFAIL as without the option, never from part of the file.
func TestSnapshotIgnored(t *testing.T) {
	cfg := testConfig()
	st := loaded(t, cfg, snapshotFixture()[:4]...).ctl.st
	good := encodeSnapshot(snapshotOf(st, time.Now()), snapshotOptions(cfg))
	for name, tc := range map[string]struct {
		data []byte // nil: no file
		why  string
	}{
		"truncated": {good[:len(good)/2], "checksum mismatch"},
		"missing":   {nil, "no such file"},
		"garbage":   {[]byte("kind: List\nitems: []\n"), "not a clusterdns snapshot"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "snapshot")
			if tc.data != nil {
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			withPath := *cfg
			withPath.SnapshotPath = path
			cs := fake.NewClientset()
			newFakeAPI(cs).cut()
			logs := fixture.CaptureLog(t)
			c := starting(t, &withPath, NewAPISource(&withPath, cs, nil))
			if _, ok := c.ctl.ServeSnapshotFile(); ok || c.ctl.Answering() || c.Ready() {
				t.Error("answering from an unusable snapshot")
			}
			if n := logs.Count("snapshot " + path + " ignored: "); n != 1 || logs.Count(tc.why) != 1 {
				t.Errorf("%d lines saying the snapshot is ignored, %d saying %q; want 1 and 1", n, logs.Count(tc.why), tc.why)
			}
		})
	}
}

// readSnapshot decodes the snapshot file at path, or returns nil.
func readSnapshot(path string, cfg *Config) *snapshotContent {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s, _ := decodeSnapshot(data, snapshotOptions(cfg))
	return s
}

// snapshotServices counts the services in the snapshot file; -1 if none.
func snapshotServices(path string, cfg *Config) int {
	if s := readSnapshot(path, cfg); s != nil {
		return s.services()
	}
	return -1
}

// BenchmarkSnapshot measures the snapshot file of generated clusters: its
// size, the time to collect, encode and write it (with fsync), and the
// time to read, check, decode and publish it as a server starting from it
// does.
func BenchmarkSnapshot(b *testing.B) {
	for _, size := range []fixture.ClusterSize{{Services: 1_000, Endpoints: 10_000}, {Services: 10_000, Endpoints: 100_000}} {
		cfg := testConfig()
		st := loaded(b, cfg, fixture.Cluster(b, size)...).ctl.st
		path := filepath.Join(b.TempDir(), "snapshot")
		opts := snapshotOptions(cfg)
		b.Run("write/"+size.String(), func(b *testing.B) {
			var n int
			for b.Loop() {
				data := encodeSnapshot(snapshotOf(st, time.Now()), opts)
				if err := writeFileAtomic(path, data); err != nil {
					b.Fatal(err)
				}
				n = len(data)
			}
			b.ReportMetric(float64(n), "file-bytes")
			b.ReportMetric(float64(n)/float64(size.Services)*1000, "bytes/1000svc")
		})
		b.Run("load/"+size.String(), func(b *testing.B) {
			for b.Loop() {
				ctl := NewController(&Config{SnapshotPath: path, LabelSelector: cfg.LabelSelector}, index.New())
				from, ok := ctl.ServeSnapshotFile()
				if !ok || ctl.w.Published().Services.Len() != size.Services {
					b.Fatalf("snapshot not served: %q", from)
				}
			}
		})
	}
}
