package clusterdns

import (
	"fmt"
	"strings"

	"github.com/go-logr/logr"
)

// klogAdapter is the logr.LogSink klog is given in setup, so client-go's
// messages (watch failures, relists) reach the CoreDNS log in its format,
// tagged with our plugin name, instead of klog's own stderr output.
type klogAdapter struct {
	name   string // from WithName, prefixed to messages
	values []any  // from WithValues, logged after each message's own pairs
}

// Init implements logr.LogSink; there is no call-depth bookkeeping to do.
func (*klogAdapter) Init(logr.RuntimeInfo) {}

// Enabled implements logr.LogSink. Only level 0 is logged: client-go's
// verbose levels are debugging chatter that would flood a DNS server's log.
func (*klogAdapter) Enabled(level int) bool { return level <= 0 }

// Info implements logr.LogSink.
func (a *klogAdapter) Info(level int, msg string, kv ...any) {
	if level > 0 {
		return
	}
	log.Info(a.format(msg, nil, kv))
}

// Error implements logr.LogSink.
func (a *klogAdapter) Error(err error, msg string, kv ...any) {
	log.Error(a.format(msg, err, kv))
}

// WithValues implements logr.LogSink, returning a copy so the receiver's
// values stay unchanged for its other users.
func (a *klogAdapter) WithValues(kv ...any) logr.LogSink {
	c := *a
	c.values = append(append([]any(nil), a.values...), kv...)
	return &c
}

// WithName implements logr.LogSink; names nest with "/" as logr suggests.
func (a *klogAdapter) WithName(name string) logr.LogSink {
	c := *a
	if c.name != "" {
		name = c.name + "/" + name
	}
	c.name = name
	return &c
}

// format renders one line: "name: msg: err k=v ...". client-go puts most of
// its context (resource, reflector) in the key/values, so they are kept.
func (a *klogAdapter) format(msg string, err error, kv []any) string {
	var b strings.Builder
	if a.name != "" {
		b.WriteString(a.name)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	if err != nil {
		b.WriteString(": ")
		b.WriteString(err.Error())
	}
	writeKV(&b, kv)
	writeKV(&b, a.values)
	return b.String()
}

// writeKV appends key=value pairs; strings are quoted so values containing
// spaces stay unambiguous, and a trailing key without a value is kept.
func writeKV(b *strings.Builder, kv []any) {
	for i := 0; i < len(kv); i += 2 {
		var v any = "(MISSING)"
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		switch v := v.(type) {
		case string:
			fmt.Fprintf(b, " %v=%q", kv[i], v)
		case error:
			fmt.Fprintf(b, " %v=%q", kv[i], v.Error())
		default:
			fmt.Fprintf(b, " %v=%v", kv[i], v)
		}
	}
}
