package imapserver_test

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// TestCondStoreSyncsOnlyChanges drives CONDSTORE (RFC 7162) from Python's imaplib: MODSEQ
// and HIGHESTMODSEQ, FETCH CHANGEDSINCE after another session's change, STORE
// UNCHANGEDSINCE completed with [MODIFIED], SEARCH MODSEQ and unsolicited FETCH with MODSEQ.
func TestCondStoreSyncsOnlyChanges(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	for _, subject := range []string{"one", "two", "three"} {
		h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage(subject, "text"))
	}
	h.python(t, `
def modseqs(data):
    out = {}
    for item in data:
        if isinstance(item, tuple): item = item[0]
        m = re.search(rb"UID (\d+).*MODSEQ \((\d+)\)", item)
        if m: out[int(m.group(1))] = int(m.group(2))
    return out

a = connect(ARGS[0])
typ, data = a._simple_command("ENABLE", "CONDSTORE")
check(typ == "OK", data)
check(a.untagged_responses.get("ENABLED") == [b"CONDSTORE"], a.untagged_responses)
typ, data = a.select("INBOX")
check(typ == "OK", data)
typ, hms = a.response("HIGHESTMODSEQ")
start = int(hms[0])
check(start > 0, "HIGHESTMODSEQ %r" % hms)

typ, data = a.uid("FETCH", "1:*", "(MODSEQ)")
before = modseqs(data)
check(sorted(before) == [1, 2, 3], "MODSEQ of every message: %r" % data)
check(max(before.values()) <= start, "a MODSEQ above HIGHESTMODSEQ: %r" % data)

b = connect(ARGS[0])
b.select("INBOX")
typ, data = b.uid("STORE", "2", "+FLAGS", "(\\Flagged)")
check(typ == "OK", data)

# Only the message changed after start comes back, with its new MODSEQ.
typ, data = a.uid("FETCH", "1:*", "(FLAGS) (CHANGEDSINCE %d)" % start)
check(typ == "OK", data)
changed = modseqs(data)
check(list(changed) == [2], "CHANGEDSINCE returned %r" % data)
check(changed[2] > start, "MODSEQ did not grow: %r" % data)

# Another change by the other session arrives unsolicited, with MODSEQ.
typ, data = b.uid("STORE", "3", "+FLAGS", "($Important)")
check(typ == "OK", data)
a.untagged_responses.pop("FETCH", None)
a.noop()
unsolicited = a.untagged_responses.get("FETCH", [])
check(any(re.search(rb"3 \(UID 3 FLAGS \(.*Important.*\) MODSEQ \(\d+\)\)", u)
          for u in unsolicited if isinstance(u, bytes)),
      "no MODSEQ in unsolicited FETCH: %r" % unsolicited)

# Message 1 is unchanged since start, message 2 is not: only 1 gets \Deleted.
typ, data = a._simple_command("UID", "STORE", "1,2", "(UNCHANGEDSINCE %d)" % start,
                              "+FLAGS.SILENT", "(\\Deleted)")
check(typ == "OK" and b"[MODIFIED 2]" in data[0], "STORE UNCHANGEDSINCE: %r %r" % (typ, data))
typ, data = a.uid("FETCH", "1:2", "(FLAGS)")
flags = b" ".join(x for x in data if isinstance(x, bytes))
check(re.search(rb"UID 1 FLAGS \([^)]*\\Deleted", flags), "message 1 lacks \\Deleted: %r" % data)
check(not re.search(rb"UID 2 FLAGS \([^)]*\\Deleted", flags), "message 2 was changed: %r" % data)

# UNCHANGEDSINCE 0 always fails (RFC 7162 section 3.1.3).
typ, data = a._simple_command("STORE", "3", "(UNCHANGEDSINCE 0)", "+FLAGS", "(\\Seen)")
check(typ == "OK" and b"[MODIFIED 3]" in data[0], "UNCHANGEDSINCE 0: %r" % data)

typ, data = a.uid("SEARCH", "MODSEQ", str(start + 1))
check(typ == "OK", data)
m = re.match(rb"^([\d ]+) \(MODSEQ (\d+)\)$", data[0])
check(m and m.group(1).split() == [b"1", b"2", b"3"], "SEARCH MODSEQ: %r" % data)
highest = int(m.group(2))

typ, data = a.status("INBOX", "(HIGHESTMODSEQ MESSAGES)")
check(typ == "OK" and ("HIGHESTMODSEQ %d" % highest).encode() in data[0],
      "STATUS HIGHESTMODSEQ %r, want %d" % (data, highest))
`, jane.Address)
}

