package answer

import "testing"

// TestReasonNames checks every reason has a distinct label value, and a
// positive answer none.
func TestReasonNames(t *testing.T) {
	seen := map[string]Reason{}
	for r := ReasonNone + 1; r < NumReasons; r++ {
		name := r.String()
		if name == "" {
			t.Errorf("reason %d has no name", r)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("reasons %d and %d are both %q", other, r, name)
		}
		seen[name] = r
	}
	if ReasonNone.String() != "" || NumReasons.String() != "" {
		t.Errorf("ReasonNone %q, NumReasons %q; want both empty", ReasonNone, NumReasons)
	}
}
