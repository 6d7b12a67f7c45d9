package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/node"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

// popLockScript drives POP3 sessions (poplib) on two nodes sharing one store. Each sign-in
// prints its outcome: "OK" or the server's -ERR line.
const popLockScript = `
import poplib, ssl, sys, time
a_host, a_port, b_host, b_port, cafile, user, password = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False

def sign_in(host, port):
    c = poplib.POP3_SSL(host, int(port), context=ctx)
    c.user(user)
    try:
        c.pass_(password)
        return c, "OK"
    except poplib.error_proto as e:
        c.close()
        return None, e.args[0].decode()

a, r = sign_in(a_host, a_port)
print("a signs in:", r)
print("a lists:", a.stat()[0])
b, r = sign_in(b_host, b_port)
print("b signs in while a holds the maildrop:", r)
a.dele(1)
a.quit()
b, r = sign_in(b_host, b_port)
print("b signs in after a's QUIT:", r)
print("b lists:", b.stat()[0])
b.close()  # drops the connection without QUIT
deadline = time.monotonic() + 5
while True:
    a, r = sign_in(a_host, a_port)
    if r == "OK" or time.monotonic() > deadline:
        break
    time.sleep(0.05)
print("a signs in after b's connection dropped:", r)
a.quit()
`

// popRetryScript signs in to one node until it succeeds or a deadline passes, and prints
// the -ERR lines it got and the final outcome.
const popRetryScript = `
import poplib, ssl, sys, time
host, port, cafile, user, password, seconds = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
deadline = time.monotonic() + float(seconds)
while True:
    c = poplib.POP3_SSL(host, int(port), context=ctx)
    c.user(user)
    try:
        c.pass_(password)
        print("OK")
        c.quit()
        break
    except poplib.error_proto as e:
        print(e.args[0].decode())
        c.close()
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
`

const inUse = "-ERR [IN-USE]"

// twoNodes starts node a, with the common community, and node b on one PostgreSQL store.
func twoNodes(t *testing.T, prepareB func(*node.Node)) (a, b *env) {
	t.Helper()
	dsn := testenv.PostgreSQL(t)
	shared := t.TempDir()
	a = start(t, options{dsn: dsn, dataDir: shared})
	b = start(t, options{dsn: dsn, dataDir: shared, ca: a.ca, dns: a.dns, noCommon: true,
		prepare: prepareB})
	waitFeeds(t, b, 2)
	return a, b
}

// waitFeeds waits until n nodes' mailbox change feeds listen on e's PostgreSQL database, so
// that no change is announced before the other node can hear it.
func waitFeeds(t *testing.T, e *env, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var listening int
		err := e.node.Store.DB().QueryRowContext(context.Background(), `SELECT COUNT(*)
			FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = 'cjsm mailbox changes'
			AND query LIKE 'LISTEN%'`).Scan(&listening)
		e.must(err)
		if listening == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mailbox change feeds listen after 10 s, want %d", listening, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPOP3LockSpansNodes(t *testing.T) {
	a, b := twoNodes(t, nil)
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	for _, subject := range []string{"first", "second"} {
		queueIDOf(t, a.submit(alice, alice, []string{bob}, message(alice, bob, subject, "x")))
	}

	ah, ap, _ := net.SplitHostPort(a.addr("pop3s"))
	bh, bp, _ := net.SplitHostPort(b.addr("pop3s"))
	out, err := testenv.Python(t, popLockScript, ah, ap, bh, bp, a.caFile, bob, password)
	if err != nil {
		t.Fatalf("poplib client failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"a signs in: OK",
		"a lists: 2",
		"b signs in while a holds the maildrop: " + inUse,
		"b signs in after a's QUIT: OK",
		"b lists: 1",
		"a signs in after b's connection dropped: OK",
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want+" ") {
			t.Errorf("poplib output lacks %q:\n%s", want, out)
		}
	}
	p, err := a.dirSvc.Person(context.Background(), bob)
	a.must(err)
	l, err := a.node.Store.POP3Lock(context.Background(), p.ID)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after every session quit, the store holds lock %+v (err %v), want none", l, err)
	}
}

