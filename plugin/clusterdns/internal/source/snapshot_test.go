package source

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
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
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
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
	written := time.Unix(1_700_000_000, 0)
	data := mustEncode(t, orig, written, cfg)
	if again := mustEncode(t, orig, written, cfg); !bytes.Equal(data, again) {
		t.Error("the same content encodes to different bytes")
	}
	s, err := decodeSnapshot(data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !s.written.Equal(written) || len(s.objects.services) != 5 {
		t.Errorf("written %s, %d services; want %s and 5", s.written, len(s.objects.services), written)
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
	// The fixture has what the comparison must see: a terminating endpoint
	// with a zone, and a service marked invalid.
	if db, _, _ := got.Slices.GetByKey("prod/db-a"); db == nil || len(db.(*object.EndpointSlice).Terminating()) != 1 || db.(*object.EndpointSlice).Zones() == nil {
		t.Errorf("slice prod/db-a: %+v, want a terminating endpoint and zones", db)
	}
	if bad, _, _ := got.Services.GetByKey("prod/Not_A_Label"); bad == nil || !bad.(*object.Service).Invalid {
		t.Errorf("service prod/Not_A_Label: %+v, want it kept and marked invalid", bad)
	}
}

// TestSnapshotKubernetesFormat checks the file is what its doc comment
// says: a gzip stream, whose content apimachinery's protobuf serializer
// reads as a core/v1 List of the API forms of the objects, and a checksum.
func TestSnapshotKubernetesFormat(t *testing.T) {
	cfg := snapshotConfig()
	data := mustEncode(t, loaded(t, cfg, snapshotFixture()...).ctl.st, time.Now(), cfg)
	z, err := gzip.NewReader(bytes.NewReader(data[:len(data)-4]))
	if err != nil {
		t.Fatal(err)
	}
	content, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	obj, _, err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Decode(content, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, ok := obj.(*corev1.List)
	if !ok {
		t.Fatalf("content is a %T, want a core/v1 List", obj)
	}
	kinds := map[string]int{}
	for _, item := range list.Items {
		o, _, err := scheme.Codecs.UniversalDeserializer().Decode(item.Raw, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		kinds[o.GetObjectKind().GroupVersionKind().Kind]++
	}
	if want := map[string]int{"Namespace": 2, "Service": 5, "EndpointSlice": 3, "Pod": 1}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("items by kind %v, want %v", kinds, want)
	}
	if !strings.HasPrefix(z.Comment, snapshotHeader+"2\n") {
		t.Errorf("gzip comment %q, want the format and its version first", z.Comment)
	}
}

// TestSnapshotDamaged checks that a file cut anywhere, with any bit
// flipped, of another version, or written under other options, is refused
// as a whole.
func TestSnapshotDamaged(t *testing.T) {
	cfg := snapshotConfig()
	st := loaded(t, cfg, snapshotFixture()...).ctl.st
	data := mustEncode(t, st, time.Now(), cfg)

	for n := range len(data) {
		if _, err := decodeSnapshot(data[:n], cfg); err == nil {
			t.Fatalf("truncated to %d of %d bytes: accepted", n, len(data))
		}
	}
	for i := range data {
		for bit := range 8 {
			bad := slices.Clone(data)
			bad[i] ^= 1 << bit
			if _, err := decodeSnapshot(bad, cfg); err == nil {
				t.Fatalf("bit %d of byte %d flipped: accepted", bit, i)
			}
		}
	}
	if _, err := decodeSnapshot(append(slices.Clone(data), 0), cfg); err == nil {
		t.Error("a byte appended: accepted")
	}

	for name, tc := range map[string]struct {
		data []byte
		cfg  *Config
		why  string
	}{
		"the next format version":  {withCRC(gzipped(t, snapshotHeader+"3\n"+snapshotOptions(cfg), emptyList(t))), cfg, "format version 3, this build reads version 2"},
		"the first format version": {append([]byte(snapshotMagic), 0, 1, 7, 7, 7, 7), cfg, "format version 1, this build reads version 2"},
		"another gzip file":        {withCRC(gzipped(t, "", emptyList(t))), cfg, "not a clusterdns snapshot"},
		"other options":            {data, func() *Config { c := *cfg; c.EndpointPodNames = true; return &c }(), "other options"},
	} {
		if _, err := decodeSnapshot(tc.data, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.why)
		}
	}
}

// TestSnapshotMalformed checks content that passes the checksum but is not
// a List of objects is refused, without a panic.
func TestSnapshotMalformed(t *testing.T) {
	cfg := testConfig()
	comment := snapshotHeader + "2\n" + snapshotOptions(cfg)
	list := func(items ...[]byte) []byte {
		l := &corev1.List{}
		for _, item := range items {
			l.Items = append(l.Items, runtime.RawExtension{Raw: item})
		}
		return encodeProto(t, l)
	}
	svc := encodeProto(t, fixture.Service("prod", "web", []string{"10.96.0.20"}))
	whole := gzipped(t, comment, list(svc))
	for name, body := range map[string][]byte{
		"no content":               gzipped(t, comment, nil),
		"not an object":            gzipped(t, comment, []byte("\x00\x01garbage")),
		"protobuf cut short":       gzipped(t, comment, list(svc)[:20]),
		"an item cut short":        gzipped(t, comment, list(svc[:len(svc)-3])),
		"an item that is garbage":  gzipped(t, comment, list([]byte("k8s\x00\xff\xff"))),
		"deflate stream cut short": whole[:len(whole)-12],
		"a second gzip member":     append(slices.Clone(whole), whole[:10]...),
		"trailing garbage":         append(slices.Clone(whole), 7),
	} {
		if _, err := decodeSnapshot(withCRC(body), cfg); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !errors.Is(err, errSnapshotCorrupt) {
			t.Errorf("%s: %v, want it called malformed", name, err)
		}
	}
	s, err := decodeSnapshot(withCRC(gzipped(t, comment, list())), cfg)
	if err != nil || len(s.objects.services)+len(s.objects.namespaces) != 0 {
		t.Errorf("an empty cluster: %v, %v; want it accepted", s, err)
	}
	s, err = decodeSnapshot(withCRC(whole), cfg)
	if err != nil || len(s.objects.services) != 1 {
		t.Errorf("a list of one service: %v, %v; want it accepted", s, err)
	}
}

// mustEncode returns the snapshot file of the stores.
func mustEncode(tb testing.TB, st Stores, written time.Time, cfg *Config) []byte {
	tb.Helper()
	data, _, err := encodeSnapshot(st, written, snapshotOptions(cfg))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// encodeProto returns obj in Kubernetes' protobuf encoding.
func encodeProto(tb testing.TB, obj runtime.Object) []byte {
	tb.Helper()
	var b bytes.Buffer
	obj.GetObjectKind().SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(reflect.TypeOf(obj).Elem().Name()))
	if err := snapshotCodec.Encode(obj, &b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// emptyList is a List without items, in protobuf.
func emptyList(tb testing.TB) []byte { return encodeProto(tb, &corev1.List{}) }

// gzipped is a gzip stream of content with comment in its header.
func gzipped(tb testing.TB, comment string, content []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Comment = comment
	if _, err := z.Write(content); err != nil {
		tb.Fatal(err)
	}
	if err := z.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// withCRC appends the checksum to a snapshot body.
func withCRC(body []byte) []byte {
	return binary.BigEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, snapshotCRC))
}

// FuzzSnapshotDecode feeds the decoder files with a valid checksum: either
// content behind a valid header (member false), which reaches the
// Kubernetes decoder and the slimmer, or a whole gzip stream (member
// true). It must refuse or accept them whole, never panic, and what it
// accepts must fill stores.
func FuzzSnapshotDecode(f *testing.F) {
	cfg := snapshotConfig()
	st := loaded(f, cfg, snapshotFixture()...).ctl.st
	data := mustEncode(f, st, time.Now(), cfg)
	z, err := gzip.NewReader(bytes.NewReader(data[:len(data)-4]))
	if err != nil {
		f.Fatal(err)
	}
	content, err := io.ReadAll(z)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(content, false)
	f.Add(data[:len(data)-4], true)
	f.Add([]byte("kind: List\napiVersion: v1\nitems: [{kind: Service, apiVersion: v1, metadata: {name: a}}]\n"), false)
	comment := snapshotHeader + "2\n" + snapshotOptions(cfg)
	f.Fuzz(func(t *testing.T, body []byte, member bool) {
		if !member {
			body = gzipped(t, comment, body)
		}
		s, err := decodeSnapshot(withCRC(body), cfg)
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
		if s == nil {
			return false
		}
		named := func(n string) func(any) bool { return func(v any) bool { return v.(*object.Service).Name == n } }
		svcs := s.objects.services
		return len(svcs) == 3 && slices.ContainsFunc(svcs, named("new")) && !slices.ContainsFunc(svcs, named("gone"))
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
	good := mustEncode(t, st, time.Now(), cfg)
	other := *cfg
	other.FallbackTerminating = true
	for name, tc := range map[string]struct {
		data []byte // nil: no file
		why  string
	}{
		"truncated":         {good[:len(good)/2], "checksum mismatch"},
		"missing":           {nil, "no such file"},
		"garbage":           {[]byte("kind: List\nitems: []\n"), "not a clusterdns snapshot"},
		"other options":     {mustEncode(t, st, time.Now(), &other), "written with other options"},
		"the first format":  {append([]byte(snapshotMagic), 0, 1, 0, 0, 0, 0), "format version 1, this build reads version 2"},
		"malformed content": {withCRC(gzipped(t, snapshotHeader+"2\n"+snapshotOptions(cfg), []byte("{"))), "malformed content"},
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
	s, _ := decodeSnapshot(data, cfg)
	return s
}

// snapshotServices counts the services in the snapshot file; -1 if none.
func snapshotServices(path string, cfg *Config) int {
	if s := readSnapshot(path, cfg); s != nil {
		return len(s.objects.services)
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
				data, _, err := encodeSnapshot(st, time.Now(), opts)
				if err != nil {
					b.Fatal(err)
				}
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
