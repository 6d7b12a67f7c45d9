package pop3server

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestImplicitTLSCapabilities(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)

	c.expectPrefix(c.cmd("CAPA"), "+OK")
	capabilities := strings.Split(strings.TrimSuffix(c.readBody(), "\r\n"), "\r\n")
	for _, want := range []string{"TOP", "UIDL", "USER", "SASL PLAIN", "RESP-CODES",
		"AUTH-RESP-CODE", "PIPELINING"} {
		if !contains(capabilities, want) {
			t.Errorf("CAPA %q lacks %q", capabilities, want)
		}
	}
	if contains(capabilities, "STLS") {
		t.Errorf("CAPA under TLS offers STLS: %q", capabilities)
	}
	c.expectPrefix(c.cmd("STLS"), "-ERR")

	c.expectPrefix(c.cmd("QUIT"), "+OK")
	c.expectEOF()
}

func TestGreetingNamesHost(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	conn, err := tls.Dial("tcp", ts.tlsAddr, clientTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, conn)
	if got, want := c.readLine(), "+OK "+testHostname+" POP3 service ready"; got != want {
		t.Errorf("greeting %q, want %q", got, want)
	}
}

func TestSTLSListenerRejectsCommandsBeforeTLS(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialPlain(t)

	c.expectPrefix(c.cmd("CAPA"), "+OK")
	capabilities := strings.Split(strings.TrimSuffix(c.readBody(), "\r\n"), "\r\n")
	if !contains(capabilities, "STLS") {
		t.Errorf("CAPA before TLS %q lacks STLS", capabilities)
	}
	for _, offered := range []string{"USER", "SASL PLAIN"} {
		if contains(capabilities, offered) {
			t.Errorf("CAPA before TLS offers %q: %q", offered, capabilities)
		}
	}

	for _, line := range []string{
		"USER " + testUser, "PASS " + testPassword, "AUTH PLAIN", "AUTH", "STAT", "LIST",
		"RETR 1", "NOOP", "APOP a b",
	} {
		got := c.cmd(line)
		if !strings.HasPrefix(got, "-ERR ") || !strings.Contains(got, "send STLS") {
			t.Errorf("%q before TLS: response %q, want -ERR asking for STLS", line, got)
		}
	}
	if ts.backend.snapshot(testUser).locked {
		t.Error("a command before TLS reached the backend")
	}
	c.expectPrefix(c.cmd("QUIT"), "+OK")
	c.expectEOF()
}

func TestSTLSUpgradesAndSignsIn(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialPlain(t)
	c.startTLS()

	c.expectPrefix(c.cmd("CAPA"), "+OK")
	capabilities := strings.Split(strings.TrimSuffix(c.readBody(), "\r\n"), "\r\n")
	if !contains(capabilities, "USER") || !contains(capabilities, "SASL PLAIN") {
		t.Errorf("CAPA after STLS %q lacks USER or SASL PLAIN", capabilities)
	}
	if contains(capabilities, "STLS") {
		t.Errorf("CAPA after STLS still offers STLS: %q", capabilities)
	}
	c.expectPrefix(c.cmd("STLS"), "-ERR")

	c.signIn()
	if got := c.cmd("STAT"); got != fmt.Sprintf("+OK 3 %d", len(msgDots+msgPlain+msgUTF8)) {
		t.Errorf("STAT = %q", got)
	}
	c.expectPrefix(c.cmd("QUIT"), "+OK")
}

// TestSTLSDiscardsPipelinedCommands sends a command in the same packet as STLS,
// as a man-in-the-middle would to run it under the client's TLS session: the
// server must not run it (CVE-2011-0411).
func TestSTLSDiscardsPipelinedCommands(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialPlain(t)

	c.write("STLS\r\nUSER " + testUser + "\r\n")
	c.expectPrefix(c.readLine(), "+OK")
	if c.r.Buffered() != 0 {
		t.Fatalf("server sent more than one response to STLS")
	}
	tlsConn := tls.Client(c.conn, clientTLSConfig())
	if err := tlsConn.Handshake(); err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tlsConn
	c.r.Reset(tlsConn)

	// Had the injected USER run, this PASS would sign in.
	if got := c.cmd("PASS " + testPassword); !strings.HasPrefix(got, "-ERR Send USER") {
		t.Fatalf("PASS after injected USER: %q, want -ERR Send USER before PASS", got)
	}
	ts.logs.waitFor(t, "pop3 discarded octets sent after STLS")

	c.signIn()
	c.expectPrefix(c.cmd("QUIT"), "+OK")
}

