package source

import (
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/fixture"
)

// TestSyncedChannel checks that Synced is closed exactly when the index
// first holds the stores' complete content: by a source's first sync, or
// by Load.
func TestSyncedChannel(t *testing.T) {
	t.Run("source", func(t *testing.T) {
		logs := fixture.CaptureLog(t)
		r := starting(t, nil, NewAPISource(testConfig(), fake.NewClientset(fixture.Namespace("prod")), nil))
		select {
		case <-r.ctl.Synced():
		case <-time.After(10 * time.Second):
			t.Fatal("Synced not closed 10s after start")
		}
		if !r.ctl.Answering() {
			t.Error("Synced closed before the index answers")
		}
		// The sync is logged with where its time went.
		if logs.Count("synced: serving 0 services after ") != 1 || logs.Count("(stores filled in ") != 1 || logs.Count(", index built in ") != 1 {
			t.Error("no log line of the sync with its time split into filling the stores and building the index")
		}
	})
	t.Run("load", func(t *testing.T) {
		r := loaded(t, nil, fixture.Namespace("prod"))
		select {
		case <-r.ctl.Synced():
		default:
			t.Error("Synced open after Load")
		}
	})
	t.Run("not yet", func(t *testing.T) {
		ctl := NewController(testConfig(), nil)
		select {
		case <-ctl.Synced():
			t.Error("Synced closed before anything was published")
		default:
		}
	})
}
