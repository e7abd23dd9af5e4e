// Package source is where cluster state enters clusterdns. A Source (the
// Kubernetes API through client-go informers, or a file of objects) fills
// Stores of slim objects and reports each change through a narrow feed;
// the Controller batches those changes and rebuilds the affected entries of
// the index, publishing a new view per batch. This package also keeps the
// API's health (relists after an outage, periodic resyncs, staleness), the
// snapshot file a restart can answer from, and the metrics of all of that.
//
// client-go is imported here and nowhere else in the plugin; the shell
// above sees a Config, a Source and a Controller.
package source
