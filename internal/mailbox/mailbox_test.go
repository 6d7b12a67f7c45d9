package mailbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

func TestDefaultFoldersHaveSpecialUse(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		p := e.createPerson(t, "jane")
		folders, err := e.svc.Folders(t.Context(), p.ID, personOwner(p))
		if err != nil {
			t.Fatalf("Folders: %v", err)
		}
		got := map[string]string{}
		for _, f := range folders {
			got[f.Name] = f.SpecialUse
		}
		want := map[string]string{"INBOX": "", "Sent": `\Sent`, "Drafts": `\Drafts`,
			"Trash": `\Trash`, "Archive": `\Archive`}
		for name, use := range want {
			if u, ok := got[name]; !ok {
				t.Errorf("folder %q missing; got %v", name, got)
			} else if u != use {
				t.Errorf("folder %q SPECIAL-USE = %q, want %q", name, u, use)
			}
		}
	})
}

func TestNestedFoldersCreateRenameDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		if _, err := e.svc.CreateFolder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "Cases/2025/R v Smith"}); err != nil {
			t.Fatalf("CreateFolder: %v", err)
		}
		if _, err := e.svc.CreateFolder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "Cases"}); !errors.Is(err, mailbox.ErrExists) {
			t.Errorf("CreateFolder of the created parent: err = %v, want ErrExists", err)
		}
		uid := e.deliver(t, o, sampleMessage("move", "x"))
		inbox, err := e.svc.Folder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Copy(ctx, p.ID, inbox, []int64{uid}, mailbox.Ref{Owner: o, Name: "Cases/2025"}, true); err != nil {
			t.Fatalf("move into Cases/2025: %v", err)
		}
		if err := e.svc.RenameFolder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "Cases"}, "Closed/Cases"); err != nil {
			t.Fatalf("RenameFolder: %v", err)
		}
		folders, err := e.svc.Folders(ctx, p.ID, o)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range folders {
			names = append(names, f.Name)
		}
		for _, want := range []string{"Closed", "Closed/Cases", "Closed/Cases/2025", "Closed/Cases/2025/R v Smith"} {
			if !slices.Contains(names, want) {
				t.Errorf("after rename, folder %q missing from %v", want, names)
			}
		}
		for _, gone := range []string{"Cases", "Cases/2025"} {
			if slices.Contains(names, gone) {
				t.Errorf("after rename, old folder %q still listed", gone)
			}
		}
		moved, err := e.svc.Folder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "Closed/Cases/2025"}, mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		_, msgs, err := e.svc.Messages(ctx, p.ID, moved)
		if err != nil || len(msgs) != 1 {
			t.Errorf("renamed folder has %d messages (err %v), want 1", len(msgs), err)
		}
		err = e.svc.DeleteFolder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "Closed/Cases"})
		if !errors.Is(err, mailbox.ErrInvalidName) {
			t.Errorf("DeleteFolder with subfolders: err = %v, want ErrInvalidName", err)
		}
		if err := e.svc.DeleteFolder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "Closed/Cases/2025/R v Smith"}); err != nil {
			t.Errorf("DeleteFolder of a leaf: %v", err)
		}
		if err := e.svc.DeleteFolder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "INBOX"}); err == nil {
			t.Error("DeleteFolder(INBOX) succeeded, want an error")
		}
	})
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"Cases", "Cases", true},
		{"inbox", "INBOX", true},
		{"Inbox/Sub", "INBOX/Sub", true},
		{"Cases/2025", "Cases/2025", true},
		{"Dossiers été", "Dossiers été", true},
		{"", "", false},
		{"/Cases", "", false},
		{"Cases/", "", false},
		{"Cases//2025", "", false},
		{"Ca*ses", "", false},
		{"Ca%ses", "", false},
		{"Shared", "", false},
		{"shared/x", "", false},
		{"bad\x01name", "", false},
		{"\xff", "", false},
	}
	for _, tc := range tests {
		got, err := mailbox.CheckName(tc.name)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("CheckName(%q) = %q, %v; want %q, nil", tc.name, got, err, tc.want)
		}
		if !tc.ok && !errors.Is(err, mailbox.ErrInvalidName) {
			t.Errorf("CheckName(%q) err = %v, want ErrInvalidName", tc.name, err)
		}
	}
}