// TestCondStoreWire checks the exact replies of CONDSTORE commands, and that malformed
// parameters get BAD without losing the session.
func TestCondStoreWire(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("one", "text"))
	w := h.wire(t)
	w.send(t, "a LOGIN "+jane.Address+` "`+password+`"`)
	out := w.send(t, "b SELECT INBOX (CONDSTORE)")
	for _, want := range []string{"* OK [HIGHESTMODSEQ ", "b OK [READ-WRITE]"} {
		if !strings.Contains(out, want) {
			t.Errorf("SELECT (CONDSTORE) lacks %q:\n%s", want, out)
		}
	}

	out = w.send(t, "c FETCH 1 (FLAGS MODSEQ)")
	if !strings.Contains(out, "* 1 FETCH (FLAGS () MODSEQ (") {
		t.Errorf("FETCH MODSEQ:\n%s", out)
	}
	out = w.send(t, "d STORE 1 +FLAGS.SILENT (\\Answered)")
	if !strings.Contains(out, "* 1 FETCH (UID 1 MODSEQ (") || strings.Contains(out, "FLAGS (") {
		t.Errorf("STORE .SILENT with CONDSTORE should report UID and MODSEQ alone:\n%s", out)
	}

	for _, bad := range []string{
		"e SELECT INBOX (QRESYNC)",
		"f FETCH 1 (FLAGS) (CHANGEDSINCE 0)",
		"g FETCH 1 (FLAGS) (NOSUCH 1)",
		"h STORE 1 (UNCHANGEDSINCE abc) +FLAGS (\\Seen)",
		"i SEARCH MODSEQ",
		"j SEARCH MODSEQ \"/flags/\\\\seen\" sometimes 1",
		"k STATUS INBOX (HIGHESTMODSEQ NOSUCH)",
	} {
		tag, _, _ := strings.Cut(bad, " ")
		if out := w.send(t, bad); !strings.Contains(out, tag+" BAD ") {
			t.Errorf("%s: want BAD, got\n%s", bad, out)
		}
	}
	if out := w.send(t, "z NOOP"); !strings.Contains(out, "z OK") {
		t.Errorf("session lost after malformed commands:\n%s", out)
	}
}

// TestSortOrdersByKeys checks SORT and UID SORT (RFC 5256) through imaplib, with base
// subjects, addresses, dates, sizes and REVERSE.
func TestSortOrdersByKeys(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	msg := func(from, subject, date, body string) string {
		return "From: " + from + "\r\nTo: jane@org1.cjsm.test\r\nSubject: " + subject +
			"\r\nDate: " + date + "\r\nMessage-ID: <" + strconv.Itoa(len(body)) +
			"@cjsm.test>\r\n\r\n" + body + "\r\n"
	}
	// UIDs 1 to 4 in this order.
	h.deliver(t, store.OwnerPerson, jane.ID, msg("Carol <carol@cps.cjsm.test>",
		"Re: [case-42] Bail hearing", "Tue, 03 Jun 2025 09:00:00 +0000", strings.Repeat("x", 3000)))
	h.deliver(t, store.OwnerPerson, jane.ID, msg("alice@police.cjsm.test",
		"Custody record", "Mon, 02 Jun 2025 09:00:00 +0000", strings.Repeat("x", 10)))
	h.deliver(t, store.OwnerPerson, jane.ID, msg("\"Bob B\" <bob@court.cjsm.test>",
		"Fwd: Adjournment (fwd)", "Wed, 04 Jun 2025 09:00:00 +0000", strings.Repeat("x", 1000)))
	h.deliver(t, store.OwnerPerson, jane.ID, msg("dave@probation.cjsm.test",
		"[Fwd: bail hearing]", "not a date", strings.Repeat("x", 2000)))
	h.python(t, `
m = connect(ARGS[0])
m.select("INBOX")
def sort(crit, *search, uid=False):
    if uid:
        typ, data = m.uid("SORT", crit, "UTF-8", *search)
    else:
        typ, data = m.sort(crit, "UTF-8", *search)
    check(typ == "OK", "%s: %r" % (crit, data))
    return [int(x) for x in data[0].split()]
# Base subjects: adjournment, bail hearing (1), bail hearing (4), custody record.
check(sort("(SUBJECT)", "ALL") == [3, 1, 4, 2], "SUBJECT %r" % sort("(SUBJECT)", "ALL"))
check(sort("(FROM)", "ALL") == [2, 3, 1, 4], "FROM %r" % sort("(FROM)", "ALL"))
check(sort("(SIZE)", "ALL") == [2, 3, 4, 1], "SIZE %r" % sort("(SIZE)", "ALL"))
check(sort("(REVERSE SIZE)", "ALL") == [1, 4, 3, 2], "REVERSE SIZE")
check(sort("(ARRIVAL)", "ALL") == [1, 2, 3, 4], "ARRIVAL")
# Message 4 has no valid Date: its arrival time, the newest, stands in.
check(sort("(DATE)", "ALL") == [2, 1, 3, 4], "DATE %r" % sort("(DATE)", "ALL"))
check(sort("(SUBJECT REVERSE DATE)", "ALL") == [3, 4, 1, 2], "SUBJECT REVERSE DATE")
check(sort("(SIZE)", "LARGER", "1500") == [4, 1], "SORT with search")
check(sort("(REVERSE ARRIVAL)", "ALL", uid=True) == [4, 3, 2, 1], "UID SORT")
typ, data = m._simple_command("SORT", "(SUBJECT)", "KOI8-R", "ALL")
check(typ == "NO" and b"BADCHARSET" in data[0], "unknown charset: %r %r" % (typ, data))
`, jane.Address)
}

