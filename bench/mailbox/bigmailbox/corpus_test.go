package main

import (
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/mailbox"
)

func testCorpus() corpus {
	return corpus{to: "bea.bigbox@bench-bigbox.cjsm.test", size: 4096, every: 100,
		searchWord: "kestrelmoor", newest: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), seed: 1}
}

// The search word is in the extracted body text of exactly the messages hasWord names, so
// SEARCH BODY must find expectedHits of them.
func TestCorpusSearchWordInOnePercent(t *testing.T) {
	c := testCorpus()
	const n = 1000
	found := 0
	for i := range n {
		_, body := mailbox.ExtractText(c.message(i, n))
		has := strings.Contains(body, c.searchWord)
		if has != c.hasWord(i) {
			t.Errorf("message %d: body contains %q = %t, hasWord = %t", i, c.searchWord, has,
				c.hasWord(i))
		}
		if has {
			found++
		}
	}
	if found != c.expectedHits(n) {
		t.Errorf("%d of %d bodies contain the word; expectedHits says %d", found, n,
			c.expectedHits(n))
	}
	if found != n/100 {
		t.Errorf("%d of %d bodies contain the word, want 1%% (%d)", found, n, n/100)
	}
}

func TestCorpusMessageSizeAndHeader(t *testing.T) {
	c := testCorpus()
	for _, i := range []int{0, 1, 99, 500} {
		raw := c.message(i, 1000)
		if len(raw) < c.size || len(raw) > c.size+200 {
			t.Errorf("message %d is %d octets, want %d to %d", i, len(raw), c.size, c.size+200)
		}
		header, _ := mailbox.ExtractText(raw)
		if !strings.Contains(header, "subject: case ") {
			t.Errorf("message %d: header text %q has no subject", i, header)
		}
		for _, line := range strings.Split(string(raw), "\r\n") {
			if len(line) > 78 {
				t.Errorf("message %d: line of %d characters: %q", i, len(line), line)
			}
		}
	}
}

func TestCorpusDatesAscendToNewest(t *testing.T) {
	c := testCorpus()
	if got := c.date(999, 1000); !got.Equal(c.newest) {
		t.Errorf("date of the last message = %v, want %v", got, c.newest)
	}
	if got := c.date(0, 1000); !got.Equal(c.newest.Add(-999 * time.Minute)) {
		t.Errorf("date of the first message = %v, want 999 minutes before the newest", got)
	}
}

func TestExpectedHitsCounts(t *testing.T) {
	c := testCorpus()
	for _, tc := range []struct{ n, want int }{{0, 0}, {1, 1}, {100, 1}, {101, 2},
		{100000, 1000}} {
		if got := c.expectedHits(tc.n); got != tc.want {
			t.Errorf("expectedHits(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestMedianOddAndEven(t *testing.T) {
	ms := time.Millisecond
	if got := median([]time.Duration{3 * ms, 1 * ms, 2 * ms}); got != 2*ms {
		t.Errorf("median of 3, 1, 2 ms = %v, want 2ms", got)
	}
	if got := median([]time.Duration{4 * ms, 1 * ms, 2 * ms, 3 * ms}); got != 2500*time.Microsecond {
		t.Errorf("median of 4, 1, 2, 3 ms = %v, want 2.5ms", got)
	}
}
