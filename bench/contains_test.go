package main

import (
	"strings"
	"testing"
)

// checkContains reports each of wants that text lacks, naming the report
// (what) and showing text.
func checkContains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, text)
		}
	}
}
