// Package testenv starts real peers on 127.0.0.1 for tests in other packages:
// PostgreSQL, Postfix, a recording SMTP sink, an authoritative DNS server, and the
// swaks and python3 clients.
//
// Every helper registers its own teardown with t.Cleanup. A helper whose program is
// not installed skips the test, naming the Debian package to install, unless the
// environment variable CJSM_REQUIRE_PEERS is "1" (as in CI), in which case the test
// fails instead.
//
// PostgreSQL is started once per test binary and shared, so a package that uses it
// should stop it when its tests end:
//
//	func TestMain(m *testing.M) {
//		defer testenv.Cleanup()
//		m.Run()
//	}
//
// Servers that run as child processes (PostgreSQL, Postfix) also receive a signal
// from the kernel when the test binary dies without running cleanups, for example
// on a test timeout. The next test binary that starts one of them removes the
// directories they leave.
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequirePeersEnv is the environment variable that, set to "1", turns a missing
// peer from a skipped test into a failed one.
const RequirePeersEnv = "CJSM_REQUIRE_PEERS"

// tempPrefix starts the name of every directory testenv creates under
// os.TempDir(). The creating process id follows it, so that a later run can
// remove directories whose creator has died.
const tempPrefix = "cjsm-testenv-"

// missing skips t because a peer cannot run here, or fails it when
// CJSM_REQUIRE_PEERS=1.
func missing(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(RequirePeersEnv) == "1" {
		t.Fatalf("testenv: %s (%s=1 makes this a failure instead of a skip)",
			reason, RequirePeersEnv)
	}
	t.Skipf("testenv: %s", reason)
}

// lookBinary finds a program in PATH or in the extra directories, in that order.
// When it is not found it returns a reason naming the Debian package to install.
func lookBinary(name, debianPackage string, extraDirs ...string) (path, reason string) {
	if path, err := exec.LookPath(name); err == nil {
		return path, ""
	}
	for _, dir := range extraDirs {
		candidate := filepath.Join(dir, name)
		if info, err := os.Stat(candidate); err == nil && info.Mode()&0o111 != 0 {
			return candidate, ""
		}
	}
	return "", fmt.Sprintf("%s not found in PATH; install the Debian package %s",
		name, debianPackage)
}

// requireBinary returns the path of a program, or skips or fails t (see
// missing) when it is not installed.
func requireBinary(t testing.TB, name, debianPackage string, extraDirs ...string) string {
	t.Helper()
	path, reason := lookBinary(name, debianPackage, extraDirs...)
	if reason != "" {
		missing(t, reason)
	}
	return path
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it, which is rare enough on a test
// machine that the helpers here only retry where a server reports the clash.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitPort waits until a TCP connection to addr succeeds, and fails t when none
// does within timeout.
func WaitPort(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	if err := waitPort(addr, timeout, nil); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// waitPort polls addr every 20 ms. It gives up early when exited is closed,
// which lets a caller stop waiting for a server process that has died.
func waitPort(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s accepted no connection within %v: %w", addr, timeout, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("the server for %s exited before it accepted connections", addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

var (
	cleanupMu    sync.Mutex
	cleanupFuncs []func()
)

// atCleanup registers f to run in Cleanup, for resources shared by the whole
// test binary.
func atCleanup(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanupFuncs = append(cleanupFuncs, f)
}

// Cleanup stops the servers that testenv shares across the tests of one binary
// (the PostgreSQL cluster) and removes their files. Call it from TestMain after
// m.Run. It is safe to call when nothing was started, and more than once.
func Cleanup() {
	cleanupMu.Lock()
	funcs := cleanupFuncs
	cleanupFuncs = nil
	cleanupMu.Unlock()

	for i := len(funcs) - 1; i >= 0; i-- {
		funcs[i]()
	}
}

// makeTempDir creates a directory under os.TempDir() named after kind and this
// process id, after removing those left by test binaries that died.
func makeTempDir(kind string) (string, error) {
	removeStaleDirs()
	return os.MkdirTemp("", tempPrefix+kind+"-"+strconv.Itoa(os.Getpid())+"-*")
}

// removeStaleDirs removes the directories named tempPrefix+KIND-PID-* whose
// process no longer exists. Their servers died with that process, because
// startDaemon has the kernel signal them when it exits.
func removeStaleDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, dir := range matches {
		fields := strings.Split(strings.TrimPrefix(filepath.Base(dir), tempPrefix), "-")
		if len(fields) < 3 {
			continue
		}
		pid, err := strconv.Atoi(fields[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		_, err = os.Stat(filepath.Join("/proc", fields[1]))
		if errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(dir)
		}
	}
}

// lookupCredential returns the user and group ids of a system user, with no
// supplementary groups.
func lookupCredential(userName string) (*syscall.Credential, error) {
	u, err := user.Lookup(userName)
	if err != nil {
		return nil, fmt.Errorf("look up the %s user, which its Debian package creates: %w",
			userName, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s has a non-numeric uid %q", userName, u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s has a non-numeric gid %q", userName, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// daemon is a server running as a child process of the test binary.
type daemon struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	waitErr error         // the result of cmd.Wait, set before exited is closed
}

// startDaemon starts cmd and has the kernel send it deathSignal when the test
// binary exits, so that a test binary killed on timeout leaves no server behind.
// Linux clears that setting when the process changes its effective user id, so
// such a server needs a wrapper that keeps it (see masterWrapper). cmd.Stdout and
// cmd.Stderr should be files, or nil, so that Wait returns as soon as the process
// exits.
func startDaemon(cmd *exec.Cmd, deathSignal syscall.Signal) (*daemon, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = deathSignal

	d := &daemon{cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Linux sends the parent-death signal when the thread that forked the child
		// exits, not the process. Go may end a thread whose goroutine exits while
		// locked to it, so this goroutine keeps its own thread until the child ends.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()

		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.waitErr = cmd.Wait()
		close(d.exited)
	}()

	if err := <-started; err != nil {
		return nil, err
	}
	return d, nil
}

// stop sends sig, waits up to grace for the process to exit, then kills it.
func (d *daemon) stop(sig syscall.Signal, grace time.Duration) {
	d.cmd.Process.Signal(sig)
	select {
	case <-d.exited:
		return
	case <-time.After(grace):
	}
	d.cmd.Process.Kill()
	<-d.exited
}

// alive reports whether the process is still running.
func (d *daemon) alive() bool {
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// tail returns the last n lines of a file, for error messages about a server
// that failed to start. It returns "" when the file cannot be read.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logStart records how long a peer took to start, in the test's log.
func logStart(t testing.TB, peer string, began time.Time) {
	t.Helper()
	t.Logf("testenv: %s ready in %v", peer, time.Since(began).Round(100*time.Microsecond))
}

// testLogger sends a server's error log to the test log until close, after
// which logging would panic because the test has ended.
type testLogger struct {
	t      testing.TB
	mu     sync.Mutex
	closed bool
}

func newTestLogger(t testing.TB) *testLogger {
	return &testLogger{t: t}
}

func (l *testLogger) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Logf(format, v...)
	}
}

func (l *testLogger) Println(v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Log(v...)
	}
}

func (l *testLogger) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
}
