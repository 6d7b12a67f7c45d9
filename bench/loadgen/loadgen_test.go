package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/cjsm/cjsm/internal/pki"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", ms(7), 99, 7 * time.Millisecond},
		{"median of odd count", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even count takes lower rank", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the maximum", ms(hundred...), 100, 100 * time.Millisecond},
		{"p0 is the minimum", ms(hundred...), 0, time.Millisecond},
	}
	for _, c := range cases {
		if got := percentile(c.sorted, c.p); got != c.want {
			t.Errorf("%s: percentile(p=%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	cases := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"10240", 10240, false},
		{"10k", 10240, false},
		{"100K", 102400, false},
		{"1m", 1 << 20, false},
		{"64m", 64 << 20, false},
		{"65m", 0, true},
		{"0", 0, true},
		{"-1k", 0, true},
		{"ten", 0, true},
		{"", 0, true},
	}
	for _, c := range cases {
		got, err := parseSize(c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("parseSize(%q) error = %v, want error: %v", c.in, err, c.wantErr)
			continue
		}
		if got != c.want {
			t.Errorf("parseSize(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestReadReply(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		wantCode  int
		wantLines []string
		wantErr   bool
	}{
		{"single line", "250 OK\r\n", 250, []string{"OK"}, false},
		{"bare code", "250\r\n", 250, []string{""}, false},
		{"multi line", "250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n", 250,
			[]string{"mx.example", "PIPELINING", "STARTTLS"}, false},
		{"LF only", "354 go ahead\n", 354, []string{"go ahead"}, false},
		{"code changes inside reply", "250-a\r\n251 b\r\n", 0, nil, true},
		{"no code", "hello\r\n", 0, nil, true},
		{"code out of range", "199 x\r\n", 0, nil, true},
		{"bad separator", "250+x\r\n", 0, nil, true},
		{"short line", "25\r\n", 0, nil, true},
		{"truncated", "250-a\r\n", 0, nil, true},
		{"empty", "", 0, nil, true},
	}
	for _, c := range cases {
		rep, err := readReply(bufio.NewReader(strings.NewReader(c.in)))
		if (err != nil) != c.wantErr {
			t.Errorf("%s: error = %v, want error: %v", c.name, err, c.wantErr)
			continue
		}
		if c.wantErr {
			continue
		}
		if rep.code != c.wantCode {
			t.Errorf("%s: code = %d, want %d", c.name, rep.code, c.wantCode)
		}
		if strings.Join(rep.lines, "|") != strings.Join(c.wantLines, "|") {
			t.Errorf("%s: lines = %q, want %q", c.name, rep.lines, c.wantLines)
		}
	}
}

func TestReadReplyBoundsLines(t *testing.T) {
	many := strings.Repeat("250-x\r\n", maxReplyLines+1) + "250 end\r\n"
	if _, err := readReply(bufio.NewReader(strings.NewReader(many))); !errors.Is(err,
		errMalformedReply) {
		t.Errorf("reply of %d lines: error = %v, want errMalformedReply", maxReplyLines+2, err)
	}
	long := "250 " + strings.Repeat("x", 5000) + "\r\n"
	if _, err := readReply(bufio.NewReaderSize(strings.NewReader(long), 4096)); !errors.Is(err,
		errMalformedReply) {
		t.Errorf("line of 5000 octets: error = %v, want errMalformedReply", err)
	}
}

func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{"250 OK\r\n", "250-a\r\n250 b\r\n", "5", "550-x\n550 y\n",
		"220 \r\n", "999 x\r\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rep, err := readReply(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		if rep.code < 200 || rep.code > 599 {
			t.Errorf("readReply(%q) accepted code %d", in, rep.code)
		}
		if len(rep.lines) == 0 || len(rep.lines) > maxReplyLines {
			t.Errorf("readReply(%q) returned %d lines", in, len(rep.lines))
		}
	})
}

func TestBuildMessage(t *testing.T) {
	for _, size := range []int{1, 300, 1000, 10 << 10, 100 << 10, 100<<10 + 1, 100<<10 + 2} {
		opts := options{size: size, runID: "r1", ehlo: "loadgen.test", from: "a@b.test",
			to: []string{"c@d.test"}}
		filler := newFiller(size)
		msg := buildMessage(opts, 12345, filler)
		if size >= 300 && (len(msg) < size || len(msg) > size+1) {
			t.Errorf("size %d: message is %d octets, want %d or one more", size, len(msg), size)
		}
		if !bytes.HasSuffix(msg, []byte("\r\n")) {
			t.Errorf("size %d: message does not end with CRLF", size)
		}
		for i, line := range bytes.Split(msg, []byte("\r\n")) {
			if bytes.HasPrefix(line, []byte(".")) {
				t.Errorf("size %d: line %d starts with a dot and would need stuffing", size, i)
			}
			if len(line) > 998 || bytes.ContainsAny(line, "\r\n") {
				t.Errorf("size %d: line %d is not a valid RFC 5322 line: %q", size, i, line)
			}
		}
	}
}

