package index

import (
	"fmt"
	"testing"
)

func TestCowMapVersionsAreIndependent(t *testing.T) {
	v1 := (&Map[string, int]{}).Edit()
	for i := range 1000 {
		v1.Set(fmt.Sprint(i), i)
	}
	m1 := v1.Done()

	e := m1.Edit()
	e.Set("0", -1)
	e.Delete("1")
	e.Delete("missing")
	e.Set("new", 7)
	m2 := e.Done()

	if v, _ := m1.Get("0"); v != 0 {
		t.Errorf("old version changed: 0 -> %d", v)
	}
	if _, ok := m1.Get("1"); !ok {
		t.Error("old version lost a key deleted in the new one")
	}
	if _, ok := m1.Get("new"); ok {
		t.Error("old version sees a key added to the new one")
	}
	if v, _ := m2.Get("0"); v != -1 {
		t.Errorf("new version: 0 -> %d, want -1", v)
	}
	if _, ok := m2.Get("1"); ok {
		t.Error("new version still has a deleted key")
	}
	if m1.Len() != 1000 || m2.Len() != 1000 {
		t.Errorf("len = %d, %d; want 1000, 1000", m1.Len(), m2.Len())
	}
}
