package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

// fetchScript fetches every INBOX message over IMAP (imaplib) and over POP3 (poplib), both
// with implicit TLS, and prints the SHA-256 of each, one line per message: "imap HASH" and
// "pop3 HASH".
const fetchScript = `
import hashlib, imaplib, poplib, ssl, sys
imap_host, imap_port, pop_host, pop_port, cafile, user, password = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
m = imaplib.IMAP4_SSL(imap_host, int(imap_port), ssl_context=ctx)
m.login(user, password)
m.select("INBOX", readonly=True)
typ, data = m.uid("SEARCH", None, "ALL")
for uid in data[0].split():
    typ, parts = m.uid("FETCH", uid, "(BODY.PEEK[])")
    print("imap", hashlib.sha256(parts[0][1]).hexdigest())
m.logout()
p = poplib.POP3_SSL(pop_host, int(pop_port), context=ctx)
p.user(user)
p.pass_(password)
count, _ = p.stat()
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    print("pop3", hashlib.sha256(b"\r\n".join(lines) + b"\r\n").hexdigest())
p.quit()
`

func TestSMTPMessageFetchedByteIdenticalOverIMAPAndPOP3(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	body := message(alice, bob, "bundle", "line one\r\n.leading dot\r\nlast line")
	queueIDOf(t, e.submit(alice, alice, []string{bob}, body))
	stored := e.inbox(bob)
	if len(stored) != 1 {
		t.Fatalf("bob's INBOX has %d messages, want 1", len(stored))
	}
	sum := sha256.Sum256(stored[0])
	want := hex.EncodeToString(sum[:])

	ih, ip, _ := net.SplitHostPort(e.addr("imaps"))
	ph, pp, _ := net.SplitHostPort(e.addr("pop3s"))
	out, err := testenv.Python(t, fetchScript, ih, ip, ph, pp, e.caFile, bob, password)
	if err != nil {
		t.Fatalf("imaplib/poplib client failed: %v\n%s", err, out)
	}
	for _, proto := range []string{"imap", "pop3"} {
		if !strings.Contains(out, proto+" "+want) {
			t.Errorf("%s did not return the stored bytes (sha256 %s):\n%s", proto, want, out)
		}
	}
}

func TestOverQuotaDeliveryGets452(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	p, err := e.dirSvc.Person(context.Background(), bob)
	e.must(err)
	queueIDOf(t, e.submit(alice, alice, []string{bob}, message(alice, bob, "first", "fills the quota")))
	e.must(e.node.Mailboxes.SetQuota(context.Background(), store.OwnerPerson, p.ID, 100))
	out := e.submit(alice, alice, []string{bob}, message(alice, bob, "second", "does not fit"))
	if !strings.HasPrefix(out, "REFUSED 452") || !strings.Contains(out, "4.2.2") || !strings.Contains(out, "full") {
		t.Errorf("RCPT to a full mailbox: got %q, want 452 4.2.2 saying it is full", out)
	}
	// The first message took bob from nothing to over the limit in one step, so his INBOX
	// gets the notice that it is full, although it was never nearly full.
	warned := false
	for _, m := range e.inbox(bob) {
		warned = warned || contains(m, "Subject: Your mailbox is full")
	}
	if !warned {
		t.Error("bob's full mailbox got no warning")
	}
}

// TestListSkipsMemberWithFullMailbox checks that mail to a distribution list reaches the
// members with room and is not filed for a member whose mailbox is full.
func TestListSkipsMemberWithFullMailbox(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	list := "all-staff@mvs." + suffix
	p, err := e.dirSvc.Person(context.Background(), bob)
	e.must(err)
	queueIDOf(t, e.submit(alice, alice, []string{bob}, message(alice, bob, "first", "fills the quota")))
	e.must(e.node.Mailboxes.SetQuota(context.Background(), store.OwnerPerson, p.ID, 100))
	before := len(e.inbox(bob))
	queueIDOf(t, e.submit(alice, alice, []string{list}, message(alice, list, "to all", "hello all")))
	got := 0
	for _, m := range e.inbox(alice) {
		if contains(m, "Subject: to all") {
			got++
		}
	}
	if got != 1 {
		t.Errorf("alice, a list member with room, got the list message %d times, want 1", got)
	}
	for _, m := range e.inbox(bob)[before:] {
		if contains(m, "Subject: to all") {
			t.Error("the list message was filed in bob's full mailbox")
		}
	}
}

