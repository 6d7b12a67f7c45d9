package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/queue"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
	"github.com/cjsm/cjsm/internal/tracking"
)

func TestPostfixAsTrustedServerDeliversIntoCommunity(t *testing.T) {
	e := start(t, options{})
	_, err := e.dirSvc.CreateTrustedDomain(t.Context(), operator, trustedNetwork("met.police.test", "127.0.0.0/8"))
	e.must(err)
	pf := testenv.Postfix(t, testenv.PostfixOptions{Hostname: "mx.met.police.test",
		SendTo: e.addr("smtp"), SendCAFile: e.caFile, SendServerName: "localhost"})
	bob := "bob.brown@mvs." + suffix
	msg := "From: <inspector@met.police.test>\r\nTo: <" + bob + ">\r\nSubject: from the Met\r\n\r\nstatement attached\r\n"
	e.must(pf.Sendmail("inspector@met.police.test", []string{bob}, []byte(msg)))
	got := e.waitInbox(bob, 1, 30*time.Second)
	if len(got) != 1 {
		t.Fatalf("bob's INBOX has %d messages from Postfix, want 1; Postfix log:\n%s", len(got), pf.Maillog())
	}
	if !contains(got[0], "statement attached") || !contains(got[0], "ESMTPS") {
		t.Errorf("message from Postfix lacks its body or an ESMTPS Received header:\n%s", got[0])
	}
}

func TestOperatorReturnsQueuedMessageToSender(t *testing.T) {
	// Harbour Law's connector points at a closed port, so the message waits in the queue.
	e := start(t, options{retry: time.Hour})
	e.connector("127.0.0.1", testenv.FreePort(t))
	alice, dan := "alice.adams@mvs."+suffix, "dan.dyer@harbourlaw.test."+suffix
	id := queueIDOf(t, e.submit(alice, alice, []string{dan}, message(alice, dan, "disclosure", "bundle")))
	if len(e.waitEvents(id, "deferred", 1)) == 0 {
		t.Fatalf("message was not deferred: %+v", e.events(id, ""))
	}
	n, err := e.node.Queue.Act(t.Context(), "operator:test", "test", queue.ActionReturn, id, 0)
	e.must(err)
	if n != 1 {
		t.Fatalf("return changed %d entries, want 1", n)
	}
	bounce := e.waitInbox(alice, 1, 10*time.Second)
	if len(bounce) != 1 || !contains(bounce[0], "returned to the sender by the service operator") {
		t.Fatalf("sender did not get the operator's return notice: %q", bounce)
	}
	entries, err := e.node.Store.AuditEntries(t.Context(), store.AuditFilter{Target: "queue:" + id})
	e.must(err)
	if len(entries) != 1 || entries[0].Action != "queue.return" {
		t.Errorf("audit trail for queue:%s: %+v, want one queue.return row", id, entries)
	}
	left, err := e.node.Store.QueueEntries(t.Context(), store.QueueFilter{QueueID: id})
	e.must(err)
	if len(left) != 0 {
		t.Errorf("%d entries still queued after return", len(left))
	}
}

func TestSenderSeesOnlyOwnTrace(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	id := queueIDOf(t, e.submit(alice, alice, []string{bob}, message(alice, bob, "s", "b")))
	ctx := context.Background()
	pa, err := e.dirSvc.Person(ctx, alice)
	e.must(err)
	events, err := tracking.TraceForSender(ctx, e.node.Store, pa, id)
	e.must(err)
	kinds := []string{}
	for _, ev := range events {
		kinds = append(kinds, ev.Kind)
	}
	if strings.Join(kinds, ",") != "accepted,delivered" {
		t.Errorf("alice's trace of her message: %v, want accepted,delivered", kinds)
	}
	pb, err := e.dirSvc.Person(ctx, bob)
	e.must(err)
	if _, err := tracking.TraceForSender(ctx, e.node.Store, pb, id); err != tracking.ErrNotYours {
		t.Errorf("bob asking for alice's message: err %v, want ErrNotYours", err)
	}
}

