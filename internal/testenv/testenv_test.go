package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recordingTB records Skipf and Fatalf calls instead of ending the test, so that
// the skip-or-fail decision can be checked. Like the real ones, both calls stop
// the caller, here by a panic that callRecording recovers.
type recordingTB struct {
	testing.TB
	skipped string
	fatal   string
}

type stopCaller struct{}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	panic(stopCaller{})
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(stopCaller{})
}

// callRecording runs f with a recordingTB and returns what it recorded.
func callRecording(t *testing.T, f func(testing.TB)) *recordingTB {
	rec := &recordingTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != (stopCaller{}) {
				panic(r)
			}
		}()
		f(rec)
	}()
	return rec
}

func TestMissingBinarySkipsByDefault(t *testing.T) {
	t.Setenv(RequirePeersEnv, "")
	rec := callRecording(t, func(tb testing.TB) {
		requireBinary(tb, "cjsm-no-such-program", "cjsm-no-such-package")
	})

	if rec.fatal != "" {
		t.Errorf("test failed with %q, want a skip", rec.fatal)
	}
	if !strings.Contains(rec.skipped, "cjsm-no-such-package") {
		t.Errorf("skip reason %q does not name the package to install", rec.skipped)
	}
}

func TestMissingBinaryFailsWhenPeersRequired(t *testing.T) {
	t.Setenv(RequirePeersEnv, "1")
	rec := callRecording(t, func(tb testing.TB) {
		requireBinary(tb, "cjsm-no-such-program", "cjsm-no-such-package")
	})

	if rec.skipped != "" {
		t.Errorf("test skipped with %q, want a failure", rec.skipped)
	}
	if !strings.Contains(rec.fatal, "cjsm-no-such-package") {
		t.Errorf("failure %q does not name the package to install", rec.fatal)
	}
}

func TestLookBinaryFindsExtraDirectory(t *testing.T) {
	dir := t.TempDir()
	program := filepath.Join(dir, "cjsm-extra-program")
	if err := os.WriteFile(program, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	path, reason := lookBinary("cjsm-extra-program", "pkg", dir)
	if reason != "" {
		t.Fatalf("lookBinary: %s", reason)
	}
	if path != program {
		t.Errorf("path = %q, want %q", path, program)
	}
}

func TestFreePortCanBeBound(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("bind free port %d: %v", port, err)
	}
	l.Close()
}

func TestWaitPortSeesListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	WaitPort(t, l.Addr().String(), time.Second)
}

func TestWaitPortTimesOutOnClosedPort(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	began := time.Now()

	err := waitPort(addr, 200*time.Millisecond, nil)
	if err == nil {
		t.Fatal("waitPort succeeded on a port nobody listens on")
	}
	if elapsed := time.Since(began); elapsed < 200*time.Millisecond {
		t.Errorf("waitPort gave up after %v, before its 200ms timeout", elapsed)
	}
}

func TestWaitPortStopsWhenServerExits(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	exited := make(chan struct{})
	close(exited)

	err := waitPort(addr, time.Minute, exited)
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("waitPort = %v, want an error saying the server exited", err)
	}
}

func TestRemoveStaleDirsKeepsLiveProcesses(t *testing.T) {
	// PID 2^22+1 is above Linux's largest pid_max, so no process has it.
	dead := filepath.Join(os.TempDir(), tempPrefix+"selftest-4194305-x")
	live := filepath.Join(os.TempDir(), tempPrefix+"selftest-"+strconv.Itoa(os.Getppid())+"-x")
	for _, dir := range []string{dead, live} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}

	removeStaleDirs()

	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("directory of a dead process still exists (stat: %v)", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("directory of a live process was removed: %v", err)
	}
}
