package delivery

import (
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/testenv"
)

// postfixMX starts Postfix as the MX of police.test, mx.police.test, with an
// smtpd certificate from the fixture's CA, relaying what it receives to a
// sink. It returns the instance and the port to deliver to.
func (f *fixture) postfixMX(config map[string]string) (*testenv.PostfixServer, int) {
	f.t.Helper()
	certPEM, keyPEM, err := f.ca.Issue([]string{"mx.police.test"}, time.Hour)
	if err != nil {
		f.t.Fatal(err)
	}
	postfix := testenv.Postfix(f.t, testenv.PostfixOptions{
		CertPEM:  certPEM,
		KeyPEM:   keyPEM,
		Hostname: "mx.police.test",
		Keep:     true,
		Config:   config,
	})
	f.dns.AddMX("police.test", 10, "mx.police.test")
	f.dns.AddA("mx.police.test", "127.0.0.1")
	tp := newTap(f.t, postfix.Addr())
	f.t.Cleanup(tp.requireNoPlaintextMail)
	return postfix, tp.port()
}

func TestPostfixReceivesOverVerifiedTLS(t *testing.T) {
	f := newFixture(t)
	postfix, port := f.postfixMX(nil)

	env := Envelope{
		From:   "sender@cjsm.test",
		To:     []string{"a@police.test", "b@police.test"},
		RET:    "HDRS",
		EnvID:  "queue-42",
		Notify: map[string]string{"a@police.test": "SUCCESS,FAILURE"},
		ORcpt:  map[string]string{"a@police.test": "rfc822;alias@cjsm.test"},
		MsgID:  "msg-1",
	}
	report := f.deliver(Target{Domain: "police.test", Port: port}, env, testMessage)
	requireDelivered(t, report)

	if report.Host != "mx.police.test" {
		t.Errorf("report host = %q, want mx.police.test", report.Host)
	}
	if report.TLSVersion != "TLS 1.3" && report.TLSVersion != "TLS 1.2" {
		t.Errorf("report TLS version = %q", report.TLSVersion)
	}
	if !report.DSN {
		t.Error("report says Postfix does not offer DSN")
	}
	if !strings.Contains(report.Results[0].Reply, "queued as") {
		t.Errorf("reply %q does not carry Postfix's queue id", report.Results[0].Reply)
	}

	m := postfix.Kept().WaitMessages(1, 20*time.Second)[0]
	if strings.Join(m.To, ",") != "a@police.test,b@police.test" {
		t.Errorf("relayed recipients = %q", m.To)
	}
	if !strings.Contains(string(m.Data), "Subject: case file 42") {
		t.Errorf("relayed message lacks the subject:\n%s", m.Data)
	}
	// Postfix's Received header records the EHLO name and the TLS session
	// (smtpd_tls_received_header = yes).
	for _, want := range []string{"Received: from " + testHostname, "(using TLSv1."} {
		if !strings.Contains(string(m.Data), want) {
			t.Errorf("relayed message lacks %q:\n%s", want, m.Data)
		}
	}

	log := postfix.WaitMaillog("status=sent", 20*time.Second)
	if !strings.Contains(log, "TLS connection established from") {
		t.Errorf("Postfix mail log shows no TLS session:\n%s", log)
	}

	// The sink offers no DSN, so Postfix honours NOTIFY=SUCCESS with a
	// "relayed" notification to the sender (RFC 3461 section 5.2.2). It
	// carries the ENVID and ORCPT that Deliver passed on.
	notification := findMessage(t, postfix.Kept(), "")
	for _, want := range []string{
		"Original-Envelope-Id: queue-42",
		"Original-Recipient: rfc822;alias@cjsm.test",
		"Action: relayed",
	} {
		if !strings.Contains(string(notification.Data), want) {
			t.Errorf("delivery status notification lacks %q:\n%s", want, notification.Data)
		}
	}
}

