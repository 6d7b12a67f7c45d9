package e2e

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestHostedToHostedLandsInMailbox(t *testing.T) {
	e := start(t, options{})
	from, to := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	out := e.submit(from, from, []string{to}, message(from, to, "case 42", "hearing moved to Tuesday"))
	id := queueIDOf(t, out)
	msgs := e.inbox(to)
	if len(msgs) != 1 {
		t.Fatalf("bob's INBOX has %d messages, want 1", len(msgs))
	}
	if !contains(msgs[0], "hearing moved to Tuesday") {
		t.Errorf("delivered message lacks the body:\n%s", msgs[0])
	}
	if !contains(msgs[0], "Received: from") || !contains(msgs[0], id) {
		t.Errorf("delivered message lacks a Received header with queue id %s:\n%s", id, msgs[0])
	}
	if !contains(msgs[0], "Message-ID:") && !contains(msgs[0], "Message-Id:") {
		t.Errorf("delivered message has no Message-ID added")
	}
	if len(e.events(id, "accepted")) != 1 || len(e.events(id, "delivered")) != 1 {
		t.Errorf("tracking events for %s: %+v", id, e.events(id, ""))
	}
}

func TestOutsideAddressRefusedAtRcpt(t *testing.T) {
	e := start(t, options{})
	from := "alice.adams@mvs." + suffix
	out := e.submit(from, from, []string{"someone@gmail.example"}, message(from, "x", "s", "b"))
	if !strings.HasPrefix(out, "REFUSED 550") || !strings.Contains(out, "5.7.1") ||
		!strings.Contains(out, "someone@gmail.example") || !strings.Contains(out, "outside the secure community") {
		t.Errorf("RCPT to an outside address: got %q, want 550 5.7.1 naming it as outside the secure community", out)
	}
}

func TestSpoofedMailFromRefused(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	out := e.submit(alice, bob, []string{alice}, message(bob, alice, "s", "b"))
	if !strings.HasPrefix(out, "REFUSED 550") || !strings.Contains(out, "5.7.1") || !strings.Contains(out, bob) {
		t.Errorf("MAIL FROM another person's address: got %q, want 550 5.7.1 naming %s", out, bob)
	}
}

func TestHeaderFromOfAnotherPersonRefused(t *testing.T) {
	e := start(t, options{})
	alice, bob, carol := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix, "carol.clark@mvs."+suffix
	out := e.submit(alice, alice, []string{carol}, message("Bob Brown <"+bob+">", carol, "s", "b"))
	if !strings.HasPrefix(out, "REFUSED 550") || !strings.Contains(out, "5.7.1") || !strings.Contains(out, bob) {
		t.Errorf("From header naming another person: got %q, want 550 5.7.1 naming %s", out, bob)
	}
	if n := len(e.inbox(carol)); n != 0 {
		t.Errorf("carol received %d messages with a forged From header", n)
	}
}

func TestGroupMailboxSendAsAllowedWithPermission(t *testing.T) {
	e := start(t, options{})
	alice, bob, group := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix, "caseworkers@mvs."+suffix
	if out := e.submit(alice, group, []string{bob}, message(group, bob, "s", "b")); !strings.HasPrefix(out, "QUEUED") {
		t.Errorf("alice (send permission) as the group: %s", out)
	}
	if out := e.submit(bob, group, []string{alice}, message(group, alice, "s", "b")); !strings.HasPrefix(out, "REFUSED 550") {
		t.Errorf("bob (not a member) as the group: got %q, want 550", out)
	}
}

func TestDistributionListExpandsOnce(t *testing.T) {
	e := start(t, options{})
	carol := "carol.clark@mvs." + suffix
	list := "all-staff@mvs." + suffix
	queueIDOf(t, e.submit(carol, carol, []string{list}, message(carol, list, "staff meeting", "at noon")))
	for _, who := range []string{"alice.adams@mvs." + suffix, "bob.brown@mvs." + suffix} {
		if n := len(e.inbox(who)); n != 1 {
			t.Errorf("%s got %d copies through the nested, self-referencing list, want 1", who, n)
		}
	}
}

