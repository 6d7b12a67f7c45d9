package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/pki"
	"github.com/cjsm/cjsm/internal/testenv"
)

// postfixMX starts Postfix as the MX of police.test with a certificate for names, keeping
// what it receives.
func postfixMX(t *testing.T, names ...string) (*testenv.PostfixServer, peers) {
	t.Helper()
	ca, err := pki.NewCA("cjsm e2e CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(names, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pf := testenv.Postfix(t, testenv.PostfixOptions{CertPEM: certPEM, KeyPEM: keyPEM,
		Hostname: "mx.police.test", Keep: true})
	d := testenv.DNS(t)
	d.AddMX("police.test", 10, "mx.police.test")
	d.AddA("mx.police.test", "127.0.0.1")
	return pf, peers{ca: ca, dns: d, port: portOf(t, pf.Addr())}
}

func TestSubmissionToTrustedDomainArrivesAtPostfixOverVerifiedTLS(t *testing.T) {
	pf, p := postfixMX(t, "mx.police.test")
	e := start(t, options{ca: p.ca, dns: p.dns, mxPort: p.port})
	from, to := "alice.adams@mvs."+suffix, "duty.officer@police.test"
	id := queueIDOf(t, e.submit(from, from, []string{to}, message(from, to, "witness statement", "attached")))
	got := pf.Kept().WaitMessages(1, 30*time.Second)
	if len(got) != 1 {
		t.Fatalf("Postfix received %d messages, want 1; cjsm events: %+v", len(got), e.events(id, ""))
	}
	if !contains(got[0].Data, "witness statement") || got[0].To[0] != to {
		t.Errorf("Postfix received the wrong message: to %v\n%s", got[0].To, got[0].Data)
	}
	if log := pf.WaitMaillog("TLS connection established from", 10*time.Second); !strings.Contains(log, "TLS connection established from") {
		t.Errorf("Postfix's log shows no TLS connection from cjsm:\n%s", log)
	}
	delivered := e.waitEvents(id, "delivered", 1)
	if len(delivered) != 1 || !strings.Contains(delivered[0].Detail, "TLS") {
		t.Errorf("delivered event should name the TLS version: %+v", delivered)
	}
}

func TestWrongPeerCertificateDefersThenBouncesWithDSN(t *testing.T) {
	pf, p := postfixMX(t, "wrong.example")
	// Attempts come at about 0, 1, 3 and 7 s: the third, past the 1.5 s delay notice age, sends
	// the notice, and the first after the 6 s expiry bounces, with room for a loaded machine.
	e := start(t, options{ca: p.ca, dns: p.dns, mxPort: p.port, expire: 6 * time.Second,
		delay: 1500 * time.Millisecond, retry: time.Second})
	from, to := "alice.adams@mvs."+suffix, "duty.officer@police.test"
	id := queueIDOf(t, e.submit(from, from, []string{to}, message(from, to, "urgent", "body")))
	msgs := e.waitInbox(from, 2, 40*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("sender's INBOX has %d messages, want a delay notice and a bounce; events: %+v", len(msgs), e.events(id, ""))
	}
	if !contains(msgs[0], "Action: delayed") || !contains(msgs[0], "Will-Retry-Until:") {
		t.Errorf("first notice is not a delay notice:\n%s", msgs[0])
	}
	dsn := msgs[1]
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "Action: failed",
		"Final-Recipient: rfc822; " + to, "Subject: urgent", "mx.police.test"} {
		if !contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	if len(e.events(id, "deferred")) == 0 {
		t.Errorf("no deferred event before the bounce: %+v", e.events(id, ""))
	}
	if len(e.waitEvents(id, "bounced", 1)) != 1 {
		t.Errorf("want one bounced event: %+v", e.events(id, ""))
	}
	if n := len(pf.Kept().Messages()); n != 0 {
		t.Errorf("Postfix with a wrong-name certificate received %d messages; cjsm must never fall back to plaintext", n)
	}
}

func TestNoDSNToNullSender(t *testing.T) {
	// The connector of Harbour Law points at a closed port, so delivery fails until expiry.
	e := start(t, options{expire: 3 * time.Second, retry: time.Second})
	e.connector("127.0.0.1", testenv.FreePort(t))
	// A trusted server recognised by its client certificate sends a bounce (null sender) to
	// the law firm's person.
	d := dial(t, e.addr("smtp"))
	d.cmd("EHLO mx.police.test")
	certPEM, keyPEM, err := e.ca.Issue([]string{"mx.police.test"}, time.Hour)
	e.must(err)
	tc := e.clientTLS()
	tc.Certificates = []tlsCertificate{mustPair(t, certPEM, keyPEM)}
	d.starttls(tc)
	d.cmd("EHLO mx.police.test")
	for _, c := range []string{"MAIL FROM:<>", "RCPT TO:<dan.dyer@harbourlaw.test." + suffix + ">", "DATA"} {
		if r := d.cmd(c); !strings.HasPrefix(r, "250") && !strings.HasPrefix(r, "354") {
			t.Fatalf("%s: %s", c, r)
		}
	}
	r := d.cmd("Subject: bounce\r\n\r\nyour mail failed\r\n.")
	if !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA: %s", r)
	}
	id := strings.Trim(r[strings.LastIndex(r, " ")+1:], "<>")
	deadline := time.Now().Add(30 * time.Second)
	for len(e.events(id, "bounced")) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if len(e.events(id, "bounced")) != 1 {
		t.Fatalf("message with null sender did not bounce at expiry: %+v", e.events(id, ""))
	}
	counts, err := e.node.Store.CountRows(t.Context())
	e.must(err)
	if counts["messages"] != 1 {
		t.Errorf("store has %d messages, want 1: a DSN was generated for the null sender", counts["messages"])
	}
}
