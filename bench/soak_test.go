package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteSoak(t *testing.T) {
	o := &options{headline: 1000, soakOut: filepath.Join(t.TempDir(), "SOAK.md")}
	rows := []soakInterval{
		{At: 30 * time.Second, QPS: 800, Sent: 24000, Lost: 10, RSS: 100 << 20, Goroutines: 40},
		{At: time.Minute, QPS: 650, Sent: 19500, Lost: 30, RSS: 110 << 20, Goroutines: 41},
	}
	if err := writeSoak(o, 1000, 800, rows); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(o.soakOut)
	checkContains(t, "soak report", string(b), []string{
		"# Soak: clusterdns offered 80% of its measured capacity",
		"Capacity measured first: 1000 qps",
		"| 1m0s | 650 | 19500 | 30 |",
		"43500 queries sent, 40 lost (0.0920%); qps per interval from 650 to 800 against 800 offered; RSS 100.0 MB",
		"110.0 MB in the last; goroutines 40 → 41.",
	}...)
}