// TestQuotaReportsUsage checks GETQUOTAROOT and GETQUOTA (RFC 9208) for a person's own
// limit and their organisation's, in units of 1024 octets.
func TestQuotaReportsUsage(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	raw := sampleMessage("one", strings.Repeat("y", 5000))
	h.deliver(t, store.OwnerPerson, jane.ID, raw)
	ctx := context.Background()
	if err := h.svc.SetQuota(ctx, store.OwnerPerson, jane.ID, 100<<10); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.SetQuota(ctx, store.OwnerOrg, h.org.ID, 10<<20); err != nil {
		t.Fatal(err)
	}
	usedKiB := strconv.Itoa((len(raw) + 1023) / 1024)
	out := h.python(t, `
m = connect(ARGS[0])
typ, caps = m.capability()
print("CAPS", caps[0].decode())
typ, data = m.getquotaroot("INBOX")
check(typ == "OK", data)
print("ROOT", data)
typ, data = m.getquota('""')
check(typ == "OK", data)
print("QUOTA", data)
typ, data = m.getquota('"Organisation/org1"')
check(typ == "OK", data)
print("ORG", data)
typ, data = m.getquota('"Organisation/someone-else"')
check(typ == "NO", "another organisation's root: %r" % data)
typ, data = m.setquota('""', "(STORAGE 1)")
check(typ == "NO", "SETQUOTA: %r" % data)
m.select("INBOX")
m.store("1", "+FLAGS", "(\\Deleted)")
typ, data = m.status("INBOX", "(DELETED DELETED-STORAGE)")
check(typ == "OK", data)
print("STATUS", data[0].decode())
`, jane.Address)
	for _, want := range []string{
		"QUOTA", "QUOTA=RES-STORAGE", "CONDSTORE", "SORT",
		`[[b'INBOX "" "Organisation/org1"'`,
		`(STORAGE ` + usedKiB + ` 100)`,
		`"Organisation/org1" (STORAGE ` + usedKiB + ` 10240)`,
		`(DELETED 1 DELETED-STORAGE ` + usedKiB + `)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	caps := ""
	for _, line := range strings.Split(out, "\n") {
		if c, ok := strings.CutPrefix(line, "CAPS "); ok {
			caps = " " + c + " "
		}
	}
	if strings.Contains(caps, " LITERAL- ") {
		t.Errorf("LITERAL- advertised beside LITERAL+: %s", caps)
	}
}

// TestGrantedMailboxIsReadOnlyInOtherUsers checks that a person granted another person's
// mailbox finds it in the "Other Users" namespace, may read it without changing its \Seen
// state, may change nothing, and loses it when the grant is revoked.
func TestGrantedMailboxIsReadOnlyInOtherUsers(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	bob := h.person(t, "bob")
	h.deliver(t, store.OwnerPerson, bob.ID, sampleMessage("for bob", "Bob's mail."))
	g := store.MailboxGrant{OwnerID: bob.ID, GranteeID: jane.ID, Reason: "absence",
		GrantedBy: "test", ExpiresAt: time.Now().Add(time.Hour)}
	h.inTx(t, func(tx *store.Tx) error { return tx.CreateMailboxGrant(context.Background(), &g) })
	port := control(t, func(string) {
		h.inTx(t, func(tx *store.Tx) error {
			return tx.RevokeMailboxGrant(context.Background(), g.ID, time.Now())
		})
	})
	out := h.python(t, pyControl+`
m = connect(ARGS[0])
typ, data = m.namespace()
print("NS", data[0].decode())
typ, data = m.list()
for l in data: print("LIST", l.decode())
folder = '"Other Users/%s/INBOX"' % ARGS[1]
# imaplib's select() refuses a mailbox that SELECT opens read-only, so send SELECT itself.
typ, data = m._simple_command("SELECT", folder)
check(typ == "OK", "SELECT %r" % data)
print("SELECT", data[0].decode())
m.state, m.is_readonly = "SELECTED", True

typ, data = m.fetch("1", "(BODY[])")
check(typ == "OK" and b"Bob's mail." in data[0][1], data)
typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
check(typ == "NO", "STORE in a granted mailbox: %r" % data)
typ, data = m.append(folder, None, None, b"Subject: x\r\n\r\nx\r\n")
check(typ == "NO", "APPEND to a granted mailbox: %r" % data)
m.close()
b = connect(ARGS[1])
b.select("INBOX")
typ, data = b.fetch("1", "(FLAGS)")
check(b"Seen" not in data[0], "the grantee's read set the owner's \\Seen: %r" % data)
wait_for_test(ARGS[2], "revoke")
typ, data = m._simple_command("SELECT", folder)
check(typ == "NO", "SELECT after revoke: %r" % data)
`, jane.Address, bob.Address, port)
	for _, want := range []string{
		`(("Other Users/" "/"))`,
		`"Other Users/` + bob.Address + `/INBOX"`,
		`SELECT [READ-ONLY]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// wireConn is a raw implicit-TLS IMAP connection for checking exact replies.
type wireConn struct {
	w io.Writer
	r interface{ ReadString(byte) (string, error) }
}

func (h *harness) wire(t *testing.T) *wireConn {
	conn, r := h.dialTLS(t)
	return &wireConn{w: conn, r: r}
}

// send writes one command line and returns every line up to and including the tagged
// reply.
func (c *wireConn) send(t *testing.T, command string) string {
	t.Helper()
	if _, err := io.WriteString(c.w, command+"\r\n"); err != nil {
		t.Fatal(err)
	}
	tag, _, _ := strings.Cut(command, " ")
	var b strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			t.Fatalf("%s: %v after %q", command, err, b.String())
		}
		if strings.HasPrefix(line, tag+" ") {
			return b.String()
		}
	}
}

