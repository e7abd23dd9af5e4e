package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// sourceDate is the time every timestamp in the image is set to:
// SOURCE_DATE_EPOCH when set (https://reproducible-builds.org/specs/source-date-epoch/),
// otherwise the committer date of the checkout's HEAD, so that one commit
// always gives one image.
func sourceDate(repo string) (time.Time, error) {
	s, fromEnv := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !fromEnv {
		out, err := exec.Command("git", "-C", repo, "log", "-1", "--format=%ct").Output()
		if err != nil {
			return time.Time{}, fmt.Errorf("no SOURCE_DATE_EPOCH and no commit time from git in %s: %w", repo, err)
		}
		s = string(out)
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, fmt.Errorf("source date %q: want seconds since 1970", strings.TrimSpace(s))
	}
	return time.Unix(secs, 0).UTC(), nil
}
