package smtpserver

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestEHLOBeforeTLSOffersOnlySTARTTLS(t *testing.T) {
	for _, mode := range []Mode{ModeRelay, ModeSubmission} {
		t.Run(mode.String(), func(t *testing.T) {
			ts := startServer(t, mode, nil, nil)
			c := dialRaw(t, ts.addr, false)
			reply := c.cmd("EHLO client.test", 250, "")

			if !strings.HasPrefix(reply, "250-"+testHostname) {
				t.Errorf("EHLO reply does not start with the server name: %q", reply)
			}
			if !strings.Contains(reply, "STARTTLS") {
				t.Errorf("EHLO reply before TLS lacks STARTTLS: %q", reply)
			}
			for _, ext := range []string{"AUTH", "CHUNKING", "SIZE", "DSN", "REQUIRETLS"} {
				if strings.Contains(reply, ext) {
					t.Errorf("EHLO reply before TLS offers %s: %q", ext, reply)
				}
			}
		})
	}
}

func TestMailCommandsBeforeTLSGet530(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := dialRaw(t, ts.addr, false)
	c.cmd("EHLO client.test", 250, "STARTTLS")

	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword))
	for _, line := range []string{
		"MAIL FROM:<alice@firm.test>",
		"RCPT TO:<bob@court.test>",
		"DATA",
		"AUTH PLAIN " + ir,
		"AUTH LOGIN",
		"mail from:<alice@firm.test>",
	} {
		reply := c.cmd(line, 530, "5.7.0")
		if !strings.Contains(reply, "only over TLS") || !strings.Contains(reply, "STARTTLS") {
			t.Errorf("%s: reply %q does not say that TLS and STARTTLS are required",
				line, reply)
		}
	}

	// The chunk after a rejected BDAT is read and dropped, not taken as commands.
	chunk := "RSET\r\nMAIL FROM:<x@y.test>\r\n"
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk), chunk))
	c.expect(530, "5.7.0")
	c.cmd("NOOP", 250, "")

	if n := ts.backend.mailCount(); n != 0 {
		t.Errorf("backend Mail called %d times before TLS", n)
	}
	if len(ts.backend.auths) != 0 {
		t.Errorf("backend Authenticate called before TLS: %v", ts.backend.auths)
	}
}

func TestEHLOAfterTLSOffersExtensions(t *testing.T) {
	cases := []struct {
		mode     Mode
		wantAuth bool
	}{
		{ModeRelay, false},
		{ModeSubmission, true},
		{ModeSubmissions, true},
	}
	for _, tc := range cases {
		t.Run(tc.mode.String(), func(t *testing.T) {
			ts := startServer(t, tc.mode, nil, nil)
			c := dialRaw(t, ts.addr, tc.mode == ModeSubmissions)
			if tc.mode != ModeSubmissions {
				c.cmd("EHLO client.test", 250, "STARTTLS")
				c.startTLS()
			}
			reply := c.cmd("EHLO client.test", 250, "")

			for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8",
				"SIZE 52428800", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "REQUIRETLS",
				"LIMITS RCPTMAX=500"} {
				if !strings.Contains(reply, "250-"+ext+"\n") &&
					!strings.HasSuffix(reply, "250 "+ext) {
					t.Errorf("EHLO reply after TLS lacks %s: %q", ext, reply)
				}
			}
			if strings.Contains(reply, "STARTTLS") {
				t.Errorf("EHLO reply after TLS offers STARTTLS: %q", reply)
			}
			if got := strings.Contains(reply, "AUTH PLAIN LOGIN"); got != tc.wantAuth {
				t.Errorf("EHLO reply offers AUTH PLAIN LOGIN = %v, want %v: %q", got,
					tc.wantAuth, reply)
			}
		})
	}
}

