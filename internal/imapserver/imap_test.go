package imapserver_test

import (
	"encoding/hex"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestDeliveredMessageFetchedByteIdentical(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	raw := sampleMessage("Bail hearing", "Listed for Monday 10:00.\r\nTrailing spaces  \r\n")
	h.deliver(t, store.OwnerPerson, jane.ID, raw)
	out := h.python(t, `
m = connect(ARGS[0])
typ, _ = m.select("INBOX")
check(typ == "OK", "select")
typ, data = m.uid("FETCH", "1", "(BODY.PEEK[])")
check(typ == "OK", data)
print("BODY", data[0][1].hex())
typ, data = m.uid("FETCH", "1", "(FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)")
check(typ == "OK", data)
print("META", data[0])
`, jane.Address)
	var body, meta string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "BODY "); ok {
			body = v
		}
		if v, ok := strings.CutPrefix(line, "META "); ok {
			meta = v
		}
	}
	got, err := hex.DecodeString(strings.TrimSpace(body))
	if err != nil {
		t.Fatalf("decode fetched body: %v\n%s", err, out)
	}
	if string(got) != raw {
		t.Errorf("fetched message differs from the delivered bytes:\ngot  %q\nwant %q", got, raw)
	}
	for _, want := range []string{`"Bail hearing"`, `"alice" "police.cjsm.test"`, `"text" "plain"`,
		"RFC822.SIZE " + strconv.Itoa(len(raw))} {
		if !strings.Contains(meta, want) {
			t.Errorf("FETCH metadata lacks %s:\n%s", want, meta)
		}
	}
	if strings.Contains(meta, `\\Seen`) {
		t.Errorf("BODY.PEEK[] set \\Seen: %s", meta)
	}
}

func TestIdleSessionSeesOtherSessionsChanges(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("first", "x"))
	ctl := control(t, func(string) {
		h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("queued", "y"))
	})
	h.python(t, pyControl+`
a = connect(ARGS[0]); a.select("INBOX")
b = connect(ARGS[0]); b.select("INBOX")
tag = a._new_tag().decode()
a.send((tag + " IDLE\r\n").encode())
line = a.readline()
check(line.startswith(b"+"), line)
b.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
line = a.readline()
check(b"FETCH" in line and b"\\Flagged" in line, b"want FETCH FLAGS, got " + line)
b.append("INBOX", None, None, b"Subject: appended\r\n\r\nhi\r\n")
line = a.readline()
check(line.strip() == b"* 2 EXISTS", b"want 2 EXISTS after APPEND, got " + line)
wait_for_test(ARGS[1], "deliver")
line = a.readline()
check(line.strip() == b"* 3 EXISTS", b"want 3 EXISTS after delivery, got " + line)
a.send(b"DONE\r\n")
line = a.readline()
check(line.startswith(tag.encode() + b" OK"), line)
`, jane.Address, ctl)
}

func TestMoveReturnsCopyUID(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("to file", "x"))
	out := h.python(t, `
m = connect(ARGS[0])
m.select("INBOX")
typ, data = m.uid("MOVE", "1", "Archive")
check(typ == "OK", data)
cu = m.untagged_responses.get("COPYUID")
check(cu, "no COPYUID in %r" % (m.untagged_responses,))
print("COPYUID", cu[0].decode())
typ, data = m.uid("SEARCH", "ALL")
check(data[0] == b"", "INBOX not empty after MOVE: %r" % data)
m.select("Archive")
typ, data = m.uid("SEARCH", "ALL")
check(data[0] == b"1", "Archive holds %r" % data)
`, jane.Address)
	if !strings.Contains(out, "COPYUID ") || !strings.HasSuffix(strings.TrimSpace(out), " 1 1") {
		t.Errorf("MOVE COPYUID = %q, want UIDVALIDITY then source 1 and destination 1", out)
	}
}

