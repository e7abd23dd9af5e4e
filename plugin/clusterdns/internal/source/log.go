package source

import clog "github.com/coredns/coredns/plugin/pkg/log"

// pluginName names the plugin in log lines and metric names: the sources'
// state changes and metrics are the plugin's.
const pluginName = "clusterdns"

var log = clog.NewWithPlugin(pluginName)
