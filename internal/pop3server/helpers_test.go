package pop3server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/pki"
)

const (
	testHostname = "pop.cjsm.test"
	testUser     = "jane.smith@cps.cjsm.test"
	testPassword = "correct horse battery staple"
)

// testPKI is a CA and a server certificate for localhost and 127.0.0.1, shared by
// every test.
var testPKI = sync.OnceValues(func() (*pki.CA, tls.Certificate) {
	ca, err := pki.NewCA("cjsm pop3server test CA", 24*time.Hour)
	if err != nil {
		panic(err)
	}
	certPEM, keyPEM, err := ca.Issue([]string{"localhost", "127.0.0.1"}, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		panic(err)
	}
	return ca, cert
})

func serverTLSConfig() *tls.Config {
	_, cert := testPKI()
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

func clientTLSConfig() *tls.Config {
	ca, _ := testPKI()
	return &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
}

// caFile writes the CA certificate to a file for python3 and curl.
func caFile(t *testing.T) string {
	t.Helper()
	ca, _ := testPKI()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Sample messages, stored with CRLF line ends.
const (
	msgDots = "From: alice@police.cjsm.test\r\nTo: jane.smith@cps.cjsm.test\r\n" +
		"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n"
	msgPlain = "From: bob@court.cjsm.test\r\nSubject: hearing\r\n\r\n" +
		"Line 1\r\nLine 2\r\nLine 3\r\nLine 4\r\nLine 5\r\n"
	msgUTF8 = "From: carol@probation.cjsm.test\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"Caf\u00e9 au lait \u2014 \u00a3 sign\r\n. \r\n"
)

// memMessage is a message stored by memBackend.
type memMessage struct {
	uid  string
	data string
	// failAfter, when positive, makes reads fail after that many octets.
	failAfter int
}

// memAccount is one user of memBackend.
type memAccount struct {
	password  string
	disabled  bool
	throttled bool
	messages  []memMessage

	listErr   error
	openErr   error
	deleteErr error
	// closeDelay makes Close wait before it unlocks, as a lock in a remote store does.
	closeDelay time.Duration

	locked      bool
	deleteCalls [][]string
	closeCalls  int
}

// memBackend is an in-memory Backend. Tests set accounts up before the server
// starts and read them through its methods afterwards.
type memBackend struct {
	mu       sync.Mutex
	accounts map[string]*memAccount
	authErr  error         // returned for every sign-in when set
	authGate chan struct{} // when set, Authenticate waits for it or for ctx
	authCtx  chan context.Context
}

func newMemBackend() *memBackend {
	return &memBackend{accounts: map[string]*memAccount{
		testUser: {password: testPassword, messages: []memMessage{
			{uid: "uid-dots-1", data: msgDots},
			{uid: "uid-plain-2", data: msgPlain},
			{uid: "uid-utf8-3", data: msgUTF8},
		}},
	}}
}

func (b *memBackend) Authenticate(ctx context.Context, username, password,
	remoteIP string) (Maildrop, error) {

	if b.authGate != nil {
		if b.authCtx != nil {
			b.authCtx <- ctx
		}
		select {
		case <-b.authGate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if ConnID(ctx) == "" {
		return nil, errors.New("memBackend: context has no connection id")
	}
	if remoteIP != "127.0.0.1" {
		return nil, errors.New("memBackend: remote IP " + remoteIP + ", want 127.0.0.1")
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.authErr != nil {
		return nil, b.authErr
	}
	a := b.accounts[username]
	switch {
	case a != nil && a.throttled:
		return nil, ErrThrottled
	case a == nil || a.password != password:
		return nil, ErrBadCredentials
	case a.disabled:
		return nil, ErrDisabled
	case a.locked:
		return nil, ErrLocked
	}
	a.locked = true
	return &memDrop{b: b, a: a}, nil
}

// snapshot returns a copy of the account's state for checks.
func (b *memBackend) snapshot(user string) memAccount {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := *b.accounts[user]
	a.messages = append([]memMessage(nil), a.messages...)
	a.deleteCalls = append([][]string(nil), a.deleteCalls...)
	return a
}

// waitUnlocked waits until the session holding user's maildrop has released it.
func (b *memBackend) waitUnlocked(t *testing.T, user string) memAccount {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := b.snapshot(user)
		if !a.locked {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("maildrop of %s still locked after 5 s", user)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type memDrop struct {
	b *memBackend
	a *memAccount
}

func (d *memDrop) Messages(ctx context.Context) ([]Message, error) {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	if d.a.listErr != nil {
		return nil, d.a.listErr
	}
	var list []Message
	for _, m := range d.a.messages {
		list = append(list, Message{UID: m.uid, Size: int64(len(m.data))})
	}
	return list, nil
}

func (d *memDrop) Open(ctx context.Context, uid string) (io.ReadCloser, error) {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	if d.a.openErr != nil {
		return nil, d.a.openErr
	}
	for _, m := range d.a.messages {
		if m.uid == uid {
			var r io.Reader = strings.NewReader(m.data)
			if m.failAfter > 0 {
				r = io.MultiReader(io.LimitReader(r, int64(m.failAfter)),
					errReader{errors.New("disk read failed")})
			}
			return io.NopCloser(r), nil
		}
	}
	return nil, errors.New("memBackend: no message " + uid)
}

func (d *memDrop) Delete(ctx context.Context, uids []string) error {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	d.a.deleteCalls = append(d.a.deleteCalls, append([]string(nil), uids...))
	if d.a.deleteErr != nil {
		return d.a.deleteErr
	}
	remove := make(map[string]bool)
	for _, uid := range uids {
		remove[uid] = true
	}
	var kept []memMessage
	for _, m := range d.a.messages {
		if !remove[m.uid] {
			kept = append(kept, m)
		}
	}
	d.a.messages = kept
	return nil
}

func (d *memDrop) Close() error {
	d.b.mu.Lock()
	delay := d.a.closeDelay
	d.b.mu.Unlock()
	time.Sleep(delay)
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	d.a.locked = false
	d.a.closeCalls++
	return nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// logBuffer collects the server's log output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the log contains text.
func (l *logBuffer) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(l.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q after 5 s:\n%s", text, l.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testServer is a Server listening on 127.0.0.1 with both listeners.
type testServer struct {
	srv      *Server
	backend  *memBackend
	logs     *logBuffer
	tlsAddr  string // implicit TLS
	stlsAddr string // STLS
	served   chan error
}

// startServer starts a server with backend and cfg (TLSConfig and Hostname
// filled in) and shuts it down when the test ends.
func startServer(t *testing.T, backend *memBackend, cfg Config) *testServer {
	t.Helper()
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = serverTLSConfig()
	}
	if cfg.Hostname == "" {
		cfg.Hostname = testHostname
	}
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := &testServer{
		srv:     New(cfg, backend, logger),
		backend: backend,
		logs:    logs,
		served:  make(chan error, 2),
	}

	tlsListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stlsListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.tlsAddr = tlsListener.Addr().String()
	ts.stlsAddr = stlsListener.Addr().String()
	go func() { ts.served <- ts.srv.ServeTLS(tlsListener) }()
	go func() { ts.served <- ts.srv.ServeSTLS(stlsListener) }()

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-ts.served; err != nil {
				t.Errorf("Serve returned %v after Shutdown, want nil", err)
			}
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return ts
}

// client is a raw POP3 client connection for tests.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialTLS connects to the implicit TLS listener and reads the greeting.
func (ts *testServer) dialTLS(t *testing.T) *client {
	t.Helper()
	conn, err := tls.Dial("tcp", ts.tlsAddr, clientTLSConfig())
	if err != nil {
		t.Fatalf("TLS dial %s: %v", ts.tlsAddr, err)
	}
	c := newClient(t, conn)
	c.expectPrefix(c.readLine(), "+OK")
	return c
}

// dialPlain connects to the STLS listener and reads the greeting.
func (ts *testServer) dialPlain(t *testing.T) *client {
	t.Helper()
	conn, err := net.Dial("tcp", ts.stlsAddr)
	if err != nil {
		t.Fatalf("dial %s: %v", ts.stlsAddr, err)
	}
	c := newClient(t, conn)
	c.expectPrefix(c.readLine(), "+OK")
	return c
}

func newClient(t *testing.T, conn net.Conn) *client {
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// startTLS sends STLS and upgrades the connection.
func (c *client) startTLS() {
	c.t.Helper()
	c.expectPrefix(c.cmd("STLS"), "+OK")
	tlsConn := tls.Client(c.conn, clientTLSConfig())
	if err := tlsConn.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake after STLS: %v", err)
	}
	c.conn = tlsConn
	c.r = bufio.NewReader(tlsConn)
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// readLine reads one response line without its CRLF.
func (c *client) readLine() string {
	c.t.Helper()
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read response: %v (read so far %q)", err, line)
	}
	if !strings.HasSuffix(line, "\r\n") {
		c.t.Fatalf("response line %q does not end in CRLF", line)
	}
	return strings.TrimSuffix(line, "\r\n")
}

// cmd sends a command line and returns the first line of the response.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.write(line + "\r\n")
	return c.readLine()
}

// readBody reads the rest of a multi-line response, up to and without the "."
// line, exactly as sent: dot-stuffing and CRLFs included.
func (c *client) readBody() string {
	c.t.Helper()
	var b strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read multi-line response: %v (read so far %q)", err, b.String()+line)
		}
		if line == ".\r\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

// signIn signs in with USER and PASS.
func (c *client) signIn() {
	c.t.Helper()
	c.expectPrefix(c.cmd("USER "+testUser), "+OK")
	c.expectPrefix(c.cmd("PASS "+testPassword), "+OK")
}

// expectEOF checks that the server has closed the connection.
func (c *client) expectEOF() {
	c.t.Helper()
	line, err := c.r.ReadString('\n')
	if err == nil {
		c.t.Fatalf("read %q, want the connection closed", line)
	}
}

func (c *client) expectPrefix(got, prefix string) {
	c.t.Helper()
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("response %q, want it to start with %q", got, prefix)
	}
}

// unstuff removes the dot-stuffing of a multi-line response body.
func unstuff(body string) string {
	lines := strings.SplitAfter(body, "\r\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, ".")
	}
	return strings.Join(lines, "")
}
