package clusterdns

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

// init silences the plugin logger so test output shows only test failures.
func init() { clog.Discard() }

// logLines collects what the plugin logs during a test.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// captureLog sends the log to a buffer until the test ends. Tests that use
// it must not run in parallel with others that log.
func captureLog(t *testing.T) *logLines {
	l := &logLines{}
	clog.SetOutput(l)
	t.Cleanup(clog.Discard)
	return l
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count returns how many lines contain s.
func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for line := range strings.SplitSeq(l.buf.String(), "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}
