package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpan(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"7d", 7 * 24 * time.Hour, ""},
		{" 90d ", 90 * 24 * time.Hour, ""},
		{"3650d", 3650 * 24 * time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"0d", 0, "not a number of days from 1 to 3650"},
		{"-1d", 0, "not a number of days"},
		{"3651d", 0, "not a number of days"},
		{"1.5d", 0, "not a number of days"},
		{"d", 0, "not a number of days"},
		{"", 0, "not a positive length of time"},
		{"0s", 0, "not a positive length of time"},
		{"-5h", 0, "not a positive length of time"},
		{"week", 0, "not a positive length of time"},
	}
	for _, c := range cases {
		got, err := parseSpan(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseSpan(%q) = %v, %v; want an error containing %q", c.in, got, err,
					c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseSpan(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseUntil(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2026-12-31", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"2026-12-31T17:00:00Z", time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC), false},
		{"2026-12-31T17:00:00+01:00", time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), false},
		{"31/12/2026", time.Time{}, true},
		{"2026-02-30", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, c := range cases {
		got, err := parseUntil(c.in)
		if c.err {
			if err == nil {
				t.Errorf("parseUntil(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseUntil(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"7d", "90d", "36h", "0d", "-1d", "99999999999999999999d", "1h30m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseSpan(s)
		if err == nil && d <= 0 {
			t.Errorf("parseSpan(%q) = %v without an error, want a positive span", s, d)
		}
	})
}

func FuzzParseUntil(f *testing.F) {
	for _, s := range []string{"2026-12-31", "2026-12-31T17:00:00Z", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseUntil(s)
		if err == nil && u.Location() != time.UTC {
			t.Errorf("parseUntil(%q) = %v, want a UTC time", s, u)
		}
	})
}
