package imapserver

import (
	"context"
	"errors"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// Store handles STORE and UID STORE (RFC 3501 section 6.4.6), with UNCHANGEDSINCE
// (RFC 7162 section 3.1.3). The mailbox service decides what the person may change: their
// own \Seen with the read right, anything else with the write right.
func (s *session) Store(w *goimapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags,
	options *imap.StoreOptions) error {
	if err := s.requireWritable(); err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	sel := s.sel
	uids := sel.resolveNums(numSet)
	_, isUID := numSet.(imap.UIDSet)
	if options.Conditional && options.UnchangedSince == 0 {
		// RFC 7162 section 3.1.3: UNCHANGEDSINCE 0 always fails, as every message has a
		// MODSEQ of 1 or more.
		w.ReportModified(sel.numSet(uids, isUID))
		return nil
	}
	res, err := s.storeFlags(ctx, uids, flags, int64(options.UnchangedSince))
	if err != nil {
		return s.mapErr(err)
	}
	updated := map[int64]bool{}
	for _, m := range res.Updated {
		sel.msgs[m.UID] = m
		updated[m.UID] = true
	}
	if len(res.Modified) > 0 {
		w.ReportModified(sel.numSet(res.Modified, isUID))
	}
	condStore := w.CondStoreEnabled()
	modified := map[int64]bool{}
	for _, uid := range res.Modified {
		modified[uid] = true
	}
	if condStore && !flags.Silent {
		// SELECT read only UIDs and flags; MODSEQ of the unchanged messages comes from the
		// store.
		msgs := make([]mailbox.Message, 0, len(uids))
		for _, uid := range uids {
			if m, ok := sel.msgs[uid]; ok {
				msgs = append(msgs, m)
			}
		}
		if _, err := s.loadDetails(ctx, msgs); err != nil {
			return s.mapErr(err)
		}
	}
	// RFC 3501 section 6.4.6: without .SILENT the server returns the new flags of each
	// message named, changed or not. RFC 7162 section 3.2: with CONDSTORE enabled each
	// response carries MODSEQ, and even with .SILENT the messages changed are reported
	// with their new MODSEQ.
	for _, uid := range uids {
		m, ok := sel.msgs[uid]
		if !ok || modified[uid] || (flags.Silent && !(condStore && updated[uid])) {
			continue
		}
		rw := w.CreateMessage(sel.seqOf(uid))
		// RFC 7162 section 3.2: with CONDSTORE enabled, FETCH responses to a flag change
		// carry UID and MODSEQ.
		if isUID || condStore {
			rw.WriteUID(imap.UID(uid))
		}
		if !flags.Silent {
			rw.WriteFlags(toIMAPFlags(m.Flags.List()))
		}
		if condStore && m.ModSeq > 0 {
			rw.WriteModSeq(uint64(m.ModSeq))
		}
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// storeFlags changes flags through the mailbox service. A member without the write right
// gets the flags outside PERMANENTFLAGS ignored, not refused: RFC 9051 section 7.1 lets the
// server ignore them, and clients such as mbsync stop syncing on a NO. STORE FLAGS (a
// replacement) then changes only the flags the member may change.
func (s *session) storeFlags(ctx context.Context, uids []int64, flags *imap.StoreFlags,
	unchangedSince int64) (mailbox.StoreResult, error) {
	sel := s.sel
	requested := fromIMAPFlags(flags.Flags)
	op := mailbox.FlagsSet
	switch flags.Op {
	case imap.StoreFlagsAdd:
		op = mailbox.FlagsAdd
	case imap.StoreFlagsDel:
		op = mailbox.FlagsRemove
	}
	if sel.rights.Write || sel.mbox.OwnerKind != store.OwnerGroup {
		return s.svc().StoreFlags(ctx, s.personID, sel.mbox, uids, op, requested, unchangedSince)
	}
	permitted := []string{mailbox.FlagSeen}
	if sel.rights.Send {
		permitted = append(permitted, mailbox.FlagAnswered, mailbox.FlagForwarded)
	}
	want := mailbox.NewFlagSet(requested)
	var listed, unlisted []string // permitted flags in the request, and the others
	for _, f := range permitted {
		if want.Has(f) {
			listed = append(listed, f)
		} else {
			unlisted = append(unlisted, f)
		}
	}
	if op != mailbox.FlagsSet {
		if len(listed) == 0 {
			return mailbox.StoreResult{}, nil
		}
		return s.svc().StoreFlags(ctx, s.personID, sel.mbox, uids, op, listed, unchangedSince)
	}
	var res mailbox.StoreResult
	if len(listed) > 0 {
		added, err := s.svc().StoreFlags(ctx, s.personID, sel.mbox, uids, mailbox.FlagsAdd,
			listed, unchangedSince)
		if err != nil {
			return res, err
		}
		res = added
	}
	// The first call already applied UNCHANGEDSINCE and changed MODSEQ, so the second
	// works on the messages it left alone, without the condition.
	skip := map[int64]bool{}
	for _, uid := range res.Modified {
		skip[uid] = true
	}
	var rest []int64
	for _, uid := range uids {
		if !skip[uid] {
			rest = append(rest, uid)
		}
	}
	removed, err := s.svc().StoreFlags(ctx, s.personID, sel.mbox, rest, mailbox.FlagsRemove,
		unlisted, 0)
	if err != nil {
		return res, err
	}
	res.Updated = append(res.Updated, removed.Updated...)
	return res, nil
}

// Expunge handles EXPUNGE, CLOSE and UID EXPUNGE (RFC 4315 section 2.1). EXPUNGE needs the
// write right, so a member with the read right only gets NO [NOPERM].
func (s *session) Expunge(w *goimapserver.ExpungeWriter, uids *imap.UIDSet) error {
	// go-imap v2.0.0-beta.8 calls Expunge for CLOSE, and only for CLOSE, with a zero
	// ExpungeWriter, which drops the EXPUNGE responses that CLOSE must not send.
	if uids == nil && *w == (goimapserver.ExpungeWriter{}) {
		return s.expungeOnClose()
	}
	if err := s.requireWritable(); err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	sel := s.sel
	var only []int64
	if uids != nil {
		only = sel.resolveNums(*uids)
		if len(only) == 0 {
			return nil
		}
	}
	removed, err := s.svc().Expunge(ctx, s.personID, sel.mbox, only)
	if err != nil {
		return s.mapErr(err)
	}
	for _, uid := range removed {
		seq := sel.remove(uid)
		if seq == 0 {
			continue
		}
		if err := w.WriteExpunge(seq); err != nil {
			return err
		}
	}
	return nil
}

// expungeOnClose removes the \Deleted messages when CLOSE deselects a folder that the
// session may change. RFC 3501 section 6.4.2: CLOSE of a folder opened with EXAMINE or
// otherwise read-only removes nothing and returns no error, so that the folder is still
// deselected.
func (s *session) expungeOnClose() error {
	sel := s.sel
	if sel.readOnly || !sel.writable {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	_, err := s.svc().Expunge(ctx, s.personID, sel.mbox, nil)
	if errors.Is(err, mailbox.ErrPermission) {
		// The write right was withdrawn after SELECT: the folder is read-only now.
		return nil
	}
	return s.mapErr(err)
}

// Copy handles COPY and UID COPY with COPYUID (RFC 4315 section 3).
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	ref, err := s.resolve(ctx, dest)
	if err != nil {
		return nil, s.tryCreate(err)
	}
	res, err := s.svc().Copy(ctx, s.personID, s.sel.mbox, s.sel.resolveNums(numSet), ref, false)
	if err != nil {
		return nil, s.tryCreate(err)
	}
	return copyData(res), nil
}

// Move handles MOVE and UID MOVE (RFC 6851): COPYUID first, then an EXPUNGE per message.
// It needs the write right on the source and the destination.
func (s *session) Move(w *goimapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if err := s.requireWritable(); err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	ref, err := s.resolve(ctx, dest)
	if err != nil {
		return s.tryCreate(err)
	}
	sel := s.sel
	res, err := s.svc().Copy(ctx, s.personID, sel.mbox, sel.resolveNums(numSet), ref, true)
	if err != nil {
		return s.tryCreate(err)
	}
	if len(res.SrcUIDs) == 0 {
		return nil
	}
	if err := w.WriteCopyData(copyData(res)); err != nil {
		return err
	}
	for _, uid := range res.SrcUIDs {
		if seq := sel.remove(uid); seq != 0 {
			if err := w.WriteExpunge(seq); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyData(res mailbox.CopyResult) *imap.CopyData {
	data := &imap.CopyData{UIDValidity: uint32(res.Dest.UIDValidity)}
	for i := range res.SrcUIDs {
		data.SourceUIDs.AddNum(imap.UID(res.SrcUIDs[i]))
		data.DestUIDs.AddNum(imap.UID(res.DstUIDs[i]))
	}
	return data
}
