package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// Message is one message of a folder in one person's view. On group mail, \Seen is that
// person's own.
type Message struct {
	UID          int64
	MessageID    int64 // id of the stored message, shared by every folder that files it
	Flags        FlagSet
	ModSeq       int64
	InternalDate time.Time
	Size         int64
	Blob         string
}

// Changes is the set of changes to a folder after a MODSEQ.
type Changes struct {
	Mailbox  store.Mailbox // the folder as it is now
	Changed  []Message     // messages added or with changed flags, in UID order
	Expunged []int64       // UIDs removed, ascending
}

// view turns stored rows into the person's view, adding their own \Seen on group mail.
func (s *Service) view(ctx context.Context, personID int64, b store.Mailbox,
	rows []store.MailboxMessage) ([]Message, error) {
	var seen map[int64]bool
	if b.OwnerKind == store.OwnerGroup {
		var err error
		if seen, err = s.st.GroupSeenUIDs(ctx, b.ID, personID); err != nil {
			return nil, err
		}
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		m := Message{UID: r.UID, MessageID: r.MessageID, Flags: ParseFlags(r.Flags),
			ModSeq: r.ModSeq, InternalDate: r.InternalDate, Size: r.Size, Blob: r.Blob}
		if seen != nil {
			m.Flags.Remove(FlagSeen)
			if seen[r.UID] {
				m.Flags.Add(FlagSeen)
			}
		}
		out[i] = m
	}
	return out, nil
}

// Messages returns the folder as it is now and its messages in UID order. It needs Read.
func (s *Service) Messages(ctx context.Context, personID int64, b store.Mailbox) (store.Mailbox,
	[]Message, error) {
	b, err := s.refresh(ctx, personID, b, Read)
	if err != nil {
		return b, nil, err
	}
	rows, err := s.st.MessagesIn(ctx, b.ID)
	if err != nil {
		return b, nil, err
	}
	msgs, err := s.view(ctx, personID, b, rows)
	return b, msgs, err
}

// FolderFlags is a folder with the UIDs and flags of its messages, as MessageFlags returns
// it. Flags[i] is the flag set of the message with UID UIDs[i].
type FolderFlags struct {
	Mailbox store.Mailbox // the folder as it is now
	UIDs    []int64       // ascending
	Flags   []FlagSet
	InUse   FlagSet // every flag that at least one message has
}

// MessageFlags returns the folder with the UIDs and flags of its messages, the person's own
// \Seen on group mail. It reads no row of the messages table, so on a large folder it costs
// far less than Messages. Messages with equal flags share one FlagSet, so a caller must Clone
// it before changing it. It needs Read.
func (s *Service) MessageFlags(ctx context.Context, personID int64,
	b store.Mailbox) (FolderFlags, error) {
	b, err := s.refresh(ctx, personID, b, Read)
	if err != nil {
		return FolderFlags{Mailbox: b}, err
	}
	res := FolderFlags{Mailbox: b, InUse: FlagSet{}}
	rows, err := s.st.MessageUIDFlags(ctx, b.ID)
	if err != nil {
		return res, err
	}
	var seen map[int64]bool
	if b.OwnerKind == store.OwnerGroup {
		if seen, err = s.st.GroupSeenUIDs(ctx, b.ID, personID); err != nil {
			return res, err
		}
	}
	type flagsKey struct {
		stored string
		seen   bool // the person's own \Seen, on group mail only
	}
	sets := map[flagsKey]FlagSet{}
	res.UIDs = make([]int64, len(rows))
	res.Flags = make([]FlagSet, len(rows))
	for i, r := range rows {
		key := flagsKey{stored: r.Flags, seen: seen[r.UID]}
		flags, ok := sets[key]
		if !ok {
			flags = ParseFlags(r.Flags)
			if seen != nil {
				flags.Remove(FlagSeen)
				if key.seen {
					flags.Add(FlagSeen)
				}
			}
			sets[key] = flags
			for _, f := range flags {
				res.InUse.Add(f)
			}
		}
		res.UIDs[i], res.Flags[i] = r.UID, flags
	}
	return res, nil
}

// uidRangeGap is the largest distance between two requested UIDs that MessagesByUID reads
// with one range query. The rows between them that were not requested are read and dropped.
const uidRangeGap = 64

// MessagesByUID returns the messages of the folder with the given UIDs, in UID order. uids
// must ascend, and UIDs not in the folder are skipped. Runs of close UIDs are read with one
// range query each, so "1:*" costs one query. It needs Read.
func (s *Service) MessagesByUID(ctx context.Context, personID int64, b store.Mailbox,
	uids []int64) ([]Message, error) {
	if err := s.Authorize(ctx, personID, OwnerOf(b), Read); err != nil {
		return nil, err
	}
	requested := make(map[int64]bool, len(uids))
	for _, uid := range uids {
		requested[uid] = true
	}
	var rows []store.MailboxMessage
	for start := 0; start < len(uids); {
		end := start + 1
		for end < len(uids) && uids[end]-uids[end-1] <= uidRangeGap {
			end++
		}
		part, err := s.st.MessagesInUIDRange(ctx, b.ID, uids[start], uids[end-1])
		if err != nil {
			return nil, err
		}
		for _, r := range part {
			if requested[r.UID] {
				rows = append(rows, r)
			}
		}
		start = end
	}
	return s.view(ctx, personID, b, rows)
}

