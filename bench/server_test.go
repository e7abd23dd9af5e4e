package main

import (
	"strings"
	"testing"
)

func TestStatCPU(t *testing.T) {
	// Fields 3 to 15 of proc(5): state, ppid, pgrp, session, tty_nr, tpgid,
	// flags, minflt, cminflt, majflt, cmajflt, utime, stime.
	const after = " S 1 2 3 0 -1 4194560 100 0 0 0 %s %s 0 0 20 0 12 0 500 1000000 2000 18446744073709551615"
	line := func(comm, utime, stime string) string {
		return "4242 (" + comm + ")" + strings.Replace(strings.Replace(after, "%s", utime, 1), "%s", stime, 1)
	}
	tests := []struct {
		name    string
		stat    string
		want    float64
		wantErr bool
	}{
		{name: "plain", stat: line("coredns", "250", "50"), want: 3},
		{name: "idle", stat: line("coredns", "0", "0"), want: 0},
		{name: "name with spaces and parentheses", stat: line("a) (b c", "7", "3"), want: 0.1},
		{name: "large", stat: line("coredns", "123456789", "1"), want: 1234567.9},
		{name: "no command name", stat: "4242 coredns S 1 2", wantErr: true},
		{name: "short", stat: "4242 (coredns) S 1 2 3", wantErr: true},
		{name: "not a number", stat: line("coredns", "x", "1"), wantErr: true},
		{name: "negative", stat: line("coredns", "-5", "1"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := statCPU([]byte(tc.stat + "\n"))
			if (err != nil) != tc.wantErr {
				t.Fatalf("statCPU(%q) error = %v, want error %v", tc.stat, err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("statCPU(%q) = %v, want %v", tc.stat, got, tc.want)
			}
		})
	}
}
