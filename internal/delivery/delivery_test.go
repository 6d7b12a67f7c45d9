package delivery

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"github.com/cjsm/cjsm/internal/pki"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestDeliverOverVerifiedTLS(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test", "b@police.test"}}
	report := f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage)
	requireDelivered(t, report)

	if report.Host != "mx1.police.test" {
		t.Errorf("report host = %q, want mx1.police.test", report.Host)
	}
	if report.Addr != tp.addr() {
		t.Errorf("report address = %q, want %q", report.Addr, tp.addr())
	}
	if report.TLSVersion != "TLS 1.3" {
		t.Errorf("report TLS version = %q, want TLS 1.3", report.TLSVersion)
	}
	if report.Cipher == "" || strings.HasPrefix(report.Cipher, "0x") {
		t.Errorf("report cipher = %q, want a cipher suite name", report.Cipher)
	}
	if report.Reused {
		t.Error("first delivery reports a reused connection")
	}

	messages := sink.WaitMessages(1, 5*time.Second)
	m := messages[0]
	if m.From != "sender@cjsm.test" {
		t.Errorf("sink MAIL FROM = %q", m.From)
	}
	if strings.Join(m.To, ",") != "a@police.test,b@police.test" {
		t.Errorf("sink RCPT TO = %q", m.To)
	}
	if string(m.Data) != testMessage {
		t.Errorf("sink data = %q, want %q", m.Data, testMessage)
	}
	if !m.TLS || m.TLSVersion != tls.VersionTLS13 {
		t.Errorf("sink TLS = %v, version %#x; want TLS 1.3", m.TLS, m.TLSVersion)
	}
	if m.ServerName != "mx1.police.test" {
		t.Errorf("SNI = %q, want mx1.police.test", m.ServerName)
	}
	if m.Helo != testHostname {
		t.Errorf("EHLO name = %q, want %q", m.Helo, testHostname)
	}
	if tp.connections() != 1 {
		t.Errorf("connections = %d, want 1", tp.connections())
	}
	tp.requireNoPlaintextMail()
}

func TestDeliverKeepsMessageBytes(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)

	// Lines starting with a dot must be dot-stuffed on the wire (RFC 5321
	// section 4.5.2), and bare LF line endings become CRLF.
	msg := "Subject: dots\r\n\r\n.\r\n..two\r\n.leading\r\nbare\nend\r\n"
	want := "Subject: dots\r\n\r\n.\r\n..two\r\n.leading\r\nbare\r\nend\r\n"
	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	requireDelivered(t, f.deliver(Target{Domain: "police.test", Port: port}, env, msg))

	got := string(sink.WaitMessages(1, 5*time.Second)[0].Data)
	if got != want {
		t.Errorf("sink data = %q, want %q", got, want)
	}
}

func TestDeliverFollowsMXPreference(t *testing.T) {
	f := newFixture(t)
	first, firstTap := f.tlsSink("mx1.police.test")
	second, secondTap := f.tlsSink("mx2.police.test")
	// The less preferred host is published first, so that order in the DNS
	// answer cannot explain the result.
	f.dns.AddMX("police.test", 20, "mx2.police.test")
	f.dns.AddMX("police.test", 10, "mx1.police.test")
	f.dns.AddA("mx1.police.test", "127.0.0.11")
	f.dns.AddA("mx2.police.test", "127.0.0.12")
	f.client.DialContext = dialMap(map[string]string{
		"127.0.0.11:25": firstTap.addr(),
		"127.0.0.12:25": secondTap.addr(),
	})

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	report := f.deliver(Target{Domain: "police.test"}, env, testMessage)
	requireDelivered(t, report)

	if report.Host != "mx1.police.test" || report.Addr != "127.0.0.11:25" {
		t.Errorf("delivered through %s %s, want mx1.police.test 127.0.0.11:25",
			report.Host, report.Addr)
	}
	first.WaitMessages(1, 5*time.Second)
	if n := len(second.Messages()); n != 0 {
		t.Errorf("less preferred MX received %d messages, want 0", n)
	}
}