func TestBuildMessageUnique(t *testing.T) {
	opts := options{size: 10 << 10, runID: "r1", ehlo: "loadgen.test", from: "a@b.test",
		to: []string{"c@d.test"}}
	filler := newFiller(opts.size)
	if bytes.Equal(buildMessage(opts, 1, filler), buildMessage(opts, 2, filler)) {
		t.Error("messages 1 and 2 of one run are identical; a content-addressed store " +
			"would keep only one")
	}
}

// testServer is a go-smtp server with STARTTLS and AUTH PLAIN that counts what it gets.
type testServer struct {
	addr     string
	caFile   string
	messages atomic.Int64
	resets   atomic.Int64
	conns    atomic.Int64
	password string
}

func startTestServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.NewCA("loadgen test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{caFile: dir + "/ca.pem", password: "secret"}
	if err := ca.WriteFiles(ts.caFile, dir+"/ca-key.pem"); err != nil {
		t.Fatal(err)
	}

	certPEM, keyPEM, err := ca.Issue([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSession{ts: ts, conn: c}, nil
	}))
	srv.Domain = "test.server"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ErrorLog = nopLogger{}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = srv.Serve(&countingListener{Listener: l, n: &ts.conns}) }()
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return ts
}

// countingListener counts accepted TCP connections; go-smtp starts a new session after
// STARTTLS, so sessions do not count connections.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

type testSession struct {
	ts     *testServer
	conn   *smtp.Conn
	authed bool
}

func (s *testSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *testSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if pass != s.ts.password {
			return errors.New("wrong password")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *testSession) Mail(string, *smtp.MailOptions) error {
	if _, ok := s.conn.TLSConnectionState(); !ok {
		return &smtp.SMTPError{Code: 530, Message: "STARTTLS first"}
	}
	return nil
}

func (s *testSession) Rcpt(string, *smtp.RcptOptions) error { return nil }

func (s *testSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.ts.messages.Add(1)
	return nil
}

func (s *testSession) Reset()        { s.ts.resets.Add(1) }
func (s *testSession) Logout() error { return nil }

func testOptions(t *testing.T, ts *testServer, extra ...string) (options, *tls.Config) {
	t.Helper()
	args := append([]string{"-addr", ts.addr, "-ca", ts.caFile, "-from", "a@b.test",
		"-to", "c@d.test", "-n", "20", "-c", "3", "-size", "2k", "-timeout", "10s"}, extra...)
	opts, err := parseOptions(args, func(string) string { return ts.password })
	if err != nil {
		t.Fatal(err)
	}
	tc, err := clientTLS(opts)
	if err != nil {
		t.Fatal(err)
	}
	return opts, tc
}

func TestRunNewConnections(t *testing.T) {
	ts := startTestServer(t)
	opts, tc := testOptions(t, ts)
	res := run(context.Background(), opts, tc)
	res.printErrors(testWriter{t})
	if res.ok != 20 || res.errors != 0 {
		t.Fatalf("ok = %d, errors = %d; want 20 and 0", res.ok, res.errors)
	}
	if got := ts.messages.Load(); got != 20 {
		t.Errorf("server received %d messages, want 20", got)
	}
	if res.connections != 20 {
		t.Errorf("connections = %d, want one a message (20)", res.connections)
	}
	if len(res.latencies) != 20 {
		t.Errorf("%d latencies recorded, want 20", len(res.latencies))
	}
	if res.tlsVersion != "TLS 1.3" || res.tlsGroup != "X25519" {
		t.Errorf("TLS %q group %q, want TLS 1.3 and X25519", res.tlsVersion, res.tlsGroup)
	}
}

func TestRunReusedConnections(t *testing.T) {
	ts := startTestServer(t)
	opts, tc := testOptions(t, ts, "-reuse")
	res := run(context.Background(), opts, tc)
	res.printErrors(testWriter{t})
	if res.ok != 20 || res.errors != 0 {
		t.Fatalf("ok = %d, errors = %d; want 20 and 0", res.ok, res.errors)
	}
	// A session opens its connection when it takes its first message, so a session that
	// finds the work gone opens none: at most one connection a session (3).
	conns := int(res.connections)
	if conns < 1 || conns > 3 {
		t.Errorf("connections = %d, want 1 to 3 (at most one a session)", res.connections)
	}
	if got := ts.conns.Load(); int(got) != conns {
		t.Errorf("server saw %d connections, loadgen counted %d", got, conns)
	}
	// go-smtp resets after each transaction and on RSET; RSET comes before each message
	// but the first on a connection.
	if got := ts.resets.Load(); int(got) < 20-conns {
		t.Errorf("server saw %d resets, want at least the %d RSET commands", got, 20-conns)
	}
	summary := res.summary(opts)
	for _, want := range []string{"RESULT loadgen ", " ok=20 ", " errors=0 ", " reuse=1 ",
		fmt.Sprintf(" connections=%d ", conns), " p99_ms="} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}
}

