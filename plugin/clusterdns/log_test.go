package clusterdns

import clog "github.com/coredns/coredns/plugin/pkg/log"

// init silences the plugin logger so test output shows only test failures.
func init() { clog.Discard() }