func TestNearlyFullMailboxGetsOneWarning(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	p, err := e.dirSvc.Person(context.Background(), bob)
	e.must(err)
	queueIDOf(t, e.submit(alice, alice, []string{bob}, message(alice, bob, "first", strings.Repeat("x", 900))))
	// The first message now fills over 90% of a 1,100-byte limit, so the next RCPT warns.
	e.must(e.node.Mailboxes.SetQuota(context.Background(), store.OwnerPerson, p.ID, int64(len(e.inbox(bob)[0]))+100))
	// Each RCPT checks the quota; the second must not file a second warning. Whether the
	// messages themselves fit does not matter here.
	for i := 0; i < 2; i++ {
		e.submit(alice, alice, []string{bob}, message(alice, bob, "more", "x"))
	}
	warnings := 0
	for _, m := range e.inbox(bob) {
		if contains(m, "Subject: Your mailbox is nearly full") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("bob has %d quota warnings after two nearly-full deliveries, want exactly 1", warnings)
	}
}

// sizeScript sends a message with the SIZE parameter (RFC 1870) and prints the RCPT reply.
const sizeScript = `
import smtplib, ssl, sys
host, port, cafile, user, password, rcpt, size = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
s = smtplib.SMTP(host, int(port), timeout=30)
s.starttls(context=ctx)
s.login(user, password)
s.mail(user, ["SIZE=" + size])
code, resp = s.rcpt(rcpt)
print(code, resp.decode())
s.quit()
`

// TestMessageLargerThanQuotaGets552 checks that a message declared larger than the whole
// quota is refused for good (552 5.2.2), not asked to be retried, and files no notice.
func TestMessageLargerThanQuotaGets552(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	p, err := e.dirSvc.Person(context.Background(), bob)
	e.must(err)
	e.must(e.node.Mailboxes.SetQuota(context.Background(), store.OwnerPerson, p.ID, 2000))
	host, port, _ := net.SplitHostPort(e.addr("submission"))
	out, err := testenv.Python(t, sizeScript, host, port, e.caFile, alice, password, bob, "7000")
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	if !strings.HasPrefix(out, "552") || !strings.Contains(out, "5.2.2") {
		t.Errorf("RCPT of a 7,000-byte message to a 2,000-byte mailbox: %q, want 552 5.2.2", out)
	}
	if n := len(e.inbox(bob)); n != 0 {
		t.Errorf("bob's INBOX has %d messages, want none (no notice either)", n)
	}
}

// TestUndeclaredSizeOverfillNoticedAtOnce checks that a message sent without SIZE, which
// fills a mailbox past its limit, is delivered and brings the quota notice with it.
func TestUndeclaredSizeOverfillNoticedAtOnce(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	p, err := e.dirSvc.Person(context.Background(), bob)
	e.must(err)
	e.must(e.node.Mailboxes.SetQuota(context.Background(), store.OwnerPerson, p.ID, 4000))
	// Lines of 60 octets, as a mail client would send them.
	body := strings.Repeat(strings.Repeat("y", 58)+"\r\n", 50)
	queueIDOf(t, e.submit(alice, alice, []string{bob}, message(alice, bob, "big", body)))
	queueIDOf(t, e.submit(alice, alice, []string{bob}, message(alice, bob, "bigger", body)))
	notices := 0
	for _, m := range e.inbox(bob) {
		if contains(m, "Subject: Your mailbox is full") {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("bob has %d full-mailbox notices after the message that filled it, want 1", notices)
	}
}