// ChangesSince returns what changed in the folder after modseq. It needs Read, so a session
// whose person was suspended or removed from a group gets an error at its next poll.
func (s *Service) ChangesSince(ctx context.Context, personID int64, b store.Mailbox,
	modseq int64) (Changes, error) {
	b, err := s.refresh(ctx, personID, b, Read)
	if err != nil {
		return Changes{Mailbox: b}, err
	}
	c := Changes{Mailbox: b}
	if b.HighestModSeq <= modseq {
		return c, nil
	}
	rows, err := s.st.MessagesChangedSince(ctx, b.ID, modseq)
	if err != nil {
		return c, err
	}
	if c.Changed, err = s.view(ctx, personID, b, rows); err != nil {
		return c, err
	}
	c.Expunged, err = s.st.ExpungedSince(ctx, b.ID, modseq)
	return c, err
}

// ReadContent calls fn with the raw bytes of each message, in order, after one check that
// the person may read the folder. The bytes are those the message was stored with.
func (s *Service) ReadContent(ctx context.Context, personID int64, b store.Mailbox,
	msgs []Message, fn func(Message, []byte) error) error {
	if err := s.Authorize(ctx, personID, OwnerOf(b), Read); err != nil {
		return err
	}
	for _, m := range msgs {
		data, err := s.blobs.Get(m.Blob)
		if err != nil {
			return fmt.Errorf("mailbox: read message %d of folder %d: %w", m.UID, b.ID, err)
		}
		if err := fn(m, data); err != nil {
			return err
		}
	}
	return nil
}

// StoreResult is the outcome of StoreFlags.
type StoreResult struct {
	Updated  []Message // messages whose flags changed, with their new flags and MODSEQ
	Modified []int64   // UIDs left alone because they changed after UNCHANGEDSINCE
}

// StoreFlags changes the flags of the messages with the given UIDs (RFC 3501 section 6.4.6).
//
// Changing only \Seen needs Read: on group mail it changes the person's own seen state
// and no other member's. Changing any other flag, \Deleted included, needs Write. With
// unchangedSince > 0, a message whose MODSEQ is above it is not changed and is reported in
// Modified (RFC 7162 section 3.1.3). UIDs not in the folder are skipped.
func (s *Service) StoreFlags(ctx context.Context, personID int64, b store.Mailbox, uids []int64,
	op FlagOp, flags []string, unchangedSince int64) (StoreResult, error) {
	var res StoreResult
	rights, err := s.RightsOn(ctx, personID, OwnerOf(b))
	if err != nil {
		return res, err
	}
	if !rights.Read {
		return res, fmt.Errorf("%w: read right on %s is not granted", ErrPermission, OwnerOf(b))
	}
	// Access to another person's mailbox through a grant is read-only, \Seen included:
	// the owner's unread mail must look the same when they come back.
	if b.OwnerKind == store.OwnerPerson && b.OwnerID != personID {
		return res, fmt.Errorf("%w: access to %s through a grant is read-only", ErrPermission,
			OwnerOf(b))
	}
	group := b.OwnerKind == store.OwnerGroup
	want := NewFlagSet(flags)
	var seen map[int64]bool
	var member store.Person
	if group {
		if seen, err = s.st.GroupSeenUIDs(ctx, b.ID, personID); err != nil {
			return res, err
		}
		if member, err = s.st.Person(ctx, personID); err != nil {
			return res, err
		}
	}
	now := time.Now().UTC()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		res = StoreResult{}
		// The folder's MODSEQ advances only when a message changes, so that
		// HIGHESTMODSEQ stays the highest MODSEQ of its messages (RFC 7162 section 3.1.2.1).
		var modseq int64
		for _, uid := range uids {
			row, err := tx.MessageByUID(ctx, b.ID, uid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if unchangedSince > 0 && row.ModSeq > unchangedSince {
				res.Modified = append(res.Modified, uid)
				continue
			}
			shared := ParseFlags(row.Flags)
			old := shared.Clone()
			if group {
				shared.Remove(FlagSeen)
				old = shared.Clone()
				if seen[uid] {
					old.Add(FlagSeen)
				}
			}
			next := op.apply(old, want)
			if next.Equal(old) {
				continue
			}
			nextShared := next.Clone()
			if group {
				nextShared.Remove(FlagSeen)
			}
			if f, ok := forbiddenChange(shared, nextShared, rights); !ok {
				return fmt.Errorf("%w: changing %s needs the write right on %s", ErrPermission,
					f, OwnerOf(b))
			}
			if group {
				actions := handlingActions(old, next)
				if marksHandled(actions) {
					next.Add(HandledKeyword(member.Address))
					nextShared.Add(HandledKeyword(member.Address))
				}
				for _, action := range actions {
					err := tx.RecordGroupHandling(ctx, &store.GroupHandling{GroupID: b.OwnerID,
						MessageID: row.MessageID, PersonID: personID,
						PersonAddress: member.Address, Action: action, Folder: b.Name, At: now})
					if err != nil {
						return err
					}
				}
			}
			if group && next.Has(FlagSeen) != old.Has(FlagSeen) {
				if err := tx.SetGroupSeen(ctx, b.ID, uid, personID, next.Has(FlagSeen)); err != nil {
					return err
				}
			}
			if modseq == 0 {
				if modseq, err = tx.NextModSeq(ctx, b.ID); err != nil {
					return err
				}
			}
			if err := tx.SetMessageFlags(ctx, b.ID, uid, nextShared.String(), modseq); err != nil {
				return err
			}
			res.Updated = append(res.Updated, Message{UID: uid, MessageID: row.MessageID,
				Flags: next, ModSeq: modseq, InternalDate: row.InternalDate, Size: row.Size,
				Blob: row.Blob})
		}
		return nil
	})
	if err == nil && len(res.Updated) > 0 {
		s.Changed(b.ID)
	}
	return res, err
}