func TestDeliverFallsBackWhenFirstMXDown(t *testing.T) {
	f := newFixture(t)
	second, secondTap := f.tlsSink("mx2.police.test")
	f.dns.AddMX("police.test", 10, "mx1.police.test")
	f.dns.AddMX("police.test", 20, "mx2.police.test")
	f.dns.AddA("mx1.police.test", "127.0.0.11")
	f.dns.AddA("mx2.police.test", "127.0.0.12")
	f.client.DialContext = dialMap(map[string]string{
		"127.0.0.11:25": closedAddr(t),
		"127.0.0.12:25": secondTap.addr(),
	})

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	report := f.deliver(Target{Domain: "police.test"}, env, testMessage)
	requireDelivered(t, report)

	if report.Host != "mx2.police.test" {
		t.Errorf("delivered through %s, want mx2.police.test", report.Host)
	}
	second.WaitMessages(1, 5*time.Second)
}

func TestDeliverFallsBackOnCertificateFailure(t *testing.T) {
	f := newFixture(t)
	// mx1's certificate names another host; mx2's is right.
	first, firstTap := f.tlsSink("other.police.test")
	second, secondTap := f.tlsSink("mx2.police.test")
	f.dns.AddMX("police.test", 10, "mx1.police.test")
	f.dns.AddMX("police.test", 20, "mx2.police.test")
	f.dns.AddA("mx1.police.test", "127.0.0.11")
	f.dns.AddA("mx2.police.test", "127.0.0.12")
	f.client.DialContext = dialMap(map[string]string{
		"127.0.0.11:25": firstTap.addr(),
		"127.0.0.12:25": secondTap.addr(),
	})

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	report := f.deliver(Target{Domain: "police.test"}, env, testMessage)
	requireDelivered(t, report)

	if report.Host != "mx2.police.test" {
		t.Errorf("delivered through %s, want mx2.police.test", report.Host)
	}
	second.WaitMessages(1, 5*time.Second)
	if n := len(first.Messages()); n != 0 {
		t.Errorf("MX with the wrong certificate received %d messages", n)
	}
	firstTap.requireNoPlaintextMail()
}

func TestDeliverFallsBackOnBusyGreeting(t *testing.T) {
	f := newFixture(t)
	busy := busyServer(t, "421 4.3.2 mx1.police.test busy, try later")
	second, secondTap := f.tlsSink("mx2.police.test")
	f.dns.AddMX("police.test", 10, "mx1.police.test")
	f.dns.AddMX("police.test", 20, "mx2.police.test")
	f.dns.AddA("mx1.police.test", "127.0.0.11")
	f.dns.AddA("mx2.police.test", "127.0.0.12")
	f.client.DialContext = dialMap(map[string]string{
		"127.0.0.11:25": busy,
		"127.0.0.12:25": secondTap.addr(),
	})

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	report := f.deliver(Target{Domain: "police.test"}, env, testMessage)
	requireDelivered(t, report)
	if report.Host != "mx2.police.test" {
		t.Errorf("delivered through %s, want mx2.police.test", report.Host)
	}
	second.WaitMessages(1, 5*time.Second)
}

func TestAllMXFailuresCombine(t *testing.T) {
	f := newFixture(t)
	busy := busyServer(t, "421 4.3.2 mx2.police.test busy, try later")
	f.dns.AddMX("police.test", 10, "mx1.police.test")
	f.dns.AddMX("police.test", 20, "mx2.police.test")
	f.dns.AddA("mx1.police.test", "127.0.0.11")
	f.dns.AddA("mx2.police.test", "127.0.0.12")
	f.client.DialContext = dialMap(map[string]string{
		"127.0.0.11:25": closedAddr(t),
		"127.0.0.12:25": busy,
	})

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test", "b@police.test"}}
	failure := requireAllFailed(t, f.deliver(Target{Domain: "police.test"}, env, testMessage))

	if !failure.Temporary {
		t.Error("failure is permanent, want temporary")
	}
	for _, want := range []string{"mx1.police.test [127.0.0.11]", "connection failed",
		"mx2.police.test [127.0.0.12]", "421 4.3.2"} {
		if !strings.Contains(failure.Message, want) {
			t.Errorf("message %q does not contain %q", failure.Message, want)
		}
	}
}

// busyServer starts a server on 127.0.0.1 that greets every connection with
// greeting and closes it, as a server does when overloaded, and returns its
// address.
func busyServer(t *testing.T, greeting string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			conn.Write([]byte(greeting + "\r\n"))
			bufio.NewReader(conn).ReadString('\n') // QUIT, if sent
			conn.Close()
		}
	}()
	return l.Addr().String()
}

