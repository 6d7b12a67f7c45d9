package smtpserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testHostname = "mx.cjsm.test"
	testUser     = "alice"
	testPassword = "correct horse battery"
)

// testCert is a self-signed certificate for localhost and 127.0.0.1, shared by all
// tests, with its PEM file for Python.
var testCert = sync.OnceValues(func() (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
})

func serverTLSConfig() *tls.Config {
	cert, _ := testCert()
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

func clientTLSConfig() *tls.Config {
	_, certPEM := testCert()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// principal is the fake backend's Principal.
type principal string

func (p principal) String() string { return string(p) }

// delivery is one message the fake backend accepted.
type delivery struct {
	conn      Conn
	connID    string // from the context
	principal string
	env       Envelope
	msg       []byte
}

// fakeBackend records every call. Fields set before the server starts configure
// its results.
type fakeBackend struct {
	identifyErr error
	mailErr     error
	rcptErr     map[string]error
	deliverErr  error
	queueID     string        // returned by Deliver when set, else env.ID
	deliverGate chan struct{} // when set, Deliver waits for it to close

	mu         sync.Mutex
	auths      []string
	identifies int
	mails      []string
	mailOpts   []MailOptions
	rcpts      []string
	rcptOpts   []RcptOptions
	deliveries []delivery
}

func (b *fakeBackend) Authenticate(ctx context.Context, c *Conn,
	user, pass string) (Principal, error) {

	b.mu.Lock()
	b.auths = append(b.auths, user)
	b.mu.Unlock()
	if user != testUser || pass != testPassword {
		return nil, Reject(535, [3]int{5, 7, 8}, "Authentication credentials invalid")
	}
	return principal("user:" + user), nil
}

func (b *fakeBackend) Identify(ctx context.Context, c *Conn) (Principal, error) {
	b.mu.Lock()
	b.identifies++
	b.mu.Unlock()
	if b.identifyErr != nil {
		return nil, b.identifyErr
	}
	return principal("peer:" + c.HELO), nil
}

func (b *fakeBackend) Mail(ctx context.Context, c *Conn, p Principal, from string,
	opts MailOptions) (string, error) {

	b.mu.Lock()
	b.mails = append(b.mails, from)
	b.mailOpts = append(b.mailOpts, opts)
	b.mu.Unlock()
	if b.mailErr != nil {
		return "", b.mailErr
	}
	return from, nil
}

func (b *fakeBackend) Rcpt(ctx context.Context, c *Conn, p Principal, to string,
	opts RcptOptions) error {

	b.mu.Lock()
	b.rcpts = append(b.rcpts, to)
	b.rcptOpts = append(b.rcptOpts, opts)
	b.mu.Unlock()
	return b.rcptErr[to]
}

func (b *fakeBackend) Deliver(ctx context.Context, c *Conn, p Principal, env Envelope,
	msg []byte) (string, error) {

	if b.deliverGate != nil {
		<-b.deliverGate
	}
	if b.deliverErr != nil {
		return "", b.deliverErr
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deliveries = append(b.deliveries, delivery{
		conn: *c, connID: ConnID(ctx), principal: p.String(), env: env,
		msg: bytes.Clone(msg),
	})
	if b.queueID != "" {
		return b.queueID, nil
	}
	return env.ID, nil
}

func (b *fakeBackend) delivered() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]delivery(nil), b.deliveries...)
}

func (b *fakeBackend) mailCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.mails)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a running Server on a loopback port.
type testServer struct {
	srv     *Server
	backend *fakeBackend
	addr    string
	port    string
	logs    *syncBuffer
	served  chan error
}

// startServer runs a Server in mode on 127.0.0.1 and shuts it down at the end of
// the test. configure may change the Config before New.
func startServer(t *testing.T, mode Mode, be *fakeBackend, configure func(*Config)) *testServer {
	t.Helper()
	if be == nil {
		be = &fakeBackend{}
	}
	cfg := Config{
		Hostname:    testHostname,
		TLSConfig:   serverTLSConfig(),
		ReadTimeout: 10 * time.Second,
	}
	if configure != nil {
		configure(&cfg)
	}

	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := New(cfg, be, logger)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.1: %v", err)
	}
	ts := &testServer{srv: srv, backend: be, addr: l.Addr().String(), logs: logs,
		served: make(chan error, 1)}
	_, ts.port, _ = net.SplitHostPort(ts.addr)

	go func() {
		switch mode {
		case ModeRelay:
			ts.served <- srv.ServeRelay(l)
		case ModeSubmission:
			ts.served <- srv.ServeSubmission(l)
		case ModeSubmissions:
			ts.served <- srv.ServeSubmissions(l)
		}
	}()

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return ts
}

// rawClient speaks SMTP octet by octet, for the cases real clients never send.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialRaw connects and reads the greeting. With implicitTLS it runs TLS first.
func dialRaw(t *testing.T, addr string, implicitTLS bool) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	if implicitTLS {
		tlsConn := tls.Client(conn, clientTLSConfig())
		if err := tlsConn.Handshake(); err != nil {
			t.Fatalf("TLS handshake with %s: %v", addr, err)
		}
		conn = tlsConn
	}
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	c.expect(220, "")
	return c
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", abbreviate(s), err)
	}
}

// reply reads one reply, joining multi-line replies with "\n". It returns code 0
// and the error text when the connection ends first.
func (c *rawClient) reply(timeout time.Duration) (int, string) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, "connection ended: " + err.Error()
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			c.t.Fatalf("malformed reply line %q", line)
		}
		lines = append(lines, line)
		if len(line) == 3 || line[3] == ' ' {
			code, _ := strconv.Atoi(line[:3])
			return code, strings.Join(lines, "\n")
		}
	}
}

