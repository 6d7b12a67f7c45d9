package mailbox_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// MessageFlags gives each group member their own \Seen, as Messages does, and collects the
// flags in use.
func TestMessageFlagsKeepsOwnSeenOnGroup(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ann := e.createPerson(t, "ann")
		ben := e.createPerson(t, "ben")
		g := e.createGroup(t, "casework",
			store.GroupMember{PersonID: ann.ID, Read: true, Write: true},
			store.GroupMember{PersonID: ben.ID, Read: true})
		owner := groupOwner(g)
		first := e.deliver(t, owner, sampleMessage("one", "x"))
		second := e.deliver(t, owner, sampleMessage("two", "x"))
		inbox, err := e.svc.Folder(ctx, ann.ID, mailbox.Ref{Owner: owner, Name: "INBOX"},
			mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.StoreFlags(ctx, ann.ID, inbox, []int64{first}, mailbox.FlagsAdd,
			[]string{`\Seen`, "$Urgent"}, 0)
		if err != nil {
			t.Fatal(err)
		}

		annView, err := e.svc.MessageFlags(ctx, ann.ID, inbox)
		if err != nil {
			t.Fatalf("MessageFlags for ann: %v", err)
		}
		benView, err := e.svc.MessageFlags(ctx, ben.ID, inbox)
		if err != nil {
			t.Fatalf("MessageFlags for ben: %v", err)
		}
		if got := annView.UIDs; !reflect.DeepEqual(got, []int64{first, second}) {
			t.Fatalf("MessageFlags UIDs = %v, want [%d %d]", got, first, second)
		}
		if !annView.Flags[0].Has(`\Seen`) {
			t.Error("ann set \\Seen on the first message but does not see it")
		}
		if annView.Flags[1].Has(`\Seen`) {
			t.Error("ann sees \\Seen on the second message, which nobody read")
		}
		if benView.Flags[0].Has(`\Seen`) {
			t.Error("ben sees ann's \\Seen")
		}
		if !benView.Flags[0].Has("$Urgent") {
			t.Error("ben does not see the shared keyword $Urgent")
		}
		if !annView.InUse.Has("$Urgent") || !annView.InUse.Has(`\Seen`) {
			t.Errorf("ann's InUse = %v, want $Urgent and \\Seen", annView.InUse.List())
		}
		if benView.InUse.Has(`\Seen`) {
			t.Errorf("ben's InUse = %v, want no \\Seen", benView.InUse.List())
		}
		if annView.Mailbox.HighestModSeq <= inbox.HighestModSeq {
			t.Errorf("MessageFlags returned HIGHESTMODSEQ %d, want the folder as it is now"+
				" (above %d)", annView.Mailbox.HighestModSeq, inbox.HighestModSeq)
		}
	})
}

// A person outside the group gets ErrNoMailbox, as from Folder, so that the folder's
// existence is not revealed.
func TestMessageFlagsRejectsNonMember(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ann := e.createPerson(t, "ann")
		outsider := e.createPerson(t, "outsider")
		g := e.createGroup(t, "casework", store.GroupMember{PersonID: ann.ID, Read: true})
		inbox, err := e.svc.Folder(ctx, ann.ID,
			mailbox.Ref{Owner: groupOwner(g), Name: "INBOX"}, mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.MessageFlags(ctx, outsider.ID, inbox)
		if !errors.Is(err, mailbox.ErrNoMailbox) {
			t.Errorf("MessageFlags by a non-member: err = %v, want ErrNoMailbox", err)
		}
		_, err = e.svc.MessagesByUID(ctx, outsider.ID, inbox, []int64{1})
		if !errors.Is(err, mailbox.ErrNoMailbox) {
			t.Errorf("MessagesByUID by a non-member: err = %v, want ErrNoMailbox", err)
		}
	})
}

// MessagesByUID returns exactly the UIDs requested, across gaps wider than one range query
// and around UIDs that were expunged, with every column read.
func TestMessagesByUIDReadsOnlyRequested(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ann := e.createPerson(t, "ann")
		owner := personOwner(ann)
		const n = 150
		for i := 0; i < n; i++ {
			e.deliver(t, owner, sampleMessage("m"+randSuffix(), "x"))
		}
		inbox, err := e.svc.Folder(ctx, ann.ID, mailbox.Ref{Owner: owner, Name: "INBOX"},
			mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.StoreFlags(ctx, ann.ID, inbox, []int64{3}, mailbox.FlagsAdd,
			[]string{`\Deleted`}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Expunge(ctx, ann.ID, inbox, nil); err != nil {
			t.Fatal(err)
		}

		got, err := e.svc.MessagesByUID(ctx, ann.ID, inbox, []int64{1, 2, 3, 4, 100, 150, 999})
		if err != nil {
			t.Fatalf("MessagesByUID: %v", err)
		}
		if uids := uidsOf(got); !reflect.DeepEqual(uids, []int64{1, 2, 4, 100, 150}) {
			t.Fatalf("MessagesByUID UIDs = %v, want [1 2 4 100 150]: the expunged 3 and the"+
				" missing 999 left out", uids)
		}
		for _, m := range got {
			if m.Blob == "" || m.Size == 0 || m.InternalDate.IsZero() || m.MessageID == 0 {
				t.Errorf("UID %d read back without every column: %+v", m.UID, m)
			}
		}
		none, err := e.svc.MessagesByUID(ctx, ann.ID, inbox, nil)
		if err != nil || len(none) != 0 {
			t.Errorf("MessagesByUID(no UIDs) = %v, %v; want none and no error", none, err)
		}
	})
}