func TestTLSFailureSendsNothing(t *testing.T) {
	otherCA, err := pki.NewCA("untrusted test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		serverTLS  func(f *fixture) *tls.Config
		wantReason string
	}{
		{
			name: "wrong name",
			serverTLS: func(f *fixture) *tls.Config {
				config, _ := serverTLS(t, f.ca, "mx9.elsewhere.test")
				return config
			},
			wantReason: "certificate is not valid for mx1.police.test",
		},
		{
			name: "untrusted CA",
			serverTLS: func(*fixture) *tls.Config {
				config, _ := serverTLS(t, otherCA, "mx1.police.test")
				return config
			},
			wantReason: "not signed by a trusted certificate authority",
		},
		{
			name: "TLS 1.1 only",
			serverTLS: func(f *fixture) *tls.Config {
				config, _ := serverTLS(t, f.ca, "mx1.police.test")
				config.MinVersion = tls.VersionTLS10
				config.MaxVersion = tls.VersionTLS11
				return config
			},
			wantReason: "TLS handshake failed",
		},
		{
			name: "self-signed",
			serverTLS: func(*fixture) *tls.Config {
				return selfSignedTLS(t, "mx1.police.test")
			},
			wantReason: "certificate is self-signed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			sink := testenv.Sink(t, testenv.SinkOptions{
				TLSConfig: tt.serverTLS(f), RequireTLS: true})
			tp := newTap(t, sink.Addr())
			port := f.mxTo("police.test", "mx1.police.test", tp)

			env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
			report := f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage)
			failure := requireAllFailed(t, report)

			if !failure.Temporary {
				t.Error("certificate failure is permanent, want temporary")
			}
			if failure.Code != 0 || failure.Enhanced != "4.7.5" {
				t.Errorf("code %d %s, want 0 4.7.5", failure.Code, failure.Enhanced)
			}
			if failure.Host != "mx1.police.test" {
				t.Errorf("error host = %q, want mx1.police.test", failure.Host)
			}
			for _, want := range []string{"mx1.police.test [127.0.0.1]", tt.wantReason,
				"not sent in plaintext"} {
				if !strings.Contains(failure.Message, want) {
					t.Errorf("message %q does not contain %q", failure.Message, want)
				}
			}
			if n := len(sink.Messages()); n != 0 {
				t.Errorf("sink received %d messages", n)
			}
			if r := sink.Rejections(); len(r) != 0 {
				t.Errorf("sink saw commands before TLS: %q", r)
			}
			tp.requireNoPlaintextMail()
		})
	}
}

func TestServerWithoutSTARTTLSGetsNothing(t *testing.T) {
	f := newFixture(t)
	sink := testenv.Sink(t, testenv.SinkOptions{RequireTLS: true})
	tp := newTap(t, sink.Addr())
	port := f.mxTo("police.test", "mx1.police.test", tp)

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	failure := requireAllFailed(t,
		f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage))

	if !failure.Temporary || failure.Enhanced != "4.7.4" {
		t.Errorf("failure temporary %v, enhanced %s; want temporary 4.7.4",
			failure.Temporary, failure.Enhanced)
	}
	for _, want := range []string{"mx1.police.test", "does not offer STARTTLS",
		"not sent in plaintext"} {
		if !strings.Contains(failure.Message, want) {
			t.Errorf("message %q does not contain %q", failure.Message, want)
		}
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink received %d messages", n)
	}
	if r := sink.Rejections(); len(r) != 0 {
		t.Errorf("sink saw MAIL in plaintext: %q", r)
	}
	tp.requireNoPlaintextMail()
	if !strings.Contains(tp.clientBytes(), "EHLO "+testHostname) {
		t.Errorf("client did not send EHLO %s; it sent %q", testHostname, tp.clientBytes())
	}
}