func TestRunQuickAck(t *testing.T) {
	ts := startTestServer(t)
	opts, tc := testOptions(t, ts, "-quickack")
	res := run(context.Background(), opts, tc)
	res.printErrors(testWriter{t})
	if res.ok != 20 || res.errors != 0 {
		t.Fatalf("ok = %d, errors = %d; want 20 and 0", res.ok, res.errors)
	}
}

func TestRunWithAuth(t *testing.T) {
	ts := startTestServer(t)
	opts, tc := testOptions(t, ts, "-auth-user", "a@b.test", "-auth-password-env", "PW")
	res := run(context.Background(), opts, tc)
	res.printErrors(testWriter{t})
	if res.ok != 20 || res.errors != 0 {
		t.Fatalf("ok = %d, errors = %d; want 20 and 0", res.ok, res.errors)
	}
}

func TestRunWrongPasswordFails(t *testing.T) {
	ts := startTestServer(t)
	opts, tc := testOptions(t, ts, "-auth-user", "a@b.test", "-auth-password-env", "PW")
	opts.authPassword = "wrong"
	res := run(context.Background(), opts, tc)
	if res.ok != 0 || res.errors != 20 {
		t.Fatalf("ok = %d, errors = %d; want 0 and 20", res.ok, res.errors)
	}
	for _, e := range res.errorCounts() {
		if strings.Contains(e.text, "wrong") && !strings.Contains(e.text, "AUTH PLAIN:") {
			t.Errorf("error %q does not name the command", e.text)
		}
		if strings.Contains(e.text, base64Plain("a@b.test", "wrong")) {
			t.Errorf("error %q contains the credentials", e.text)
		}
	}
}

func TestRunUntrustedCertificateFails(t *testing.T) {
	ts := startTestServer(t)
	other := startTestServer(t) // its CA did not sign ts's certificate
	opts, _ := testOptions(t, ts)
	opts.caFile = other.caFile
	tc, err := clientTLS(opts)
	if err != nil {
		t.Fatal(err)
	}
	res := run(context.Background(), opts, tc)
	if res.ok != 0 || res.errors != 20 {
		t.Fatalf("ok = %d, errors = %d; want 0 and 20", res.ok, res.errors)
	}
	if got := ts.messages.Load(); got != 0 {
		t.Errorf("server received %d messages over an unverified connection", got)
	}
	counts := res.errorCounts()
	if len(counts) == 0 || !strings.Contains(counts[0].text, "TLS handshake") {
		t.Errorf("errors %v, want a TLS handshake failure", counts)
	}
}

func TestParseOptionsRequiresFlags(t *testing.T) {
	getenv := func(string) string { return "" }
	base := []string{"-addr", "h:1", "-ca", "x", "-from", "a@b", "-to", "c@d"}
	cases := map[string][]string{
		"no addr":          {"-ca", "x", "-from", "a@b", "-to", "c@d"},
		"no ca":            {"-addr", "h:1", "-from", "a@b", "-to", "c@d"},
		"no recipient":     {"-addr", "h:1", "-ca", "x", "-from", "a@b"},
		"user without env": append(base[:8:8], "-auth-user", "u"),
		"empty password":   append(base[:8:8], "-auth-user", "u", "-auth-password-env", "PW"),
		"unknown curve":    append(base[:8:8], "-curves", "P999"),
		"zero sessions":    append(base[:8:8], "-c", "0"),
		"stray argument":   append(base[:8:8], "extra"),
	}
	if _, err := parseOptions(base, getenv); err != nil {
		t.Fatalf("parseOptions(%q) = %v; the base of the cases must be valid", base, err)
	}
	for name, args := range cases {
		if _, err := parseOptions(args, getenv); err == nil {
			t.Errorf("%s: parseOptions(%q) accepted it", name, args)
		}
	}
}

// base64Plain returns the AUTH PLAIN token of user and password.
func base64Plain(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
}

// testWriter sends the load generator's error report to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