// TestSTLSInjectedBytesBreakHandshake sends the injected command in a later
// packet, before the client's handshake: the server must read it as TLS and fail.
func TestSTLSInjectedBytesBreakHandshake(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialPlain(t)
	c.expectPrefix(c.cmd("STLS"), "+OK")
	c.write("USER " + testUser + "\r\nPASS " + testPassword + "\r\n")

	tlsConn := tls.Client(c.conn, clientTLSConfig())
	if err := tlsConn.Handshake(); err == nil {
		t.Fatal("TLS handshake succeeded after plaintext bytes; want it to fail")
	}
	ts.logs.waitFor(t, "TLS handshake failed")
	if ts.backend.snapshot(testUser).locked {
		t.Error("injected credentials reached the backend")
	}
}

func TestTLSBelow12Rejected(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	old := clientTLSConfig()
	old.MinVersion = tls.VersionTLS10
	old.MaxVersion = tls.VersionTLS11

	t.Run("implicit TLS", func(t *testing.T) {
		conn, err := tls.Dial("tcp", ts.tlsAddr, old)
		if err == nil {
			conn.Close()
			t.Fatal("TLS 1.1 handshake succeeded on the implicit TLS listener")
		}
	})
	t.Run("STLS", func(t *testing.T) {
		c := ts.dialPlain(t)
		c.expectPrefix(c.cmd("STLS"), "+OK")
		if err := tls.Client(c.conn, old).Handshake(); err == nil {
			t.Fatal("TLS 1.1 handshake succeeded after STLS")
		}
	})
	t.Run("TLS 1.2 accepted", func(t *testing.T) {
		cfg := clientTLSConfig()
		cfg.MaxVersion = tls.VersionTLS12
		conn, err := tls.Dial("tcp", ts.tlsAddr, cfg)
		if err != nil {
			t.Fatalf("TLS 1.2 handshake: %v", err)
		}
		conn.Close()
	})
}

func TestServeWithoutCertificate(t *testing.T) {
	srv := New(Config{}, newMemBackend(), nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := srv.ServeTLS(l); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("ServeTLS without certificate = %v, want ErrNoCertificate", err)
	}
	if err := srv.ServeSTLS(l); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("ServeSTLS without certificate = %v, want ErrNoCertificate", err)
	}
}

func TestSignInResponseCodes(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(b *memBackend)
		user     string
		password string
		want     string
		wantLog  string // default "pop3 sign-in failed"
	}{
		{name: "wrong password", user: testUser, password: "wrong",
			want: "-ERR [AUTH] Invalid user name or password."},
		{name: "unknown user", user: "nobody@cps.cjsm.test", password: testPassword,
			want: "-ERR [AUTH] Invalid user name or password."},
		{name: "throttled", setup: func(b *memBackend) { b.accounts[testUser].throttled = true },
			user: testUser, password: testPassword, want: "-ERR [LOGIN-DELAY] "},
		{name: "disabled", setup: func(b *memBackend) { b.accounts[testUser].disabled = true },
			user: testUser, password: testPassword, want: "-ERR [AUTH] This account is suspended"},
		{name: "locked", setup: func(b *memBackend) { b.accounts[testUser].locked = true },
			user: testUser, password: testPassword, want: "-ERR [IN-USE] "},
		{name: "backend fault", setup: func(b *memBackend) { b.authErr = errors.New("db down") },
			user: testUser, password: testPassword, want: "-ERR [SYS/TEMP] "},
		{name: "listing fault",
			setup: func(b *memBackend) { b.accounts[testUser].listErr = errors.New("disk") },
			user:  testUser, password: testPassword, want: "-ERR [SYS/TEMP] The maildrop cannot",
			wantLog: "pop3 maildrop listing failed"},
		{name: "invalid UID from backend",
			setup: func(b *memBackend) { b.accounts[testUser].messages[1].uid = "has space" },
			user:  testUser, password: testPassword, want: "-ERR [SYS/PERM] The maildrop cannot",
			wantLog: `UID \"has space\" contains the octet 0x20`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newMemBackend()
			if tt.setup != nil {
				tt.setup(b)
			}
			ts := startServer(t, b, Config{})

			t.Run("USER and PASS", func(t *testing.T) {
				c := ts.dialTLS(t)
				c.expectPrefix(c.cmd("USER "+tt.user), "+OK")
				c.expectPrefix(c.cmd("PASS "+tt.password), tt.want)
				c.expectPrefix(c.cmd("STAT"), "-ERR")
				c.expectPrefix(c.cmd("QUIT"), "+OK")
			})
			t.Run("AUTH PLAIN", func(t *testing.T) {
				c := ts.dialTLS(t)
				c.expectPrefix(c.cmd("AUTH PLAIN "+plain("", tt.user, tt.password)), tt.want)
				c.expectPrefix(c.cmd("QUIT"), "+OK")
			})

			wasLocked := tt.name == "locked"
			if a := ts.backend.snapshot(testUser); a.locked != wasLocked {
				t.Errorf("maildrop locked = %v after failed sign-ins, want %v", a.locked, wasLocked)
			}
			if tt.wantLog == "" {
				tt.wantLog = "pop3 sign-in failed"
			}
			ts.logs.waitFor(t, tt.wantLog)
		})
	}
}

