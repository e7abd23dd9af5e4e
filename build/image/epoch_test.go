package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestSourceDate reads SOURCE_DATE_EPOCH when it is set, and the commit's
// time otherwise.
func TestSourceDate(t *testing.T) {
	repo := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "c"},
	} {
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = append(cmd.Environ(), "GIT_COMMITTER_DATE=@1700000000 +0000", "GIT_AUTHOR_DATE=@1600000000 +0000")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	tests := []struct {
		name  string
		env   *string
		want  time.Time
		fails bool
	}{
		{"the commit's committer date", nil, time.Unix(1700000000, 0), false},
		{"SOURCE_DATE_EPOCH", ptr("1234567890"), time.Unix(1234567890, 0), false},
		{"SOURCE_DATE_EPOCH with a newline", ptr("1234567890\n"), time.Unix(1234567890, 0), false},
		{"SOURCE_DATE_EPOCH not a number", ptr("yesterday"), time.Time{}, true},
		{"SOURCE_DATE_EPOCH negative", ptr("-1"), time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", "") // restored after the test
			if tc.env != nil {
				t.Setenv("SOURCE_DATE_EPOCH", *tc.env)
			} else if err := os.Unsetenv("SOURCE_DATE_EPOCH"); err != nil {
				t.Fatal(err)
			}
			got, err := sourceDate(repo)
			if (err != nil) != tc.fails || !got.Equal(tc.want) {
				t.Errorf("%s (%v); want %s, error %v", got, err, tc.want, tc.fails)
			}
		})
	}
}

func ptr(s string) *string { return &s }