func TestRejectedRecipientIsTracked(t *testing.T) {
	e := start(t, options{})
	alice := "alice.adams@mvs." + suffix
	e.submit(alice, alice, []string{"someone@gmail.example"}, message(alice, "x", "s", "b"))
	evs, err := tracking.Trace(t.Context(), e.node.Store, tracking.Query{Recipient: "someone@gmail.example"})
	e.must(err)
	if len(evs) != 1 || evs[0].Kind != store.EventRejected || !strings.Contains(evs[0].Detail, "outside the secure community") {
		t.Errorf("rejection not tracked with its reason: %+v", evs)
	}
}

func TestSigtermFinishesTransactionInProgress(t *testing.T) {
	e := start(t, options{})
	cfgPath, sub := childConfig(t, e)
	c := startChild(t, cfgPath, 0, sub)
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	d := dial(t, sub)
	d.cmd("EHLO client.test")
	d.starttls(e.clientTLS())
	d.cmd("EHLO client.test")
	d.cmd("AUTH PLAIN " + plainAuth(alice, password))
	d.cmd("MAIL FROM:<" + alice + ">")
	d.cmd("RCPT TO:<" + bob + ">")
	if r := d.cmd("DATA"); !strings.HasPrefix(r, "354") {
		t.Fatalf("DATA: %s", r)
	}
	d.conn.Write([]byte("From: <" + alice + ">\r\nSubject: in flight\r\n\r\nfirst half\r\n"))
	e.must(c.cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(300 * time.Millisecond)
	if r := d.cmd("second half\r\n."); !strings.HasPrefix(r, "250") {
		t.Errorf("message in progress at SIGTERM: got %q, want 250", r)
	}
	waited := make(chan error, 1)
	go func() { waited <- c.cmd.Wait() }()
	d.conn.Close()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("node exited with %v after SIGTERM, want status 0", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("node did not exit within 40 s of SIGTERM")
	}
	logText, _ := os.ReadFile(filepath.Join(filepath.Dir(cfgPath), "child.log"))
	if !strings.Contains(string(logText), "stopped") {
		t.Logf("child log:\n%s", logText)
	}
}

func TestRemovePersonKeepsMailAndClearsLists(t *testing.T) {
	e := start(t, options{})
	ctx := context.Background()
	alice, bob, carol := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix, "carol.clark@mvs."+suffix
	queueIDOf(t, e.submit(alice, alice, []string{bob}, message(alice, bob, "s", "b")))
	err := e.dirSvc.RemovePerson(ctx, operator, bob)
	if err == nil || !strings.Contains(err.Error(), "messages") || !strings.Contains(err.Error(), "closed") {
		t.Errorf("removing a person with mail: err %v, want a refusal suggesting status closed", err)
	}
	list := "all-staff@mvs." + suffix
	e.must(e.dirSvc.AddListMember(ctx, operator, list, carol))
	e.must(e.dirSvc.RemovePerson(ctx, operator, carol))
	l, err := e.dirSvc.List(ctx, list)
	e.must(err)
	members, err := e.node.Store.ListMembers(ctx, l.ID)
	e.must(err)
	for _, m := range members {
		if m == carol {
			t.Errorf("removed person %s is still on %s", carol, list)
		}
	}
}

// TestRefusedMessagesAreTraced checks that messages refused after DATA, by the SMTP server
// (a line over 1,000 octets) or by the relay (a From header field the sender may not use),
// are traced under the envelope sender.
func TestRefusedMessagesAreTraced(t *testing.T) {
	e := start(t, options{})
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	long := message(alice, bob, "long line", strings.Repeat("x", 1200))
	if out := e.submit(alice, alice, []string{bob}, long); !strings.Contains(out, "554") {
		t.Fatalf("a 1,200-octet line was not refused: %s", out)
	}
	forged := message(bob, bob, "forged", "x")
	if out := e.submit(alice, alice, []string{bob}, forged); !strings.Contains(out, "550") {
		t.Fatalf("a forged From header field was not refused: %s", out)
	}
	evs, err := tracking.Trace(t.Context(), e.node.Store, tracking.Query{Sender: alice})
	e.must(err)
	var reasons []string
	for _, ev := range evs {
		if ev.Kind == store.EventRejected {
			reasons = append(reasons, ev.Recipient+": "+ev.Detail)
		}
	}
	joined := strings.Join(reasons, "\n")
	for _, want := range []string{bob + ": ", "1000 octets", "header From <" + bob + ">"} {
		if !strings.Contains(joined, want) {
			t.Errorf("rejections traced for %s lack %q:\n%s", alice, want, joined)
		}
	}
}