func TestReadOnlyGroupMemberCannotDelete(t *testing.T) {
	h := newHarness(t)
	ann := h.person(t, "ann")
	ben := h.person(t, "ben")
	eve := h.person(t, "eve")
	g := h.group(t, "casework",
		store.GroupMember{PersonID: ann.ID, Read: true, Write: true},
		store.GroupMember{PersonID: ben.ID, Read: true})
	h.deliver(t, store.OwnerGroup, g.ID, sampleMessage("group mail", "x"))
	box := "Shared/" + g.Address + "/INBOX"
	h.python(t, `
box = ARGS[2]
b = connect(ARGS[0])
typ, data = b.list()
check(any(box.encode() in l for l in data), "ben's LIST lacks %s: %r" % (box, data))
typ, _ = b.select(box)
check(typ == "OK", "ben cannot select the group INBOX")
# RFC 9051 section 7.1: a flag outside PERMANENTFLAGS is ignored, not refused.
typ, data = b.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
check(typ == "OK" and b"Deleted" not in data[0], "read-only STORE \\Deleted: %s %r" % (typ, data))
typ, data = b.expunge()
check(typ == "NO", "read-only EXPUNGE: %s %r" % (typ, data))
typ, data = b.uid("MOVE", "1", "INBOX")
check(typ == "NO", "read-only MOVE out: %s %r" % (typ, data))
typ, data = b.uid("STORE", "1", "+FLAGS", "(\\Seen)")
check(typ == "OK", "read-only member setting own \\Seen: %s %r" % (typ, data))

a = connect(ARGS[1])
a.select(box)
typ, data = a.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
check(typ == "OK", "writer STORE \\Deleted: %s %r" % (typ, data))
typ, data = a.expunge()
check(typ == "OK" and data[0] == b"1", "writer EXPUNGE: %s %r" % (typ, data))

e = connect(ARGS[3])
typ, data = e.list()
check(not any(b"Shared" in l for l in data), "non-member sees the group: %r" % data)
typ, data = e.select(box)
check(typ == "NO", "non-member selected the group: %r" % data)
`, ben.Address, ann.Address, box, eve.Address)
}

func TestGroupMembersSeeOwnUnseenState(t *testing.T) {
	h := newHarness(t)
	ann := h.person(t, "ann")
	ben := h.person(t, "ben")
	g := h.group(t, "casework",
		store.GroupMember{PersonID: ann.ID, Read: true, Write: true},
		store.GroupMember{PersonID: ben.ID, Read: true})
	h.deliver(t, store.OwnerGroup, g.ID, sampleMessage("one", "x"))
	h.deliver(t, store.OwnerGroup, g.ID, sampleMessage("two", "y"))
	box := "Shared/" + g.Address + "/INBOX"
	h.python(t, `
box = ARGS[2]
a = connect(ARGS[0])
a.select(box)
typ, data = a.uid("FETCH", "1", "(BODY[])")
check(typ == "OK" and b"\\Seen" in data[0][0], "BODY[] did not set ann's \\Seen: %r" % data)
typ, data = a.status(box, "(UNSEEN MESSAGES)")
check(b"UNSEEN 1" in data[0], "ann STATUS %r" % data)
b = connect(ARGS[1])
typ, data = b.status(box, "(UNSEEN MESSAGES)")
check(b"UNSEEN 2" in data[0], "ben STATUS %r (ann's reading must not count)" % data)
b.select(box)
typ, data = b.uid("FETCH", "1:*", "(FLAGS)")
check(all(b"\\Seen" not in d for d in data), "ben sees \\Seen: %r" % data)
`, ann.Address, ben.Address, box)
}

func TestSuspendedPersonLosesGroupAccessAtOnce(t *testing.T) {
	h := newHarness(t)
	ann := h.person(t, "ann")
	g := h.group(t, "casework", store.GroupMember{PersonID: ann.ID, Read: true, Write: true})
	h.deliver(t, store.OwnerGroup, g.ID, sampleMessage("one", "x"))
	ctl := control(t, func(string) { h.setStatus(t, ann, store.StatusSuspended) })
	out := h.python(t, pyControl+`
box = ARGS[2]
a = connect(ARGS[0])
typ, _ = a.select(box)
check(typ == "OK", "select before suspension")
wait_for_test(ARGS[1], "suspend")
try:
    typ, data = a.uid("FETCH", "1", "(FLAGS)")
    check(typ != "OK", "FETCH after suspension succeeded: %r" % data)
    print("refused", typ, data)
except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError) as e:
    print("disconnected", e)
try:
    connect(ARGS[0])
    check(False, "sign-in after suspension succeeded")
except imaplib.IMAP4.error as e:
    print("sign-in refused", e)
`, ann.Address, ctl, "Shared/"+g.Address+"/INBOX")
	if !strings.Contains(out, "refused ") && !strings.Contains(out, "disconnected ") {
		t.Errorf("FETCH after suspension was neither refused nor disconnected:\n%s", out)
	}
	if !strings.Contains(out, "sign-in refused") {
		t.Errorf("script output lacks the refused sign-in:\n%s", out)
	}
}

