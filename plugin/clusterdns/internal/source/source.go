package source

import (
	"context"
	"sync"

	"k8s.io/client-go/kubernetes"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/internal/object"
)

// Source fills stores of its own with Kubernetes objects and keeps them
// current until ctx ends, reporting what changed to the feed it is given.
// Every goroutine it starts is counted in wg. It returns the stores, which
// only it writes, and a function that reports whether they hold their
// initial content.
type Source interface {
	start(ctx context.Context, wg *sync.WaitGroup, to feed) (st Stores, hasSynced func() bool, err error)
}

// feed is all a source sees of the controller: where it reports what
// changed, and the state its contact with the API counts against.
type feed interface {
	markService(key string)              // a Service changed, now
	markServiceAt(key string, ch change) // a Service's endpoints changed, at ch
	markImport(key string)               // a ServiceImport or its slices changed
	markNamespace(ns string)             // a namespace appeared or went away
	markPod(key string)                  // a pod's addresses may have changed
	markNode(name string)                // a node's zone may have changed
	markAll()                            // everything may have changed
	staleState() *staleness              // marked stale while the API is out of reach
	isSynced() bool                      // whether the index holds the source's content
	skipsCounted() *object.Counted       // the object versions whose skipped parts are counted
}

// New returns the source a configuration names: the file of objects if it
// sets one, else the Kubernetes API.
func New(cfg *Config) Source {
	if cfg.ObjectsFile != "" {
		return &fileSource{cfg: cfg}
	}
	return &APISource{cfg: cfg}
}

// NewAPISource returns the API source on clients built already, such as
// client-go's fake clientsets; a nil client is built from cfg at start.
func NewAPISource(cfg *Config, client kubernetes.Interface, mcs mcsclient.Interface) *APISource {
	return &APISource{cfg: cfg, client: client, mcs: mcs}
}

// Resync relists every watched kind now, as the resync option does
// periodically. It does nothing before the source has started.
func (api *APISource) Resync() {
	if api.contact != nil {
		api.contact.resync()
	}
}
