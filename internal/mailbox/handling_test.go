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

func TestGroupHandlingNamesMembers(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ann := e.createPerson(t, "ann")
		ben := e.createPerson(t, "ben")
		carl := e.createPerson(t, "carl")
		outsider := e.createPerson(t, "dora")
		g := e.createGroup(t, "casework",
			store.GroupMember{PersonID: ann.ID, Read: true, Write: true},
			store.GroupMember{PersonID: ben.ID, Read: true, Write: true},
			store.GroupMember{PersonID: carl.ID, Read: true})
		o := groupOwner(g)
		uid := e.deliver(t, o, sampleMessage("custody", "x"))
		inbox, err := e.svc.Folder(ctx, ann.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}

		// Reading is recorded but does not mark the message handled.
		if _, err := e.svc.StoreFlags(ctx, carl.ID, inbox, []int64{uid}, mailbox.FlagsAdd,
			[]string{`\Seen`}, 0); err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.StoreFlags(ctx, ann.ID, inbox, []int64{uid}, mailbox.FlagsAdd,
			[]string{`\Answered`}, 0)
		if err != nil {
			t.Fatal(err)
		}
		annKeyword := mailbox.HandledKeyword(ann.Address)
		if len(res.Updated) != 1 || !res.Updated[0].Flags.Has(annKeyword) {
			t.Errorf("STORE result lacks %s: %+v", annKeyword, res.Updated)
		}
		_, benView, _ := e.svc.Messages(ctx, ben.ID, inbox)
		if !benView[0].Flags.Has(annKeyword) {
			t.Errorf("ben does not see who answered: flags %v", benView[0].Flags.List())
		}
		if benView[0].Flags.Has(mailbox.HandledKeyword(carl.Address)) {
			t.Error("reading marked the message handled")
		}

		if _, err := e.svc.CreateFolder(ctx, ben.ID, mailbox.Ref{Owner: o, Name: "Done"}); err != nil {
			t.Fatal(err)
		}
		moved, err := e.svc.Copy(ctx, ben.ID, inbox, []int64{uid},
			mailbox.Ref{Owner: o, Name: "Done"}, true)
		if err != nil {
			t.Fatal(err)
		}
		_, done, _ := e.svc.Messages(ctx, carl.ID, moved.Dest)
		if len(done) != 1 || !done[0].Flags.Has(mailbox.HandledKeyword(ben.Address)) ||
			!done[0].Flags.Has(annKeyword) {
			t.Errorf("filed copy should name ann and ben: %+v", done)
		}

		got, err := e.svc.Handling(ctx, carl.ID, o, nil, time.Time{})
		if err != nil {
			t.Fatalf("a read-only member cannot see the handling: %v", err)
		}
		var lines []string
		for _, h := range got {
			lines = append(lines, h.PersonAddress+" "+h.Action+" "+h.Folder+" "+h.Detail)
		}
		want := []string{
			ann.Address + " answered INBOX ",
			ben.Address + " moved INBOX Done",
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("handling:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		if len(got) > 0 && got[0].HeaderID != "<custody@cjsm.test>" {
			t.Errorf("handling names Message-ID %q, want <custody@cjsm.test>", got[0].HeaderID)
		}

		_, err = e.svc.Handling(ctx, outsider.ID, o, nil, time.Time{})
		if !errors.Is(err, mailbox.ErrNoMailbox) {
			t.Errorf("a non-member read the handling: err = %v, want ErrNoMailbox", err)
		}
	})
}

