package clusterdns

import (
	"fmt"
	"testing"
)

func TestCowMapVersionsAreIndependent(t *testing.T) {
	v1 := (&cowMap[string, int]{}).edit()
	for i := range 1000 {
		v1.set(fmt.Sprint(i), i)
	}
	m1 := v1.done()

	e := m1.edit()
	e.set("0", -1)
	e.del("1")
	e.del("missing")
	e.set("new", 7)
	m2 := e.done()

	if v, _ := m1.get("0"); v != 0 {
		t.Errorf("old version changed: 0 -> %d", v)
	}
	if _, ok := m1.get("1"); !ok {
		t.Error("old version lost a key deleted in the new one")
	}
	if _, ok := m1.get("new"); ok {
		t.Error("old version sees a key added to the new one")
	}
	if v, _ := m2.get("0"); v != -1 {
		t.Errorf("new version: 0 -> %d, want -1", v)
	}
	if _, ok := m2.get("1"); ok {
		t.Error("new version still has a deleted key")
	}
	if m1.len() != 1000 || m2.len() != 1000 {
		t.Errorf("len = %d, %d; want 1000, 1000", m1.len(), m2.len())
	}
}