// TestGroupMembersSeeWhoAnswered checks that when one member answers a group message over
// IMAP, another member's session receives the $HandledBy keyword that names who did. The one
// who answers holds the read and send rights only: replying as the group marks the message,
// while other flags are ignored (RFC 9051 section 7.1), not refused.
func TestGroupMembersSeeWhoAnswered(t *testing.T) {
	h := newHarness(t)
	ann := h.person(t, "ann")
	ben := h.person(t, "ben")
	g := h.group(t, "casework",
		store.GroupMember{PersonID: ann.ID, Read: true, Send: true},
		store.GroupMember{PersonID: ben.ID, Read: true})
	h.deliver(t, store.OwnerGroup, g.ID, sampleMessage("witness", "Call the witness."))
	out := h.python(t, `
folder = '"Shared/%s/INBOX"' % ARGS[2]
b = connect(ARGS[1])
b.select(folder)
a = connect(ARGS[0])
a.select(folder)
typ, data = a.store("1", "+FLAGS", "(\\Flagged)")
check(typ == "OK" and b"Flagged" not in data[0], "ignored \\Flagged: %s %r" % (typ, data))
typ, data = a.store("1", "+FLAGS", "(\\Answered)")
check(typ == "OK", data)
b.untagged_responses.pop("FETCH", None)
b.noop()
print("UPDATE", b.untagged_responses.get("FETCH"))
typ, data = b.fetch("1", "(FLAGS)")
print("FLAGS", data)
`, ann.Address, ben.Address, g.Address)
	want := "$HandledBy." + ann.Address
	for _, prefix := range []string{"UPDATE", "FLAGS"} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, prefix+" ") && strings.Contains(line, want) &&
				strings.Contains(line, `\\Answered`) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s line lacks \\Answered and %s:\n%s", prefix, want, out)
		}
	}
}
