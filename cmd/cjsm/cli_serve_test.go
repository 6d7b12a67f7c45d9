package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/testenv"
)

// An invalid configuration stops serve before it opens the store or binds a port, and every
// problem is printed at once.
func TestServeRejectsInvalidConfigBeforeListening(t *testing.T) {
	t.Setenv("CJSM_STORE_DSN", "")
	dir := t.TempDir()
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	text := `hostname = "mail1.cjsm.test"
community_suffix = "cjsm.test"
data_dir = "data"
colour = "blue"

[tls]
cert_file = "missing-cert.pem"
key_file = "missing-key.pem"

[listen]
smtp = "` + smtpAddr + `"
submission = ""
submissions = ""
imaps = ""
pop3s = ""
http = "` + httpAddr + `"

[queue]
expire = "5x"

[log]
level = "loud"
`
	path := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"serve", "--config", path}, &out, &errOut)
	if code != 2 {
		t.Fatalf("serve exited %d, want 2\nstderr: %s", code, errOut.String())
	}
	msg := errOut.String()
	for _, want := range []string{path, "(5 problems)", `unknown option "colour"`,
		`tls.cert_file "` + filepath.Join(dir, "missing-cert.pem") + `" cannot be read`,
		`tls.key_file "` + filepath.Join(dir, "missing-key.pem") + `" cannot be read`,
		`queue.expire "5x" is invalid`, `log.level "loud" is invalid`} {
		if !strings.Contains(msg, want) {
			t.Errorf("serve output does not contain %q:\n%s", want, msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Errorf("serve created the data directory before rejecting the configuration")
	}
	for _, addr := range []string{smtpAddr, httpAddr} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s is still bound after serve returned: %v", addr, err)
			continue
		}
		l.Close()
	}
}

func TestServeCheckAcceptsValidConfig(t *testing.T) {
	c := newCLI(t, "")
	var out, errOut bytes.Buffer
	code := run([]string{"serve", "--check", "--config", c.cfg}, &out, &errOut)
	if code != 0 {
		t.Fatalf("serve --check exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "configuration "+c.cfg+" is valid") {
		t.Errorf("serve --check printed %q", out.String())
	}
}

func TestConfigReferenceCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"config", "reference"}, &out, &errOut); code != 0 {
		t.Fatalf("config reference exited %d: %s", code, errOut.String())
	}
	if out.String() != config.Reference() {
		t.Errorf("cjsm config reference differs from config.Reference()")
	}
	errOut.Reset()
	if code := run([]string{"config", "print"}, &out, &errOut); code != 2 {
		t.Errorf("config print exited %d, want 2", code)
	}
}