func TestPinnedPolicy(t *testing.T) {
	otherCA, err := pki.NewCA("untrusted test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// An untrusted certificate for a name other than the MX host: only its
	// fingerprint can make it acceptable.
	pinnedConfig, pinnedLeaf := serverTLS(t, otherCA, "legacy-gateway.internal")

	tests := []struct {
		name          string
		serverTLS     func(f *fixture) *tls.Config
		policy        func(f *fixture) Policy
		wantDelivered bool
	}{
		{
			name:      "fingerprint accepts wrong name",
			serverTLS: func(*fixture) *tls.Config { return pinnedConfig },
			policy: func(*fixture) Policy {
				return Policy{Mode: ModePinned,
					PinnedFingerprints: []string{pki.Fingerprint(pinnedLeaf)}}
			},
			wantDelivered: true,
		},
		{
			name:      "fingerprint with colons and upper case",
			serverTLS: func(*fixture) *tls.Config { return pinnedConfig },
			policy: func(*fixture) Policy {
				return Policy{Mode: ModePinned,
					PinnedFingerprints: []string{colonHex(pki.Fingerprint(pinnedLeaf))}}
			},
			wantDelivered: true,
		},
		{
			name:      "other fingerprint rejects",
			serverTLS: func(*fixture) *tls.Config { return pinnedConfig },
			policy: func(*fixture) Policy {
				return Policy{Mode: ModePinned,
					PinnedFingerprints: []string{strings.Repeat("ab", 32)}}
			},
			wantDelivered: false,
		},
		{
			name: "pinned name accepts trusted certificate for it",
			serverTLS: func(f *fixture) *tls.Config {
				config, _ := serverTLS(t, f.ca, "relay.firm.test")
				return config
			},
			policy: func(*fixture) Policy {
				return Policy{Mode: ModePinned, PinnedNames: []string{"relay.firm.test"}}
			},
			wantDelivered: true,
		},
		{
			name: "pinned name rejects untrusted certificate for it",
			serverTLS: func(*fixture) *tls.Config {
				config, _ := serverTLS(t, otherCA, "relay.firm.test")
				return config
			},
			policy: func(*fixture) Policy {
				return Policy{Mode: ModePinned, PinnedNames: []string{"relay.firm.test"}}
			},
			wantDelivered: false,
		},
		{
			name: "pinned name rejects MX name",
			serverTLS: func(f *fixture) *tls.Config {
				config, _ := serverTLS(t, f.ca, "mx1.police.test")
				return config
			},
			policy: func(*fixture) Policy {
				return Policy{Mode: ModePinned, PinnedNames: []string{"relay.firm.test"}}
			},
			wantDelivered: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			sink := testenv.Sink(t, testenv.SinkOptions{
				TLSConfig: tt.serverTLS(f), RequireTLS: true})
			tp := newTap(t, sink.Addr())
			port := f.mxTo("police.test", "mx1.police.test", tp)

			target := Target{Domain: "police.test", Port: port, Policy: tt.policy(f)}
			env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
			report := f.deliver(target, env, testMessage)

			if tt.wantDelivered {
				requireDelivered(t, report)
				sink.WaitMessages(1, 5*time.Second)
				return
			}
			failure := requireAllFailed(t, report)
			if !failure.Temporary || failure.Enhanced != "4.7.5" {
				t.Errorf("failure temporary %v, enhanced %s; want temporary 4.7.5",
					failure.Temporary, failure.Enhanced)
			}
			if n := len(sink.Messages()); n != 0 {
				t.Errorf("sink received %d messages", n)
			}
			tp.requireNoPlaintextMail()
		})
	}
}

// colonHex writes a hex digest in upper case with colons, as openssl x509
// -fingerprint prints it.
func colonHex(hex string) string {
	var pairs []string
	for i := 0; i < len(hex); i += 2 {
		pairs = append(pairs, strings.ToUpper(hex[i:i+2]))
	}
	return strings.Join(pairs, ":")
}

func TestRecipientRepliesPerRecipient(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("mx1.police.test")
	sink.SetRcptError(func(rcpt string) *smtp.SMTPError {
		switch rcpt {
		case "gone@police.test":
			return testenv.SMTPError(550, "5.1.1", "no such user")
		case "busy@police.test":
			return testenv.SMTPError(451, "4.3.0", "mailbox busy")
		case "plain@police.test":
			return testenv.SMTPError(452, "", "too many recipients")
		}
		return nil
	})
	port := f.mxTo("police.test", "mx1.police.test", tp)

	env := Envelope{From: "sender@cjsm.test", To: []string{
		"gone@police.test", "ok@police.test", "busy@police.test", "plain@police.test"}}
	report := f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage)

	want := []struct {
		rcpt      string
		delivered bool
		temporary bool
		code      int
		enhanced  string
	}{
		{"gone@police.test", false, false, 550, "5.1.1"},
		{"ok@police.test", true, false, 0, ""},
		{"busy@police.test", false, true, 451, "4.3.0"},
		{"plain@police.test", false, true, 452, "4.0.0"},
	}
	for i, w := range want {
		r := report.Results[i]
		if r.Rcpt != w.rcpt {
			t.Errorf("result %d is for %s, want %s", i, r.Rcpt, w.rcpt)
		}
		if w.delivered {
			if r.Err != nil {
				t.Errorf("%s: not delivered: %v", w.rcpt, r.Err)
			}
			continue
		}
		if r.Err == nil {
			t.Errorf("%s: delivered, want code %d", w.rcpt, w.code)
			continue
		}
		if r.Err.Temporary != w.temporary || r.Err.Code != w.code ||
			r.Err.Enhanced != w.enhanced {
			t.Errorf("%s: temporary %v code %d enhanced %s; want %v %d %s", w.rcpt,
				r.Err.Temporary, r.Err.Code, r.Err.Enhanced, w.temporary, w.code, w.enhanced)
		}
		if !strings.Contains(r.Err.Message, "RCPT TO:<"+w.rcpt+">") {
			t.Errorf("%s: message %q does not name the command", w.rcpt, r.Err.Message)
		}
	}
	if got := report.Results[0].Err; got != nil && got.Reply != "550 5.1.1 no such user" {
		t.Errorf("reply = %q, want the server's reply", got.Reply)
	}

	m := sink.WaitMessages(1, 5*time.Second)[0]
	if strings.Join(m.To, ",") != "ok@police.test" {
		t.Errorf("sink recipients = %q, want only ok@police.test", m.To)
	}
}

