package store

import (
	"context"
	"time"
)

// Mailbox owner kinds.
const (
	OwnerPerson = "person"
	OwnerGroup  = "group"
)

// MailboxMessage is one message in one mailbox folder.
type MailboxMessage struct {
	MailboxID    int64
	UID          int64
	MessageID    int64
	Flags        string
	InternalDate time.Time
	Blob         string // filled in by queries that join messages
	Size         int64
}

// ensureMailbox returns the id of the owner's folder, creating it with a new UIDVALIDITY.
func (t *Tx) ensureMailbox(ctx context.Context, ownerKind string, ownerID int64, name string) (int64, error) {
	var id int64
	err := t.queryRow(ctx, "SELECT id FROM mailboxes WHERE owner_kind = ? AND owner_id = ? AND name = ?",
		ownerKind, ownerID, name).Scan(&id)
	if err == nil {
		return id, nil
	}
	if t.s.mapErr(err) != ErrNotFound {
		return 0, err
	}
	// RFC 3501 section 2.3.1.1: UIDVALIDITY must change if UIDs are reused; the creation
	// time in seconds is a common choice that never repeats for one owner and name.
	return t.insertID(ctx, `INSERT INTO mailboxes (owner_kind, owner_id, name, uidvalidity, uidnext)
		VALUES (?, ?, ?, ?, 1)`, ownerKind, ownerID, name, time.Now().Unix())
}

// AppendToMailbox puts a stored message into an owner's folder with the next UID, creating
// the folder when needed, and returns the folder id and UID. UIDs of a folder are strictly
// ascending because each append increments uidnext inside the transaction.
func (t *Tx) AppendToMailbox(ctx context.Context, ownerKind string, ownerID int64, name string, messageID int64, flags string) (int64, int64, error) {
	mbox, err := t.ensureMailbox(ctx, ownerKind, ownerID, name)
	if err != nil {
		return 0, 0, err
	}
	var uid int64
	if err := t.queryRow(ctx, "UPDATE mailboxes SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1",
		mbox).Scan(&uid); err != nil {
		return 0, 0, err
	}
	_, err = t.exec(ctx, `INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, internal_date)
		VALUES (?, ?, ?, ?, ?)`, mbox, uid, messageID, flags, micros(time.Now()))
	return mbox, uid, err
}

// MailboxMessages lists the messages of an owner's folder in UID order.
func (s *Store) MailboxMessages(ctx context.Context, ownerKind string, ownerID int64, name string) ([]MailboxMessage, error) {
	rows, err := s.query(ctx, `SELECT mm.mailbox_id, mm.uid, mm.message_id, mm.flags,
		mm.internal_date, m.blob, m.size FROM mailbox_messages mm
		JOIN mailboxes b ON b.id = mm.mailbox_id JOIN messages m ON m.id = mm.message_id
		WHERE b.owner_kind = ? AND b.owner_id = ? AND b.name = ? ORDER BY mm.uid`,
		ownerKind, ownerID, name)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (MailboxMessage, error) {
		var m MailboxMessage
		var date int64
		err := r.Scan(&m.MailboxID, &m.UID, &m.MessageID, &m.Flags, &date, &m.Blob, &m.Size)
		m.InternalDate = fromMicros(date)
		return m, err
	})
}