// pop3Child turns e into a node that runs in a child process with only POP3 (implicit TLS)
// on a fixed port, and returns its configuration file and POP3 address. The in-process node
// stops, so that the child can be killed as a node dies.
func pop3Child(t *testing.T, e *env) (cfgPath, addr string) {
	t.Helper()
	b, err := os.ReadFile(e.cfg.Path)
	e.must(err)
	addr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	text := string(b)
	for _, r := range [][2]string{
		{`pop3s = "127.0.0.1:0"`, `pop3s = "` + addr + `"`},
		{`smtp = "127.0.0.1:0"`, `smtp = ""`},
		{`submission = "127.0.0.1:0"`, `submission = ""`},
		{`submissions = "127.0.0.1:0"`, `submissions = ""`},
		{`imaps = "127.0.0.1:0"`, `imaps = ""`},
		{`level = "debug"`, `level = "info"`},
	} {
		text = strings.Replace(text, r[0], r[1], 1)
	}
	cfgPath = filepath.Join(e.dir, "child.toml")
	e.must(os.WriteFile(cfgPath, []byte(text), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.must(e.node.Shutdown(ctx))
	return cfgPath, addr
}

// holdPOP3 signs in over POP3 with implicit TLS and returns the connection, which holds the
// maildrop until it closes.
func holdPOP3(t *testing.T, e *env, addr, user string) net.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, e.clientTLS())
	if err != nil {
		t.Fatalf("POP3 connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for _, step := range []struct{ name, cmd string }{
		{"greeting", ""}, {"USER", "USER " + user}, {"PASS", "PASS " + password}} {
		if step.cmd != "" {
			fmt.Fprintf(c, "%s\r\n", step.cmd)
		}
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+OK") {
			t.Fatalf("POP3 %s on %s: reply %q, %v", step.name, addr, line, err)
		}
	}
	c.SetDeadline(time.Time{})
	return c
}

// lockOf returns the POP3 lock of the person at addr, read from e's store.
func lockOf(t *testing.T, e *env, addr string) (store.POP3Lock, error) {
	t.Helper()
	p, err := e.dirSvc.Person(context.Background(), addr)
	e.must(err)
	return e.node.Store.POP3Lock(context.Background(), p.ID)
}

// startPOP3Pair starts node a in a child process and node b in this one, on one PostgreSQL
// store, and signs bob in through node a. The child gets lease and renew (0: defaults).
func startPOP3Pair(t *testing.T, lease, renew time.Duration) (b *env, child *child,
	cfgPath, aAddr string) {
	t.Helper()
	a, b := twoNodes(t, nil)
	cfgPath, aAddr = pop3Child(t, a)
	if lease > 0 {
		t.Setenv("CJSM_E2E_POP3_LOCK_LEASE", lease.String())
		t.Setenv("CJSM_E2E_POP3_LOCK_RENEW", renew.String())
	}
	child = startChild(t, cfgPath, 0, aAddr)
	bob := "bob.brown@mvs." + suffix
	holdPOP3(t, b, aAddr, bob)
	return b, child, cfgPath, aAddr
}

func TestPOP3LockOfKilledNodeLapses(t *testing.T) {
	const lease, renew = 3 * time.Second, 500 * time.Millisecond
	b, child, _, _ := startPOP3Pair(t, lease, renew)
	bob := "bob.brown@mvs." + suffix
	host, port, _ := net.SplitHostPort(b.addr("pop3s"))

	// Outlive the lease, so that only renewal can explain that the lock still holds.
	time.Sleep(lease + renew)
	out, err := testenv.Python(t, popRetryScript, host, port, b.caFile, bob, password, "0")
	if err != nil {
		t.Fatalf("poplib client failed: %v\n%s", err, out)
	}
	if !strings.HasPrefix(out, inUse) {
		t.Errorf("sign-in on node b while node a holds the maildrop: got %q, want %s", out, inUse)
	}
	nodeALock, err := lockOf(t, b, bob)
	if err != nil {
		t.Fatalf("lock while node a's session lives: %v", err)
	}

	child.kill()
	killed := time.Now()
	if l, err := lockOf(t, b, bob); err != nil || l.SessionID != nodeALock.SessionID {
		t.Fatalf("lock after node a died = %+v, %v; want node a's lock %+v, kept until it "+
			"expires", l, err, nodeALock)
	}
	out, err = testenv.Python(t, popRetryScript, host, port, b.caFile, bob, password, "20")
	if err != nil {
		t.Fatalf("poplib client failed: %v\n%s", err, out)
	}
	freed := time.Since(killed)
	if !strings.HasSuffix(strings.TrimSpace(out), "OK") {
		t.Fatalf("node b never got the maildrop after node a died:\n%s", out)
	}
	if freed > lease+5*time.Second {
		t.Errorf("node b got the maildrop %v after node a died, want within the %v lease "+
			"and a margin", freed, lease)
	}
	t.Logf("node b got the maildrop %v after node a died (lease %v); replies:\n%s",
		freed.Round(time.Millisecond), lease, out)
}

