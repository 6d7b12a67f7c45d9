package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/pki"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

// mailClientTimeout bounds one run of mbsync, mutt or script.
const mailClientTimeout = 60 * time.Second

// requireClient returns the path of a mail client, or skips t when it is not installed. With
// CJSM_REQUIRE_PEERS=1 (as in CI) a missing client fails t instead, naming the Debian package,
// as the helpers in testenv do.
func requireClient(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	reason := fmt.Sprintf("%s not found in PATH; install the Debian package %s", name,
		debianPackage)
	if os.Getenv(testenv.RequirePeersEnv) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure instead of a skip)", reason,
			testenv.RequirePeersEnv)
	}
	t.Skip(reason)
	return ""
}

// runMailClient runs a client program with HOME set to home, so that it reads and writes no
// file of the real user, and returns its combined output.
func runMailClient(t *testing.T, home string, stdin []byte, path string,
	args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), mailClientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.Dir = home
	cmd.WaitDelay = 5 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mbsyncConfig is an isync 1.4 configuration that syncs every folder of one IMAP account with
// a Maildir, in both directions, creating and expunging on both sides. isync 1.4 spells the
// TLS setting SSLType, which newer releases call TLSType. "Host localhost" matters because
// mbsync 1.4.4 matches only DNS names: with "Host 127.0.0.1" it rejects the test certificate,
// which names IP:127.0.0.1, with "certificate owner does not match hostname".
const mbsyncConfig = `IMAPAccount cjsm
Host localhost
Port %s
User %s
Pass "%s"
SSLType IMAPS
CertificateFile %s

IMAPStore cjsm-far
Account cjsm

MaildirStore cjsm-near
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel cjsm
Far :cjsm-far:
Near :cjsm-near:
Patterns *
Create Both
Expunge Both
SyncState *
`

// mbsyncRun is an mbsync configuration and Maildir in a test's directory, synced with the
// methods below.
type mbsyncRun struct {
	t       *testing.T
	path    string
	home    string
	config  string
	maildir string
}

// newMbsync writes an mbsync configuration that syncs user's mailbox into a new Maildir.
func newMbsync(t *testing.T, e *env, path, user string) *mbsyncRun {
	t.Helper()
	home := t.TempDir()
	maildir := filepath.Join(home, "Mail")
	_, port, err := net.SplitHostPort(e.addr("imaps"))
	if err != nil {
		t.Fatalf("imaps address %q: %v", e.addr("imaps"), err)
	}
	// mbsync 1.4 creates folders inside Path but not Path itself.
	if err := os.Mkdir(maildir, 0o700); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(home, "mbsyncrc")
	text := fmt.Sprintf(mbsyncConfig, port, user, password, e.caFile, maildir, maildir)
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return &mbsyncRun{t: t, path: path, home: home, config: config, maildir: maildir}
}

// sync runs "mbsync -V -c CONFIG -a", fails the test when mbsync exits non-zero, and returns
// its output.
func (m *mbsyncRun) sync() string {
	m.t.Helper()
	out, err := runMailClient(m.t, m.home, nil, m.path, "-V", "-c", m.config, "-a")
	if err != nil {
		m.t.Fatalf("mbsync -V -c %s -a: %v\n%s", m.config, err, out)
	}
	m.t.Logf("mbsync output:\n%s", out)
	return out
}

// imapChange matches an IMAP command line in mbsync's network debug output ("-Dn") that
// uploads, changes, deletes or downloads mail. mbsync 1.4 writes such a line as
// ">>> TAG COMMAND", after "(N in progress) " when it pipelines commands, and masks the
// credentials of AUTHENTICATE.
var imapChange = regexp.MustCompile(`>>> [0-9]+ (UID )?` +
	`(APPEND|STORE|EXPUNGE|COPY|MOVE|CREATE|DELETE|RENAME|FETCH .*BODY)`)