// Expunge removes the folder's messages flagged \Deleted, only those among uids when uids is
// not nil (UID EXPUNGE, RFC 4315 section 2.1), and returns the removed UIDs ascending. It
// needs Write.
func (s *Service) Expunge(ctx context.Context, personID int64, b store.Mailbox,
	uids []int64) ([]int64, error) {
	if err := s.Authorize(ctx, personID, OwnerOf(b), Write); err != nil {
		return nil, err
	}
	rows, err := s.st.MessagesIn(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	var allowed map[int64]bool
	if uids != nil {
		allowed = make(map[int64]bool, len(uids))
		for _, u := range uids {
			allowed[u] = true
		}
	}
	var doomed []int64
	for _, r := range rows {
		if ParseFlags(r.Flags).Has(FlagDeleted) && (allowed == nil || allowed[r.UID]) {
			doomed = append(doomed, r.UID)
		}
	}
	if len(doomed) == 0 {
		return nil, nil
	}
	var removed []int64
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		modseq, err := tx.NextModSeq(ctx, b.ID)
		if err != nil {
			return err
		}
		removed, err = tx.ExpungeMessages(ctx, b.ID, doomed, modseq)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.Changed(b.ID)
	return removed, nil
}

// Append stores raw as a new message in the folder ref and returns the folder and the UID
// (RFC 3501 section 6.3.11, RFC 4315 APPENDUID). It needs Write, checks the size limit and
// the quotas, and extracts the message's text for SEARCH. A zero date means now.
func (s *Service) Append(ctx context.Context, personID int64, ref Ref, raw []byte, flags []string,
	date time.Time) (store.Mailbox, int64, error) {
	if int64(len(raw)) > s.cfg.MaxMessageBytes {
		return store.Mailbox{}, 0, fmt.Errorf("%w: the message is %d bytes; the limit is %d",
			ErrOverQuota, len(raw), s.cfg.MaxMessageBytes)
	}
	b, err := s.Folder(ctx, personID, ref, Write)
	if err != nil {
		return b, 0, err
	}
	if _, err := s.CheckQuota(ctx, ref.Owner, int64(len(raw))); err != nil {
		return b, 0, err
	}
	if date.IsZero() {
		date = time.Now()
	}
	key, err := s.blobs.Put(raw)
	if err != nil {
		return b, 0, err
	}
	header, body := ExtractText(raw)
	fs := NewFlagSet(flags)
	var uid int64
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		// The Message-ID field is kept with the message, as the relay keeps it, so that the
		// trace and the handling history of group mail can name the message.
		msg := store.Message{QueueID: newQueueID(), Blob: key, Size: int64(len(raw)),
			MessageID: headerMessageID(raw)}
		if err := tx.CreateMessage(ctx, &msg); err != nil {
			return err
		}
		if err := tx.PutMessageText(ctx, msg.ID, header, body); err != nil {
			return err
		}
		shared := fs.Clone()
		if b.OwnerKind == store.OwnerGroup {
			shared.Remove(FlagSeen)
		}
		uid, _, err = tx.AppendMessage(ctx, b.ID, msg.ID, shared.String(), date)
		if err != nil {
			return err
		}
		if b.OwnerKind == store.OwnerGroup && fs.Has(FlagSeen) {
			return tx.SetGroupSeen(ctx, b.ID, uid, personID, true)
		}
		return nil
	})
	if err != nil {
		return b, 0, err
	}
	s.Changed(b.ID)
	b, err = s.st.MailboxByID(ctx, b.ID)
	return b, uid, err
}