func TestConcurrentAppendExpungeKeepUIDsAscending(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.python(t, `
user = ARGS[0]
appended, errors = {}, []
def appender(i):
    try:
        m = connect(user)
        got = []
        for j in range(10):
            typ, data = m.append("INBOX", None, None, ("Subject: t%d-%d\r\n\r\nx\r\n" % (i, j)).encode())
            mo = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
            if typ != "OK" or not mo:
                errors.append("append %d-%d: %s %r" % (i, j, typ, data))
                return
            got.append(int(mo.group(2)))
        appended[i] = got
        m.logout()
    except Exception as e:
        errors.append("appender %d: %r" % (i, e))
stop = False
expunged = []
def expunger():
    try:
        m = connect(user)
        m.select("INBOX")
        while not stop:
            typ, data = m.uid("SEARCH", "ALL")
            uids = [int(u) for u in data[0].split()]
            even = [u for u in uids if u % 2 == 0]
            if even:
                m.uid("STORE", ",".join(map(str, even)), "+FLAGS.SILENT", "(\\Deleted)")
                typ, data = m.expunge()
                if typ != "OK":
                    errors.append("expunge: %r" % data)
                    return
            time.sleep(0.01)
    except Exception as e:
        errors.append("expunger: %r" % e)
threads = [threading.Thread(target=appender, args=(i,)) for i in range(3)]
ex = threading.Thread(target=expunger)
ex.start()
for t in threads: t.start()
for t in threads: t.join()
stop = True
ex.join()
check(not errors, errors)
all_uids = []
for i, got in appended.items():
    check(got == sorted(got) and len(set(got)) == len(got), "thread %d APPENDUIDs not ascending: %r" % (i, got))
    all_uids += got
check(len(set(all_uids)) == 30, "APPENDUIDs reused: %r" % sorted(all_uids))
m = connect(user)
typ, data = m.select("INBOX")
typ, data = m.uid("SEARCH", "ALL")
left = [int(u) for u in data[0].split()]
check(left == sorted(left), "UIDs not ascending: %r" % left)
check(set(left) <= set(all_uids), "unknown UIDs: %r" % left)
typ, data = m.status("INBOX", "(UIDNEXT)")
check(b"UIDNEXT 31" in data[0], "UIDNEXT %r" % data)
`, jane.Address)
}

func TestSearchBodyFindsWord(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("hearing", "The hearing is adjourned until Friday."))
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("custody", "Custody record attached."))
	h.python(t, `
m = connect(ARGS[0])
m.select("INBOX")
def uids(*crit):
    typ, data = m.uid("SEARCH", *crit)
    check(typ == "OK", "%r: %r" % (crit, data))
    return data[0].split()
check(uids("BODY", "adjourned") == [b"1"], "BODY adjourned: %r" % uids("BODY", "adjourned"))
check(uids("BODY", "ADJOURNED") == [b"1"], "BODY is not case-insensitive")
check(uids("TEXT", "custody") == [b"2"], "TEXT custody: %r" % uids("TEXT", "custody"))
check(uids("SUBJECT", "custody") == [b"2"], "SUBJECT custody")
check(uids("FROM", "alice") == [b"1", b"2"], "FROM alice")
check(uids("BODY", "nowhere") == [], "BODY nowhere")
check(uids("NOT", "BODY", "adjourned") == [b"2"], "NOT BODY adjourned")
check(uids("OR", "BODY", "adjourned", "BODY", "custody") == [b"1", b"2"], "OR")
check(uids("UNSEEN", "LARGER", "10") == [b"1", b"2"], "UNSEEN LARGER")
`, jane.Address)
}

