package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/node"
	"github.com/cjsm/cjsm/internal/pki"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv("CJSM_E2E_SERVE"); cfg != "" {
		serveChild(cfg)
		return
	}
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

const suffix = "cjsm.test"

// password is the password of every person the fixture creates.
const password = "correct horse battery staple"

// env is one running node with its community and peers.
type env struct {
	t      *testing.T
	dir    string
	ca     *pki.CA
	caFile string
	cfg    config.Config
	node   *node.Node
	dns    *testenv.DNSServer
	dirSvc *directory.Service
}

type options struct {
	dsn        string        // store DSN; empty uses SQLite in the test's directory
	dataDir    string        // shared data directory, for two nodes on one store
	expire     time.Duration // queue.expire; default 5d
	delay      time.Duration // queue.delay_notice; default expire/2
	retry      time.Duration // queue.retry_initial; default 1s
	mxPort     int           // port of every delivery destination
	dns        *testenv.DNSServer
	ca         *pki.CA
	noCommon   bool   // skip the common community fixture (a second node on one store)
	postmaster string // the postmaster option
	// prepare, when not nil, changes the node between Open and Start, as `cjsm serve`'s
	// prepare hook does.
	prepare func(*node.Node)
}

// start runs a node with the common community: hosted organisation "Medway Victim Support"
// (alice.adams, bob.brown), gateway "Harbour Law" (harbourlaw.test, connector route given by
// the test), trusted domain police.test, a group mailbox and a list.
func start(t *testing.T, o options) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), ca: o.ca, dns: o.dns}
	if e.ca == nil {
		var err error
		if e.ca, err = pki.NewCA("cjsm e2e CA", 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if e.dns == nil {
		e.dns = testenv.DNS(t)
	}
	e.caFile = filepath.Join(e.dir, "ca.pem")
	if err := os.WriteFile(e.caFile, e.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.ca.IssueFiles([]string{"localhost", "mail.cjsm.test", "127.0.0.1"}, 24*time.Hour,
		filepath.Join(e.dir, "cert.pem"), filepath.Join(e.dir, "key.pem")); err != nil {
		t.Fatal(err)
	}
	dataDir := o.dataDir
	if dataDir == "" {
		dataDir = filepath.Join(e.dir, "data")
	}
	expire, retry := o.expire, o.retry
	if expire == 0 {
		expire = 5 * 24 * time.Hour
	}
	if retry == 0 {
		retry = time.Second
	}
	delay := o.delay
	if delay == 0 {
		delay = expire / 2
	}
	text := fmt.Sprintf(`hostname = "mail.cjsm.test"
node_id = %q
postmaster = %q
community_suffix = %q
data_dir = %q
[store]
dsn = %q
[tls]
cert_file = "cert.pem"
key_file = "key.pem"
client_ca_file = "ca.pem"
root_ca_file = "ca.pem"
[listen]
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
submissions = "127.0.0.1:0"
imaps = "127.0.0.1:0"
pop3s = "127.0.0.1:0"
http = "127.0.0.1:0"
[dns]
resolver = %q
[queue]
retry_initial = %q
retry_max = %q
expire = %q
delay_notice = %q
poll_interval = "100ms"
[log]
format = "text"
level = "debug"
`, filepath.Base(e.dir), o.postmaster, suffix, dataDir, o.dsn, e.dns.Addr(), retry.String(), (4 * retry).String(), expire.String(), delay.String())
	cfgPath := filepath.Join(e.dir, "cjsm.toml")
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	logger := slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	n, err := node.Open(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	n.DeliveryPort = o.mxPort
	e.node = n
	e.dirSvc = n.Directory
	if !o.noCommon {
		e.community()
	}
	if o.prepare != nil {
		o.prepare(n)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := n.Shutdown(sctx); err != nil {
			t.Logf("node shutdown: %v", err)
		}
	})
	return e
}

// serveChild runs a node from the configuration file at path until SIGTERM, with the same
// Wait and Shutdown steps as `cjsm serve`, or until the process is killed. Tests that kill or
// stop a node re-execute the test binary with CJSM_E2E_SERVE set.
func serveChild(path string) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	n, err := node.Open(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Sscan(os.Getenv("CJSM_E2E_DELIVERY_PORT"), &n.DeliveryPort)
	for name, d := range map[string]*time.Duration{"CJSM_E2E_POP3_LOCK_LEASE": &n.POP3LockLease,
		"CJSM_E2E_POP3_LOCK_RENEW": &n.POP3LockRenew} {
		if v := os.Getenv(name); v != "" {
			if *d, err = time.ParseDuration(v); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
				os.Exit(2)
			}
		}
	}
	if err := n.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sigCtx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	if err := n.Wait(sigCtx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sctx, cancel := context.WithTimeout(ctx, node.ShutdownGrace())
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "shutdown:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "node stopped")
	os.Exit(0)
}

// testWriter sends log lines to t.Log until the test ends.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // t.Log after the test ended panics
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var operator = directory.Actor{Name: "operator:test", Source: "test"}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) community() {
	ctx := context.Background()
	d := e.dirSvc
	_, err := d.CreateOrganisation(ctx, operator, directory.OrgInput{Name: "Medway Victim Support",
		Slug: "mvs", Kind: "hosted", Status: "active"})
	e.must(err)
	for _, p := range [][2]string{{"Alice", "Adams"}, {"Bob", "Brown"}, {"Carol", "Clark"}} {
		_, err := d.CreatePerson(ctx, operator, directory.PersonInput{Org: "mvs", FirstName: p[0],
			LastName: p[1], Password: password})
		e.must(err)
	}
	_, err = d.CreateOrganisation(ctx, operator, directory.OrgInput{Name: "Harbour Law",
		Slug: "harbour-law", Kind: "gateway", Status: "active"})
	e.must(err)
	_, err = d.AddDomain(ctx, operator, "harbour-law", "harbourlaw.test")
	e.must(err)
	_, err = d.MarkDomainVerified(ctx, operator, "harbourlaw.test", "verified")
	e.must(err)
	_, err = d.CreatePerson(ctx, operator, directory.PersonInput{Org: "harbour-law", FirstName: "Dan",
		LastName: "Dyer", Address: "dan.dyer@harbourlaw.test", Password: password})
	e.must(err)
	_, err = d.CreateTrustedDomain(ctx, operator, directory.TrustedInput{Name: "police.test",
		TLSPolicy: "mx", SourceCertNames: "mx.police.test"})
	e.must(err)
	g, err := d.CreateGroupMailbox(ctx, operator, "mvs", "Caseworkers", "caseworkers")
	e.must(err)
	e.must(d.SetGroupMember(ctx, operator, g.Address, "alice.adams@mvs."+suffix, true, true, true))
	l, err := d.CreateList(ctx, operator, "mvs", "All staff", "all-staff")
	e.must(err)
	inner, err := d.CreateList(ctx, operator, "mvs", "Inner", "inner")
	e.must(err)
	e.must(d.AddListMember(ctx, operator, l.Address, "alice.adams@mvs."+suffix))
	e.must(d.AddListMember(ctx, operator, l.Address, "bob.brown@mvs."+suffix))
	e.must(d.AddListMember(ctx, operator, l.Address, inner.Address))
	e.must(d.AddListMember(ctx, operator, inner.Address, "bob.brown@mvs."+suffix))
	e.must(d.AddListMember(ctx, operator, inner.Address, l.Address))
}

// connector points the gateway organisation's connector at addr.
func (e *env) connector(host string, port int) {
	_, err := e.dirSvc.CreateConnector(context.Background(), operator, directory.ConnectorInput{
		Org: "harbour-law", Name: "harbour-law", OutboundHost: host, OutboundPort: port,
		InboundNetworks: "192.0.2.0/24"})
	e.must(err)
}

func (e *env) addr(name string) string { return e.node.Addrs()[name] }

// inbox returns the raw messages in a person's INBOX, in UID order.
func (e *env) inbox(addr string) [][]byte {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.dirSvc.Person(ctx, addr)
	e.must(err)
	return e.mailbox(store.OwnerPerson, p.ID)
}

func (e *env) mailbox(kind string, id int64) [][]byte {
	e.t.Helper()
	msgs, err := e.node.Store.MailboxMessages(context.Background(), kind, id, "INBOX")
	e.must(err)
	var out [][]byte
	for _, m := range msgs {
		b, err := e.node.Blobs.Get(m.Blob)
		e.must(err)
		out = append(out, b)
	}
	return out
}

// waitInbox waits until addr's INBOX holds n messages.
func (e *env) waitInbox(addr string, n int, timeout time.Duration) [][]byte {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := e.inbox(addr)
		if len(msgs) >= n || time.Now().After(deadline) {
			return msgs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// events returns the tracking events of kind for queueID.
func (e *env) events(queueID, kind string) []store.Event {
	evs, err := e.node.Store.Events(context.Background(), store.EventFilter{QueueID: queueID})
	e.must(err)
	var out []store.Event
	for _, ev := range evs {
		if kind == "" || ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// clientTLS trusts the test CA.
func (e *env) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: e.ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

// waitEvents waits up to 10 s for n events of kind for queueID.
func (e *env) waitEvents(queueID, kind string, n int) []store.Event {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := e.events(queueID, kind)
		if len(evs) >= n || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(50 * time.Millisecond)
	}
}