func TestInUseUntilFirstSessionEnds(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	first := ts.dialTLS(t)
	first.signIn()

	second := ts.dialTLS(t)
	second.expectPrefix(second.cmd("USER "+testUser), "+OK")
	second.expectPrefix(second.cmd("PASS "+testPassword), "-ERR [IN-USE] ")

	first.expectPrefix(first.cmd("QUIT"), "+OK")
	first.expectEOF()
	ts.backend.waitUnlocked(t, testUser)

	second.signIn()
	second.expectPrefix(second.cmd("QUIT"), "+OK")
}

func TestTooManyFailedSignInsCloseConnection(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	for i := range maxAuthFailures {
		c.expectPrefix(c.cmd("USER "+testUser), "+OK")
		c.expectPrefix(c.cmd(fmt.Sprintf("PASS wrong%d", i)), "-ERR [AUTH]")
	}
	c.expectEOF()
	ts.logs.waitFor(t, "reason=\"too many failed sign-ins\"")
}

func TestAuthPlain(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	tests := []struct {
		name     string
		command  string
		response string // sent after the "+ " continuation when not empty
		want     string
	}{
		{name: "initial response", command: "AUTH PLAIN " + plain("", testUser, testPassword),
			want: "+OK Signed in; the maildrop has 3 messages"},
		{name: "lower-case mechanism", command: "auth plain " + plain("", testUser, testPassword),
			want: "+OK Signed in"},
		{name: "continuation", command: "AUTH PLAIN",
			response: plain("", testUser, testPassword), want: "+OK Signed in"},
		{name: "authzid of the same user", command: "AUTH PLAIN " +
			plain(testUser, testUser, testPassword), want: "+OK Signed in"},
		{name: "long password on the continuation line", command: "AUTH PLAIN",
			response: plain("", testUser, strings.Repeat("p", 1000)),
			want:     "-ERR [AUTH] Invalid user name or password."},
		{name: "cancelled", command: "AUTH PLAIN", response: "*",
			want: "-ERR Authentication cancelled."},
		{name: "empty initial response", command: "AUTH PLAIN =",
			want: "-ERR The AUTH PLAIN response is not a PLAIN message"},
		{name: "invalid base64", command: "AUTH PLAIN", response: "not base64!",
			want: "-ERR The AUTH PLAIN response is not valid base64."},
		{name: "authzid of another user", command: "AUTH PLAIN " +
			plain("admin@cps.cjsm.test", testUser, testPassword), want: "-ERR [AUTH] Signing in as"},
		{name: "unsupported mechanism", command: "AUTH CRAM-MD5",
			want: "-ERR Unsupported SASL mechanism; this server supports PLAIN."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dialTLS(t)
			got := c.cmd(tt.command)
			if tt.response != "" {
				if got != "+ " {
					t.Fatalf("AUTH PLAIN continuation = %q, want \"+ \"", got)
				}
				got = c.cmd(tt.response)
			}
			c.expectPrefix(got, tt.want)
			c.expectPrefix(c.cmd("QUIT"), "+OK")
			c.expectEOF()
			ts.backend.waitUnlocked(t, testUser)
		})
	}

	t.Run("mechanism list", func(t *testing.T) {
		c := ts.dialTLS(t)
		c.expectPrefix(c.cmd("AUTH"), "+OK")
		if got := c.readBody(); got != "PLAIN\r\n" {
			t.Errorf("AUTH mechanism list = %q, want PLAIN", got)
		}
	})
}