func TestSuspendedPersonRefusesMail(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	status := "suspended"
	_, err := e.dirSvc.UpdatePerson(t.Context(), operator, bob, personStatus(status))
	e.must(err)
	out := e.submit(alice, alice, []string{bob}, message(alice, bob, "s", "b"))
	if !strings.HasPrefix(out, "REFUSED 550") || !strings.Contains(out, "suspended") {
		t.Errorf("mail to a suspended person: got %q, want 550 saying suspended", out)
	}
}

// smtpDialog is a raw SMTP client for malformed and out-of-order input.
type smtpDialog struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *smtpDialog {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &smtpDialog{t: t, conn: c, r: bufio.NewReader(c)}
	d.reply() // greeting
	return d
}

// reply reads one (possibly multi-line) reply and returns it.
func (d *smtpDialog) reply() string {
	d.t.Helper()
	d.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	for {
		line, err := d.r.ReadString('\n')
		if err != nil {
			d.t.Fatalf("reading reply: %v (so far %q)", err, lines)
		}
		lines = append(lines, strings.TrimRight(line, "\r\n"))
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

func (d *smtpDialog) cmd(s string) string {
	d.t.Helper()
	if _, err := d.conn.Write([]byte(s + "\r\n")); err != nil {
		d.t.Fatal(err)
	}
	return d.reply()
}

func (d *smtpDialog) starttls(cfg *tls.Config) {
	d.t.Helper()
	if r := d.cmd("STARTTLS"); !strings.HasPrefix(r, "220") {
		d.t.Fatalf("STARTTLS: %s", r)
	}
	tc := tls.Client(d.conn, cfg)
	if err := tc.Handshake(); err != nil {
		d.t.Fatal(err)
	}
	d.conn, d.r = tc, bufio.NewReader(tc)
}

func TestMailBeforeStartTLSRefused(t *testing.T) {
	e := start(t, options{})
	for _, listener := range []string{"smtp", "submission"} {
		d := dial(t, e.addr(listener))
		d.cmd("EHLO client.test")
		r := d.cmd("MAIL FROM:<alice.adams@mvs." + suffix + ">")
		if !strings.HasPrefix(r, "530 5.7.0") || !strings.Contains(strings.ToLower(r), "tls") {
			t.Errorf("%s: MAIL before STARTTLS: got %q, want 530 5.7.0 explaining TLS", listener, r)
		}
	}
}

func TestUnknownServerRefusedOnRelay(t *testing.T) {
	e := start(t, options{})
	d := dial(t, e.addr("smtp"))
	d.cmd("EHLO stranger.test")
	d.starttls(e.clientTLS())
	d.cmd("EHLO stranger.test")
	// 127.0.0.1 is in no connector's or trusted domain's networks and no client certificate
	// was sent, so the relay must not accept mail from it.
	r := d.cmd("MAIL FROM:<x@police.test>")
	if !strings.HasPrefix(r, "550 5.7.1") || !strings.Contains(r, "secure community") {
		t.Errorf("MAIL from an unrecognised server: got %q, want 550 5.7.1 about the secure community", r)
	}
}

func TestSmugglingThroughNodeYieldsOneMessage(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	d := dial(t, e.addr("submission"))
	d.cmd("EHLO client.test")
	d.starttls(e.clientTLS())
	d.cmd("EHLO client.test")
	if r := d.cmd("AUTH PLAIN " + plainAuth(alice, password)); !strings.HasPrefix(r, "235") {
		t.Fatalf("AUTH: %s", r)
	}
	d.cmd("MAIL FROM:<" + alice + ">")
	d.cmd("RCPT TO:<" + bob + ">")
	if r := d.cmd("DATA"); !strings.HasPrefix(r, "354") {
		t.Fatalf("DATA: %s", r)
	}
	payload := "Subject: first\r\n\r\nbody\n.\nMAIL FROM:<" + alice + ">\r\nRCPT TO:<" + bob +
		">\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n"
	d.conn.Write([]byte(payload))
	d.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	rest := make([]byte, 4096)
	n, _ := d.r.Read(rest)
	time.Sleep(300 * time.Millisecond)
	msgs := e.inbox(bob)
	for _, m := range msgs {
		if contains(m, "Subject: smuggled") && !contains(m, "Subject: first") {
			t.Fatalf("a smuggled second message was delivered: %s", m)
		}
	}
	if len(msgs) > 1 {
		t.Fatalf("bob got %d messages from one DATA with a bare-LF dot, want at most 1 (server said %q)", len(msgs), rest[:n])
	}
}

func TestRepeatedAuthFailuresThrottleAccount(t *testing.T) {
	e := start(t, options{})
	alice := "alice.adams@mvs." + suffix
	try := func(pass string) string {
		d := dial(t, e.addr("submission"))
		d.cmd("EHLO client.test")
		d.starttls(e.clientTLS())
		d.cmd("EHLO client.test")
		return d.cmd("AUTH PLAIN " + plainAuth(alice, pass))
	}
	for i := 0; i < e.cfg.Limits.MaxAuthFailures; i++ {
		if r := try("wrong password"); !strings.HasPrefix(r, "535 5.7.8") {
			t.Fatalf("failure %d: got %q, want 535 5.7.8", i+1, r)
		}
	}
	if r := try(password); !strings.HasPrefix(r, "454 4.7.0") || !strings.Contains(r, "15 minutes") {
		t.Errorf("right password after %d failures: got %q, want 454 4.7.0 asking to wait", e.cfg.Limits.MaxAuthFailures, r)
	}
	bob := "bob.brown@mvs." + suffix
	d := dial(t, e.addr("submission"))
	d.cmd("EHLO client.test")
	d.starttls(e.clientTLS())
	d.cmd("EHLO client.test")
	if r := d.cmd("AUTH PLAIN " + plainAuth(bob, password)); !strings.HasPrefix(r, "235") {
		t.Errorf("another account from the same address: got %q, want 235", r)
	}
}

func TestUnverifiedGatewayDomainGetsNoMail(t *testing.T) {
	e := start(t, options{})
	e.connector("127.0.0.1", testenv.FreePort(t))
	ctx := t.Context()
	_, err := e.dirSvc.MarkDomainVerified(ctx, operator, "harbourlaw.test", "pending")
	e.must(err)
	alice, dan := "alice.adams@mvs."+suffix, "dan.dyer@harbourlaw.test."+suffix
	out := e.submit(alice, alice, []string{dan}, message(alice, dan, "s", "b"))
	if !strings.HasPrefix(out, "REFUSED 550") || !strings.Contains(out, "verified") {
		t.Errorf("mail to a person in an unverified domain: got %q, want 550 saying the domain is not verified", out)
	}
}

func TestPostmasterReachesConfiguredMailbox(t *testing.T) {
	group := "caseworkers@mvs." + suffix
	e := start(t, options{postmaster: group})
	alice := "alice.adams@mvs." + suffix
	for _, rcpt := range []string{"postmaster", "Postmaster@" + suffix, "postmaster@mvs." + suffix} {
		if out := e.submit(alice, alice, []string{rcpt}, message(alice, group, "to "+rcpt, "b")); !strings.HasPrefix(out, "QUEUED") {
			t.Errorf("RCPT TO:<%s>: %s", rcpt, out)
		}
	}
	g, err := e.dirSvc.GroupMailbox(t.Context(), group)
	e.must(err)
	if n := len(e.mailbox(store.OwnerGroup, g.ID)); n != 3 {
		t.Errorf("postmaster mailbox %s has %d messages, want 3", group, n)
	}
}

func TestPostmasterRejectedWhenUnconfigured(t *testing.T) {
	e := start(t, options{})
	alice := "alice.adams@mvs." + suffix
	out := e.submit(alice, alice, []string{"postmaster@" + suffix}, message(alice, "postmaster@"+suffix, "s", "b"))
	if !strings.HasPrefix(out, "REFUSED 550") || !strings.Contains(out, "postmaster") {
		t.Errorf("postmaster with none configured: got %q, want 550 naming the postmaster", out)
	}
}
