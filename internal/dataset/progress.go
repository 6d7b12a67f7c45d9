package dataset

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Redraw intervals of a Bar: a terminal line is redrawn at most four times a second, and a
// log gets a plain line at most every two seconds.
const (
	terminalInterval = 250 * time.Millisecond
	plainInterval    = 2 * time.Second
)

// barWidth is the number of cells between the brackets of the terminal bar.
const barWidth = 30

// Bar shows the progress of a load: a bar redrawn in place on a terminal, plain lines
// elsewhere. Each line gives rows done of the total, the average rate since the bar was
// made, and the estimated time left. A Bar is not safe for concurrent use.
type Bar struct {
	w        io.Writer
	terminal bool
	interval time.Duration
	now      func() time.Time
	start    time.Time
	last     time.Time
	drawn    bool
}

// NewBar returns a Bar writing to w. terminal selects the redrawn bar; pass false when w
// is a file or a pipe.
func NewBar(w io.Writer, terminal bool) *Bar {
	return newBarWithClock(w, terminal, time.Now)
}

func newBarWithClock(w io.Writer, terminal bool, now func() time.Time) *Bar {
	interval := plainInterval
	if terminal {
		interval = terminalInterval
	}
	t := now()
	return &Bar{w: w, terminal: terminal, interval: interval, now: now, start: t}
}

// Update records progress and redraws when the redraw interval has passed since the last
// draw, or when done reaches total. It has the signature of LoadOptions.Progress.
func (b *Bar) Update(phase string, done, total int64) {
	t := b.now()
	if b.drawn && t.Sub(b.last) < b.interval && done < total {
		return
	}
	b.last, b.drawn = t, true
	line := b.line(phase, done, total, t.Sub(b.start))
	if b.terminal {
		// Carriage return, the line, then erase whatever a longer line left behind.
		fmt.Fprintf(b.w, "\r%s\x1b[K", line)
		return
	}
	fmt.Fprintln(b.w, line)
}

// Finish ends the terminal line, so that later output starts on a line of its own.
func (b *Bar) Finish() {
	if b.terminal && b.drawn {
		fmt.Fprintln(b.w)
	}
}

func (b *Bar) line(phase string, done, total int64, elapsed time.Duration) string {
	fraction := 0.0
	if total > 0 {
		fraction = min(1, float64(done)/float64(total))
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	eta := "--"
	if rate > 0 && done <= total {
		eta = formatETA(time.Duration(float64(total-done) / rate * float64(time.Second)))
	}

	counts := fmt.Sprintf("%s/%s rows %3.0f%%  %s rows/s  ETA %s", thousands(done),
		thousands(total), fraction*100, thousands(int64(rate)), eta)
	if !b.terminal {
		return "dataset load: " + phase + ": " + counts
	}
	filled := int(fraction * barWidth)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled)
	return fmt.Sprintf("%-13s [%s] %s", phase, bar, counts)
}

// formatETA formats d to the second, as "45s", "3m05s" or "1h02m".
func formatETA(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}

// thousands formats n with commas between groups of three digits: 478,000.
func thousands(n int64) string {
	digits := strconv.FormatInt(n, 10)
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}