func TestTLSBelow12Rejected(t *testing.T) {
	// Control: this Go build can still speak TLS 1.1 when a server allows it, so a
	// failure below comes from the server's minimum, not from the client.
	clientEnd, serverEnd := net.Pipe()
	oldServer := tls.Server(serverEnd, &tls.Config{
		Certificates: serverTLSConfig().Certificates, MinVersion: tls.VersionTLS10})
	go func() { _ = oldServer.Handshake() }()
	oldClient := tls.Client(clientEnd, tls11Client())
	if err := oldClient.Handshake(); err != nil {
		t.Fatalf("control: TLS 1.1 handshake against a TLS 1.0 server failed: %v", err)
	}
	clientEnd.Close()
	serverEnd.Close()

	weak := func(c *Config) { c.TLSConfig.MinVersion = tls.VersionTLS10 }

	t.Run("starttls", func(t *testing.T) {
		ts := startServer(t, ModeSubmission, nil, weak)
		c := dialRaw(t, ts.addr, false)
		c.cmd("EHLO client.test", 250, "STARTTLS")
		c.cmd("STARTTLS", 220, "")
		if err := tls.Client(c.conn, tls11Client()).Handshake(); err == nil {
			t.Fatal("TLS 1.1 handshake after STARTTLS succeeded")
		}
	})

	t.Run("implicit", func(t *testing.T) {
		ts := startServer(t, ModeSubmissions, nil, weak)
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := tls.Client(conn, tls11Client()).Handshake(); err == nil {
			t.Fatal("TLS 1.1 handshake on the implicit TLS listener succeeded")
		}
	})

	t.Run("tls12 accepted", func(t *testing.T) {
		ts := startServer(t, ModeSubmissions, nil, weak)
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		cfg := clientTLSConfig()
		cfg.MaxVersion = tls.VersionTLS12
		tlsConn := tls.Client(conn, cfg)
		if err := tlsConn.Handshake(); err != nil {
			t.Fatalf("TLS 1.2 handshake failed: %v", err)
		}
		if v := tlsConn.ConnectionState().Version; v != tls.VersionTLS12 {
			t.Errorf("negotiated %s, want TLS 1.2", tls.VersionName(v))
		}
	})
}

func tls11Client() *tls.Config {
	cfg := clientTLSConfig()
	cfg.MinVersion = tls.VersionTLS10
	cfg.MaxVersion = tls.VersionTLS11
	return cfg
}

func TestSTARTTLSDiscardsPipelinedCommands(t *testing.T) {
	for _, injected := range []string{
		"RSET\r\n",
		"MAIL FROM:<mallory@evil.test>\r\n",
		"EHLO evil.test\r\nMAIL FROM:<mallory@evil.test>\r\nRCPT TO:<bob@court.test>\r\n",
	} {
		t.Run(strings.Fields(injected)[0], func(t *testing.T) {
			ts := startServer(t, ModeRelay, nil, nil)
			c := dialRaw(t, ts.addr, false)
			c.cmd("EHLO client.test", 250, "STARTTLS")

			// One write, so the injected commands arrive with STARTTLS.
			c.send("STARTTLS\r\n" + injected)
			c.expect(220, "2.0.0")
			tlsConn := tls.Client(c.conn, clientTLSConfig())
			if err := tlsConn.Handshake(); err != nil {
				t.Fatalf("TLS handshake: %v", err)
			}
			c.conn = tlsConn
			c.r.Reset(tlsConn)

			// A reply to an injected command would arrive now, unasked.
			if code, text := c.reply(300 * time.Millisecond); code != 0 {
				t.Fatalf("unrequested reply after the handshake: %q", text)
			}

			// The server forgot the pre-TLS greeting and wants a new one.
			c.cmd("MAIL FROM:<alice@firm.test>", 503, "EHLO")
			c.cmd("EHLO client.test", 250, "CHUNKING")
			c.cmd("NOOP", 250, "")
			if n := ts.backend.mailCount(); n != 0 {
				t.Errorf("backend Mail called %d times: injected MAIL ran", n)
			}
			if !strings.Contains(ts.logs.String(), "discarded plaintext sent after STARTTLS") {
				t.Errorf("discarded injection not logged:\n%s", ts.logs.String())
			}
		})
	}
}