func TestHandledKeywordIsIMAPAtom(t *testing.T) {
	for in, want := range map[string]string{
		"Ann@Org1.cjsm.test":   "$HandledBy.ann@org1.cjsm.test",
		`o'neil%x*y"z@a.b`:     "$HandledBy.o_neil_x_y_z@a.b",
		"jo (x)]{y}@a.b":       "$HandledBy.jo__x___y_@a.b",
		"smith+cases=1@a.b":    "$HandledBy.smith+cases=1@a.b",
		"\u00e9lise@org1.test": "$HandledBy._lise@org1.test",
	} {
		if got := mailbox.HandledKeyword(in); got != want {
			t.Errorf("HandledKeyword(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReviewRemindersReachOrgAdmins(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		admin := e.createPerson(t, "admin")
		admin.Roles = store.RoleUser + " " + store.RoleOrgAdmin
		e.inTx(t, func(tx *store.Tx) error { return tx.UpdatePerson(ctx, &admin) })
		ann := e.createPerson(t, "ann")
		ben := e.createPerson(t, "ben")
		g := e.createGroup(t, "casework",
			store.GroupMember{PersonID: ann.ID, Read: true, Write: true},
			store.GroupMember{PersonID: ben.ID, Read: true})
		now := time.Now()
		e.inTx(t, func(tx *store.Tx) error {
			if err := tx.MarkGroupMemberAdded(ctx, g.ID, ann.ID, now.AddDate(0, 0, -100)); err != nil {
				return err
			}
			return tx.MarkGroupMemberAdded(ctx, g.ID, ben.ID, now.AddDate(0, 0, -10))
		})
		interval := 90 * 24 * time.Hour

		n, err := e.svc.RemindGroupReviews(ctx, interval, "postmaster@node.test", now)
		if err != nil || n != 1 {
			t.Fatalf("RemindGroupReviews = %d, %v; want 1 notice", n, err)
		}
		text := inboxText(t, e, admin)
		for _, want := range []string{"Please review the members of " + g.Address, ann.Address,
			"read, write", "cjsm admin group confirm " + g.Address} {
			if !strings.Contains(text, want) {
				t.Errorf("reminder lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, ben.Address) {
			t.Errorf("reminder lists ben, added 10 days ago:\n%s", text)
		}

		// A second run in the same interval, as from another node, files nothing.
		if n, err := e.svc.RemindGroupReviews(ctx, interval, "postmaster@node.test", now.Add(time.Hour)); err != nil || n != 0 {
			t.Errorf("second run = %d, %v; want 0", n, err)
		}
		// After the interval the owners are asked again.
		later := now.Add(interval + time.Hour)
		if n, err := e.svc.RemindGroupReviews(ctx, interval, "postmaster@node.test", later); err != nil || n != 1 {
			t.Errorf("run after the interval = %d, %v; want 1", n, err)
		}
		if n, err := e.svc.RemindGroupReviews(ctx, 0, "postmaster@node.test", later.Add(interval*2)); err != nil || n != 0 {
			t.Errorf("interval 0 = %d, %v; want reminders off", n, err)
		}
	})
}

// inboxText returns the raw bytes of every message in the person's INBOX, joined.
func inboxText(t *testing.T, e *env, p store.Person) string {
	t.Helper()
	ctx := context.Background()
	b, err := e.svc.Folder(ctx, p.ID, mailbox.Ref{Owner: personOwner(p), Name: "INBOX"}, mailbox.Read)
	if err != nil {
		t.Fatal(err)
	}
	_, msgs, err := e.svc.Messages(ctx, p.ID, b)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = e.svc.ReadContent(ctx, p.ID, b, msgs, func(_ mailbox.Message, raw []byte) error {
		out.Write(raw)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestOperatorHandlingIncludesReads(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		carl := e.createPerson(t, "carl")
		g := e.createGroup(t, "casework", store.GroupMember{PersonID: carl.ID, Read: true})
		o := groupOwner(g)
		uid := e.deliver(t, o, sampleMessage("custody", "x"))
		inbox, err := e.svc.Folder(ctx, carl.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.StoreFlags(ctx, carl.ID, inbox, []int64{uid}, mailbox.FlagsAdd,
			[]string{`\Seen`}, 0); err != nil {
			t.Fatal(err)
		}
		all, err := e.svc.GroupHandling(ctx, g.ID, nil, time.Time{})
		if err != nil || len(all) != 1 || all[0].Action != mailbox.HandlingRead {
			t.Errorf("operator view = %+v, %v; want carl's read", all, err)
		}
		members, err := e.svc.Handling(ctx, carl.ID, o, nil, time.Time{})
		if err != nil || len(members) != 0 {
			t.Errorf("member view = %+v, %v; want no reads", members, err)
		}
	})
}

func TestAppendedGroupMailKeepsMessageID(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ann := e.createPerson(t, "ann")
		g := e.createGroup(t, "casework", store.GroupMember{PersonID: ann.ID, Read: true, Write: true})
		o := groupOwner(g)
		b, uid, err := e.svc.Append(ctx, ann.ID, mailbox.Ref{Owner: o, Name: "INBOX"},
			[]byte(sampleMessage("appended", "x")), nil, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.StoreFlags(ctx, ann.ID, b, []int64{uid}, mailbox.FlagsAdd,
			[]string{`\Flagged`}, 0); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.Handling(ctx, ann.ID, o, nil, time.Time{})
		if err != nil || len(got) != 1 || got[0].HeaderID != "<appended@cjsm.test>" {
			t.Errorf("handling of an appended message = %+v, %v; want Message-ID <appended@cjsm.test>", got, err)
		}
	})
}