func TestDataReplyAppliesToAccepted(t *testing.T) {
	tests := []struct {
		name      string
		dataError *smtp.SMTPError
		temporary bool
		code      int
	}{
		{"temporary", testenv.SMTPError(451, "4.3.0", "queue full"), true, 451},
		{"permanent", testenv.SMTPError(554, "5.7.1", "content rejected"), false, 554},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			sink, tp := f.tlsSink("mx1.police.test")
			sink.SetDataError(tt.dataError)
			sink.SetRcptError(func(rcpt string) *smtp.SMTPError {
				if rcpt == "gone@police.test" {
					return testenv.SMTPError(550, "5.1.1", "no such user")
				}
				return nil
			})
			port := f.mxTo("police.test", "mx1.police.test", tp)

			env := Envelope{From: "sender@cjsm.test",
				To: []string{"a@police.test", "gone@police.test", "b@police.test"}}
			report := f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage)

			for _, i := range []int{0, 2} {
				r := report.Results[i]
				if r.Err == nil {
					t.Fatalf("%s delivered despite DATA error", r.Rcpt)
				}
				if r.Err.Temporary != tt.temporary || r.Err.Code != tt.code {
					t.Errorf("%s: temporary %v code %d; want %v %d", r.Rcpt,
						r.Err.Temporary, r.Err.Code, tt.temporary, tt.code)
				}
			}
			if r := report.Results[1]; r.Err == nil || r.Err.Code != 550 {
				t.Errorf("gone@police.test result %+v, want its own 550", r.Err)
			}
		})
	}
}

func TestNullMXIsPermanent(t *testing.T) {
	f := newFixture(t)
	f.dns.AddMX("nomail.test", 0, ".")
	f.dns.AddA("nomail.test", "127.0.0.1")
	f.client.DialContext = dialMap(nil)

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@nomail.test"}}
	failure := requireAllFailed(t, f.deliver(Target{Domain: "nomail.test"}, env, testMessage))

	if failure.Temporary || failure.Enhanced != "5.1.10" {
		t.Errorf("temporary %v enhanced %s, want permanent 5.1.10", failure.Temporary,
			failure.Enhanced)
	}
	if !strings.Contains(failure.Message, "nomail.test accepts no mail") ||
		!strings.Contains(failure.Message, "null MX") {
		t.Errorf("message %q does not explain the null MX", failure.Message)
	}
}

