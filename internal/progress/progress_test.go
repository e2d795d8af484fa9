package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestCounterFinalReport(t *testing.T) {
	var got []string
	c := New(0, 10, func(v, total uint64, _ time.Duration, final bool) {
		got = append(got, Status("documents", v, total, time.Second)+map[bool]string{true: " final"}[final])
	})
	c.Add(3)
	c.Add(2)
	c.Done()
	c.Done()
	want := []string{"documents 5/10 (5.0/s) ETA 1s final"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("reports %q, want %q", got, want)
	}
}

func TestETA(t *testing.T) {
	for _, tc := range []struct {
		value, total uint64
		elapsed      time.Duration
		want         string
	}{
		{0, 10, time.Second, "ETA ?"},
		{5, 0, time.Second, "ETA ?"},
		{5, 10, 10 * time.Second, "ETA 10s"},
		{10, 10, 10 * time.Second, "ETA 0s"},
		{1, 4, time.Minute, "ETA 3m0s"},
	} {
		if got := FormatETA(tc.value, tc.total, tc.elapsed); got != tc.want {
			t.Errorf("FormatETA(%d, %d, %v) = %q, want %q", tc.value, tc.total, tc.elapsed, got, tc.want)
		}
	}
}

// TestPhases: once the first step is finished, the rate and ETA are the second step's,
// counted from when it started, not "ETA 0s" from the finished one.
func TestPhases(t *testing.T) {
	var p Phases
	lines := []string{
		p.Line(10*time.Second, []Step{{"documents", 4, 4}, {"figures rendered", 0, 0}}, ""),
		p.Line(20*time.Second, []Step{{"documents", 4, 4}, {"figures rendered", 10, 40}}, "rejects 2"),
	}
	want := []string{
		"[10s] figures rendered 0 (0.0/s)",
		"[20s] figures rendered 10/40 (1.0/s) ETA 30s  rejects 2",
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, lines[i], want[i])
		}
	}
	var q Phases
	if got := q.Line(5*time.Second, []Step{{"documents", 1, 4}}, ""); got != "[5s] documents 1/4 (0.2/s) ETA 15s" {
		t.Errorf("first step: %q", got)
	}
}

func TestLineNotTerminal(t *testing.T) {
	var b bytes.Buffer
	l := NewLine(&b, time.Hour)
	l.Print("a", false)
	l.Print("b", false) // within the interval: dropped
	l.Print("c", true)
	if b.String() != "a\nc\n" {
		t.Fatalf("%q", b.String())
	}
}