func TestAppendToMailboxAssignsAscendingUIDs(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		var uids []int64
		for i := range 3 {
			uids = append(uids, e.deliver(t, o, sampleMessage(fmt.Sprint("m", i), "x")))
		}
		if !slices.Equal(uids, []int64{1, 2, 3}) {
			t.Errorf("UIDs = %v, want [1 2 3]", uids)
		}
		b, err := e.st.MailboxByName(t.Context(), o.Kind, o.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if b.UIDNext != 4 {
			t.Errorf("UIDNEXT = %d, want 4", b.UIDNext)
		}
		if b.HighestModSeq < 4 {
			t.Errorf("HIGHESTMODSEQ = %d, want at least 4 after three appends", b.HighestModSeq)
		}
		if b.UIDValidity == 0 {
			t.Error("UIDVALIDITY is 0")
		}
	})
}

// TestConcurrentAppendExpungeKeepsUIDsAscending appends from several goroutines while another
// expunges, and checks the IMAP rule that a UID appearing later is above every UID seen
// before (RFC 3501 section 2.3.1.1), and that no UID is used twice.
func TestConcurrentAppendExpungeKeepsUIDsAscending(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		const writers, perWriter = 4, 15
		var wg sync.WaitGroup
		errs := make(chan error, writers+2)
		ref := mailbox.Ref{Owner: o, Name: "INBOX"}
		if _, err := e.svc.Folders(ctx, p.ID, o); err != nil {
			t.Fatal(err)
		}
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					raw := sampleMessage(fmt.Sprintf("w%d-%d", w, i), "body")
					if _, _, err := e.svc.Append(ctx, p.ID, ref, []byte(raw), nil, time.Time{}); err != nil {
						errs <- fmt.Errorf("append: %w", err)
						return
					}
				}
			}()
		}
		stop := make(chan struct{})
		var expunged []int64
		var observerWG sync.WaitGroup
		observerWG.Add(2)
		go func() { // expunger: deletes every message with an even UID
			defer observerWG.Done()
			inbox, err := e.svc.Folder(ctx, p.ID, ref, mailbox.Read)
			if err != nil {
				errs <- err
				return
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, msgs, err := e.svc.Messages(ctx, p.ID, inbox)
				if err != nil {
					errs <- err
					return
				}
				var del []int64
				for _, m := range msgs {
					if m.UID%2 == 0 {
						del = append(del, m.UID)
					}
				}
				if len(del) == 0 {
					continue
				}
				if _, err := e.svc.StoreFlags(ctx, p.ID, inbox, del, mailbox.FlagsAdd, []string{`\Deleted`}, 0); err != nil {
					errs <- fmt.Errorf("store: %w", err)
					return
				}
				gone, err := e.svc.Expunge(ctx, p.ID, inbox, nil)
				if err != nil {
					errs <- fmt.Errorf("expunge: %w", err)
					return
				}
				expunged = append(expunged, gone...)
			}
		}()
		var violations []string
		go func() { // observer: a new UID must be above every UID seen before
			defer observerWG.Done()
			inbox, err := e.svc.Folder(ctx, p.ID, ref, mailbox.Read)
			if err != nil {
				errs <- err
				return
			}
			var maxSeen int64
			seen := map[int64]bool{}
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, msgs, err := e.svc.Messages(ctx, p.ID, inbox)
				if err != nil {
					errs <- err
					return
				}
				newMax := maxSeen
				for _, m := range msgs {
					if !seen[m.UID] && m.UID <= maxSeen {
						violations = append(violations, fmt.Sprintf("UID %d appeared after UID %d", m.UID, maxSeen))
					}
					seen[m.UID] = true
					newMax = max(newMax, m.UID)
				}
				maxSeen = newMax
			}
		}()
		wg.Wait()
		close(stop)
		observerWG.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, v := range violations {
			t.Error(v)
		}
		inbox, err := e.svc.Folder(ctx, p.ID, ref, mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		_, msgs, err := e.svc.Messages(ctx, p.ID, inbox)
		if err != nil {
			t.Fatal(err)
		}
		total := writers * perWriter
		if inbox.UIDNext != int64(total+1) {
			t.Errorf("UIDNEXT = %d, want %d", inbox.UIDNext, total+1)
		}
		all := append(uidsOf(msgs), expunged...)
		slices.Sort(all)
		if len(all) != total || len(slices.Compact(slices.Clone(all))) != total {
			t.Errorf("remaining %d + expunged %d UIDs, want %d distinct", len(msgs), len(expunged), total)
		}
		if !slices.IsSorted(uidsOf(msgs)) {
			t.Errorf("remaining UIDs not ascending: %v", uidsOf(msgs))
		}
	})
}