// CopyResult is the outcome of Copy: the destination folder and, pair by pair, the source
// UIDs and the UIDs of their copies (RFC 4315 COPYUID).
type CopyResult struct {
	Dest    store.Mailbox
	SrcUIDs []int64
	DstUIDs []int64
}

// Copy files the messages with the given UIDs into the folder dst, in UID order, and with
// move set removes them from the source in the same transaction (RFC 6851). Copying needs
// Read on the source and Write on the destination; moving also needs Write on the source.
// The copies keep their internal date and flags; \Seen is the person's own seen state. The
// stored message is shared, not duplicated.
func (s *Service) Copy(ctx context.Context, personID int64, src store.Mailbox, uids []int64,
	dst Ref, move bool) (CopyResult, error) {
	var res CopyResult
	srcRight := Read
	if move {
		srcRight = Write
	}
	src, msgs, err := s.selectUIDs(ctx, personID, src, uids, srcRight)
	if err != nil {
		return res, err
	}
	dest, err := s.Folder(ctx, personID, dst, Write)
	if err != nil {
		return res, err
	}
	res.Dest = dest
	if len(msgs) == 0 {
		return res, nil
	}
	var total int64
	for _, m := range msgs {
		total += m.Size
	}
	if _, err := s.CheckQuota(ctx, dst.Owner, total); err != nil {
		return res, err
	}
	// Moving a message out of a group folder files it: the group's history records who
	// moved it and where, and a copy that stays in the group names them in its keywords.
	fromGroup := move && src.OwnerKind == store.OwnerGroup
	withinGroup := fromGroup && dest.OwnerKind == store.OwnerGroup && dest.OwnerID == src.OwnerID
	var member store.Person
	if fromGroup {
		if member, err = s.st.Person(ctx, personID); err != nil {
			return res, err
		}
	}
	now := time.Now().UTC()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		res.SrcUIDs, res.DstUIDs = nil, nil
		for _, m := range msgs {
			shared := m.Flags.Clone()
			if dest.OwnerKind == store.OwnerGroup {
				shared.Remove(FlagSeen)
			}
			if fromGroup {
				detail := "a mailbox outside the group"
				if withinGroup {
					detail = dest.Name
					shared.Add(HandledKeyword(member.Address))
				}
				err := tx.RecordGroupHandling(ctx, &store.GroupHandling{GroupID: src.OwnerID,
					MessageID: m.MessageID, PersonID: personID, PersonAddress: member.Address,
					Action: HandlingMoved, Folder: src.Name, Detail: detail, At: now})
				if err != nil {
					return err
				}
			}
			uid, _, err := tx.AppendMessage(ctx, dest.ID, m.MessageID, shared.String(),
				m.InternalDate)
			if err != nil {
				return err
			}
			if dest.OwnerKind == store.OwnerGroup && m.Flags.Has(FlagSeen) {
				if err := tx.SetGroupSeen(ctx, dest.ID, uid, personID, true); err != nil {
					return err
				}
			}
			res.SrcUIDs = append(res.SrcUIDs, m.UID)
			res.DstUIDs = append(res.DstUIDs, uid)
		}
		if !move {
			return nil
		}
		modseq, err := tx.NextModSeq(ctx, src.ID)
		if err != nil {
			return err
		}
		_, err = tx.ExpungeMessages(ctx, src.ID, res.SrcUIDs, modseq)
		return err
	})
	if err != nil {
		return res, err
	}
	s.Changed(dest.ID)
	if move {
		s.Changed(src.ID)
	}
	res.Dest, err = s.st.MailboxByID(ctx, dest.ID)
	return res, err
}

// selectUIDs returns the folder's messages whose UIDs are listed, in UID order, after
// checking right.
func (s *Service) selectUIDs(ctx context.Context, personID int64, b store.Mailbox, uids []int64,
	right Right) (store.Mailbox, []Message, error) {
	b, err := s.refresh(ctx, personID, b, right)
	if err != nil {
		return b, nil, err
	}
	b, all, err := s.Messages(ctx, personID, b)
	if err != nil {
		return b, nil, err
	}
	want := make(map[int64]bool, len(uids))
	for _, u := range uids {
		want[u] = true
	}
	var out []Message
	for _, m := range all {
		if want[m.UID] {
			out = append(out, m)
		}
	}
	return b, out, nil
}

// headerMessageID returns the Message-ID field of a message, or "" when it has none or its
// header does not parse.
func headerMessageID(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(m.Header.Get("Message-Id"))
}