func TestCommandsInWrongState(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	for _, line := range []string{"STAT", "LIST", "UIDL", "RETR 1", "TOP 1 0", "DELE 1",
		"RSET", "NOOP"} {
		if got := c.cmd(line); !strings.HasPrefix(got, "-ERR "+strings.Fields(line)[0]+
			" is valid only after sign-in") {
			t.Errorf("%q before sign-in: %q", line, got)
		}
	}
	c.expectPrefix(c.cmd("PASS "+testPassword), "-ERR Send USER before PASS.")

	c.signIn()
	for _, line := range []string{"USER x", "PASS x", "AUTH PLAIN", "APOP a b", "STLS"} {
		if got := c.cmd(line); !strings.HasPrefix(got, "-ERR ") {
			t.Errorf("%q after sign-in: %q, want -ERR", line, got)
		}
	}
	c.expectPrefix(c.cmd("QUIT"), "+OK")
}

func TestTransactionCommands(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	c.signIn()
	sizes := []int{len(msgDots), len(msgPlain), len(msgUTF8)}
	total := sizes[0] + sizes[1] + sizes[2]

	expectLine := func(command, want string) {
		t.Helper()
		if got := c.cmd(command); got != want {
			t.Errorf("%s: %q, want %q", command, got, want)
		}
	}
	expectBody := func(want string) {
		t.Helper()
		if got := c.readBody(); got != want {
			t.Errorf("body %q, want %q", got, want)
		}
	}

	expectLine("STAT", fmt.Sprintf("+OK 3 %d", total))
	expectLine("LIST", fmt.Sprintf("+OK 3 messages (%d octets)", total))
	expectBody(fmt.Sprintf("1 %d\r\n2 %d\r\n3 %d\r\n", sizes[0], sizes[1], sizes[2]))
	expectLine("LIST 2", fmt.Sprintf("+OK 2 %d", sizes[1]))
	expectLine("UIDL", "+OK Unique-ID listing follows")
	expectBody("1 uid-dots-1\r\n2 uid-plain-2\r\n3 uid-utf8-3\r\n")
	expectLine("UIDL 3", "+OK 3 uid-utf8-3")
	expectLine("NOOP", "+OK")

	expectLine("LIST 4", "-ERR No message 4; the maildrop has 3 messages.")
	expectLine("LIST 0", "-ERR Invalid message number; send a number from 1 as listed by LIST.")
	expectLine("RETR x", "-ERR Invalid message number; send a number from 1 as listed by LIST.")
	expectLine("TOP 1 -1", "-ERR Invalid line count; send a number from 0.")

	expectLine("DELE 2", "+OK Message 2 marked for deletion.")
	expectLine("DELE 2", "-ERR Message 2 is marked for deletion; RSET unmarks it.")
	expectLine("LIST 2", "-ERR Message 2 is marked for deletion; RSET unmarks it.")
	expectLine("UIDL 2", "-ERR Message 2 is marked for deletion; RSET unmarks it.")
	expectLine("RETR 2", "-ERR Message 2 is marked for deletion; RSET unmarks it.")
	expectLine("STAT", fmt.Sprintf("+OK 2 %d", total-sizes[1]))
	expectLine("LIST", fmt.Sprintf("+OK 2 messages (%d octets)", total-sizes[1]))
	expectBody(fmt.Sprintf("1 %d\r\n3 %d\r\n", sizes[0], sizes[2]))
	expectLine("UIDL", "+OK Unique-ID listing follows")
	expectBody("1 uid-dots-1\r\n3 uid-utf8-3\r\n")

	expectLine("RSET", fmt.Sprintf("+OK The maildrop has 3 messages (%d octets).", total))
	expectLine("STAT", fmt.Sprintf("+OK 3 %d", total))
	expectLine("QUIT", "+OK Signed out; 0 messages deleted.")
	c.expectEOF()

	a := ts.backend.waitUnlocked(t, testUser)
	if len(a.deleteCalls) != 0 {
		t.Errorf("Delete called %v after RSET and QUIT, want no call", a.deleteCalls)
	}
	if a.closeCalls != 1 {
		t.Errorf("Maildrop.Close called %d times, want 1", a.closeCalls)
	}
}