// syncChanges runs a sync with "-Dn" and returns the IMAP commands it sent that match
// imapChange. mbsync prints its counts of changes only to a terminal, so the commands on
// the wire are the way to see that a run had nothing to do.
func (m *mbsyncRun) syncChanges() []string {
	m.t.Helper()
	out, err := runMailClient(m.t, m.home, nil, m.path, "-Dn", "-c", m.config, "-a")
	if err != nil {
		m.t.Fatalf("mbsync -Dn -c %s -a: %v\n%s", m.config, err, out)
	}
	var changes []string
	for _, line := range strings.Split(out, "\n") {
		if imapChange.MatchString(line) {
			changes = append(changes, line)
		}
	}
	return changes
}

// maildirMessage is one message file of a Maildir folder.
type maildirMessage struct {
	path string
	uid  int64 // the far-side UID that mbsync records as ",U=N" in the name; 0 if none
	data []byte
}

// maildirUID matches the UID that isync's Maildir store writes into a file name.
var maildirUID = regexp.MustCompile(`,U=([0-9]+)`)

// readMaildir returns the messages in folder's cur and new directories.
func readMaildir(t *testing.T, folder string) []maildirMessage {
	t.Helper()
	var msgs []maildirMessage
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(folder, sub))
		if err != nil {
			t.Fatalf("read Maildir %s: %v", folder, err)
		}
		for _, ent := range entries {
			path := filepath.Join(folder, sub, ent.Name())
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			msg := maildirMessage{path: path, data: data}
			if m := maildirUID.FindStringSubmatch(ent.Name()); m != nil {
				msg.uid, _ = strconv.ParseInt(m[1], 10, 64)
			}
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

// listMaildir returns every file under dir with its size, to compare a Maildir before and
// after a sync. The .mbsyncstate files are left out because mbsync may rewrite them on
// every run.
func listMaildir(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".mbsyncstate") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		lines = append(lines, fmt.Sprintf("%s %d", rel, info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// tuidHeader matches the "X-TUID:" header field that mbsync 1.4 inserts into every message
// it copies, in either direction, so that it can find the message again after an
// interrupted sync.
var tuidHeader = regexp.MustCompile(`(?m)^X-TUID: [^\n]*\n`)

func stripTUID(msg []byte) []byte { return tuidHeader.ReplaceAll(msg, nil) }

// toLF turns CRLF line ends into LF. IMAP sends CRLF and isync writes Maildir files with
// the local LF line end, so the two forms of one message differ by exactly this.
func toLF(msg []byte) []byte { return bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")) }

// serverInbox returns the INBOX entries of a person, with flags, in UID order.
func (e *env) serverInbox(addr string) []store.MailboxMessage {
	e.t.Helper()
	p, err := e.dirSvc.Person(context.Background(), addr)
	e.must(err)
	msgs, err := e.node.Store.MailboxMessages(context.Background(), store.OwnerPerson, p.ID,
		"INBOX")
	e.must(err)
	return msgs
}

// serverState describes a person's INBOX as UID, flags, size and MODSEQ, one message a line,
// so that two calls show whether anything changed in between.
func (e *env) serverState(addr string) string {
	var lines []string
	for _, m := range e.serverInbox(addr) {
		lines = append(lines, fmt.Sprintf("uid %d flags %q size %d modseq %d", m.UID, m.Flags,
			m.Size, m.ModSeq))
	}
	return strings.Join(lines, "\n")
}

// TestMbsyncSyncsMailboxDownAndBack syncs bob's mailbox with a local Maildir three times:
// down, back up with a flag and a new message, and once more with nothing to do. Message
// comparisons ignore mbsync's X-TUID field and the CRLF to LF change of a Maildir copy.
func TestMbsyncSyncsMailboxDownAndBack(t *testing.T) {
	mbsync := requireClient(t, "mbsync", "isync")
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	sync := newMbsync(t, e, mbsync, bob)
	for i := 1; i <= 3; i++ {
		body := message(alice, bob, fmt.Sprintf("case %d", i), fmt.Sprintf("note %d\r\nend", i))
		queueIDOf(t, e.submit(alice, alice, []string{bob}, body))
	}
	stored := e.waitInbox(bob, 3, 10*time.Second)
	if len(stored) != 3 {
		t.Fatalf("bob's INBOX has %d messages after 3 submissions, want 3", len(stored))
	}
	server := e.serverInbox(bob)

	// First sync: every server message arrives in the local INBOX with its bytes intact.
	sync.sync()
	inbox := filepath.Join(sync.maildir, "INBOX")
	local := readMaildir(t, inbox)
	if len(local) != 3 {
		t.Fatalf("local INBOX has %d messages after the first sync, want 3", len(local))
	}
	byUID := map[int64]maildirMessage{}
	tuids := 0
	for _, m := range local {
		if tuidHeader.Match(m.data) {
			tuids++
		}
		byUID[m.uid] = m
	}
	t.Logf("mbsync added X-TUID to %d of %d local copies; comparisons ignore it", tuids,
		len(local))
	for i, m := range server {
		got, ok := byUID[m.UID]
		if !ok {
			t.Errorf("server message UID %d has no local copy named ,U=%d", m.UID, m.UID)
			continue
		}
		if !bytes.Equal(stripTUID(got.data), toLF(stored[i])) {
			t.Errorf("local copy of UID %d differs from the store beyond X-TUID and line "+
				"ends:\nlocal:\n%s\nstore:\n%s", m.UID, got.data, stored[i])
		}
	}
	for _, folder := range []string{"Sent", "Drafts", "Trash", "Archive"} {
		if _, err := os.Stat(filepath.Join(sync.maildir, folder, "cur")); err != nil {
			t.Errorf("folder %s was not created locally: %v", folder, err)
		}
	}

	// Second sync: a flag set locally and a message written locally reach the server.
	seen := byUID[server[1].UID]
	name := filepath.Base(seen.path)
	if i := strings.Index(name, ":2,"); i >= 0 {
		name = name[:i]
	}
	seenPath := filepath.Join(inbox, "cur", name+":2,S")
	if err := os.Rename(seen.path, seenPath); err != nil {
		t.Fatal(err)
	}
	upload := "From: <" + bob + ">\nTo: <" + alice + ">\nSubject: written offline\n" +
		"Message-ID: <offline-1@mvs.cjsm.test>\n\ndrafted on the train\n"
	newName := fmt.Sprintf("%d.offline.test", time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(inbox, "new", newName), []byte(upload), 0o600); err != nil {
		t.Fatal(err)
	}
	changes := strings.Join(sync.syncChanges(), "\n")
	if !strings.Contains(changes, "APPEND") {
		t.Errorf("second sync sent no APPEND for the new local message:\n%s", changes)
	}
	if !regexp.MustCompile(`UID STORE .*\\Seen`).MatchString(changes) {
		t.Errorf("second sync sent no UID STORE of \\Seen:\n%s", changes)
	}

	after := e.serverInbox(bob)
	if len(after) != 4 {
		t.Fatalf("bob's INBOX has %d messages after the upload, want 4:\n%s", len(after),
			e.serverState(bob))
	}
	for _, m := range after[:3] {
		hasSeen := mailbox.ParseFlags(m.Flags).Has(`\Seen`)
		if m.UID == server[1].UID && !hasSeen {
			t.Errorf("UID %d, marked seen locally, has flags %q on the server, want \\Seen",
				m.UID, m.Flags)
		}
		if m.UID != server[1].UID && hasSeen {
			t.Errorf("UID %d, not marked locally, has flags %q on the server", m.UID, m.Flags)
		}
	}
	uploaded := e.inbox(bob)[3]
	if tuidHeader.Match(uploaded) {
		t.Logf("the server stores the uploaded message with mbsync's X-TUID; comparison ignores it")
	}
	if got, want := toLF(stripTUID(uploaded)), []byte(upload); !bytes.Equal(got, want) {
		t.Errorf("uploaded message on the server differs beyond X-TUID and line ends:\n"+
			"got:\n%s\nwant:\n%s", uploaded, want)
	}

	// Third sync: nothing changed on either side, so mbsync changes nothing.
	maildirBefore, serverBefore := listMaildir(t, sync.maildir), e.serverState(bob)
	if changes := sync.syncChanges(); len(changes) > 0 {
		t.Errorf("third sync sent IMAP commands that change or download mail, want none:\n%s",
			strings.Join(changes, "\n"))
	}
	if got := listMaildir(t, sync.maildir); got != maildirBefore {
		t.Errorf("third sync changed the Maildir:\nbefore:\n%s\nafter:\n%s", maildirBefore, got)
	}
	if got := e.serverState(bob); got != serverBefore {
		t.Errorf("third sync changed the server INBOX:\nbefore:\n%s\nafter:\n%s",
			serverBefore, got)
	}
}

// muttrc configures Mutt to send through the submission listener with STARTTLS, trusting
// only the test CA, and to keep no copy of what it sends. Mutt's URL syntax needs the "@" of
// the user name encoded as %40.
const muttrc = `set from = "%s"
set realname = "Alice Adams"
set hostname = "mvs.cjsm.test"
set smtp_url = "smtp://%s@localhost:%s/"
set smtp_pass = "%s"
set ssl_starttls = yes
set ssl_force_tls = yes
set certificate_file = "%s"
set copy = no
set record = ""
`

// writeMuttrc writes a muttrc for user in a new directory, to serve as HOME, with
// certificate_file set to caFile, and returns the directory and the file's path.
func writeMuttrc(t *testing.T, e *env, user, caFile string) (home, rc string) {
	t.Helper()
	_, port, err := net.SplitHostPort(e.addr("submission"))
	if err != nil {
		t.Fatalf("submission address %q: %v", e.addr("submission"), err)
	}
	home = t.TempDir()
	rc = filepath.Join(home, "muttrc")
	text := fmt.Sprintf(muttrc, user, strings.ReplaceAll(user, "@", "%40"), port, password,
		caFile)
	if err := os.WriteFile(rc, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return home, rc
}

func TestMuttSendsThroughSubmission(t *testing.T) {
	mutt := requireClient(t, "mutt", "mutt")
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	home, rc := writeMuttrc(t, e, alice, e.caFile)

	body := "The hearing is moved to Tuesday.\nBring the bundle.\n"
	out, err := runMailClient(t, home, []byte(body), mutt, "-n", "-F", rc, "-s",
		"mutt case 7", "--", bob)
	if err != nil {
		t.Fatalf("mutt -n -F %s -s ... %s: %v\n%s", rc, bob, err, out)
	}

	msgs := e.waitInbox(bob, 1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("bob's INBOX has %d messages after mutt sent one, want 1\nmutt output:\n%s",
			len(msgs), out)
	}
	got := msgs[0]
	if !contains(got, "Subject: mutt case 7\r\n") {
		t.Errorf("delivered message lacks the Subject:\n%s", got)
	}
	if !contains(got, "From: Alice Adams <"+alice+">\r\n") {
		t.Errorf("delivered message lacks Alice's From:\n%s", got)
	}
	if !contains(got, " with ESMTPSA ") {
		t.Errorf("Received header does not record an authenticated TLS session (ESMTPSA):\n%s",
			got)
	}
	_, gotBody, found := bytes.Cut(got, []byte("\r\n\r\n"))
	if want := strings.ReplaceAll(body, "\n", "\r\n"); !found || string(gotBody) != want {
		t.Errorf("delivered body = %q, want %q", gotBody, want)
	}
}

// TestMuttRejectsUntrustedCertificate shows that the muttrc above makes Mutt verify the
// server's certificate, so that the successful send proves a verified STARTTLS session.
func TestMuttRejectsUntrustedCertificate(t *testing.T) {
	mutt := requireClient(t, "mutt", "mutt")
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	other, err := pki.NewCA("unrelated CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(otherFile, other.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	home, rc := writeMuttrc(t, e, alice, otherFile)

	out, err := runMailClient(t, home, []byte("must not arrive\n"), mutt, "-n", "-F", rc, "-s",
		"untrusted", "--", bob)
	if err == nil {
		t.Errorf("mutt exited 0 with a certificate_file that does not trust the server:\n%s", out)
	}
	if !strings.Contains(out, "Untrusted server certificate") {
		t.Errorf("mutt output does not name the untrusted certificate:\n%s", out)
	}
	if msgs := e.inbox(bob); len(msgs) != 0 {
		t.Errorf("bob's INBOX has %d messages, want 0 after an untrusted TLS session", len(msgs))
	}
}

// muttIMAPrc configures Mutt to open an IMAP INBOX with implicit TLS, trusting only the test
// CA, and to leave the server unchanged: no caches, no moving read mail, no marking old.
const muttIMAPrc = `set imap_user = "%s"
set imap_pass = "%s"
set folder = "imaps://localhost:%s/"
set spoolfile = "+INBOX"
set ssl_force_tls = yes
set certificate_file = "%s"
set header_cache = ""
set message_cachedir = ""
set move = no
set mark_old = no
set wait_key = no
set confirmcreate = no
set confirmappend = no
set quit = yes
set mbox_type = Maildir
set copy = no
set record = ""
`

// muttCopyHeader matches the Content-Length and Lines header fields that Mutt 2.2.12 adds to
// a message it copies into a Maildir.
var muttCopyHeader = regexp.MustCompile(`(?m)^(Content-Length|Lines): [0-9]+\n`)

// stripMuttCopyHeaders removes muttCopyHeader fields from the header section of msg.
func stripMuttCopyHeaders(msg []byte) []byte {
	header, body, found := bytes.Cut(msg, []byte("\n\n"))
	if !found {
		return msg
	}
	header = muttCopyHeader.ReplaceAll(append(header, '\n'), nil)
	return append(header, append([]byte("\n"), body...)...)
}

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestMuttReadsOverIMAP opens bob's INBOX with Mutt over IMAPS and copies every message to a
// local Maildir. When stdin is not a terminal, Mutt runs in batch send mode even with -f
// ("No recipients specified."), so script(1) runs it on a pseudo-terminal.
func TestMuttReadsOverIMAP(t *testing.T) {
	mutt := requireClient(t, "mutt", "mutt")
	script := requireClient(t, "script", "bsdutils")
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	for i := 1; i <= 2; i++ {
		body := message(alice, bob, fmt.Sprintf("imap %d", i), fmt.Sprintf("read me %d", i))
		queueIDOf(t, e.submit(alice, alice, []string{bob}, body))
	}
	stored := e.waitInbox(bob, 2, 10*time.Second)
	if len(stored) != 2 {
		t.Fatalf("bob's INBOX has %d messages after 2 submissions, want 2", len(stored))
	}
	before := e.serverState(bob)

	_, port, err := net.SplitHostPort(e.addr("imaps"))
	if err != nil {
		t.Fatalf("imaps address %q: %v", e.addr("imaps"), err)
	}
	home := t.TempDir()
	rc := filepath.Join(home, "muttrc")
	text := fmt.Sprintf(muttIMAPrc, bob, password, port, e.caFile)
	if err := os.WriteFile(rc, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(home, "saved")
	keys := "push '<tag-pattern>~A<enter><tag-prefix><copy-message>" + saved +
		"<enter><quit>'"
	command := "TERM=vt100 " + shellQuote(mutt) + " -n -F " + shellQuote(rc) + " -e " +
		shellQuote(keys)
	out, err := runMailClient(t, home, nil, script, "-qec", command, "/dev/null")
	if err != nil {
		t.Fatalf("script -qec %q: %v\nterminal output: %q", command, err, out)
	}

	local := readMaildir(t, saved)
	if len(local) != 2 {
		t.Fatalf("mutt copied %d messages, want 2\nterminal output: %q", len(local), out)
	}
	for _, want := range stored {
		matched := false
		for _, m := range local {
			if bytes.Equal(stripMuttCopyHeaders(m.data), toLF(want)) {
				matched = true
			}
		}
		if !matched {
			t.Errorf("no copy equals the stored message beyond line ends and Mutt's "+
				"Content-Length and Lines fields:\n%s", want)
		}
	}
	if got := e.serverState(bob); got != before {
		t.Errorf("reading with mutt changed the server INBOX:\nbefore:\n%s\nafter:\n%s",
			before, got)
	}
}
