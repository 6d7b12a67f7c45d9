package imapserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/imapserver"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/pki"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestMain(m *testing.M) {
	defer testenv.Cleanup()
	m.Run()
}

const (
	suffix   = "cjsm.test"
	password = "correct horse battery staple 7"
)

// harness is a running IMAP server over a fresh SQLite store, with a hosted organisation.
type harness struct {
	st       *store.Store
	blobs    *blob.Store
	svc      *mailbox.Service
	srv      *imapserver.Server
	org      store.Organisation
	tlsAddr  string // implicit TLS (993)
	plainAdr string // STARTTLS (143)
	caFile   string
	tlsConf  *tls.Config // client configuration trusting the test CA
	logs     *logBuffer  // the server's log, one JSON object a line
}

// logBuffer collects log output from the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the log records whose msg contains substr, decoded.
func (b *logBuffer) records(t *testing.T, substr string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(b.buf.String(), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if msg, _ := rec["msg"].(string); strings.Contains(msg, substr) {
			out = append(out, rec)
		}
	}
	return out
}

// dialTLS opens an implicit-TLS connection to the server and reads the greeting.
func (h *harness) dialTLS(t *testing.T) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := tls.Dial("tcp", h.tlsAddr, h.tlsConf)
	if err != nil {
		t.Fatalf("dial %s: %v", h.tlsAddr, err)
	}
	t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	greeting, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "* OK") {
		t.Fatalf("greeting = %q, %v; want * OK", greeting, err)
	}
	return conn, r
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "cjsm.db"))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	var logOut io.Writer = logs
	if testing.Verbose() {
		logOut = io.MultiWriter(logs, os.Stderr)
	}
	logger := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := &harness{st: st, blobs: blobs, logs: logs,
		svc: mailbox.New(st, blobs, mailbox.Config{}, logger)}

	ca, err := pki.NewCA("cjsm test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	h.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(h.caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	h.tlsConf = &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}

	signIn := identity.NewSignIn(st, suffix, 5, logger)
	h.srv = imapserver.New(imapserver.Config{
		TLS:       &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		SignIn:    signIn,
		Mailboxes: h.svc,
		Logger:    logger,
		IdlePoll:  200 * time.Millisecond,
	})
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.tlsAddr, h.plainAdr = tlsLn.Addr().String(), plainLn.Addr().String()
	go h.srv.ServeTLS(tlsLn)
	go h.srv.Serve(plainLn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
	})

	h.org = store.Organisation{Name: "Org One", Slug: "org1", Kind: store.KindHosted,
		Status: store.StatusActive}
	h.inTx(t, func(tx *store.Tx) error { return tx.CreateOrganisation(ctx, &h.org) })
	return h
}

func (h *harness) inTx(t *testing.T, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := h.st.InTx(context.Background(), fn); err != nil {
		t.Fatalf("transaction: %v", err)
	}
}

func (h *harness) port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// person creates an active person with the test password; the address is returned in
// Address.
func (h *harness) person(t *testing.T, local string) store.Person {
	t.Helper()
	hash, err := identity.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	addr := local + "@org1." + suffix
	p := store.Person{OrgID: h.org.ID, FirstName: "Test", LastName: local, Address: addr,
		AddressKey: addr, Status: store.StatusActive, Roles: store.RoleUser, PasswordHash: hash}
	h.inTx(t, func(tx *store.Tx) error { return tx.CreatePerson(context.Background(), &p) })
	return p
}

func (h *harness) group(t *testing.T, local string, members ...store.GroupMember) store.GroupMailbox {
	t.Helper()
	addr := local + "@org1." + suffix
	g := store.GroupMailbox{OrgID: h.org.ID, Name: local, Address: addr, AddressKey: addr}
	h.inTx(t, func(tx *store.Tx) error {
		if err := tx.CreateGroupMailbox(context.Background(), &g); err != nil {
			return err
		}
		for _, m := range members {
			m.GroupID = g.ID
			if err := tx.SetGroupMember(context.Background(), m); err != nil {
				return err
			}
		}
		return nil
	})
	return g
}

// deliver files raw into an INBOX as the SMTP queue does: blob, message row and
// Tx.AppendToMailbox in one transaction. It returns the folder id and UID.
func (h *harness) deliver(t *testing.T, kind string, ownerID int64, raw string) (int64, int64) {
	t.Helper()
	key, err := h.blobs.Put([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	var mbox, uid int64
	h.inTx(t, func(tx *store.Tx) error {
		msg := store.Message{QueueID: fmt.Sprintf("%x", time.Now().UnixNano()), Blob: key,
			Size: int64(len(raw))}
		if err := tx.CreateMessage(context.Background(), &msg); err != nil {
			return err
		}
		mbox, uid, err = tx.AppendToMailbox(context.Background(), kind, ownerID, "INBOX", msg.ID, "")
		return err
	})
	return mbox, uid
}

func (h *harness) setStatus(t *testing.T, p store.Person, status string) {
	t.Helper()
	p.Status = status
	h.inTx(t, func(tx *store.Tx) error { return tx.UpdatePerson(context.Background(), &p) })
}

// python runs an imaplib script with sys.argv[1:] = port, CA file, args..., and fails the
// test when it exits non-zero.
func (h *harness) python(t *testing.T, script string, args ...string) string {
	t.Helper()
	out, err := testenv.Python(t, pyPrelude+script,
		append([]string{h.port(h.tlsAddr), h.caFile}, args...)...)
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	return out
}

// pyPrelude defines connect(user) for the scripts: an IMAP4_SSL session that verifies the
// server certificate against the test CA and signs in.
const pyPrelude = `
import imaplib, ssl, sys, re, threading, time, socket
PORT, CAFILE = int(sys.argv[1]), sys.argv[2]
ARGS = sys.argv[3:]
PASSWORD = "` + password + `"
CTX = ssl.create_default_context(cafile=CAFILE)
def connect(user):
    m = imaplib.IMAP4_SSL("localhost", PORT, ssl_context=CTX, timeout=20)
    m.login(user, PASSWORD)
    return m
def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)
`

// control is a loopback socket that lets a Python script wait for the Go test: the script
// connects, writes a line, and blocks until the test's callback has run and the reply line
// arrives.
func control(t *testing.T, onLine func(line string)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			onLine(strings.TrimSpace(line))
			fmt.Fprintln(c, "go")
			c.Close()
		}
	}()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

const pyControl = `
def wait_for_test(port, msg):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    s.sendall((msg + "\n").encode())
    s.recv(16)
    s.close()
`

func sampleMessage(subject, body string) string {
	return "From: Alice Jones <alice@police.cjsm.test>\r\nTo: bob@org1.cjsm.test\r\n" +
		"Subject: " + subject + "\r\nDate: Mon, 02 Jun 2025 10:00:00 +0100\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@cjsm.test>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
}
