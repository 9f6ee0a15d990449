package changecorpus

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func pick(names ...string) []Scenario {
	var out []Scenario
	for _, n := range names {
		s, ok := Lookup(n)
		if !ok {
			panic(n)
		}
		out = append(out, s)
	}
	return out
}

// linesOf returns the sample lines of one application, timestamps made relative to the anchor.
func linesOf(b []byte, app string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, `service_name="`+app+`"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDeterministic: the same anchor gives the same bytes; a scenario's data does not depend on
// which other scenarios are written with it; and two anchors a whole number of days apart give
// the same data relative to the anchor (noise and rhythms are tied to the anchor, not the clock).
func TestDeterministic(t *testing.T) {
	anchor := time.Now().Truncate(time.Minute)
	var a, b, solo, later bytes.Buffer
	all := pick("noisy-unchanged", "error-jump", "restarts", "ho-payments-error-jump")
	if err := WriteOpenMetrics(&a, anchor, time.Minute, all); err != nil {
		t.Fatal(err)
	}
	if err := WriteOpenMetrics(&b, anchor, time.Minute, all); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two runs differ")
	}
	if err := WriteOpenMetrics(&solo, anchor, time.Minute, pick("noisy-unchanged")); err != nil {
		t.Fatal(err)
	}
	if linesOf(a.Bytes(), "noisy-unchanged") != linesOf(solo.Bytes(), "noisy-unchanged") {
		t.Fatal("a scenario's data depends on the other scenarios written with it")
	}
	if err := WriteOpenMetrics(&later, anchor.Add(3*time.Hour+17*time.Minute), time.Minute, pick("noisy-unchanged")); err != nil {
		t.Fatal(err)
	}
	// Same values, timestamps shifted: compare with the timestamps cut off.
	strip := func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if i := strings.LastIndexByte(l, ' '); i > 0 {
				l = l[:i]
			}
			out = append(out, l)
		}
		return strings.Join(out, "\n")
	}
	if strip(linesOf(solo.Bytes(), "noisy-unchanged")) != strip(linesOf(later.Bytes(), "noisy-unchanged")) {
		t.Error("the data relative to the anchor changes with the anchor's time of day")
	}
}
