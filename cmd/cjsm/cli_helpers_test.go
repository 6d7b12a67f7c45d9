package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestMain(m *testing.M) {
	defer testenv.Cleanup()
	m.Run()
}

// cli runs `cjsm admin --config FILE …` in-process against one store.
type cli struct {
	t   *testing.T
	dir string
	cfg string
	dsn string
}

// newCLI writes a configuration with the community suffix cjsm.test, every mail listener off
// (so no certificate is needed) and the store named by dsn, or SQLite in a temporary directory
// when dsn is empty.
func newCLI(t *testing.T, dsn string) *cli {
	t.Helper()
	t.Setenv("CJSM_STORE_DSN", "")
	dir := t.TempDir()
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(dir, "data", "cjsm.db")
	}
	text := `hostname = "mail1.cjsm.test"
community_suffix = "cjsm.test"
data_dir = "data"

[store]
dsn = "` + dsn + `"

[listen]
smtp = ""
submission = ""
submissions = ""
imaps = ""
pop3s = ""
http = ""
`
	cfg := filepath.Join(dir, "cjsm.toml")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, dir: dir, cfg: cfg, dsn: dsn}
}

// run runs `cjsm admin --config FILE args…` and returns its output and exit status.
func (c *cli) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"admin", "--config", c.cfg}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

// ok runs a command that must succeed and returns its standard output.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("cjsm admin %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "),
			code, out, errOut)
	}
	return out
}

// rejects runs a command that must exit with status 2 and print a message containing every
// part, and returns that message.
func (c *cli) rejects(args []string, parts ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 2 {
		c.t.Errorf("cjsm admin %s: exit %d, want 2\nstdout: %s\nstderr: %s",
			strings.Join(args, " "), code, out, errOut)
	}
	for _, p := range parts {
		if !strings.Contains(errOut, p) {
			c.t.Errorf("cjsm admin %s: message %q does not contain %q",
				strings.Join(args, " "), errOut, p)
		}
	}
	return errOut
}

// store opens the CLI's store for direct checks; it closes when the test ends.
func (c *cli) store() *store.Store {
	c.t.Helper()
	st, err := store.Open(context.Background(), c.resolvedDSN())
	if err != nil {
		c.t.Fatalf("open store: %v", err)
	}
	c.t.Cleanup(func() { st.Close() })
	return st
}

func (c *cli) resolvedDSN() string {
	if p, ok := strings.CutPrefix(c.dsn, "sqlite:"); ok && !filepath.IsAbs(p) {
		return "sqlite:" + filepath.Join(c.dir, p)
	}
	return c.dsn
}

// audit returns every audit row.
func (c *cli) audit() []store.AuditEntry {
	c.t.Helper()
	st := c.store()
	entries, err := st.AuditEntries(context.Background(), store.AuditFilter{})
	if err != nil {
		c.t.Fatalf("AuditEntries: %v", err)
	}
	st.Close()
	return entries
}

// contains fails the test unless the output of command contains every part.
func contains(t *testing.T, command, out string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(out, p) {
			t.Errorf("%s output does not contain %q:\n%s", command, p, out)
		}
	}
}