func TestRestartedNodeDropsItsPOP3Locks(t *testing.T) {
	// The default five-minute lease: only the restart can free the maildrop in time.
	b, child, cfgPath, aAddr := startPOP3Pair(t, 0, 0)
	bob := "bob.brown@mvs." + suffix
	child.kill()
	if l, err := lockOf(t, b, bob); err != nil || time.Until(l.ExpiresAt) < 4*time.Minute {
		t.Fatalf("lock after node a died = %+v, %v; want one that expires in about 5 minutes",
			l, err)
	}

	startChild(t, cfgPath, 0, aAddr)
	host, port, _ := net.SplitHostPort(b.addr("pop3s"))
	out, err := testenv.Python(t, popRetryScript, host, port, b.caFile, bob, password, "0")
	if err != nil {
		t.Fatalf("poplib client failed: %v\n%s", err, out)
	}
	if strings.TrimSpace(out) != "OK" {
		t.Errorf("sign-in on node b after node a restarted: got %q, want OK at once", out)
	}
}

// idleScript idles on node b's INBOX (imaplib), then changes the folder through node a: it
// submits a message to node a (smtplib) and flags it over IMAP on node a. For each change
// it prints the seconds until node b's IDLE reported it, and the untagged response.
const idleScript = `
import imaplib, smtplib, ssl, sys, time
b_port, a_imap, a_sub, cafile, user, sender, password = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False

def imap(port):
    m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
    m.login(user, password)
    m.select("INBOX")
    return m

def wait_for(conn, began, word, event):
    while True:
        line = conn.readline()
        if not line:
            sys.exit("node b closed the connection while waiting for " + event)
        if word in line:
            print(event, "%.3f" % (time.monotonic() - began), line.strip().decode())
            return

b = imap(b_port)
b.sock.settimeout(20)
tag = b._new_tag().decode()
b.send((tag + " IDLE\r\n").encode())
line = b.readline()
if not line.startswith(b"+"):
    sys.exit("IDLE refused: %r" % line)

began = time.monotonic()
s = smtplib.SMTP("127.0.0.1", int(a_sub))
s.starttls(context=ctx)
s.login(sender, password)
msg = "From: <%s>\r\nTo: <%s>\r\nSubject: idle\r\n\r\nhello\r\n" % (sender, user)
s.sendmail(sender, [user], msg)
s.quit()
wait_for(b, began, b"EXISTS", "delivery")

a = imap(a_imap)
began = time.monotonic()
typ, data = a.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
if typ != "OK":
    sys.exit("STORE on node a: %s %r" % (typ, data))
wait_for(b, began, b"\\Flagged", "flag")
a.logout()
b.send(b"DONE\r\n")
b.readline()
b.logout()
`

func TestIMAPIdleSeesChangesFromOtherNode(t *testing.T) {
	const poll = 5 * time.Minute
	a, b := twoNodes(t, func(n *node.Node) { n.IMAPIdlePoll = poll })
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	portOf := func(e *env, name string) string {
		_, port, _ := net.SplitHostPort(e.addr(name))
		return port
	}
	out, err := testenv.Python(t, idleScript, portOf(b, "imaps"), portOf(a, "imaps"),
		portOf(a, "submission"), a.caFile, bob, alice, password)
	if err != nil {
		t.Fatalf("imaplib/smtplib client failed: %v\n%s", err, out)
	}
	// Node b polls every five minutes, so only a notification from node a explains an
	// update within seconds.
	const limit = 5 * time.Second
	for _, event := range []string{"delivery", "flag"} {
		var seconds float64
		var rest string
		found := false
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, event+" "); ok {
				num, r, _ := strings.Cut(v, " ")
				seconds, err = strconv.ParseFloat(num, 64)
				found, rest = err == nil, r
			}
		}
		if !found {
			t.Errorf("node b's IDLE never reported the %s through node a:\n%s", event, out)
			continue
		}
		if d := time.Duration(seconds * float64(time.Second)); d > limit {
			t.Errorf("node b's IDLE reported the %s after %v, want within %v", event, d, limit)
		}
		t.Logf("%s through node a reached node b's IDLE after %.3f s: %s", event, seconds, rest)
	}
}
