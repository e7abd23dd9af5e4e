// Command coredns is CoreDNS with every stock plugin plus clusterdns.
//
// The clusterdns directive runs immediately before kubernetes, so a Corefile
// written for the kubernetes plugin works after renaming that one word, and
// the kubernetes plugin stays available for side-by-side comparison.
package main

import (
	"fmt"
	"slices"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/core/plugin" // all stock plugins
	"github.com/coredns/coredns/coremain"

	"github.com/clusterdns/clusterdns/plugin/clusterdns"
)

const (
	directive = "clusterdns"
	anchor    = "kubernetes"
)

// version is what `coredns -version` prints after "CoreDNS-".
var version = coremain.CoreVersion + "+clusterdns-" + clusterdns.Version

func init() {
	list, err := insertBefore(dnsserver.Directives, directive, anchor)
	if err != nil {
		panic("clusterdns: cannot place directive: " + err.Error())
	}
	if err := dnsserver.SetDirectives(list); err != nil {
		panic("clusterdns: cannot set directives: " + err.Error())
	}
	// coremain's own init (which runs before this one, as main imports it)
	// sets AppVersion to the bare CoreDNS version; -version and the startup
	// banner both print caddy.AppName + "-" + caddy.AppVersion.
	caddy.AppVersion = version
}

// insertBefore returns a copy of list with name inserted immediately before
// the first occurrence of before. It fails if before is absent or name is
// already present; list itself is never modified.
func insertBefore(list []string, name, before string) ([]string, error) {
	if slices.Contains(list, name) {
		return nil, fmt.Errorf("directive %q is already in the list", name)
	}
	i := slices.Index(list, before)
	if i < 0 {
		return nil, fmt.Errorf("directive %q not found, nothing to insert %q before", before, name)
	}
	return slices.Insert(slices.Clone(list), i, name), nil
}

func main() { coremain.Run() }
