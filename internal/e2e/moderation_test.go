package e2e

import (
	"testing"
)

func TestModeratedListHoldsMailForOwners(t *testing.T) {
	e := start(t, options{})
	ctx := t.Context()
	alice, bob, carol := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix,
		"carol.clark@mvs."+suffix
	l, err := e.dirSvc.CreateList(ctx, operator, "mvs", "Case team", "case-team")
	e.must(err)
	e.must(e.dirSvc.AddListMember(ctx, operator, l.Address, bob))
	e.must(e.dirSvc.AddListMember(ctx, operator, l.Address, carol))
	e.must(e.dirSvc.AddListOwner(ctx, operator, l.Address, alice))
	e.must(e.dirSvc.SetListModerated(ctx, operator, l.Address, true))

	queueIDOf(t, e.submit(bob, bob, []string{l.Address},
		message(bob, l.Address, "from a member", "held for the owner")))
	if n := len(e.inbox(alice)); n != 1 {
		t.Errorf("owner alice got %d messages from a non-owner, want 1", n)
	}
	if n := len(e.inbox(bob)); n != 0 {
		t.Errorf("member bob got %d messages from a non-owner, want 0", n)
	}
	if n := len(e.inbox(carol)); n != 0 {
		t.Errorf("member carol got %d messages from a non-owner, want 0", n)
	}
	if msgs := e.inbox(alice); len(msgs) == 1 && !contains(msgs[0], "held for the owner") {
		t.Errorf("owner's copy lacks the body:\n%s", msgs[0])
	}

	queueIDOf(t, e.submit(alice, alice, []string{l.Address},
		message(alice, l.Address, "approved", "for everyone")))
	for _, who := range []string{bob, carol} {
		msgs := e.inbox(who)
		if len(msgs) != 1 {
			t.Errorf("member %s got %d messages from the owner, want 1", who, len(msgs))
			continue
		}
		if !contains(msgs[0], "for everyone") {
			t.Errorf("member %s's copy lacks the body:\n%s", who, msgs[0])
		}
	}
	if n := len(e.inbox(alice)); n != 1 {
		t.Errorf("owner alice, not a member, has %d messages after her own mail, want 1", n)
	}
}

func TestUnmoderatedListIgnoresOwners(t *testing.T) {
	e := start(t, options{})
	ctx := t.Context()
	alice, bob, carol := "alice.adams@mvs."+suffix, "bob.brown@mvs."+suffix,
		"carol.clark@mvs."+suffix
	l, err := e.dirSvc.CreateList(ctx, operator, "mvs", "Open team", "open-team")
	e.must(err)
	e.must(e.dirSvc.AddListMember(ctx, operator, l.Address, carol))
	e.must(e.dirSvc.AddListOwner(ctx, operator, l.Address, alice))

	queueIDOf(t, e.submit(bob, bob, []string{l.Address}, message(bob, l.Address, "s", "b")))
	if n := len(e.inbox(carol)); n != 1 {
		t.Errorf("member carol got %d messages through an unmoderated list, want 1", n)
	}
	if n := len(e.inbox(alice)); n != 0 {
		t.Errorf("owner alice got %d messages through an unmoderated list, want 0", n)
	}
}