func TestDNSFailures(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(d *testenv.DNSServer)
		temporary    bool
		enhanced     string
		wantInReason string
	}{
		{
			name:         "NXDOMAIN is permanent",
			setup:        func(*testenv.DNSServer) {},
			enhanced:     "5.1.2",
			wantInReason: "does not exist",
		},
		{
			name: "SERVFAIL is temporary",
			setup: func(d *testenv.DNSServer) {
				d.SetRcode("police.test", dns.RcodeServerFailure)
			},
			temporary:    true,
			enhanced:     "4.4.3",
			wantInReason: "SERVFAIL",
		},
		{
			name: "MX host without address is permanent",
			setup: func(d *testenv.DNSServer) {
				d.AddMX("police.test", 10, "mx1.police.test")
				d.AddTXT("mx1.police.test", "no address here")
			},
			enhanced:     "5.4.4",
			wantInReason: "no A or AAAA records",
		},
		{
			name: "MX host SERVFAIL is temporary",
			setup: func(d *testenv.DNSServer) {
				d.AddMX("police.test", 10, "mx1.police.test")
				d.SetRcode("mx1.police.test", dns.RcodeServerFailure)
			},
			temporary:    true,
			enhanced:     "4.4.3",
			wantInReason: "SERVFAIL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f.dns)
			f.client.DialContext = dialMap(nil)

			env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
			failure := requireAllFailed(t,
				f.deliver(Target{Domain: "police.test"}, env, testMessage))
			if failure.Temporary != tt.temporary || failure.Enhanced != tt.enhanced {
				t.Errorf("temporary %v enhanced %s, want %v %s", failure.Temporary,
					failure.Enhanced, tt.temporary, tt.enhanced)
			}
			if !strings.Contains(failure.Message, tt.wantInReason) {
				t.Errorf("message %q does not contain %q", failure.Message, tt.wantInReason)
			}
		})
	}
}

func TestDNSTimeoutIsTemporary(t *testing.T) {
	f := newFixture(t)
	// A UDP socket that never replies plays the part of an unreachable resolver.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	f.client.Resolver = silent.LocalAddr().String()
	f.client.DNSTimeout = 200 * time.Millisecond

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	failure := requireAllFailed(t, f.deliver(Target{Domain: "police.test"}, env, testMessage))
	if !failure.Temporary || failure.Enhanced != "4.4.3" {
		t.Errorf("temporary %v enhanced %s, want temporary 4.4.3", failure.Temporary,
			failure.Enhanced)
	}
}

func TestImplicitMXUsesDomainAddress(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("police.test")
	f.dns.AddA("police.test", "127.0.0.1")

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	report := f.deliver(Target{Domain: "police.test", Port: tp.port()}, env, testMessage)
	requireDelivered(t, report)
	if report.Host != "police.test" {
		t.Errorf("delivered through %s, want the domain itself", report.Host)
	}
	sink.WaitMessages(1, 5*time.Second)
}

func TestRouteReplacesMXLookup(t *testing.T) {
	f := newFixture(t)
	// No DNS records at all: the route alone must lead to the server, and its
	// certificate must name the route's host, here an IP address.
	sink, tp := f.tlsSink("127.0.0.1")

	env := Envelope{From: "sender@cjsm.test", To: []string{"jane@firm.test"}}
	report := f.deliver(Target{Domain: "firm.test", Route: tp.addr()}, env, testMessage)
	requireDelivered(t, report)
	if report.Host != "127.0.0.1" {
		t.Errorf("report host = %q, want 127.0.0.1", report.Host)
	}
	sink.WaitMessages(1, 5*time.Second)
}

func TestConnectionReuse(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)
	target := Target{Domain: "police.test", Port: port}

	first := f.deliver(target, Envelope{From: "a@cjsm.test", To: []string{"x@police.test"}},
		testMessage)
	requireDelivered(t, first)
	second := f.deliver(target, Envelope{From: "b@cjsm.test", To: []string{"y@police.test"}},
		testMessage)
	requireDelivered(t, second)

	messages := sink.WaitMessages(2, 5*time.Second)
	if messages[0].From != "a@cjsm.test" || messages[1].From != "b@cjsm.test" {
		t.Errorf("senders = %q, %q", messages[0].From, messages[1].From)
	}
	if n := tp.connections(); n != 1 {
		t.Errorf("two deliveries used %d connections, want 1", n)
	}
	if !second.Reused {
		t.Error("second delivery does not report a reused connection")
	}
	if second.TLSVersion != first.TLSVersion || second.Cipher != first.Cipher {
		t.Errorf("reused connection reports %s %s, first %s %s", second.TLSVersion,
			second.Cipher, first.TLSVersion, first.Cipher)
	}
}

