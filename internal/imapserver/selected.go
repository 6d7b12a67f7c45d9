package imapserver

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// selected is the session's view of its selected folder. Message sequence numbers are
// positions in uids. RFC 3501 section 7 lets the view change only when the session reports
// the change to the client (EXISTS, EXPUNGE, FETCH FLAGS). SELECT fills only UID and Flags
// of each entry in msgs, so an entry with an empty Blob has not been read in full yet.
type selected struct {
	mbox     store.Mailbox
	readOnly bool                      // opened with EXAMINE, or through a grant
	writable bool                      // the person had the write right at SELECT
	rights   mailbox.Rights            // the person's rights at SELECT
	uids     []int64                   // ascending, as the client knows them
	msgs     map[int64]mailbox.Message // by UID, as last reported
	modseq   int64                     // HIGHESTMODSEQ the view is in step with
	saved    []int64                   // SEARCHRES result (RFC 5182)
	notify   <-chan struct{}
	unsub    func()
}

func (sel *selected) close() {
	if sel.unsub != nil {
		sel.unsub()
	}
}

// seqOf returns the sequence number of uid, 0 when the view does not hold it.
func (sel *selected) seqOf(uid int64) uint32 {
	i := sort.Search(len(sel.uids), func(i int) bool { return sel.uids[i] >= uid })
	if i < len(sel.uids) && sel.uids[i] == uid {
		return uint32(i + 1)
	}
	return 0
}

// remove drops uid from the view and returns its former sequence number.
func (sel *selected) remove(uid int64) uint32 {
	seq := sel.seqOf(uid)
	if seq == 0 {
		return 0
	}
	sel.uids = append(sel.uids[:seq-1], sel.uids[seq:]...)
	delete(sel.msgs, uid)
	return seq
}

func (s *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	ref, err := s.resolve(ctx, name)
	if err != nil {
		return nil, s.mapErr(err)
	}
	b, err := s.svc().Folder(ctx, s.personID, ref, mailbox.Read)
	if err != nil {
		return nil, s.mapErr(err)
	}
	rights, err := s.svc().RightsOn(ctx, s.personID, mailbox.OwnerOf(b))
	if err != nil {
		return nil, s.mapErr(err)
	}
	// SELECT reads only the UIDs and flags: Fetch reads the other columns of the messages
	// it is asked for.
	folder, err := s.svc().MessageFlags(ctx, s.personID, b)
	if err != nil {
		return nil, s.mapErr(err)
	}
	b = folder.Mailbox
	// Another person's mailbox, opened through a grant, is read-only, \Seen included
	// (mailbox.Service.StoreFlags).
	granted := b.OwnerKind == store.OwnerPerson && b.OwnerID != s.personID
	readOnly := options.ReadOnly || granted
	sel := &selected{mbox: b, readOnly: readOnly, writable: rights.Write, rights: rights,
		modseq: b.HighestModSeq, uids: folder.UIDs,
		msgs: make(map[int64]mailbox.Message, len(folder.UIDs))}
	keywords := folder.InUse
	var firstUnseen uint32
	for i, uid := range folder.UIDs {
		flags := folder.Flags[i]
		sel.msgs[uid] = mailbox.Message{UID: uid, Flags: flags}
		if firstUnseen == 0 && !flags.Has(mailbox.FlagSeen) {
			firstUnseen = uint32(i + 1)
		}
	}
	sel.notify, sel.unsub = s.svc().Notifier().Subscribe(b.ID)
	s.sel = sel

	for _, f := range []string{mailbox.FlagSeen, mailbox.FlagAnswered, mailbox.FlagFlagged,
		mailbox.FlagDeleted, mailbox.FlagDraft} {
		keywords.Add(f)
	}
	// PERMANENTFLAGS lists the flags the client may change: a member with the read right
	// only may change their own \Seen, and one with the send right also \Answered and
	// $Forwarded, so that replies are marked. Such a member still gets [READ-WRITE], as
	// RFC 4314 section 4 requires for anyone who may change \Seen.
	permanent := []imap.Flag{imap.FlagSeen}
	if rights.Send {
		permanent = append(permanent, imap.FlagAnswered, imap.Flag(mailbox.FlagForwarded))
	}
	if rights.Write {
		permanent = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged,
			imap.FlagDeleted, imap.FlagDraft, imap.FlagWildcard}
	}
	if readOnly {
		permanent = nil
	}
	s.log.Debug("IMAP folder selected", "mailbox_id", b.ID, "read_only", readOnly)
	return &imap.SelectData{
		Flags:             toIMAPFlags(keywords.List()),
		PermanentFlags:    permanent,
		NumMessages:       uint32(len(folder.UIDs)),
		FirstUnseenSeqNum: firstUnseen,
		UIDNext:           imap.UID(b.UIDNext),
		UIDValidity:       uint32(b.UIDValidity),
		HighestModSeq:     uint64(b.HighestModSeq),
		ReadOnly:          readOnly,
	}, nil
}