func TestStoreFlagsBumpsModSeqAndKeywords(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		uid := e.deliver(t, o, sampleMessage("flags", "x"))
		inbox, err := e.svc.Folder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		before := inbox.HighestModSeq
		res, err := e.svc.StoreFlags(ctx, p.ID, inbox, []int64{uid}, mailbox.FlagsAdd,
			[]string{`\flagged`, "$Urgent", `\Recent`}, 0)
		if err != nil {
			t.Fatalf("StoreFlags: %v", err)
		}
		if len(res.Updated) != 1 {
			t.Fatalf("Updated = %v, want one message", res.Updated)
		}
		if got := res.Updated[0].Flags.String(); got != `\Flagged $Urgent` {
			t.Errorf("flags = %q, want %q (\\Recent dropped, system flag canonical)", got, `\Flagged $Urgent`)
		}
		if res.Updated[0].ModSeq <= before {
			t.Errorf("MODSEQ = %d, want above %d", res.Updated[0].ModSeq, before)
		}
		modseq := res.Updated[0].ModSeq

		res, err = e.svc.StoreFlags(ctx, p.ID, inbox, []int64{uid}, mailbox.FlagsRemove, []string{"$urgent"}, modseq-1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Modified, []int64{uid}) || len(res.Updated) != 0 {
			t.Errorf("UNCHANGEDSINCE below MODSEQ: Modified = %v, Updated = %d; want [%d], 0",
				res.Modified, len(res.Updated), uid)
		}
		res, err = e.svc.StoreFlags(ctx, p.ID, inbox, []int64{uid}, mailbox.FlagsRemove, []string{"$urgent"}, modseq)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Updated) != 1 || res.Updated[0].Flags.String() != `\Flagged` {
			t.Errorf("after -FLAGS $urgent: %+v, want \\Flagged only", res.Updated)
		}
		changes, err := e.svc.ChangesSince(ctx, p.ID, inbox, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes.Changed) != 1 || changes.Mailbox.HighestModSeq <= modseq {
			t.Errorf("ChangesSince: %d changed, HIGHESTMODSEQ %d; want 1, above %d",
				len(changes.Changed), changes.Mailbox.HighestModSeq, modseq)
		}
	})
}

func TestExpungeRecordsVanishedUIDs(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		for i := range 3 {
			e.deliver(t, o, sampleMessage(fmt.Sprint("e", i), "x"))
		}
		inbox, _ := e.svc.Folder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, mailbox.Read)
		if _, err := e.svc.StoreFlags(ctx, p.ID, inbox, []int64{1, 3}, mailbox.FlagsAdd, []string{`\Deleted`}, 0); err != nil {
			t.Fatal(err)
		}
		mark := inbox.HighestModSeq
		gone, err := e.svc.Expunge(ctx, p.ID, inbox, []int64{3})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gone, []int64{3}) {
			t.Errorf("UID EXPUNGE 3 removed %v, want [3]", gone)
		}
		changes, err := e.svc.ChangesSince(ctx, p.ID, inbox, mark)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(changes.Expunged, 3) {
			t.Errorf("ChangesSince Expunged = %v, want it to contain 3", changes.Expunged)
		}
		_, msgs, _ := e.svc.Messages(ctx, p.ID, inbox)
		if !slices.Equal(uidsOf(msgs), []int64{1, 2}) {
			t.Errorf("left UIDs %v, want [1 2]", uidsOf(msgs))
		}
		if changes.Mailbox.SizeBytes != msgs[0].Size+msgs[1].Size {
			t.Errorf("folder size %d, want %d", changes.Mailbox.SizeBytes, msgs[0].Size+msgs[1].Size)
		}
	})
}

func TestCopySharesStoredMessage(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		uid := e.deliver(t, o, sampleMessage("copy", "x"))
		inbox, _ := e.svc.Folder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, mailbox.Read)
		res, err := e.svc.Copy(ctx, p.ID, inbox, []int64{uid}, mailbox.Ref{Owner: o, Name: "Archive"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.SrcUIDs, []int64{uid}) || !slices.Equal(res.DstUIDs, []int64{1}) {
			t.Errorf("COPYUID pairs %v -> %v, want [%d] -> [1]", res.SrcUIDs, res.DstUIDs, uid)
		}
		_, src, _ := e.svc.Messages(ctx, p.ID, inbox)
		_, dst, _ := e.svc.Messages(ctx, p.ID, res.Dest)
		if len(src) != 1 || len(dst) != 1 || src[0].MessageID != dst[0].MessageID {
			t.Errorf("copy does not share the stored message: %+v vs %+v", src, dst)
		}
	})
}