// findMessage waits for the sink's message from sender and returns it.
func findMessage(t *testing.T, sink *testenv.SinkServer, sender string) testenv.SinkMessage {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for n := 1; ; n++ {
		for _, m := range sink.WaitMessages(n, time.Until(deadline)) {
			if m.From == sender {
				return m
			}
		}
	}
}

func TestPostfixReusesOneConnection(t *testing.T) {
	f := newFixture(t)
	postfix, port := f.postfixMX(nil)
	target := Target{Domain: "police.test", Port: port}

	for i, rcpt := range []string{"a@police.test", "b@police.test", "c@police.test"} {
		report := f.deliver(target, Envelope{From: "sender@cjsm.test", To: []string{rcpt}},
			testMessage)
		requireDelivered(t, report)
		if report.Reused != (i > 0) {
			t.Errorf("delivery %d: reused = %v", i+1, report.Reused)
		}
	}
	postfix.Kept().WaitMessages(3, 20*time.Second)

	// One TLS session carried the three messages.
	log := postfix.Maillog()
	if n := strings.Count(log, "TLS connection established from"); n != 1 {
		t.Errorf("Postfix logged %d TLS sessions for three deliveries, want 1:\n%s", n, log)
	}
}

func TestPostfixRejectionsAndLimits(t *testing.T) {
	f := newFixture(t)
	postfix, port := f.postfixMX(map[string]string{
		"smtpd_recipient_restrictions": "check_recipient_access " +
			"inline:{{gone@police.test=550 5.1.1 no such user}," +
			"{busy@police.test=450 4.2.1 mailbox busy}}, permit_mynetworks, reject",
		"message_size_limit": "4096",
		// Accept UTF-8 addresses only in transactions that declare SMTPUTF8.
		"strict_smtputf8": "yes",
	})
	target := Target{Domain: "police.test", Port: port}

	t.Run("per-recipient replies", func(t *testing.T) {
		env := Envelope{From: "sender@cjsm.test",
			To: []string{"gone@police.test", "ok@police.test", "busy@police.test"}}
		report := f.deliver(target, env, testMessage)

		if r := report.Results[0].Err; r == nil || r.Temporary || r.Code != 550 ||
			r.Enhanced != "5.1.1" || !strings.Contains(r.Message, "no such user") {
			t.Errorf("gone@police.test: %+v, want permanent 550 5.1.1", r)
		}
		if r := report.Results[1]; r.Err != nil {
			t.Errorf("ok@police.test not delivered: %v", r.Err)
		}
		if r := report.Results[2].Err; r == nil || !r.Temporary || r.Code != 450 ||
			r.Enhanced != "4.2.1" {
			t.Errorf("busy@police.test: %+v, want temporary 450 4.2.1", r)
		}
		m := postfix.Kept().WaitMessages(1, 20*time.Second)[0]
		if strings.Join(m.To, ",") != "ok@police.test" {
			t.Errorf("relayed recipients = %q, want ok@police.test", m.To)
		}
	})

	t.Run("message over SIZE is permanent", func(t *testing.T) {
		big := testMessage + strings.Repeat("x", 5000) + "\r\n"
		env := Envelope{From: "sender@cjsm.test", To: []string{"ok@police.test"}}
		failure := requireAllFailed(t, f.deliver(target, env, big))
		if failure.Temporary || failure.Enhanced != "5.3.4" || failure.Code != 0 {
			t.Errorf("failure %+v, want permanent 5.3.4 without a server reply", failure)
		}
		if !strings.Contains(failure.Message, "more than the 4096") {
			t.Errorf("message %q does not give the limit", failure.Message)
		}
	})

	t.Run("internationalised recipient", func(t *testing.T) {
		env := Envelope{From: "sender@cjsm.test", To: []string{"jöran@police.test"}}
		requireDelivered(t, f.deliver(target, env, testMessage))
		postfix.WaitMaillog("to=<jöran@police.test>", 20*time.Second)
	})
}