// HighestModSeq is the HIGHESTMODSEQ of the selected folder as this session last reported
// it, which the library announces when a command enables CONDSTORE (RFC 7162 section 3.1).
func (s *session) HighestModSeq() uint64 {
	if s.sel == nil {
		return 0
	}
	return uint64(s.sel.modseq)
}

func (s *session) Unselect() error {
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	return nil
}

// Poll reports what changed in the selected folder since the view was last in step:
// EXPUNGE (only when allowExpunge, RFC 3501 section 7.4.1 forbids it during FETCH, STORE
// and SEARCH), EXISTS for new messages and FETCH FLAGS for changed flags. An inactive
// person is disconnected.
func (s *session) Poll(w *goimapserver.UpdateWriter, allowExpunge bool) error {
	if s.sel == nil {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.sync(ctx, w, allowExpunge)
}

func (s *session) sync(ctx context.Context, w *goimapserver.UpdateWriter, allowExpunge bool) error {
	sel := s.sel
	changes, err := s.svc().ChangesSince(ctx, s.personID, sel.mbox, sel.modseq)
	if errors.Is(err, mailbox.ErrInactive) || errors.Is(err, mailbox.ErrNoMailbox) {
		s.log.Warn("IMAP access to the selected folder ended", "mailbox_id", sel.mbox.ID, "err", err)
		s.conn.Bye("Access to this mailbox has ended")
		return err
	} else if err != nil {
		return err
	}
	sel.mbox = changes.Mailbox
	deferred := false
	for _, uid := range changes.Expunged {
		if sel.seqOf(uid) == 0 {
			continue
		}
		if !allowExpunge {
			deferred = true
			continue
		}
		if err := w.WriteExpunge(sel.remove(uid)); err != nil {
			return err
		}
	}
	grew := false
	for _, m := range changes.Changed {
		old, known := sel.msgs[m.UID]
		switch {
		case !known && (len(sel.uids) == 0 || m.UID > sel.uids[len(sel.uids)-1]):
			sel.uids = append(sel.uids, m.UID)
			sel.msgs[m.UID] = m
			grew = true
		case known && !old.Flags.Equal(m.Flags):
			sel.msgs[m.UID] = m
			// With CONDSTORE enabled the update carries MODSEQ (RFC 7162 section 3.2).
			if err := w.WriteMessageFlagsModSeq(sel.seqOf(m.UID), imap.UID(m.UID),
				toIMAPFlags(m.Flags.List()), uint64(m.ModSeq)); err != nil {
				return err
			}
		case known:
			sel.msgs[m.UID] = m
		}
	}
	if grew {
		if err := w.WriteNumMessages(uint32(len(sel.uids))); err != nil {
			return err
		}
	}
	if !deferred {
		sel.modseq = changes.Mailbox.HighestModSeq
	}
	return nil
}

// Idle pushes changes of the selected folder while the client idles (RFC 2177): at once
// when the in-process notifier reports a change, and every IdlePoll otherwise. Without a
// selected folder it still checks every IdlePoll that the person is active.
func (s *session) Idle(w *goimapserver.UpdateWriter, stop <-chan struct{}) error {
	ticker := time.NewTicker(s.srv.cfg.IdlePoll)
	defer ticker.Stop()
	var notify <-chan struct{}
	if s.sel != nil {
		notify = s.sel.notify
	}
	for {
		select {
		case <-stop:
			return nil
		case <-notify:
		case <-ticker.C:
		}
		ctx, cancel := s.ctx()
		var err error
		if s.sel != nil {
			err = s.sync(ctx, w, true)
		} else if err = s.svc().Authorize(ctx, s.personID, s.personal(), mailbox.Read); err != nil {
			s.conn.Bye("Access ended: this account or its organisation is not active")
		}
		cancel()
		if err != nil {
			return err
		}
	}
}

// resolveNums returns the UIDs of the view that numSet names, ascending. A "*" stands for
// the last message (RFC 3501 section 6.4.8), and "n:*" with n above it names the last one.
func (sel *selected) resolveNums(numSet imap.NumSet) []int64 {
	if len(sel.uids) == 0 {
		return nil
	}
	var out []int64
	switch set := numSet.(type) {
	case imap.SeqSet:
		last := uint32(len(sel.uids))
		for _, r := range set {
			start, stop := starValue(r.Start, last), starValue(r.Stop, last)
			if start > stop {
				start, stop = stop, start
			}
			for seq := start; seq <= stop && seq <= last; seq++ {
				if seq >= 1 {
					out = append(out, sel.uids[seq-1])
				}
			}
		}
	case imap.UIDSet:
		if imap.IsSearchRes(set) {
			return sel.savedInView()
		}
		last := uint32(sel.uids[len(sel.uids)-1])
		for _, uid := range sel.uids {
			for _, r := range set {
				start, stop := starValue(uint32(r.Start), last), starValue(uint32(r.Stop), last)
				if start > stop {
					start, stop = stop, start
				}
				if uint32(uid) >= start && uint32(uid) <= stop {
					out = append(out, uid)
					break
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return dedupe(out)
}

func (sel *selected) savedInView() []int64 {
	var out []int64
	for _, uid := range sel.saved {
		if sel.seqOf(uid) != 0 {
			out = append(out, uid)
		}
	}
	return out
}

func starValue(v, last uint32) uint32 {
	if v == 0 {
		return last
	}
	return v
}

func dedupe(sorted []int64) []int64 {
	out := sorted[:0]
	for i, v := range sorted {
		if i == 0 || v != sorted[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func toIMAPFlags(flags []string) []imap.Flag {
	out := make([]imap.Flag, len(flags))
	for i, f := range flags {
		out[i] = imap.Flag(f)
	}
	return out
}

func fromIMAPFlags(flags []imap.Flag) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = string(f)
	}
	return out
}

// numSet returns the UIDs as a UID set, or as the set of their sequence numbers in the view.
func (sel *selected) numSet(uids []int64, asUID bool) imap.NumSet {
	if asUID {
		var set imap.UIDSet
		for _, uid := range uids {
			set.AddNum(imap.UID(uid))
		}
		return set
	}
	var set imap.SeqSet
	for _, uid := range uids {
		if seq := sel.seqOf(uid); seq > 0 {
			set.AddNum(seq)
		}
	}
	return set
}

// requireWritable returns a NO reply when the folder was opened with EXAMINE or belongs to
// another person.
func (s *session) requireWritable() error {
	if !s.sel.readOnly {
		return nil
	}
	if b := s.sel.mbox; b.OwnerKind == store.OwnerPerson && b.OwnerID != s.personID {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm,
			Text: "Access to another person's mailbox is read-only"}
	}
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
		Text: "The mailbox is open read-only (EXAMINE); SELECT it to change it"}
}