func TestDeleRemovesOnlyAtQuit(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})

	// The connection drops in the TRANSACTION state: nothing is removed.
	c := ts.dialTLS(t)
	c.signIn()
	c.expectPrefix(c.cmd("DELE 1"), "+OK")
	c.expectPrefix(c.cmd("DELE 3"), "+OK")
	c.conn.Close()
	a := ts.backend.waitUnlocked(t, testUser)
	if len(a.deleteCalls) != 0 || len(a.messages) != 3 {
		t.Fatalf("after a dropped connection: Delete calls %v, %d messages; want none and 3",
			a.deleteCalls, len(a.messages))
	}

	// QUIT removes the marked messages with one Delete call.
	c = ts.dialTLS(t)
	c.signIn()
	c.expectPrefix(c.cmd("DELE 1"), "+OK")
	c.expectPrefix(c.cmd("DELE 3"), "+OK")
	if got := c.cmd("QUIT"); got != "+OK Signed out; 2 messages deleted." {
		t.Errorf("QUIT: %q", got)
	}
	c.expectEOF()
	a = ts.backend.waitUnlocked(t, testUser)
	if want := [][]string{{"uid-dots-1", "uid-utf8-3"}}; !reflect.DeepEqual(a.deleteCalls, want) {
		t.Errorf("Delete calls %v, want %v", a.deleteCalls, want)
	}
	if len(a.messages) != 1 || a.messages[0].uid != "uid-plain-2" {
		t.Errorf("messages left %v, want uid-plain-2 only", a.messages)
	}
	ts.logs.waitFor(t, "deleted=2")

	// The remaining message is now number 1.
	c = ts.dialTLS(t)
	c.signIn()
	if got := c.cmd("UIDL 1"); got != "+OK 1 uid-plain-2" {
		t.Errorf("UIDL 1 after deletion: %q", got)
	}
	c.expectPrefix(c.cmd("QUIT"), "+OK")
}

// A client may sign in again as soon as it reads the reply to QUIT; the lock must be gone
// by then, whether the deletions succeeded or not.
func TestQuitReleasesLockBeforeReply(t *testing.T) {
	for _, tc := range []struct {
		name      string
		deleteErr error
		reply     string
	}{
		{"deletion succeeds", nil, "+OK"},
		{"deletion fails", errors.New("store unavailable"), "-ERR [SYS/TEMP]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMemBackend()
			b.accounts[testUser].deleteErr = tc.deleteErr
			b.accounts[testUser].closeDelay = 100 * time.Millisecond
			ts := startServer(t, b, Config{})
			c := ts.dialTLS(t)
			c.signIn()
			c.expectPrefix(c.cmd("DELE 1"), "+OK")
			c.expectPrefix(c.cmd("QUIT"), tc.reply)
			if a := ts.backend.snapshot(testUser); a.locked {
				t.Errorf("maildrop still locked when the QUIT reply arrived")
			}
			c.expectEOF()
			a := ts.backend.waitUnlocked(t, testUser)
			if a.closeCalls != 1 {
				t.Errorf("Maildrop.Close called %d times, want 1", a.closeCalls)
			}
		})
	}
}

func TestQuitReportsFailedDeletion(t *testing.T) {
	b := newMemBackend()
	b.accounts[testUser].deleteErr = errors.New("store unavailable")
	ts := startServer(t, b, Config{})
	c := ts.dialTLS(t)
	c.signIn()
	c.expectPrefix(c.cmd("DELE 1"), "+OK")
	c.expectPrefix(c.cmd("QUIT"), "-ERR [SYS/TEMP] The messages marked for deletion")
	c.expectEOF()
	ts.backend.waitUnlocked(t, testUser)
	ts.logs.waitFor(t, "pop3 message deletion failed")
}

