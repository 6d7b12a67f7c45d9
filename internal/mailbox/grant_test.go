package mailbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// grant stores a grant of read access to owner's mailbox for grantee that ends at until.
func (e *env) grant(t *testing.T, owner, grantee store.Person, until time.Time) store.MailboxGrant {
	t.Helper()
	g := store.MailboxGrant{OwnerID: owner.ID, GranteeID: grantee.ID, Reason: "on leave",
		GrantedBy: "operator:test", ExpiresAt: until}
	e.inTx(t, func(tx *store.Tx) error {
		return tx.CreateMailboxGrant(context.Background(), &g)
	})
	return g
}

func TestGrantGivesReadUntilExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		alice, bob := e.createPerson(t, "alice"), e.createPerson(t, "bob")
		if err := e.svc.EnsureDefaults(ctx, personOwner(alice)); err != nil {
			t.Fatal(err)
		}
		e.deliver(t, personOwner(alice), sampleMessage("m1", "case notes"))

		err := e.svc.Authorize(ctx, bob.ID, personOwner(alice), mailbox.Read)
		if !errors.Is(err, mailbox.ErrNoMailbox) {
			t.Errorf("Read before any grant: err = %v, want ErrNoMailbox", err)
		}

		until := time.Now().Add(1500 * time.Millisecond)
		e.grant(t, alice, bob, until)
		if err := e.svc.Authorize(ctx, bob.ID, personOwner(alice), mailbox.Read); err != nil {
			t.Errorf("Read with an active grant: %v", err)
		}
		for _, r := range []mailbox.Right{mailbox.Write, mailbox.Send} {
			err := e.svc.Authorize(ctx, bob.ID, personOwner(alice), r)
			if !errors.Is(err, mailbox.ErrPermission) {
				t.Errorf("%s with a read grant: err = %v, want ErrPermission", r, err)
			}
		}
		b, err := e.svc.Folder(ctx, bob.ID, mailbox.Ref{Owner: personOwner(alice),
			Name: "INBOX"}, mailbox.Read)
		if err != nil {
			t.Fatalf("Folder(alice's INBOX) as grantee: %v", err)
		}
		_, msgs, err := e.svc.Messages(ctx, bob.ID, b)
		if err != nil || len(msgs) != 1 {
			t.Errorf("Messages as grantee = %d messages, %v; want 1", len(msgs), err)
		}
		_, err = e.svc.StoreFlags(ctx, bob.ID, b, []int64{msgs[0].UID}, mailbox.FlagsAdd,
			[]string{mailbox.FlagSeen}, 0)
		if !errors.Is(err, mailbox.ErrPermission) {
			t.Errorf("grantee setting \\Seen on alice's mail: err = %v, want ErrPermission", err)
		}
		carol := e.createPerson(t, "carol")
		err = e.svc.Authorize(ctx, carol.ID, personOwner(alice), mailbox.Read)
		if !errors.Is(err, mailbox.ErrNoMailbox) {
			t.Errorf("Read by a person without a grant: err = %v, want ErrNoMailbox", err)
		}

		time.Sleep(time.Until(until) + 50*time.Millisecond)
		err = e.svc.Authorize(ctx, bob.ID, personOwner(alice), mailbox.Read)
		if !errors.Is(err, mailbox.ErrNoMailbox) {
			t.Errorf("Read after the grant expired: err = %v, want ErrNoMailbox", err)
		}
	})
}

func TestRevokedGrantStopsAccess(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		alice, bob := e.createPerson(t, "alice"), e.createPerson(t, "bob")
		g := e.grant(t, alice, bob, time.Now().Add(time.Hour))
		if err := e.svc.Authorize(ctx, bob.ID, personOwner(alice), mailbox.Read); err != nil {
			t.Fatalf("Read with an active grant: %v", err)
		}
		e.inTx(t, func(tx *store.Tx) error { return tx.RevokeMailboxGrant(ctx, g.ID, time.Now()) })
		err := e.svc.Authorize(ctx, bob.ID, personOwner(alice), mailbox.Read)
		if !errors.Is(err, mailbox.ErrNoMailbox) {
			t.Errorf("Read after revocation: err = %v, want ErrNoMailbox", err)
		}
	})
}

func TestGrantNeedsActiveGrantee(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		alice, bob := e.createPerson(t, "alice"), e.createPerson(t, "bob")
		e.grant(t, alice, bob, time.Now().Add(time.Hour))
		e.setStatus(t, alice, store.StatusClosed)
		if err := e.svc.Authorize(ctx, bob.ID, personOwner(alice), mailbox.Read); err != nil {
			t.Errorf("Read of a closed person's mailbox with a grant: %v", err)
		}
		e.setStatus(t, bob, store.StatusSuspended)
		err := e.svc.Authorize(ctx, bob.ID, personOwner(alice), mailbox.Read)
		if !errors.Is(err, mailbox.ErrInactive) {
			t.Errorf("Read by a suspended grantee: err = %v, want ErrInactive", err)
		}
	})
}

func TestGrantNoticeFiledOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		alice, bob := e.createPerson(t, "alice"), e.createPerson(t, "bob")
		filed, err := e.svc.NotifyMailboxGrants(ctx, alice, "postmaster@mail.cjsm.test")
		if err != nil || filed {
			t.Errorf("NotifyMailboxGrants without grants = %t, %v; want false", filed, err)
		}
		g1 := e.grant(t, alice, bob, time.Now().Add(time.Hour))
		g2 := e.grant(t, alice, bob, time.Now().Add(2*time.Hour))
		e.inTx(t, func(tx *store.Tx) error { return tx.RevokeMailboxGrant(ctx, g2.ID, time.Now()) })

		filed, err = e.svc.NotifyMailboxGrants(ctx, alice, "postmaster@mail.cjsm.test")
		if err != nil || !filed {
			t.Fatalf("NotifyMailboxGrants = %t, %v; want a notice filed", filed, err)
		}
		filed, err = e.svc.NotifyMailboxGrants(ctx, alice, "postmaster@mail.cjsm.test")
		if err != nil || filed {
			t.Errorf("second NotifyMailboxGrants = %t, %v; want nothing filed", filed, err)
		}
		msgs, err := e.st.MailboxMessages(ctx, store.OwnerPerson, alice.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 {
			t.Fatalf("alice's INBOX has %d messages, want 1 notice", len(msgs))
		}
		raw, err := e.blobs.Get(msgs[0].Blob)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"From: CJSM service <postmaster@mail.cjsm.test>\r\n",
			"To: <" + alice.Address + ">\r\n", "Message-ID: <grant-notice.",
			"Person:     " + bob.Address, "Reason:     on leave", "(revoked)",
			"Granted by: operator:test"} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("notice lacks %q:\n%s", want, raw)
			}
		}
		if n := strings.Count(string(raw), "Person:"); n != 2 {
			t.Errorf("notice lists %d grants, want 2", n)
		}
		for _, id := range []int64{g1.ID, g2.ID} {
			g, err := e.st.MailboxGrant(ctx, id)
			if err != nil || g.NotifiedAt.IsZero() {
				t.Errorf("grant %d: notified_at = %v, %v; want set", id, g.NotifiedAt, err)
			}
		}
		msgs, _ = e.st.MailboxMessages(ctx, store.OwnerPerson, bob.ID, "INBOX")
		if len(msgs) != 0 {
			t.Errorf("the grantee's INBOX has %d messages, want 0", len(msgs))
		}
	})
}