func TestGroupMembersKeepOwnSeenState(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ann := e.createPerson(t, "ann")
		ben := e.createPerson(t, "ben")
		g := e.createGroup(t, "casework",
			store.GroupMember{PersonID: ann.ID, Read: true, Write: true},
			store.GroupMember{PersonID: ben.ID, Read: true})
		go1 := groupOwner(g)
		uid := e.deliver(t, go1, sampleMessage("group", "x"))
		ref := mailbox.Ref{Owner: go1, Name: "INBOX"}
		inboxAnn, err := e.svc.Folder(ctx, ann.ID, ref, mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.StoreFlags(ctx, ann.ID, inboxAnn, []int64{uid}, mailbox.FlagsAdd, []string{`\Seen`}, 0); err != nil {
			t.Fatal(err)
		}
		_, annMsgs, _ := e.svc.Messages(ctx, ann.ID, inboxAnn)
		_, benMsgs, _ := e.svc.Messages(ctx, ben.ID, inboxAnn)
		if !annMsgs[0].Flags.Has(`\Seen`) {
			t.Error("ann set \\Seen but does not see it")
		}
		if benMsgs[0].Flags.Has(`\Seen`) {
			t.Error("ben sees ann's \\Seen")
		}
		// ben has read only: his own \Seen is allowed, shared flags are not.
		if _, err := e.svc.StoreFlags(ctx, ben.ID, inboxAnn, []int64{uid}, mailbox.FlagsAdd, []string{`\Seen`}, 0); err != nil {
			t.Errorf("read-only member setting own \\Seen: %v", err)
		}
		_, err = e.svc.StoreFlags(ctx, ben.ID, inboxAnn, []int64{uid}, mailbox.FlagsAdd, []string{`\Deleted`}, 0)
		if !errors.Is(err, mailbox.ErrPermission) {
			t.Errorf("read-only member setting \\Deleted: err = %v, want ErrPermission", err)
		}
		if _, err := e.svc.StoreFlags(ctx, ann.ID, inboxAnn, []int64{uid}, mailbox.FlagsRemove, []string{`\Seen`}, 0); err != nil {
			t.Fatal(err)
		}
		_, benMsgs, _ = e.svc.Messages(ctx, ben.ID, inboxAnn)
		if !benMsgs[0].Flags.Has(`\Seen`) {
			t.Error("ann clearing her \\Seen cleared ben's")
		}
	})
}

func TestAuthorizeEnforcesRightsAndStatus(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ann := e.createPerson(t, "ann")
		ben := e.createPerson(t, "ben")
		eve := e.createPerson(t, "eve")
		g := e.createGroup(t, "casework",
			store.GroupMember{PersonID: ann.ID, Read: true, Write: true, Send: true},
			store.GroupMember{PersonID: ben.ID, Read: true})
		o := groupOwner(g)
		tests := []struct {
			who   store.Person
			owner mailbox.Owner
			right mailbox.Right
			want  error
		}{
			{ann, o, mailbox.Write, nil},
			{ann, o, mailbox.Send, nil},
			{ben, o, mailbox.Read, nil},
			{ben, o, mailbox.Write, mailbox.ErrPermission},
			{ben, o, mailbox.Send, mailbox.ErrPermission},
			{eve, o, mailbox.Read, mailbox.ErrNoMailbox},
			{eve, personOwner(ann), mailbox.Read, mailbox.ErrNoMailbox},
			{ann, personOwner(ann), mailbox.Write, nil},
		}
		for _, tc := range tests {
			err := e.svc.Authorize(ctx, tc.who.ID, tc.owner, tc.right)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Authorize(%s, %s, %s) = %v, want %v", tc.who.LastName, tc.owner, tc.right, err, tc.want)
			}
		}
		inbox, _ := e.svc.Folder(ctx, ben.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, mailbox.Read)
		if _, err := e.svc.Expunge(ctx, ben.ID, inbox, nil); !errors.Is(err, mailbox.ErrPermission) {
			t.Errorf("read-only member EXPUNGE: err = %v, want ErrPermission", err)
		}

		e.setStatus(t, ann, store.StatusSuspended)
		if err := e.svc.Authorize(ctx, ann.ID, o, mailbox.Read); !errors.Is(err, mailbox.ErrInactive) {
			t.Errorf("suspended member: err = %v, want ErrInactive", err)
		}
		if err := e.svc.Authorize(ctx, ann.ID, personOwner(ann), mailbox.Read); !errors.Is(err, mailbox.ErrInactive) {
			t.Errorf("suspended person on own mailbox: err = %v, want ErrInactive", err)
		}
		shared, err := e.svc.SharedMailboxes(ctx, ben.ID)
		if err != nil || len(shared) != 1 {
			t.Errorf("SharedMailboxes(ben) = %d, %v; want 1", len(shared), err)
		}
		org := e.org
		org.Status = store.StatusSuspended
		e.inTx(t, func(tx *store.Tx) error { return tx.UpdateOrganisation(ctx, &org) })
		if err := e.svc.Authorize(ctx, ben.ID, o, mailbox.Read); !errors.Is(err, mailbox.ErrInactive) {
			t.Errorf("member of a suspended organisation: err = %v, want ErrInactive", err)
		}
	})
}

