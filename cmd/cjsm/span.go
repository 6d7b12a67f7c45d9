package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxSpanDays bounds a span given in days, far beyond any grant or review period, so that
// the conversion to time.Duration cannot overflow.
const maxSpanDays = 3650

// parseSpan parses a positive length of time given as whole days ("7d", "90d") or in Go's
// duration syntax ("36h", "90m").
func parseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > maxSpanDays {
			return 0, fmt.Errorf("%q is not a number of days from 1 to %d, such as 7d", s,
				maxSpanDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive length of time; use days such as 7d, "+
			"or hours such as 36h", s)
	}
	return d, nil
}

// parseUntil parses an expiry given as a date ("2026-12-31"), which means the end of that
// day in UTC, or as an RFC 3339 time ("2026-12-31T17:00:00Z").
func parseUntil(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date such as 2026-12-31 or a time such "+
			"as 2026-12-31T17:00:00Z", s)
	}
	return t.UTC(), nil
}
