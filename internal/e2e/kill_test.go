package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

// child is a node running in a separate process, so that it can be killed with SIGKILL.
type child struct {
	cmd *exec.Cmd
	log *os.File
}

func startChild(t *testing.T, cfgPath string, deliveryPort int, addr string) *child {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(cfgPath), "child.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CJSM_E2E_SERVE="+cfgPath,
		fmt.Sprintf("CJSM_E2E_DELIVERY_PORT=%d", deliveryPort))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, log: logf}
	t.Cleanup(func() { c.kill() })
	testenv.WaitPort(t, addr, 20*time.Second)
	return c
}

func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
	}
}

// childConfig rewrites a running env's configuration for a child on fixed ports, and stops
// the in-process node so that the child owns the store.
func childConfig(t *testing.T, e *env) (string, string) {
	t.Helper()
	b, err := os.ReadFile(e.cfg.Path)
	e.must(err)
	sub := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	text := strings.Replace(string(b), `submission = "127.0.0.1:0"`, `submission = "`+sub+`"`, 1)
	text = strings.Replace(text, `smtp = "127.0.0.1:0"`, `smtp = ""`, 1)
	text = strings.Replace(text, `submissions = "127.0.0.1:0"`, `submissions = ""`, 1)
	text = strings.Replace(text, `imaps = "127.0.0.1:0"`, `imaps = ""`, 1)
	text = strings.Replace(text, `pop3s = "127.0.0.1:0"`, `pop3s = ""`, 1)
	text = strings.Replace(text, `level = "debug"`, `level = "info"`, 1)
	path := filepath.Join(e.dir, "child.toml")
	e.must(os.WriteFile(path, []byte(text), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.must(e.node.Shutdown(ctx))
	return path, sub
}

func TestQueueSurvivesKill(t *testing.T) {
	sink, p := policeSink(t)
	// The fixture is created by an in-process node, which then hands the store to a child.
	e := start(t, options{ca: p.ca, dns: p.dns, mxPort: p.port})
	cfgPath, sub := childConfig(t, e)

	first := startChild(t, cfgPath, p.port, sub)
	const total = 500
	acked := burst(t, e, []string{sub}, total, 150, first.kill)
	if len(acked) < 150 || len(acked) >= total {
		t.Fatalf("%d of %d messages acknowledged; the kill should fall inside the burst", len(acked), total)
	}
	second := startChild(t, cfgPath, p.port, sub)
	got := waitArrivals(t, sink, acked, 90*time.Second)
	second.kill()

	missing, dupes := 0, 0
	for _, s := range acked {
		switch n := got[s]; {
		case n == 0:
			missing++
			t.Errorf("%s was acknowledged with 250 but never arrived", s)
		case n > 1:
			dupes += n - 1
		}
	}
	t.Logf("acknowledged %d of %d; after SIGKILL and restart: %d missing, %d duplicate deliveries, %d arrivals in all",
		len(acked), total, missing, dupes, len(sink.Messages()))

	// The store opens and every row's blob is whole.
	cfg, err := config.Load(cfgPath)
	e.must(err)
	st, err := store.Open(context.Background(), cfg.Store.DSN)
	e.must(err)
	defer st.Close()
	refs, err := st.BlobReferences(context.Background())
	e.must(err)
	blobs, err := blob.Open(filepath.Join(cfg.DataDir, "blobs"))
	e.must(err)
	rep, err := blobs.Check(refs, true)
	e.must(err)
	if len(rep.Missing) > 0 || len(rep.Corrupt) > 0 {
		t.Errorf("after SIGKILL: %d rows refer to missing blobs and %d blobs are corrupt", len(rep.Missing), len(rep.Corrupt))
	}
	if rep.Referenced < len(acked) {
		t.Errorf("store refers to %d blobs, fewer than the %d acknowledged messages", rep.Referenced, len(acked))
	}
}

func TestTwoNodesOnPostgresDeliverExactlyOnce(t *testing.T) {
	dsn := testenv.PostgreSQL(t)
	sink, p := policeSink(t)
	shared := t.TempDir()
	a := start(t, options{dsn: dsn, dataDir: shared, ca: p.ca, dns: p.dns, mxPort: p.port})
	b := start(t, options{dsn: dsn, dataDir: shared, ca: p.ca, dns: p.dns, mxPort: p.port, noCommon: true})
	const total = 200
	acked := burst(t, a, []string{a.addr("submission"), b.addr("submission")}, total, 0, nil)
	if len(acked) != total {
		t.Fatalf("%d of %d messages acknowledged", len(acked), total)
	}
	waitArrivals(t, sink, acked, 60*time.Second)
	time.Sleep(time.Second) // let any duplicate delivery land before counting
	got := arrivals(sink)
	for _, s := range acked {
		if got[s] != 1 {
			t.Errorf("%s arrived %d times, want exactly once", s, got[s])
		}
	}
	t.Logf("%d messages delivered once each through two nodes sharing one PostgreSQL queue", len(acked))
}