// expect reads a reply and fails unless it has code and contains want.
func (c *rawClient) expect(code int, want string) string {
	c.t.Helper()
	got, text := c.reply(5 * time.Second)
	if got != code || !strings.Contains(text, want) {
		c.t.Fatalf("reply = %q, want code %d containing %q", text, code, want)
	}
	return text
}

// cmd sends one command line and checks the reply.
func (c *rawClient) cmd(line string, code int, want string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.expect(code, want)
}

// startTLS runs STARTTLS and the handshake.
func (c *rawClient) startTLS() {
	c.t.Helper()
	c.cmd("STARTTLS", 220, "2.0.0")
	tlsConn := tls.Client(c.conn, clientTLSConfig())
	if err := tlsConn.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake after STARTTLS: %v", err)
	}
	c.conn = tlsConn
	c.r = bufio.NewReader(tlsConn)
}

// authPlain authenticates as the fake backend's user.
func (c *rawClient) authPlain() {
	c.t.Helper()
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword))
	c.cmd("AUTH PLAIN "+ir, 235, "2.0.0")
}

// remainingReplies reads replies until the server closes the connection.
func (c *rawClient) remainingReplies() []string {
	c.t.Helper()
	var replies []string
	for {
		code, text := c.reply(5 * time.Second)
		if code == 0 {
			if !strings.Contains(text, "EOF") {
				c.t.Fatalf("after %q: %s", replies, text)
			}
			return replies
		}
		replies = append(replies, text)
	}
}

// readyClient returns a client on a submission listener that has run STARTTLS,
// EHLO and AUTH.
func readyClient(t *testing.T, ts *testServer) *rawClient {
	t.Helper()
	c := dialRaw(t, ts.addr, false)
	c.cmd("EHLO client.test", 250, "STARTTLS")
	c.startTLS()
	c.cmd("EHLO client.test", 250, "AUTH PLAIN LOGIN")
	c.authPlain()
	return c
}

// beginData sends MAIL, RCPT and DATA and waits for 354.
func (c *rawClient) beginData() {
	c.t.Helper()
	c.cmd("MAIL FROM:<alice@firm.test>", 250, "")
	c.cmd("RCPT TO:<bob@court.test>", 250, "")
	c.cmd("DATA", 354, "")
}

func abbreviate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// requirePeer skips the test when a peer program is missing, unless
// CJSM_REQUIRE_PEERS=1, which makes the absence a failure.
func requirePeer(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CJSM_REQUIRE_PEERS") == "1" {
		t.Fatalf("%s is required (CJSM_REQUIRE_PEERS=1) but not found: %v", name, err)
	}
	t.Skipf("%s not installed: %v", name, err)
	return ""
}

// runPython runs a Python script against ts with SMTP_PORT and CA_FILE in its
// environment and decodes the JSON object it prints last.
func runPython(t *testing.T, ts *testServer, script string) map[string]any {
	t.Helper()
	python := requirePeer(t, "python3")

	dir := t.TempDir()
	_, certPEM := testCert()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	scriptFile := filepath.Join(dir, "client.py")
	if err := os.WriteFile(scriptFile, []byte(pythonPrelude+script), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, scriptFile)
	cmd.Env = append(os.Environ(), "SMTP_PORT="+ts.port, "CA_FILE="+caFile,
		"SMTP_USER="+testUser, "SMTP_PASSWORD="+testPassword)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python client failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(),
			stderr.String())
	}

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var result map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &result); err != nil {
		t.Fatalf("python output %q is not JSON: %v", stdout.String(), err)
	}
	return result
}

// pythonPrelude is prepended to every Python client script.
const pythonPrelude = `import json, os, smtplib, ssl, sys
PORT = int(os.environ["SMTP_PORT"])
CTX = ssl.create_default_context(cafile=os.environ["CA_FILE"])
USER = os.environ["SMTP_USER"]
PASSWORD = os.environ["SMTP_PASSWORD"]
def text(b):
    return b.decode() if isinstance(b, bytes) else str(b)
`

// str returns a JSON string field of a Python result.
func str(t *testing.T, result map[string]any, key string) string {
	t.Helper()
	v, ok := result[key].(string)
	if !ok {
		t.Fatalf("python result %v has no string %q", result, key)
	}
	return v
}

// num returns a JSON number field of a Python result as an int.
func num(t *testing.T, result map[string]any, key string) int {
	t.Helper()
	v, ok := result[key].(float64)
	if !ok {
		t.Fatalf("python result %v has no number %q", result, key)
	}
	return int(v)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pipeConn is a net.Conn that reads a fixed input and records writes, for driving
// a guard without a socket.
type pipeConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (p *pipeConn) Read(b []byte) (int, error) { return p.in.Read(b) }

func (p *pipeConn) Write(b []byte) (int, error) { return p.out.Write(b) }

func (p *pipeConn) Close() error { return nil }

func (p *pipeConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25}
}

func (p *pipeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}

func (p *pipeConn) SetDeadline(time.Time) error      { return nil }
func (p *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// newTestGuard returns a guard reading input, with TLS marked as done.
func newTestGuard(input []byte) (*guardConn, *pipeConn) {
	srv := New(Config{Hostname: testHostname}, nil, slog.New(slog.DiscardHandler))
	pc := &pipeConn{in: bytes.NewReader(input)}
	g := newGuard(srv, pc, ModeRelay)
	g.tlsState = &tls.ConnectionState{Version: tls.VersionTLS13}
	return g, pc
}

// errString returns the message of err, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
