package object

// Skipped is told, when set, of every object, or part of one, that is left
// out because it cannot be served, by kind and reason (the plugin counts
// them in skipped_objects_total). It is set once, before any object is
// slimmed.
var Skipped func(kind, reason string)

// skip reports one object or part left out, unless this version of the
// object was counted before.
func (sl Slimmer) skip(kind, reason string) {
	if Skipped == nil || sl.quiet {
		return
	}
	Skipped(kind, reason)
	sl.Counted.Add(sl.key, sl.rv)
}