func TestRetrSendsStuffedCRLFLines(t *testing.T) {
	long := "." + strings.Repeat("L", 40000)
	b := newMemBackend()
	b.accounts[testUser].messages = []memMessage{
		{uid: "crlf", data: msgDots},
		{uid: "bare-lf", data: "Subject: bare\n\n.dot line\nbody\n"},
		{uid: "no-final-newline", data: "Subject: x\r\n\r\nlast"},
		{uid: "long-line", data: "Subject: long\r\n\r\n" + long + "\r\n.\r\n"},
		{uid: "empty", data: ""},
	}
	ts := startServer(t, b, Config{})
	c := ts.dialTLS(t)
	c.signIn()

	tests := []struct {
		n    int
		want string // on the wire, before the "." line
	}{
		{1, "From: alice@police.cjsm.test\r\nTo: jane.smith@cps.cjsm.test\r\n" +
			"Subject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\nlast line\r\n"},
		{2, "Subject: bare\r\n\r\n..dot line\r\nbody\r\n"},
		{3, "Subject: x\r\n\r\nlast\r\n"},
		{4, "Subject: long\r\n\r\n." + long + "\r\n..\r\n"},
		{5, ""},
	}
	for _, tt := range tests {
		stored := b.snapshot(testUser).messages[tt.n-1].data
		got := c.cmd(fmt.Sprintf("RETR %d", tt.n))
		if want := fmt.Sprintf("+OK %d octets", len(stored)); got != want {
			t.Errorf("RETR %d: %q, want %q", tt.n, got, want)
		}
		if body := c.readBody(); body != tt.want {
			t.Errorf("RETR %d body\n got %.120q\nwant %.120q", tt.n, body, tt.want)
		}
	}
	if got := unstuff(tests[0].want); got != msgDots {
		t.Errorf("RETR 1 after removing the dot-stuffing differs from the stored message:\n%q", got)
	}
	c.expectPrefix(c.cmd("QUIT"), "+OK")
	ts.logs.waitFor(t, "retrieved=5")
}

func TestTopSendsHeaderAndLines(t *testing.T) {
	b := newMemBackend()
	b.accounts[testUser].messages = append(b.accounts[testUser].messages,
		memMessage{uid: "header-only", data: "Subject: only\r\nX-A: b\r\n"})
	ts := startServer(t, b, Config{})
	c := ts.dialTLS(t)
	c.signIn()

	header := "From: bob@court.cjsm.test\r\nSubject: hearing\r\n\r\n"
	tests := []struct {
		command string
		want    string
	}{
		{"TOP 2 0", header},
		{"TOP 2 2", header + "Line 1\r\nLine 2\r\n"},
		{"TOP 2 99999999999999999999", header + "Line 1\r\nLine 2\r\nLine 3\r\nLine 4\r\nLine 5\r\n"},
		{"TOP 1 1", "From: alice@police.cjsm.test\r\nTo: jane.smith@cps.cjsm.test\r\n" +
			"Subject: dots\r\n\r\n..leading dot\r\n"},
		{"TOP 4 3", "Subject: only\r\nX-A: b\r\n"},
	}
	for _, tt := range tests {
		c.expectPrefix(c.cmd(tt.command), "+OK")
		if body := c.readBody(); body != tt.want {
			t.Errorf("%s body %q, want %q", tt.command, body, tt.want)
		}
	}
	c.expectPrefix(c.cmd("QUIT"), "+OK")
}

func TestRetrOpenFailureKeepsSession(t *testing.T) {
	b := newMemBackend()
	b.accounts[testUser].openErr = errors.New("blob missing")
	ts := startServer(t, b, Config{})
	c := ts.dialTLS(t)
	c.signIn()
	c.expectPrefix(c.cmd("RETR 1"), "-ERR [SYS/TEMP] Message 1 cannot be read")
	c.expectPrefix(c.cmd("NOOP"), "+OK")
	c.expectPrefix(c.cmd("QUIT"), "+OK")
	ts.logs.waitFor(t, "pop3 message open failed")
}

// TestRetrReadFailureClosesConnection checks that a message that fails half-way
// never ends with the "." line, which would pass a truncated message for whole.
func TestRetrReadFailureClosesConnection(t *testing.T) {
	b := newMemBackend()
	b.accounts[testUser].messages[1].failAfter = 20
	ts := startServer(t, b, Config{})
	c := ts.dialTLS(t)
	c.signIn()
	c.expectPrefix(c.cmd("DELE 1"), "+OK")
	c.expectPrefix(c.cmd("RETR 2"), "+OK")

	var received strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		received.WriteString(line)
		if err != nil {
			break
		}
		if line == ".\r\n" {
			t.Fatalf("truncated message ended with the \".\" line: %q", received.String())
		}
	}
	a := ts.backend.waitUnlocked(t, testUser)
	if len(a.deleteCalls) != 0 {
		t.Errorf("Delete called %v after a failed transfer", a.deleteCalls)
	}
	ts.logs.waitFor(t, "pop3 message read failed")
}

