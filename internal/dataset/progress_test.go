package dataset

import (
	"strings"
	"testing"
	"time"
)

// fakeClock returns the times a test sets.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestBarPlainLinesAtMostEveryInterval(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	var out strings.Builder
	bar := newBarWithClock(&out, false, clock.now)

	steps := []struct {
		after time.Duration
		done  int64
	}{
		{1 * time.Second, 1_000},          // first update: drawn
		{1500 * time.Millisecond, 2_000},  // 0.5 s later: skipped
		{3100 * time.Millisecond, 3_000},  // 2.1 s after the last line: drawn
		{4 * time.Second, 4_000},          // skipped
		{4100 * time.Millisecond, 10_000}, // done: always drawn
	}
	for _, s := range steps {
		clock.t = time.Unix(1000, 0).Add(s.after)
		bar.Update(PhasePeople, s.done, 10_000)
	}
	bar.Finish()

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out.String())
	}
	if want := "dataset load: people: 1,000/10,000 rows  10%  1,000 rows/s  ETA 9s"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if !strings.Contains(lines[1], "3,000/10,000 rows") {
		t.Errorf("second line %q, want 3,000 of 10,000 rows", lines[1])
	}
	if !strings.Contains(lines[2], "10,000/10,000 rows 100%") {
		t.Errorf("last line %q, want 10,000 of 10,000 rows and 100%%", lines[2])
	}
	if !strings.HasSuffix(lines[2], "ETA 0s") {
		t.Errorf("last line %q, want ETA 0s", lines[2])
	}
	if strings.ContainsAny(out.String(), "\r\x1b") {
		t.Errorf("plain output contains terminal control characters: %q", out.String())
	}
}

func TestBarTerminalRedrawsOneLine(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	var out strings.Builder
	bar := newBarWithClock(&out, true, clock.now)

	for i := int64(1); i <= 10; i++ {
		clock.t = clock.t.Add(100 * time.Millisecond)
		bar.Update(PhaseOrganisations, i*100, 1_000)
	}
	if strings.Contains(out.String(), "\n") {
		t.Errorf("terminal output has a line break before Finish: %q", out.String())
	}
	// Updates every 100 ms with a 250 ms interval: the first, every third after it, and
	// the final one are drawn.
	if draws := strings.Count(out.String(), "\r"); draws != 4 {
		t.Errorf("%d redraws, want 4: %q", draws, out.String())
	}
	last := out.String()[strings.LastIndex(out.String(), "\r")+1:]
	if !strings.HasPrefix(last, "organisations [==============================] 1,000/1,000") {
		t.Errorf("last redraw %q, want a full bar", last)
	}
	if !strings.HasSuffix(last, "\x1b[K") {
		t.Errorf("redraw %q does not erase the rest of the line", last)
	}

	bar.Finish()
	if !strings.HasSuffix(out.String(), "\n") {
		t.Error("Finish did not end the line")
	}
}

func TestThousands(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {478000, "478,000"},
		{1234567, "1,234,567"}, {-1234, "-1,234"},
	}
	for _, tt := range tests {
		if got := thousands(tt.n); got != tt.want {
			t.Errorf("thousands(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFormatETA(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {1400 * time.Millisecond, "1s"}, {59 * time.Second, "59s"},
		{65 * time.Second, "1m05s"}, {time.Hour + 2*time.Minute + 3*time.Second, "1h02m"},
	}
	for _, tt := range tests {
		if got := formatETA(tt.d); got != tt.want {
			t.Errorf("formatETA(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