func TestQuotaRejectsAndWarns(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		raw := sampleMessage("quota", "0123456789")
		size := int64(len(raw))
		if err := e.svc.SetQuota(ctx, store.OwnerPerson, p.ID, 10*size); err != nil {
			t.Fatal(err)
		}
		for range 9 {
			e.deliver(t, o, raw)
		}
		u, err := e.svc.CheckQuota(ctx, o, size)
		if err != nil {
			t.Fatalf("CheckQuota at 90%%: %v", err)
		}
		if !u.NearlyFull() {
			t.Errorf("usage %d of %d is not NearlyFull", u.Used, u.Limit)
		}
		e.deliver(t, o, raw)
		if _, err := e.svc.CheckQuota(ctx, o, 1); !errors.Is(err, mailbox.ErrOverQuota) {
			t.Errorf("CheckQuota when full: err = %v, want ErrOverQuota", err)
		}
		_, _, err = e.svc.Append(ctx, p.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, []byte(raw), nil, time.Time{})
		if !errors.Is(err, mailbox.ErrOverQuota) {
			t.Errorf("Append when full: err = %v, want ErrOverQuota", err)
		}

		other := e.createPerson(t, "other")
		if err := e.svc.SetQuota(ctx, store.OwnerOrg, e.org.ID, 11*size); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CheckQuota(ctx, personOwner(other), 2*size); !errors.Is(err, mailbox.ErrOverQuota) {
			t.Errorf("CheckQuota over the organisation's quota: err = %v, want ErrOverQuota", err)
		}
	})
}

func TestRetentionExpungesOldMail(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		ref := mailbox.Ref{Owner: o, Name: "INBOX"}
		if _, err := e.svc.Folders(ctx, p.ID, o); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-40 * 24 * time.Hour)
		if _, _, err := e.svc.Append(ctx, p.ID, ref, []byte(sampleMessage("old", "x")), nil, old); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Append(ctx, p.ID, ref, []byte(sampleMessage("new", "x")), nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetRetention(ctx, e.org.ID, 30); err != nil {
			t.Fatal(err)
		}
		n, err := e.svc.ApplyRetention(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("ApplyRetention removed %d, want 1", n)
		}
		inbox, _ := e.svc.Folder(ctx, p.ID, ref, mailbox.Read)
		_, msgs, _ := e.svc.Messages(ctx, p.ID, inbox)
		if !slices.Equal(uidsOf(msgs), []int64{2}) {
			t.Errorf("left UIDs %v, want [2]", uidsOf(msgs))
		}
	})
}

func TestSearchTextFindsBodyAndHeader(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		e.deliver(t, o, sampleMessage("hearing", "The hearing is adjourned."))
		e.deliver(t, o, "Subject: =?utf-8?q?Caf=C3=A9?=\r\nContent-Type: text/html\r\n"+
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>Witness <b>statem=\r\nent</b></p>\r\n")
		inbox, _ := e.svc.Folder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, mailbox.Read)
		tests := []struct {
			word       string
			withHeader bool
			want       []int64
		}{
			{"ADJOURNED", false, []int64{1}},
			{"statement", false, []int64{2}},
			{"café", true, []int64{2}},
			{"café", false, nil},
			{"100%", false, nil},
		}
		for _, tc := range tests {
			got, err := e.svc.SearchText(ctx, p.ID, inbox, tc.word, tc.withHeader)
			if err != nil {
				t.Fatal(err)
			}
			var uids []int64
			for u := range got {
				uids = append(uids, u)
			}
			slices.Sort(uids)
			if !slices.Equal(uids, tc.want) {
				t.Errorf("SearchText(%q, header %v) = %v, want %v", tc.word, tc.withHeader, uids, tc.want)
			}
		}
	})
}

func TestAppendNeedsWriteOnGroup(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ben := e.createPerson(t, "ben")
		g := e.createGroup(t, "casework", store.GroupMember{PersonID: ben.ID, Read: true})
		_, _, err := e.svc.Append(ctx, ben.ID, mailbox.Ref{Owner: groupOwner(g), Name: "INBOX"},
			[]byte(sampleMessage("a", "b")), nil, time.Time{})
		if !errors.Is(err, mailbox.ErrPermission) {
			t.Errorf("Append by read-only member: err = %v, want ErrPermission", err)
		}
	})
}