func TestCommandLineLimit(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)

	// 255 octets including CRLF is the limit of RFC 2449 section 4.
	atLimit := "USER " + strings.Repeat("u", 255-len("USER \r\n"))
	c.expectPrefix(c.cmd(atLimit), "+OK")
	if got := c.cmd(atLimit + "u"); got !=
		"-ERR Command line too long; the limit is 255 octets including CRLF." {
		t.Errorf("256-octet command: %q", got)
	}
	// The session goes on after an over-long line.
	c.expectPrefix(c.cmd("NOOP"), "-ERR NOOP is valid only after sign-in")
	c.signIn()
	c.expectPrefix(c.cmd("NOOP"), "+OK")

	t.Run("endless line closes the connection", func(t *testing.T) {
		c := ts.dialTLS(t)
		go func() {
			chunk := strings.Repeat("x", 16*1024)
			for range 8 {
				if _, err := c.conn.Write([]byte(chunk)); err != nil {
					return
				}
			}
		}()
		// The server closes with unread input, so the kernel may reset the
		// connection before the client reads the -ERR line.
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				break
			}
			if line != "-ERR Line too long; closing the connection.\r\n" {
				t.Fatalf("response to an endless line: %q", line)
			}
		}
		ts.logs.waitFor(t, `reason="line too long to find its end"`)
	})

	t.Run("larger configured limit", func(t *testing.T) {
		ts := startServer(t, newMemBackend(), Config{MaxLineLength: 1000})
		c := ts.dialTLS(t)
		c.expectPrefix(c.cmd("USER "+strings.Repeat("u", 900)), "+OK")
	})
}

func TestBareLFEndsCommand(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	c.write("USER " + testUser + "\nPASS " + testPassword + "\n")
	c.expectPrefix(c.readLine(), "+OK")
	c.expectPrefix(c.readLine(), "+OK Signed in")
}

func TestMalformedInput(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	tests := []struct {
		line string
		want string
	}{
		{"", "-ERR Empty command line"},
		{"\x00\x01\x02", "-ERR Command line contains the control character 0x00"},
		{"USER a\x1bb", "-ERR Command line contains the control character 0x1B"},
		{"\xff\xfe\xfd", "-ERR Unknown command;"},
		{"HELO pop.example", `-ERR Unknown command "HELO"`},
		{"GET / HTTP/1.1", `-ERR Unknown command "GET"`},
		{"USER", "-ERR Wrong number of arguments for USER"},
		{"USER a\rb", "-ERR Command line contains the control character 0x0D"},
	}
	for _, tt := range tests {
		if got := c.cmd(tt.line); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%q: %q, want %q", tt.line, got, tt.want)
		}
	}
	// The errors so far are not enough to close the session.
	c.signIn()
	c.expectPrefix(c.cmd("QUIT"), "+OK")
}

func TestTooManyInvalidCommandsCloseConnection(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	for range maxClientErrors - 1 {
		c.expectPrefix(c.cmd("BOGUS"), "-ERR Unknown command")
	}
	c.expectPrefix(c.cmd("BOGUS"), "-ERR Too many invalid commands")
	c.expectEOF()
}

func TestPipelinedCommandsAnsweredInOrder(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	c.write("USER " + testUser + "\r\nPASS " + testPassword + "\r\nSTAT\r\nLIST 1\r\n" +
		"UIDL\r\nTOP 2 1\r\nDELE 3\r\nNOOP\r\nQUIT\r\n")

	c.expectPrefix(c.readLine(), "+OK Send PASS")
	c.expectPrefix(c.readLine(), "+OK Signed in")
	c.expectPrefix(c.readLine(), "+OK 3 ")
	c.expectPrefix(c.readLine(), fmt.Sprintf("+OK 1 %d", len(msgDots)))
	c.expectPrefix(c.readLine(), "+OK Unique-ID listing")
	if got := c.readBody(); got != "1 uid-dots-1\r\n2 uid-plain-2\r\n3 uid-utf8-3\r\n" {
		t.Errorf("UIDL body %q", got)
	}
	c.expectPrefix(c.readLine(), "+OK Top of message")
	if got := c.readBody(); !strings.HasSuffix(got, "\r\n\r\nLine 1\r\n") {
		t.Errorf("TOP body %q", got)
	}
	c.expectPrefix(c.readLine(), "+OK Message 3 marked")
	c.expectPrefix(c.readLine(), "+OK")
	c.expectPrefix(c.readLine(), "+OK Signed out; 1 messages deleted.")
	c.expectEOF()
}

