package testenv

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/pki"
	"github.com/emersion/go-smtp"
)

// writeCAFile writes ca's certificate to a file for Postfix's smtp_tls_CAfile.
func writeCAFile(t *testing.T, ca *pki.CA) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPostfixSendsToSinkWithVerifiedTLS(t *testing.T) {
	ca := newCA(t)
	sink := Sink(t, SinkOptions{TLSConfig: serverTLS(t, ca, "mx.sink.test")})
	postfix := Postfix(t, PostfixOptions{
		SendTo:         sink.Addr(),
		SendCAFile:     writeCAFile(t, ca),
		SendServerName: "mx.sink.test",
	})

	err := postfix.Sendmail("a@police.example", []string{"b@cps.example"}, []byte(testMessage))
	if err != nil {
		t.Fatal(err)
	}

	m := sink.WaitMessages(1, 20*time.Second)[0]
	if m.From != "a@police.example" || strings.Join(m.To, ",") != "b@cps.example" {
		t.Errorf("envelope = %s -> %v, want a@police.example -> [b@cps.example]", m.From, m.To)
	}
	if !strings.Contains(string(m.Data), "Subject: testenv check") {
		t.Errorf("message lacks its Subject:\n%s", m.Data)
	}
	if !m.TLS || m.TLSVersion < tls.VersionTLS12 {
		t.Errorf("TLS = %v, version %s; want TLS 1.2 or later", m.TLS, tls.VersionName(m.TLSVersion))
	}
	if m.ServerName != "mx.sink.test" {
		t.Errorf("SNI = %q, want mx.sink.test", m.ServerName)
	}
	if m.Helo != "peer.test" {
		t.Errorf("EHLO name = %q, want peer.test", m.Helo)
	}
	postfix.WaitMaillog("Verified TLS connection established", 5*time.Second)
	postfix.WaitQueueEmpty(5 * time.Second)
}

func TestPostfixSecureRejectsUntrustedCertificate(t *testing.T) {
	trusted := newCA(t)
	untrusted := newCA(t)
	sink := Sink(t, SinkOptions{TLSConfig: serverTLS(t, untrusted, "mx.sink.test")})
	postfix := Postfix(t, PostfixOptions{
		SendTo:         sink.Addr(),
		SendCAFile:     writeCAFile(t, trusted),
		SendServerName: "mx.sink.test",
	})

	err := postfix.Sendmail("a@police.example", []string{"b@cps.example"}, []byte(testMessage))
	if err != nil {
		t.Fatal(err)
	}

	log := postfix.WaitMaillog("status=deferred (Server certificate not verified)", 20*time.Second)
	if !strings.Contains(log, "untrusted issuer") {
		t.Errorf("mail log does not blame the issuer:\n%s", log)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink received %d messages over an unverified connection, want 0", n)
	}
	if queue := postfix.Queue(); !strings.Contains(queue, "b@cps.example") {
		t.Errorf("deferred message not in the queue:\n%s", queue)
	}
}

func TestPostfixSecureRejectsWrongName(t *testing.T) {
	ca := newCA(t)
	sink := Sink(t, SinkOptions{TLSConfig: serverTLS(t, ca, "mx.other.test")})
	postfix := Postfix(t, PostfixOptions{
		SendTo:         sink.Addr(),
		SendCAFile:     writeCAFile(t, ca),
		SendServerName: "mx.sink.test",
	})

	err := postfix.Sendmail("a@police.example", []string{"b@cps.example"}, []byte(testMessage))
	if err != nil {
		t.Fatal(err)
	}

	log := postfix.WaitMaillog("status=deferred (Server certificate not verified)", 20*time.Second)
	if !strings.Contains(log, "hostname mismatch") {
		t.Errorf("mail log does not blame the host name:\n%s", log)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink received %d messages under a certificate for another name, want 0", n)
	}
}

func TestPostfixReceivesWithSTARTTLSAndKeeps(t *testing.T) {
	ca := newCA(t)
	certPEM, keyPEM, err := ca.Issue([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	postfix := Postfix(t, PostfixOptions{CertPEM: certPEM, KeyPEM: keyPEM, Keep: true})

	client, err := smtp.DialStartTLS(postfix.Addr(), &tls.Config{
		RootCAs:    ca.Pool(),
		ServerName: "localhost",
	})
	if err != nil {
		t.Fatalf("STARTTLS to Postfix: %v", err)
	}
	defer client.Close()
	err = client.SendMail("a@police.example", []string{"b@cps.example"},
		strings.NewReader(testMessage))
	if err != nil {
		t.Fatalf("SendMail to Postfix: %v", err)
	}

	m := postfix.Kept().WaitMessages(1, 20*time.Second)[0]
	if !strings.Contains(string(m.Data), "Subject: testenv check") {
		t.Errorf("kept message lacks its Subject:\n%s", m.Data)
	}
	// smtpd_tls_received_header records the inbound TLS session.
	if !strings.Contains(string(m.Data), "(using TLSv1.") {
		t.Errorf("Received header does not show TLS:\n%s", m.Data)
	}
}

func TestPostfixDiscardsByDefault(t *testing.T) {
	postfix := Postfix(t, PostfixOptions{})

	err := sendPlain(postfix.Addr(), "a@police.example", []string{"b@cps.example"}, testMessage)
	if err != nil {
		t.Fatalf("send to Postfix: %v", err)
	}

	log := postfix.WaitMaillog("status=sent", 20*time.Second)
	if !strings.Contains(log, "postfix/discard") {
		t.Errorf("message not delivered by the discard transport:\n%s", log)
	}
}

func TestPostfixRetriesAfterTemporaryRejection(t *testing.T) {
	sink := Sink(t, SinkOptions{
		RcptError: func(string) *smtp.SMTPError {
			return SMTPError(451, "4.3.0", "try again later")
		},
	})
	postfix := Postfix(t, PostfixOptions{Relayhost: sink.Addr()})

	err := postfix.Sendmail("a@police.example", []string{"b@cps.example"}, []byte(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	postfix.WaitMaillog("451 4.3.0 try again later", 20*time.Second)
	if len(sink.Rejections()) == 0 {
		t.Error("sink recorded no rejection")
	}

	sink.SetRcptError(nil)
	postfix.Flush()
	sink.WaitMessages(1, 20*time.Second)
	postfix.WaitQueueEmpty(5 * time.Second)
}

func TestPostfixOptionsCheck(t *testing.T) {
	cases := []struct {
		name string
		opts PostfixOptions
		ok   bool
	}{
		{"defaults", PostfixOptions{}, true},
		{"relayhost", PostfixOptions{Relayhost: "127.0.0.1:2525"}, true},
		{"send to", PostfixOptions{SendTo: "localhost:2525", SendCAFile: "/ca.pem"}, true},
		{"two modes", PostfixOptions{Relayhost: "127.0.0.1:25", Keep: true}, false},
		{"send to without CA", PostfixOptions{SendTo: "localhost:2525"}, false},
		{"relayhost without port", PostfixOptions{Relayhost: "127.0.0.1"}, false},
		{"certificate without key", PostfixOptions{CertPEM: []byte("x")}, false},
	}
	for _, tc := range cases {
		err := tc.opts.check()
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("%s: accepted, want an error", tc.name)
		}
	}
}