func TestReuseIsKeyedByPolicy(t *testing.T) {
	f := newFixture(t)
	_, leaf := serverTLS(t, f.ca, "unused.test")
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)
	env := Envelope{From: "a@cjsm.test", To: []string{"x@police.test"}}

	requireDelivered(t, f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage))
	// A session verified in mode mx proves nothing for a pinned policy that
	// the server's certificate fails, so it must not be reused for it.
	pinned := Target{Domain: "police.test", Port: port, Policy: Policy{
		Mode: ModePinned, PinnedFingerprints: []string{pki.Fingerprint(leaf)}}}
	failure := requireAllFailed(t, f.deliver(pinned, env, testMessage))
	if failure.Enhanced != "4.7.5" {
		t.Errorf("pinned delivery failed with %s (%s), want 4.7.5", failure.Enhanced,
			failure.Message)
	}
	if n := len(sink.Messages()); n != 1 {
		t.Errorf("sink holds %d messages, want 1", n)
	}
	if n := tp.connections(); n != 2 {
		t.Errorf("connections = %d, want 2", n)
	}
}

func TestReuseRedialsDeadConnection(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)
	target := Target{Domain: "police.test", Port: port}
	env := Envelope{From: "a@cjsm.test", To: []string{"x@police.test"}}

	requireDelivered(t, f.deliver(target, env, testMessage))
	tp.closeConnections()
	second := f.deliver(target, env, testMessage)
	requireDelivered(t, second)

	sink.WaitMessages(2, 5*time.Second)
	if second.Reused {
		t.Error("second delivery reports reuse of a connection that was cut")
	}
	if n := tp.connections(); n != 2 {
		t.Errorf("connections = %d, want 2", n)
	}
}

func TestIdleConnectionsTimeOut(t *testing.T) {
	f := newFixture(t)
	f.client.IdleTimeout = 100 * time.Millisecond
	_, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)

	env := Envelope{From: "a@cjsm.test", To: []string{"x@police.test"}}
	requireDelivered(t, f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage))
	if n := f.client.pool().count(); n != 1 {
		t.Fatalf("idle connections after delivery = %d, want 1", n)
	}

	deadline := time.Now().Add(5 * time.Second)
	for tp.open() > 0 || f.client.pool().count() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %d idle, %d open connections; want none",
				f.client.pool().count(), tp.open())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(tp.clientBytes(), "EHLO") {
		t.Fatal("tap recorded nothing")
	}
}

func TestConcurrentDeliveriesShareConnections(t *testing.T) {
	const workers, perWorker = 6, 4
	f := newFixture(t)
	// With one idle slot per worker, a worker dials only when every other
	// connection is in use, so at most one connection per worker is opened.
	f.client.MaxIdlePerHost = workers
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)
	target := Target{Domain: "police.test", Port: port}

	var wg sync.WaitGroup
	errs := make(chan string, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				rcpt := "r" + strconv.Itoa(w*perWorker+i) + "@police.test"
				report, err := f.client.Deliver(context.Background(), target,
					Envelope{From: "sender@cjsm.test", To: []string{rcpt}},
					[]byte(testMessage))
				if err != nil {
					errs <- err.Error()
				} else if r := report.Results[0]; r.Err != nil {
					errs <- r.Err.Message
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}

	sink.WaitMessages(workers*perWorker, 10*time.Second)
	if n := tp.connections(); n > workers {
		t.Errorf("%d deliveries from %d workers used %d connections, want at most %d",
			workers*perWorker, workers, n, workers)
	}
}

func TestNoReuseWhenDisabled(t *testing.T) {
	f := newFixture(t)
	f.client.MaxIdlePerHost = -1
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)
	env := Envelope{From: "a@cjsm.test", To: []string{"x@police.test"}}
	target := Target{Domain: "police.test", Port: port}

	requireDelivered(t, f.deliver(target, env, testMessage))
	requireDelivered(t, f.deliver(target, env, testMessage))
	sink.WaitMessages(2, 5*time.Second)
	if n := tp.connections(); n != 2 {
		t.Errorf("connections = %d, want 2", n)
	}
}

func TestRequireTLSUnsupportedIsPermanent(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}, RequireTLS: true}
	failure := requireAllFailed(t,
		f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage))

	if failure.Temporary || failure.Enhanced != "5.7.30" {
		t.Errorf("temporary %v enhanced %s, want permanent 5.7.30", failure.Temporary,
			failure.Enhanced)
	}
	for _, want := range []string{"mx1.police.test", "does not offer REQUIRETLS",
		"RFC 8689 section 4.2.1"} {
		if !strings.Contains(failure.Message, want) {
			t.Errorf("message %q does not contain %q", failure.Message, want)
		}
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink received %d messages", n)
	}
}