func TestIdleTimeoutKeepsMarkedMessages(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{IdleTimeout: 300 * time.Millisecond})
	c := ts.dialTLS(t)
	c.signIn()
	c.expectPrefix(c.cmd("DELE 1"), "+OK")

	c.expectPrefix(c.readLine(), "-ERR No command for 300ms; closing the connection.")
	c.expectEOF()
	a := ts.backend.waitUnlocked(t, testUser)
	if len(a.deleteCalls) != 0 || len(a.messages) != 3 {
		t.Errorf("after idle timeout: Delete calls %v, %d messages; want none and 3",
			a.deleteCalls, len(a.messages))
	}
	ts.logs.waitFor(t, `reason="idle timeout"`)
}

func TestIdleTimeoutBeforeTLSHandshake(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{IdleTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", ts.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d octets from a connection that never started TLS", n)
	}
	ts.logs.waitFor(t, "TLS handshake failed")
}

func TestShutdownEndsIdleSessions(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	c.signIn()
	c.expectPrefix(c.cmd("DELE 1"), "+OK")
	plainClient := ts.dialPlain(t)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	c.expectPrefix(c.readLine(), "-ERR [SYS/TEMP] The server is shutting down")
	c.expectEOF()
	plainClient.expectPrefix(plainClient.readLine(), "-ERR [SYS/TEMP]")
	plainClient.expectEOF()
	a := ts.backend.snapshot(testUser)
	if a.locked || len(a.deleteCalls) != 0 {
		t.Errorf("after Shutdown: locked %v, Delete calls %v; want unlocked, none",
			a.locked, a.deleteCalls)
	}
	if _, err := net.Dial("tcp", ts.tlsAddr); err == nil {
		t.Error("listener still accepts connections after Shutdown")
	}
}

func TestShutdownDeadlineCancelsBackendCalls(t *testing.T) {
	b := newMemBackend()
	b.authGate = make(chan struct{}) // never closed: Authenticate waits for ctx
	b.authCtx = make(chan context.Context, 1)
	ts := startServer(t, b, Config{})
	c := ts.dialTLS(t)
	c.write("USER " + testUser + "\r\nPASS " + testPassword + "\r\n")
	backendCtx := <-b.authCtx

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	select {
	case <-backendCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("backend call context not cancelled after the Shutdown deadline")
	}
}

func TestLogsCarryIDsButNoSecrets(t *testing.T) {
	const wrongPassword = "Wr0ng-Passw0rd-Marker"
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	c.expectPrefix(c.cmd("USER "+testUser), "+OK")
	c.expectPrefix(c.cmd("PASS "+wrongPassword), "-ERR [AUTH]")
	c.expectPrefix(c.cmd("AUTH PLAIN "+plain("", testUser, wrongPassword)), "-ERR [AUTH]")
	c.signIn()
	c.expectPrefix(c.cmd("RETR 1"), "+OK")
	c.readBody()
	c.expectPrefix(c.cmd("QUIT"), "+OK")
	c.expectEOF()
	ts.logs.waitFor(t, "pop3 session closed")

	logs := ts.logs.String()
	for _, want := range []string{"pop3 session opened", "pop3 session closed",
		"pop3 sign-in failed", "conn_id=", "remote_ip=127.0.0.1", "user=" + testUser,
		`reason="invalid credentials"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if n := strings.Count(logs, "pop3 sign-in failed"); n != 2 {
		t.Errorf("log has %d failed sign-in lines, want 2", n)
	}
	for _, secret := range []string{wrongPassword, testPassword,
		plain("", testUser, wrongPassword), "leading dot", "two dots"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
}

func TestConnIDReachesBackend(t *testing.T) {
	// memBackend.Authenticate fails without a connection id, and checks the
	// remote IP, so a successful sign-in proves both arrive.
	ts := startServer(t, newMemBackend(), Config{})
	c := ts.dialTLS(t)
	c.signIn()
	c.expectPrefix(c.cmd("QUIT"), "+OK")
}

// plain returns the base64 AUTH PLAIN response for the credentials.
func plain(authzid, user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(authzid + "\x00" + user + "\x00" + password))
}

func contains(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}
