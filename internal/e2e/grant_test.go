package e2e

import (
	"testing"
	"time"
)

func TestGrantNoticeFiledAtNextSignIn(t *testing.T) {
	e := start(t, options{})
	ctx := t.Context()
	alice, bob := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix
	g, err := e.dirSvc.GrantMailboxAccess(ctx, operator, bob, alice, "on leave until March",
		time.Now().Add(7*24*time.Hour))
	e.must(err)
	if n := len(e.inbox(alice)); n != 0 {
		t.Fatalf("alice's INBOX has %d messages before she signs in, want 0", n)
	}

	// Bob's sign-in files nothing: the notice is for the mailbox's owner.
	queueIDOf(t, e.submit(bob, bob, []string{bob}, message(bob, bob, "note", "to self")))
	if msgs := e.inbox(bob); len(msgs) != 1 {
		t.Errorf("bob's INBOX has %d messages, want only his own", len(msgs))
	}

	queueIDOf(t, e.submit(alice, alice, []string{bob}, message(alice, bob, "s", "b")))
	msgs := e.inbox(alice)
	if len(msgs) != 1 {
		t.Fatalf("alice's INBOX has %d messages after her sign-in, want 1 notice", len(msgs))
	}
	for _, want := range []string{"Subject: Access to your mailbox was granted to another person",
		"Person:     " + bob, "Reason:     on leave until March",
		"From: CJSM service <postmaster@mail.cjsm.test>"} {
		if !contains(msgs[0], want) {
			t.Errorf("notice lacks %q:\n%s", want, msgs[0])
		}
	}
	stored, err := e.node.Store.MailboxGrant(ctx, g.ID)
	e.must(err)
	if stored.NotifiedAt.IsZero() {
		t.Errorf("grant %d has no notified_at after the notice", g.ID)
	}

	queueIDOf(t, e.submit(alice, alice, []string{bob}, message(alice, bob, "s", "b")))
	if n := len(e.inbox(alice)); n != 1 {
		t.Errorf("alice's INBOX has %d messages after a second sign-in, want still 1", n)
	}
}
