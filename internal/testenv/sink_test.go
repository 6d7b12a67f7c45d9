package testenv

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/pki"
	"github.com/emersion/go-smtp"
)

// newCA returns a CA for one test.
func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("testenv test CA", time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

// serverTLS returns a TLS server configuration with a certificate from ca.
func serverTLS(t *testing.T, ca *pki.CA, names ...string) *tls.Config {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(names, time.Hour)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair: %v", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// sendPlain sends one message without TLS, which smtp.SendMail does not do.
func sendPlain(addr, from string, to []string, msg string) error {
	client, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer client.Close()
	return client.SendMail(from, to, strings.NewReader(msg))
}

const testMessage = "From: a@police.example\r\nTo: b@cps.example\r\n" +
	"Subject: testenv check\r\n\r\nBody line.\r\n"

func TestSinkRecordsEnvelopeAndTLS(t *testing.T) {
	ca := newCA(t)
	sink := Sink(t, SinkOptions{TLSConfig: serverTLS(t, ca, "mx.sink.test")})

	client, err := smtp.DialStartTLS(sink.Addr(), &tls.Config{
		RootCAs:    ca.Pool(),
		ServerName: "mx.sink.test",
	})
	if err != nil {
		t.Fatalf("DialStartTLS: %v", err)
	}
	defer client.Close()
	to := []string{"b@cps.example", "c@cps.example"}
	if err := client.SendMail("a@police.example", to, strings.NewReader(testMessage)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}

	m := sink.WaitMessages(1, 5*time.Second)[0]
	if m.From != "a@police.example" {
		t.Errorf("From = %q, want a@police.example", m.From)
	}
	if strings.Join(m.To, ",") != "b@cps.example,c@cps.example" {
		t.Errorf("To = %q, want both recipients", m.To)
	}
	if string(m.Data) != testMessage {
		t.Errorf("Data = %q, want %q", m.Data, testMessage)
	}
	if !m.TLS {
		t.Error("message not marked as received over TLS")
	}
	if m.TLSVersion < tls.VersionTLS12 {
		t.Errorf("TLS version = %s, want 1.2 or later", tls.VersionName(m.TLSVersion))
	}
	if m.CipherSuite == 0 {
		t.Error("cipher suite not recorded")
	}
	if m.ServerName != "mx.sink.test" {
		t.Errorf("ServerName = %q, want mx.sink.test", m.ServerName)
	}
	if m.Helo == "" {
		t.Error("EHLO name not recorded")
	}
}

func TestSinkRecordsPlainMessage(t *testing.T) {
	sink := Sink(t, SinkOptions{})

	err := sendPlain(sink.Addr(), "a@police.example", []string{"b@cps.example"}, testMessage)
	if err != nil {
		t.Fatalf("SendMail: %v", err)
	}

	m := sink.WaitMessages(1, 5*time.Second)[0]
	if m.TLS {
		t.Error("plain message marked as received over TLS")
	}
}

func TestSinkRejectsChosenRecipients(t *testing.T) {
	sink := Sink(t, SinkOptions{
		RcptError: func(rcpt string) *smtp.SMTPError {
			switch rcpt {
			case "busy@cps.example":
				return SMTPError(450, "4.2.1", "mailbox busy")
			case "gone@cps.example":
				return SMTPError(550, "5.1.1", "no such user")
			}
			return nil
		},
	})

	client, err := smtp.Dial(sink.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Mail("a@police.example", nil); err != nil {
		t.Fatalf("MAIL: %v", err)
	}

	cases := []struct {
		rcpt     string
		code     int
		enhanced smtp.EnhancedCode
	}{
		{"busy@cps.example", 450, smtp.EnhancedCode{4, 2, 1}},
		{"gone@cps.example", 550, smtp.EnhancedCode{5, 1, 1}},
	}
	for _, tc := range cases {
		var smtpErr *smtp.SMTPError
		err := client.Rcpt(tc.rcpt, nil)
		if !errors.As(err, &smtpErr) {
			t.Errorf("RCPT %s = %v, want an SMTP error", tc.rcpt, err)
			continue
		}
		if smtpErr.Code != tc.code {
			t.Errorf("RCPT %s code = %d, want %d", tc.rcpt, smtpErr.Code, tc.code)
		}
		if smtpErr.EnhancedCode != tc.enhanced {
			t.Errorf("RCPT %s enhanced code = %v, want %v",
				tc.rcpt, smtpErr.EnhancedCode, tc.enhanced)
		}
	}
	if err := client.Rcpt("ok@cps.example", nil); err != nil {
		t.Errorf("RCPT ok@cps.example: %v", err)
	}

	want := "RCPT TO:<gone@cps.example>: 550 5.1.1 no such user"
	if got := sink.Rejections(); len(got) != 2 || got[1] != want {
		t.Errorf("Rejections = %q, want two ending with %q", got, want)
	}
}

func TestSinkRejectsDataUntilCleared(t *testing.T) {
	sink := Sink(t, SinkOptions{DataError: SMTPError(554, "5.6.0", "content rejected")})
	send := func() error {
		return sendPlain(sink.Addr(), "a@police.example", []string{"b@cps.example"}, testMessage)
	}

	var smtpErr *smtp.SMTPError
	if err := send(); !errors.As(err, &smtpErr) || smtpErr.Code != 554 {
		t.Fatalf("SendMail = %v, want a 554 error", err)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink holds %d messages after rejecting DATA, want 0", n)
	}

	sink.SetDataError(nil)
	if err := send(); err != nil {
		t.Fatalf("SendMail after SetDataError(nil): %v", err)
	}
	sink.WaitMessages(1, 5*time.Second)
}

func TestSinkRequireTLSRejectsPlainMail(t *testing.T) {
	ca := newCA(t)
	sink := Sink(t, SinkOptions{
		TLSConfig:  serverTLS(t, ca, "mx.sink.test"),
		RequireTLS: true,
	})

	client, err := smtp.Dial(sink.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var smtpErr *smtp.SMTPError
	err = client.Mail("a@police.example", nil)
	if !errors.As(err, &smtpErr) || smtpErr.Code != 530 {
		t.Errorf("MAIL without STARTTLS = %v, want 530", err)
	}
}

func TestSMTPErrorParsesEnhancedCode(t *testing.T) {
	cases := []struct {
		enhanced string
		want     smtp.EnhancedCode
	}{
		{"4.2.0", smtp.EnhancedCode{4, 2, 0}},
		{"5.7.1", smtp.EnhancedCode{5, 7, 1}},
		{"", smtp.NoEnhancedCode},
		{"five", smtp.NoEnhancedCode},
	}
	for _, tc := range cases {
		err := SMTPError(450, tc.enhanced, "text")
		if err.EnhancedCode != tc.want {
			t.Errorf("SMTPError(450, %q).EnhancedCode = %v, want %v",
				tc.enhanced, err.EnhancedCode, tc.want)
		}
	}
}
