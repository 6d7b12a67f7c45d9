package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// statLine returns a /proc/PID/stat line with the given name, parent and times; the other
// fields are zeros, which parseStat ignores.
func statLine(pid int, name string, ppid int, utime, stime, cutime, cstime int) string {
	// Fields 3 to 13 (state to cmajflt), then 14 to 17, then the rest up to 52.
	head := fmt.Sprintf("%d (%s) S %d 0 0 0 -1 0 0 0 0 0", pid, name, ppid)
	return head + fmt.Sprintf(" %d %d %d %d", utime, stime, cutime, cstime) +
		strings.Repeat(" 0", 35)
}

func TestParseStat(t *testing.T) {
	cases := []struct {
		name      string
		line      string
		wantPPID  int
		wantTicks int64
		wantErr   bool
	}{
		{"plain", statLine(10, "smtpd", 1, 5, 3, 2, 1), 1, 11, false},
		{"name with space", statLine(11, "tls mgr", 2, 1, 1, 0, 0), 2, 2, false},
		{"name with parentheses", statLine(12, "a) (b", 3, 7, 0, 0, 0), 3, 7, false},
		{"no parentheses", "12 smtpd S 1", 0, 0, true},
		{"too few fields", "12 (smtpd) S 1 0 0", 0, 0, true},
		{"parent not a number", strings.Replace(statLine(13, "x", 1, 0, 0, 0, 0), "S 1 ",
			"S one ", 1), 0, 0, true},
		{"time not a number", strings.Replace(statLine(14, "x", 1, 5, 0, 0, 0), " 5 0 0 0 ",
			" five 0 0 0 ", 1), 0, 0, true},
	}
	for _, c := range cases {
		s, err := parseStat(c.line)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: error = %v, want error: %v", c.name, err, c.wantErr)
			continue
		}
		if c.wantErr {
			continue
		}
		if s.ppid != c.wantPPID {
			t.Errorf("%s: ppid = %d, want %d", c.name, s.ppid, c.wantPPID)
		}
		if s.ticks != c.wantTicks {
			t.Errorf("%s: ticks = %d, want %d", c.name, s.ticks, c.wantTicks)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add(statLine(10, "smtpd", 1, 5, 3, 2, 1))
	f.Add("1 (x) S")
	f.Add(")")
	f.Fuzz(func(t *testing.T, line string) {
		s, err := parseStat(line)
		if err == nil && strings.LastIndexByte(line, ')') < 0 {
			t.Errorf("parseStat(%q) = %+v without a command name", line, s)
		}
	})
}

// writeProc writes a fake process into a proc directory.
func writeProc(t *testing.T, dir string, pid int, stat, status, smaps string) {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprint(pid))
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"stat": stat, "status": status,
		"smaps_rollup": smaps} {
		if text == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(p, name), []byte(text+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadTree(t *testing.T) {
	dir := t.TempDir()
	status := func(hwm, rss int) string {
		return fmt.Sprintf("Name:\tx\nVmHWM:\t%8d kB\nVmRSS:\t%8d kB\n", hwm, rss)
	}
	// 100 is the root; 101 and 102 its children; 103 a grandchild; 200 unrelated.
	writeProc(t, dir, 100, statLine(100, "master", 1, 10, 5, 30, 7), status(1000, 900),
		"Rss: 900 kB\nPss: 500 kB\n")
	writeProc(t, dir, 101, statLine(101, "smtpd", 100, 20, 4, 0, 0), status(2000, 1500),
		"Pss: 700 kB\n")
	writeProc(t, dir, 102, statLine(102, "qmgr", 100, 1, 1, 0, 0), status(300, 300), "")
	writeProc(t, dir, 103, statLine(103, "child", 101, 2, 0, 0, 0), status(50, 40),
		"Pss: 10 kB\n")
	writeProc(t, dir, 200, statLine(200, "other", 1, 999, 999, 0, 0), status(9999, 9999),
		"Pss: 9999 kB\n")
	// Entries that are not processes, or vanished, are skipped.
	if err := os.MkdirAll(filepath.Join(dir, "self-not-a-pid"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "300"), 0o755); err != nil {
		t.Fatal(err)
	}

	tr, err := readTree(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	if tr.procs != 4 {
		t.Errorf("procs = %d, want 4", tr.procs)
	}
	if want := int64(10 + 5 + 30 + 7 + 20 + 4 + 1 + 1 + 2); tr.ticks != want {
		t.Errorf("ticks = %d, want %d (the tree, with the root's reaped children)",
			tr.ticks, want)
	}
	if tr.hwmKB != 3350 || tr.rssKB != 2740 {
		t.Errorf("hwm_kb = %d, rss_kb = %d; want 3350 and 2740", tr.hwmKB, tr.rssKB)
	}
	if tr.pssKB != 1210 {
		t.Errorf("pss_kb = %d, want 1210", tr.pssKB)
	}
}

func TestReadTreeMissingRoot(t *testing.T) {
	dir := t.TempDir()
	writeProc(t, dir, 5, statLine(5, "x", 1, 0, 0, 0, 0), "", "")
	if _, err := readTree(dir, 6); err == nil {
		t.Error("readTree of a pid that does not exist returned no error")
	}
}
