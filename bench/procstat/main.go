// Command procstat prints the CPU time and memory of a process and every process below it,
// read from /proc, as one line of key=value pairs:
//
//	procstat -pid 1234
//	ticks=5210 cpu_s=52.10 procs=14 hwm_kb=81234 rss_kb=60211 pss_kb=30122
//
// ticks is the sum of utime, stime, cutime and cstime of every live process in the tree, in
// clock ticks (USER_HZ, 100 a second on Linux). A process that has exited and been reaped
// is counted in its parent's cutime and cstime, so the difference between two readings is
// the CPU time the tree used in between, including processes that came and went.
//
// hwm_kb is the sum of the peak resident set sizes (VmHWM) of the live processes. It
// overstates the peak of a tree whose processes share pages or peaked at different times.
// pss_kb is the sum of their current proportional set sizes (Pss), which count shared
// pages once.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userHZ is the unit of the times in /proc/PID/stat. Linux fixes it at 100 for user space
// on every architecture the benchmark runs on.
const userHZ = 100

func main() {
	fs := flag.NewFlagSet("procstat", flag.ContinueOnError)
	pid := fs.Int("pid", 0, "root process of the tree; required")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if *pid <= 0 {
		fmt.Fprintln(os.Stderr, "procstat: -pid is required")
		os.Exit(2)
	}
	t, err := readTree("/proc", *pid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procstat: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("ticks=%d cpu_s=%.2f procs=%d hwm_kb=%d rss_kb=%d pss_kb=%d\n", t.ticks,
		float64(t.ticks)/userHZ, t.procs, t.hwmKB, t.rssKB, t.pssKB)
}

// tree is the sums over one process tree.
type tree struct {
	ticks               int64
	procs               int
	hwmKB, rssKB, pssKB int64
}

// stat is the part of one /proc/PID/stat line that procstat uses.
type stat struct {
	ppid  int
	ticks int64 // utime + stime + cutime + cstime
}

// parseStat reads a /proc/PID/stat line (proc(5)). The command name in field 2 is in
// parentheses and may itself contain spaces and parentheses, so the fields after it are
// found from the last ")".
func parseStat(line string) (stat, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return stat{}, fmt.Errorf("stat line %q has no command name in parentheses", line)
	}
	// After the name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	fields := strings.Fields(line[end+1:])
	if len(fields) < 15 {
		return stat{}, fmt.Errorf("stat line %q has %d fields after the command name, "+
			"expected at least 15", line, len(fields))
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return stat{}, fmt.Errorf("stat line %q: parent pid %q: %w", line, fields[1], err)
	}
	var s stat
	s.ppid = ppid
	for _, f := range fields[11:15] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return stat{}, fmt.Errorf("stat line %q: time %q: %w", line, f, err)
		}
		s.ticks += n
	}
	return s, nil
}

// readTree sums the tree below root from the proc file system mounted at procDir. Processes
// that exit while it reads are skipped.
func readTree(procDir string, root int) (tree, error) {
	stats := map[int]stat{}
	children := map[int][]int{}
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return tree{}, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "stat"))
		if err != nil {
			continue // exited
		}
		s, err := parseStat(strings.TrimSpace(string(b)))
		if err != nil {
			return tree{}, err
		}
		stats[pid] = s
		children[s.ppid] = append(children[s.ppid], pid)
	}
	if _, ok := stats[root]; !ok {
		return tree{}, fmt.Errorf("process %d not found in %s", root, procDir)
	}

	var t tree
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = append(queue[1:], children[pid]...)
		t.ticks += stats[pid].ticks
		t.procs++
		dir := filepath.Join(procDir, strconv.Itoa(pid))
		status := readKB(filepath.Join(dir, "status"), "VmHWM:", "VmRSS:")
		t.hwmKB += status["VmHWM:"]
		t.rssKB += status["VmRSS:"]
		t.pssKB += readKB(filepath.Join(dir, "smaps_rollup"), "Pss:")["Pss:"]
	}
	return t, nil
}

// readKB returns the values in kB of the named lines of a /proc file such as status
// ("VmHWM:     1234 kB"). A missing file or line gives no entry.
func readKB(path string, keys ...string) map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		for _, k := range keys {
			if fields[0] == k {
				if n, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
					out[k] = n
				}
			}
		}
	}
	return out
}
