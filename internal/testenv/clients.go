package testenv

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// clientTimeout bounds one run of swaks or python3.
const clientTimeout = 60 * time.Second

// Swaks runs swaks with args and returns its combined output. err is non-nil
// when swaks exits non-zero, for example because the server rejected the
// message, or runs longer than a minute. swaks needs libnet-ssleay-perl and
// libio-socket-ssl-perl for --tls.
func Swaks(t testing.TB, args ...string) (output string, err error) {
	t.Helper()
	path := requireBinary(t, "swaks", "swaks")
	return runClient(path, args...)
}

// Python runs script with python3 -c, passing args as sys.argv[1:], and returns
// its combined output. err is non-nil when the script exits non-zero or runs
// longer than a minute.
func Python(t testing.TB, script string, args ...string) (output string, err error) {
	t.Helper()
	path := requireBinary(t, "python3", "python3")
	return runClient(path, append([]string{"-c", script}, args...)...)
}

func runClient(path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	// Without this, a child that keeps the output pipe open would hold Wait
	// past the timeout.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}