func TestInvalidRecipientFailsAlone(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)

	env := Envelope{From: "sender@cjsm.test",
		To: []string{"bad@@police.test", "ok@police.test", "inject@police.test>\r\nRSET"}}
	report := f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage)

	for _, i := range []int{0, 2} {
		r := report.Results[i]
		if r.Err == nil || r.Err.Temporary || r.Err.Enhanced != "5.1.3" {
			t.Errorf("%q: result %+v, want permanent 5.1.3", r.Rcpt, r.Err)
		}
	}
	if r := report.Results[1]; r.Err != nil {
		t.Errorf("ok@police.test not delivered: %v", r.Err)
	}
	m := sink.WaitMessages(1, 5*time.Second)[0]
	if strings.Join(m.To, ",") != "ok@police.test" {
		t.Errorf("sink recipients = %q", m.To)
	}
}

func TestInternationalisedAddressDelivered(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)

	env := Envelope{From: "sender@cjsm.test", To: []string{"jöran@police.test"}}
	requireDelivered(t, f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage))
	m := sink.WaitMessages(1, 5*time.Second)[0]
	if m.To[0] != "jöran@police.test" {
		t.Errorf("sink recipient = %q", m.To[0])
	}
}

func TestCancelledContextSendsNothing(t *testing.T) {
	f := newFixture(t)
	sink, tp := f.tlsSink("mx1.police.test")
	port := f.mxTo("police.test", "mx1.police.test", tp)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	report, err := f.client.Deliver(ctx, Target{Domain: "police.test", Port: port}, env,
		[]byte(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	failure := requireAllFailed(t, report)
	if !failure.Temporary {
		t.Errorf("cancelled delivery failed permanently: %s", failure.Message)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink received %d messages", n)
	}
}

func TestSlowServerTimesOut(t *testing.T) {
	f := newFixture(t)
	f.client.CommandTimeout = 300 * time.Millisecond
	// A server that accepts the connection and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var accepted []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range accepted {
			conn.Close()
		}
	})
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, conn)
			mu.Unlock()
		}
	}()

	env := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	began := time.Now()
	failure := requireAllFailed(t,
		f.deliver(Target{Domain: "police.test", Route: l.Addr().String()}, env, testMessage))
	if elapsed := time.Since(began); elapsed > 3*time.Second {
		t.Errorf("delivery took %v with a 300 ms command timeout", elapsed)
	}
	if !failure.Temporary || !strings.Contains(failure.Message, "no reply to the greeting") {
		t.Errorf("failure %+v, want a temporary greeting timeout", failure)
	}
}

func TestInvalidArgumentsRejected(t *testing.T) {
	good := Envelope{From: "sender@cjsm.test", To: []string{"a@police.test"}}
	tests := []struct {
		name   string
		target Target
		env    Envelope
		want   string
	}{
		{"unknown mode", Target{Domain: "police.test", Policy: Policy{Mode: "strict"}},
			good, `mode "strict" is unknown`},
		{"pinned without pins", Target{Domain: "police.test",
			Policy: Policy{Mode: ModePinned}}, good, "no PinnedNames"},
		{"short fingerprint", Target{Domain: "police.test", Policy: Policy{
			Mode: ModePinned, PinnedFingerprints: []string{"abcd"}}}, good, "64 hex digits"},
		{"no destination", Target{}, good, "neither Domain nor Route"},
		{"route without port", Target{Route: "smtp.firm.test"}, good, "not host:port"},
		{"route with bad port", Target{Route: "smtp.firm.test:0"}, good, "invalid host or port"},
		{"no recipients", Target{Domain: "police.test"},
			Envelope{From: "sender@cjsm.test"}, "no recipients"},
		{"bad sender", Target{Domain: "police.test"},
			Envelope{From: "sender@@cjsm.test", To: good.To}, "sender"},
		{"bad NOTIFY", Target{Domain: "police.test"}, Envelope{From: good.From, To: good.To,
			Notify: map[string]string{"a@police.test": "NEVER,SUCCESS"}}, "NEVER"},
		{"bad RET", Target{Domain: "police.test"},
			Envelope{From: good.From, To: good.To, RET: "ALL"}, `RET "ALL"`},
		{"bad ENVID", Target{Domain: "police.test"},
			Envelope{From: good.From, To: good.To, EnvID: "a\r\nb"}, "ENVID"},
	}
	client := &Client{DialContext: dialMap(nil), Resolver: testenv.DNS(t).Addr()}
	defer client.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Deliver(context.Background(), tt.target, tt.env,
				[]byte(testMessage))
			if err == nil {
				t.Fatal("Deliver accepted invalid arguments")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}
