package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// writeStartup writes the start-up section: at each size, each server's
// median start → ready and answering and start → /ready 200, clusterdns's
// ratio to each other server, and every timed start.
func (r *report) writeStartup(w func(string, ...any)) {
	if len(r.Points) == 0 {
		return
	}
	names := compared(&r.Points[0])
	starts := len(r.Points[0].Plugins[ours].Starts)
	w("## Start-up")
	w("")
	w("Each server was started %d times at each size, the servers alternately (clusterdns, kubernetes, ...; clusterdns,", starts)
	w("...), one at a time; each start is timed from the process start until `/ready` answers 200 and until the A")
	w("query of the last service created is answered with its ClusterIP, both polled every %d ms. The figures are", startPoll.Milliseconds())
	w("medians of the starts; \"ready and answering\" is the later of the two.")
	w("")
	head, rule := "| services | endpoints |", "|---|---|"
	r.columns(&head, &rule, "ready and answering, ", names)
	r.columns(&head, &rule, "/ready 200, ", names)
	r.columns(&head, &rule, "clusterdns / ", names[1:])
	w("%s", head)
	w("%s", rule)
	for _, p := range r.Points {
		line := fmt.Sprintf("| %d | %d |", p.Stats.Services, p.Stats.Endpoints)
		for _, n := range names {
			line += " " + ms(p.Plugins[n].ReadyIn) + " |"
		}
		for _, n := range names {
			line += " " + ms(p.Plugins[n].ReadyHTTP) + " |"
		}
		for _, n := range names[1:] {
			line += " " + ratio(float64(p.Plugins[ours].ReadyIn), float64(p.Plugins[n].ReadyIn)) + " |"
		}
		w("%s", line)
	}
	w("")
	w("Every start, in order (/ready 200 / answering):")
	w("")
	w("| services | server | starts |")
	w("|---|---|---|")
	for _, p := range r.Points {
		for _, n := range names {
			var cells []string
			for _, run := range p.Plugins[n].Starts {
				cells = append(cells, fmt.Sprintf("%.0f / %.0f ms", msf(run.Ready), msf(run.Answered)))
			}
			w("| %d | %s | %s |", p.Stats.Services, r.label(n), strings.Join(cells, ", "))
		}
	}
	w("")
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// writeStartupOnly writes the report of a -startup-only run: the start-up
// section alone.
func (r *report) writeStartupOnly(path string) error {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Start-up: clusterdns beside the kubernetes plugin")
	w("")
	w("Measured %s on %s; the run took %s. This run: `%s`.", r.Started.Format("2006-01-02"), r.Machine, r.Finished.Sub(r.Started).Round(time.Second), r.Command)
	if r.note != "" {
		w("")
		w("%s", r.note)
	}
	w("")
	r.writeStartup(w)
	if r.Stopped != "" {
		w("The run stopped early: %s", r.Stopped)
		w("")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