func TestSTARTTLSRejectsRepeatAndArguments(t *testing.T) {
	ts := startServer(t, ModeSubmissions, nil, nil)
	c := dialRaw(t, ts.addr, true)
	c.cmd("EHLO client.test", 250, "")
	c.cmd("STARTTLS", 503, "already active")

	ts2 := startServer(t, ModeSubmission, nil, nil)
	c2 := dialRaw(t, ts2.addr, false)
	c2.cmd("EHLO client.test", 250, "")
	c2.cmd("STARTTLS now", 501, "no parameters")
	c2.startTLS()
}

func TestSubmissionRejectsMailBeforeAuth(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := dialRaw(t, ts.addr, false)
	c.cmd("EHLO client.test", 250, "")
	c.startTLS()
	c.cmd("EHLO client.test", 250, "")
	c.cmd("MAIL FROM:<alice@firm.test>", 530, "5.7.0 Authentication required")
	if n := ts.backend.mailCount(); n != 0 {
		t.Errorf("backend Mail called %d times without AUTH", n)
	}
}

func TestAuthLimitsFailures(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := dialRaw(t, ts.addr, false)
	c.cmd("EHLO client.test", 250, "")
	c.startTLS()
	c.cmd("EHLO client.test", 250, "")

	wrong := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00wrong"))
	for i := 0; i < maxAuthFailures; i++ {
		c.cmd("AUTH PLAIN "+wrong, 535, "5.7.8")
	}
	c.send("NOOP\r\n")
	replies := c.remainingReplies()
	if len(replies) != 1 || !strings.HasPrefix(replies[0], "421 4.7.0") {
		t.Fatalf("replies after %d failures = %q, want one 421 4.7.0 then close",
			maxAuthFailures, replies)
	}
}

func TestAuthAuthzidMustMatchUser(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := dialRaw(t, ts.addr, false)
	c.cmd("EHLO client.test", 250, "")
	c.startTLS()
	c.cmd("EHLO client.test", 250, "")
	other := base64.StdEncoding.EncodeToString([]byte("bob\x00" + testUser + "\x00" +
		testPassword))
	c.cmd("AUTH PLAIN "+other, 535, "authorization identity")
	same := base64.StdEncoding.EncodeToString([]byte(testUser + "\x00" + testUser + "\x00" +
		testPassword))
	c.cmd("AUTH PLAIN "+same, 235, "")
}

func TestRelayRejectsAuth(t *testing.T) {
	ts := startServer(t, ModeRelay, nil, nil)
	c := dialRaw(t, ts.addr, false)
	c.cmd("EHLO client.test", 250, "")
	c.startTLS()
	c.cmd("EHLO client.test", 250, "")
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword))
	c.cmd("AUTH PLAIN "+ir, 502, "submission port")
	if len(ts.backend.auths) != 0 {
		t.Errorf("backend Authenticate called on the relay listener: %v", ts.backend.auths)
	}
}

func TestRelayIdentifyRejectionReachesClient(t *testing.T) {
	be := &fakeBackend{identifyErr: Reject(550, [3]int{5, 7, 1},
		"This service only accepts mail from members of the secure community")}
	ts := startServer(t, ModeRelay, be, nil)
	c := dialRaw(t, ts.addr, false)
	c.cmd("EHLO peer.test", 250, "")
	c.startTLS()
	c.cmd("EHLO peer.test", 250, "")
	c.cmd("MAIL FROM:<x@outside.test>", 550, "5.7.1 This service only accepts mail from "+
		"members of the secure community")
	if be.identifies != 1 {
		t.Errorf("Identify called %d times, want 1", be.identifies)
	}
	if n := be.mailCount(); n != 0 {
		t.Errorf("backend Mail called %d times after Identify rejected the peer", n)
	}
}

func TestMalformedSASLResponseGetsOneReply(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := dialRaw(t, ts.addr, false)
	c.cmd("EHLO client.test", 250, "")
	c.startTLS()
	c.cmd("EHLO client.test", 250, "")

	c.cmd("AUTH PLAIN", 334, "")
	c.send("AGFsaWNl\n")
	c.expect(501, "cancelled")
	c.cmd("NOOP", 250, "")
	c.authPlain()
}