func TestListShowsSpecialUseAndNamespace(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.group(t, "casework", store.GroupMember{PersonID: jane.ID, Read: true})
	out := h.python(t, `
m = connect(ARGS[0])
typ, caps = m.capability()
print("CAPS", caps[0].decode())
typ, data = m.list()
for l in data: print("LIST", l.decode())
typ, data = m.namespace()
print("NS", data[0].decode())
typ, data = m.create("Cases/2025")
check(typ == "OK", data)
typ, data = m.list('""', "Cases/*")
check(any(b"Cases/2025" in l for l in data), data)
`, jane.Address)
	for _, want := range []string{
		`LIST (\Sent \HasNoChildren) "/" "Sent"`,
		`LIST (\Trash \HasNoChildren) "/" "Trash"`,
		`LIST (\Noselect \HasChildren) "/" "Shared"`,
		`/INBOX`,
		`NS (("" "/")) NIL (("Shared/" "/"))`,
		"IMAP4rev2", "MOVE", "UIDPLUS", "SPECIAL-USE", "NAMESPACE", "IDLE", "LITERAL+",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLoginRefusedBeforeSTARTTLS(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	out, err := testenv.Python(t, pyPrelude+`
m = imaplib.IMAP4("127.0.0.1", int(ARGS[0]), timeout=20)
check("LOGINDISABLED" in m.capabilities, "no LOGINDISABLED before TLS: %r" % (m.capabilities,))
check("STARTTLS" in m.capabilities, "no STARTTLS: %r" % (m.capabilities,))
try:
    m.login(ARGS[1], PASSWORD)
    check(False, "LOGIN before TLS succeeded")
except imaplib.IMAP4.error as e:
    print("refused:", e)
ctx = ssl.create_default_context(cafile=CAFILE)
ctx.check_hostname = False
m.starttls(ssl_context=ctx)
typ, _ = m.login(ARGS[1], PASSWORD)
check(typ == "OK", "LOGIN after STARTTLS")
print("ok")
`, h.port(h.tlsAddr), h.caFile, h.port(h.plainAdr), jane.Address)
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	if !strings.Contains(out, "PRIVACYREQUIRED") && !strings.Contains(out, "refused") {
		t.Errorf("LOGIN before TLS not refused:\n%s", out)
	}
}

// TestCurlFetchesByUID fetches with curl's imaps:// URL (implicit TLS) and imap:// with
// --ssl-reqd (STARTTLS), as a mail client other than Python.
func TestCurlFetchesByUID(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv(testenv.RequirePeersEnv) == "1" {
			t.Fatal("curl not found in PATH; install the Debian package curl")
		}
		t.Skip("curl not found in PATH; install the Debian package curl")
	}
	h := newHarness(t)
	jane := h.person(t, "jane")
	raw := sampleMessage("curl", "fetched by curl")
	h.deliver(t, store.OwnerPerson, jane.ID, raw)
	for _, url := range []string{
		"imaps://127.0.0.1:" + h.port(h.tlsAddr) + "/INBOX;UID=1",
		"imap://127.0.0.1:" + h.port(h.plainAdr) + "/INBOX;UID=1",
	} {
		out, err := exec.Command(curl, "-sS", "--ssl-reqd", "--cacert", h.caFile,
			"--max-time", "20", "-u", jane.Address+":"+password, url).CombinedOutput()
		if err != nil {
			t.Errorf("curl %s: %v\n%s", url, err, out)
			continue
		}
		if string(out) != raw {
			t.Errorf("curl %s fetched %q, want %q", url, out, raw)
		}
	}
}

func TestAuthenticatePlainSignsIn(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.python(t, `
m = imaplib.IMAP4_SSL("localhost", PORT, ssl_context=CTX, timeout=20)
check("AUTH=PLAIN" in m.capabilities, "no AUTH=PLAIN over TLS: %r" % (m.capabilities,))
typ, _ = m.authenticate("PLAIN", lambda _: ("\0" + ARGS[0] + "\0" + PASSWORD).encode())
check(typ == "OK", "AUTHENTICATE PLAIN")
typ, _ = m.select("INBOX")
check(typ == "OK", "SELECT after AUTHENTICATE")
bad = imaplib.IMAP4_SSL("localhost", PORT, ssl_context=CTX, timeout=20)
try:
    bad.authenticate("PLAIN", lambda _: ("\0" + ARGS[0] + "\0wrong").encode())
    check(False, "AUTHENTICATE with a wrong password succeeded")
except imaplib.IMAP4.error as e:
    check("AUTHENTICATIONFAILED" in str(e), "wrong reply: %s" % e)
`, jane.Address)
}
