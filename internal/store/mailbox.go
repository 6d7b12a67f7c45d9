package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Mailbox owner kinds. Quotas also use OwnerOrg for an organisation's limit.
const (
	OwnerPerson = "person"
	OwnerGroup  = "group"
	OwnerOrg    = "org"
)

// SPECIAL-USE attributes (RFC 6154 section 2) of the folders every owner gets.
const (
	SpecialSent    = `\Sent`
	SpecialDrafts  = `\Drafts`
	SpecialTrash   = `\Trash`
	SpecialArchive = `\Archive`
	SpecialJunk    = `\Junk`
)

// DefaultFolders maps the folders created on first use to their SPECIAL-USE attribute.
// INBOX has none: RFC 3501 section 5.1 names it specially instead.
var DefaultFolders = []struct{ Name, SpecialUse string }{
	{"INBOX", ""},
	{"Sent", SpecialSent},
	{"Drafts", SpecialDrafts},
	{"Trash", SpecialTrash},
	{"Archive", SpecialArchive},
}

// Mailbox is one folder of a person or a group mailbox. Name is the full path with "/"
// between levels, such as "Archive/2024".
type Mailbox struct {
	ID            int64
	OwnerKind     string
	OwnerID       int64
	Name          string
	SpecialUse    string
	Subscribed    bool
	UIDValidity   int64
	UIDNext       int64
	HighestModSeq int64 // RFC 7162 HIGHESTMODSEQ: the MODSEQ of the folder's newest change
	SizeBytes     int64 // sum of the sizes of the folder's messages
}

// MailboxMessage is one message in one mailbox folder.
type MailboxMessage struct {
	MailboxID    int64
	UID          int64
	MessageID    int64
	Flags        string // space-separated system flags and keywords
	InternalDate time.Time
	ModSeq       int64
	Blob         string // filled in by queries that join messages
	Size         int64
}

const mailboxColumns = `id, owner_kind, owner_id, name, special_use, subscribed, uidvalidity,
	uidnext, highest_modseq, size_bytes`

func scanMailbox(r rowScanner) (Mailbox, error) {
	var b Mailbox
	err := r.Scan(&b.ID, &b.OwnerKind, &b.OwnerID, &b.Name, &b.SpecialUse, &b.Subscribed,
		&b.UIDValidity, &b.UIDNext, &b.HighestModSeq, &b.SizeBytes)
	return b, err
}

// defaultSpecialUse returns the SPECIAL-USE attribute of a default folder name, or "".
func defaultSpecialUse(name string) string {
	for _, f := range DefaultFolders {
		if f.Name == name {
			return f.SpecialUse
		}
	}
	return ""
}

// nextUIDValidity returns a new UIDVALIDITY: the current time in seconds, or one more than
// the last value issued when that is greater. RFC 3501 section 2.3.1.1 requires a greater
// value whenever the UIDs of a name could be reused, as when a folder is deleted and created
// again within one second. The value fits the 32-bit field until 2106. The counter row is
// locked until the transaction ends, so only folder creation waits on it.
func (t *Tx) nextUIDValidity(ctx context.Context) (int64, error) {
	now := time.Now().Unix()
	var v int64
	err := t.queryRow(ctx, `UPDATE counters SET value = CASE WHEN value + 1 > ? THEN value + 1
		ELSE ? END WHERE name = 'uidvalidity' RETURNING value`, now, now).Scan(&v)
	return v, err
}

// EnsureMailbox returns the owner's folder named name, creating it when missing. Two
// transactions creating the same folder at once both succeed and see one row.
func (t *Tx) EnsureMailbox(ctx context.Context, ownerKind string, ownerID int64,
	name string) (Mailbox, error) {
	b, err := t.MailboxByName(ctx, ownerKind, ownerID, name)
	if !errors.Is(err, ErrNotFound) {
		return b, err
	}
	uidValidity, err := t.nextUIDValidity(ctx)
	if err != nil {
		return Mailbox{}, err
	}
	_, err = t.exec(ctx, `INSERT INTO mailboxes (owner_kind, owner_id, name, uidvalidity,
		uidnext, special_use, created_at) VALUES (?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT (owner_kind, owner_id, name) DO NOTHING`,
		ownerKind, ownerID, name, uidValidity, defaultSpecialUse(name), micros(time.Now()))
	if err != nil {
		return Mailbox{}, err
	}
	return t.MailboxByName(ctx, ownerKind, ownerID, name)
}

// CreateMailbox inserts a folder and returns it; ErrConflict when the name exists.
func (t *Tx) CreateMailbox(ctx context.Context, ownerKind string, ownerID int64, name,
	specialUse string) (Mailbox, error) {
	uidValidity, err := t.nextUIDValidity(ctx)
	if err != nil {
		return Mailbox{}, err
	}
	id, err := t.insertID(ctx, `INSERT INTO mailboxes (owner_kind, owner_id, name, uidvalidity,
		uidnext, special_use, created_at) VALUES (?, ?, ?, ?, 1, ?, ?)`,
		ownerKind, ownerID, name, uidValidity, specialUse, micros(time.Now()))
	if err != nil {
		return Mailbox{}, err
	}
	return scanMailbox(t.queryRow(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE id = ?", id))
}

// MailboxByName returns the owner's folder named name, or ErrNotFound.
func (t *Tx) MailboxByName(ctx context.Context, ownerKind string, ownerID int64,
	name string) (Mailbox, error) {
	b, err := scanMailbox(t.queryRow(ctx, "SELECT "+mailboxColumns+
		" FROM mailboxes WHERE owner_kind = ? AND owner_id = ? AND name = ?",
		ownerKind, ownerID, name))
	return b, t.s.mapErr(err)
}

// MailboxByName returns the owner's folder named name, or ErrNotFound.
func (s *Store) MailboxByName(ctx context.Context, ownerKind string, ownerID int64,
	name string) (Mailbox, error) {
	b, err := scanMailbox(s.queryRow(ctx, "SELECT "+mailboxColumns+
		" FROM mailboxes WHERE owner_kind = ? AND owner_id = ? AND name = ?",
		ownerKind, ownerID, name))
	return b, s.mapErr(err)
}

// MailboxByID returns a folder by id, or ErrNotFound.
func (s *Store) MailboxByID(ctx context.Context, id int64) (Mailbox, error) {
	b, err := scanMailbox(s.queryRow(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE id = ?", id))
	return b, s.mapErr(err)
}

// Mailboxes lists an owner's folders by name.
func (s *Store) Mailboxes(ctx context.Context, ownerKind string, ownerID int64) ([]Mailbox, error) {
	rows, err := s.query(ctx, "SELECT "+mailboxColumns+
		" FROM mailboxes WHERE owner_kind = ? AND owner_id = ? ORDER BY name", ownerKind, ownerID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMailbox)
}

// RenameMailbox changes a folder's name; ErrConflict when the new name exists. UIDVALIDITY
// stays because the folder keeps its messages and UIDs.
func (t *Tx) RenameMailbox(ctx context.Context, id int64, newName string) error {
	res, err := t.exec(ctx, "UPDATE mailboxes SET name = ? WHERE id = ?", newName, id)
	return affectedOne(res, err)
}

// DeleteMailbox removes a folder with its message references, expunge log and seen state.
// The messages themselves stay for other folders that refer to them.
func (t *Tx) DeleteMailbox(ctx context.Context, id int64) error {
	for _, q := range []string{
		"DELETE FROM group_seen WHERE mailbox_id = ?",
		"DELETE FROM mailbox_expunged WHERE mailbox_id = ?",
		"DELETE FROM mailbox_messages WHERE mailbox_id = ?",
	} {
		if _, err := t.exec(ctx, q, id); err != nil {
			return err
		}
	}
	res, err := t.exec(ctx, "DELETE FROM mailboxes WHERE id = ?", id)
	return affectedOne(res, err)
}

// SetSubscribed sets a folder's subscription mark (RFC 3501 section 6.3.6).
func (t *Tx) SetSubscribed(ctx context.Context, id int64, subscribed bool) error {
	res, err := t.exec(ctx, "UPDATE mailboxes SET subscribed = ? WHERE id = ?", subscribed, id)
	return affectedOne(res, err)
}

// NextModSeq increments a folder's HIGHESTMODSEQ and returns the new value. The UPDATE holds
// the folder's row lock until the transaction ends, so changes to one folder are serialised
// and their MODSEQs ascend in commit order.
func (t *Tx) NextModSeq(ctx context.Context, mailboxID int64) (int64, error) {
	var modseq int64
	err := t.queryRow(ctx, `UPDATE mailboxes SET highest_modseq = highest_modseq + 1
		WHERE id = ? RETURNING highest_modseq`, mailboxID).Scan(&modseq)
	return modseq, t.s.mapErr(err)
}

// AppendMessage files a stored message into a folder and returns its UID and MODSEQ.
//
// UIDNEXT, HIGHESTMODSEQ and the folder size change in the same UPDATE, which holds the
// folder's row lock until commit. A second append to the folder waits for that commit, so
// UIDs are strictly ascending in commit order and no session sees a lower UID appear after a
// higher one (RFC 3501 section 2.3.1.1).
func (t *Tx) AppendMessage(ctx context.Context, mailboxID, messageID int64, flags string,
	date time.Time) (uid, modseq int64, err error) {
	err = t.queryRow(ctx, `UPDATE mailboxes SET uidnext = uidnext + 1,
		highest_modseq = highest_modseq + 1,
		size_bytes = size_bytes + (SELECT size FROM messages WHERE id = ?)
		WHERE id = ? RETURNING uidnext - 1, highest_modseq`, messageID, mailboxID).
		Scan(&uid, &modseq)
	if err != nil {
		return 0, 0, t.s.mapErr(err)
	}
	_, err = t.exec(ctx, `INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags,
		internal_date, modseq) VALUES (?, ?, ?, ?, ?, ?)`,
		mailboxID, uid, messageID, flags, micros(date), modseq)
	return uid, modseq, err
}

// AppendToMailbox puts a stored message into an owner's folder with the next UID, creating
// the folder when needed, and returns the folder id and UID. The queue calls it inside its
// accept transaction to file local copies.
func (t *Tx) AppendToMailbox(ctx context.Context, ownerKind string, ownerID int64, name string,
	messageID int64, flags string) (int64, int64, error) {
	mbox, err := t.EnsureMailbox(ctx, ownerKind, ownerID, name)
	if err != nil {
		return 0, 0, err
	}
	uid, _, err := t.AppendMessage(ctx, mbox.ID, messageID, flags, time.Now())
	return mbox.ID, uid, err
}

const mailboxMessageColumns = `mm.mailbox_id, mm.uid, mm.message_id, mm.flags,
	mm.internal_date, mm.modseq, m.blob, m.size`

func scanMailboxMessage(r rowScanner) (MailboxMessage, error) {
	var m MailboxMessage
	var date int64
	err := r.Scan(&m.MailboxID, &m.UID, &m.MessageID, &m.Flags, &date, &m.ModSeq, &m.Blob, &m.Size)
	m.InternalDate = fromMicros(date)
	return m, err
}

// MailboxMessages lists the messages of an owner's folder in UID order.
func (s *Store) MailboxMessages(ctx context.Context, ownerKind string, ownerID int64,
	name string) ([]MailboxMessage, error) {
	rows, err := s.query(ctx, `SELECT `+mailboxMessageColumns+` FROM mailbox_messages mm
		JOIN mailboxes b ON b.id = mm.mailbox_id JOIN messages m ON m.id = mm.message_id
		WHERE b.owner_kind = ? AND b.owner_id = ? AND b.name = ? ORDER BY mm.uid`,
		ownerKind, ownerID, name)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMailboxMessage)
}

// MessagesIn lists a folder's messages in UID order.
func (s *Store) MessagesIn(ctx context.Context, mailboxID int64) ([]MailboxMessage, error) {
	return s.messagesWhere(ctx, "mm.mailbox_id = ?", mailboxID)
}

// MessagesChangedSince lists a folder's messages whose MODSEQ is above modseq, in UID order.
func (s *Store) MessagesChangedSince(ctx context.Context, mailboxID,
	modseq int64) ([]MailboxMessage, error) {
	return s.messagesWhere(ctx, "mm.mailbox_id = ? AND mm.modseq > ?", mailboxID, modseq)
}

// UIDFlags is the UID and stored flags of one message of a folder.
type UIDFlags struct {
	UID   int64
	Flags string // space-separated system flags and keywords, as in MailboxMessage
}

// MessageUIDFlags lists a folder's UIDs and stored flags in UID order. It reads
// mailbox_messages alone, without the join with messages, so that IMAP SELECT of a large
// folder reads only what the sequence-number map and flags need. Messages with equal flags
// share one string, so that a large folder costs one allocation per distinct value.
func (s *Store) MessageUIDFlags(ctx context.Context, mailboxID int64) ([]UIDFlags, error) {
	rows, err := s.query(ctx, `SELECT uid, flags FROM mailbox_messages WHERE mailbox_id = ?
		ORDER BY uid`, mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UIDFlags
	distinct := map[string]string{}
	var raw sql.RawBytes
	for rows.Next() {
		var m UIDFlags
		if err := rows.Scan(&m.UID, &raw); err != nil {
			return nil, err
		}
		flags, ok := distinct[string(raw)]
		if !ok {
			flags = string(raw)
			distinct[flags] = flags
		}
		m.Flags = flags
		out = append(out, m)
	}
	return out, rows.Err()
}

// MessagesInUIDRange lists a folder's messages whose UID is from first to last inclusive,
// in UID order.
func (s *Store) MessagesInUIDRange(ctx context.Context, mailboxID, first,
	last int64) ([]MailboxMessage, error) {
	return s.messagesWhere(ctx, "mm.mailbox_id = ? AND mm.uid BETWEEN ? AND ?", mailboxID,
		first, last)
}

// MessageByUID returns one message of a folder, or ErrNotFound.
func (s *Store) MessageByUID(ctx context.Context, mailboxID, uid int64) (MailboxMessage, error) {
	m, err := scanMailboxMessage(s.queryRow(ctx, `SELECT `+mailboxMessageColumns+`
		FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id
		WHERE mm.mailbox_id = ? AND mm.uid = ?`, mailboxID, uid))
	return m, s.mapErr(err)
}

func (s *Store) messagesWhere(ctx context.Context, where string, args ...any) ([]MailboxMessage,
	error) {
	rows, err := s.query(ctx, `SELECT `+mailboxMessageColumns+` FROM mailbox_messages mm
		JOIN messages m ON m.id = mm.message_id WHERE `+where+` ORDER BY mm.uid`, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMailboxMessage)
}

// MessageByUID returns one message of a folder inside the transaction, or ErrNotFound.
func (t *Tx) MessageByUID(ctx context.Context, mailboxID, uid int64) (MailboxMessage, error) {
	m, err := scanMailboxMessage(t.queryRow(ctx, `SELECT `+mailboxMessageColumns+`
		FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id
		WHERE mm.mailbox_id = ? AND mm.uid = ?`, mailboxID, uid))
	return m, t.s.mapErr(err)
}

// SetMessageFlags writes one message's flags and MODSEQ.
func (t *Tx) SetMessageFlags(ctx context.Context, mailboxID, uid int64, flags string,
	modseq int64) error {
	res, err := t.exec(ctx, `UPDATE mailbox_messages SET flags = ?, modseq = ?
		WHERE mailbox_id = ? AND uid = ?`, flags, modseq, mailboxID, uid)
	return affectedOne(res, err)
}

// TouchMessage sets one message's MODSEQ without changing its shared flags, after a change
// that only one group member sees (their \Seen).
func (t *Tx) TouchMessage(ctx context.Context, mailboxID, uid, modseq int64) error {
	res, err := t.exec(ctx, "UPDATE mailbox_messages SET modseq = ? WHERE mailbox_id = ? AND uid = ?",
		modseq, mailboxID, uid)
	return affectedOne(res, err)
}

// ExpungeMessages removes messages from a folder at MODSEQ modseq, records each UID in the
// expunge log and takes their size off the folder's total. Missing UIDs are skipped; the
// UIDs actually removed are returned.
func (t *Tx) ExpungeMessages(ctx context.Context, mailboxID int64, uids []int64,
	modseq int64) ([]int64, error) {
	var removed []int64
	for _, uid := range uids {
		var size int64
		err := t.queryRow(ctx, `SELECT m.size FROM mailbox_messages mm
			JOIN messages m ON m.id = mm.message_id WHERE mm.mailbox_id = ? AND mm.uid = ?`,
			mailboxID, uid).Scan(&size)
		if t.s.mapErr(err) == ErrNotFound {
			continue
		} else if err != nil {
			return removed, err
		}
		for _, q := range []string{
			"DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
			"DELETE FROM group_seen WHERE mailbox_id = ? AND uid = ?",
		} {
			if _, err := t.exec(ctx, q, mailboxID, uid); err != nil {
				return removed, err
			}
		}
		if _, err := t.exec(ctx, `INSERT INTO mailbox_expunged (mailbox_id, uid, modseq)
			VALUES (?, ?, ?)`, mailboxID, uid, modseq); err != nil {
			return removed, err
		}
		if _, err := t.exec(ctx, "UPDATE mailboxes SET size_bytes = size_bytes - ? WHERE id = ?",
			size, mailboxID); err != nil {
			return removed, err
		}
		removed = append(removed, uid)
	}
	return removed, nil
}

// ExpungedSince returns the UIDs expunged from a folder at a MODSEQ above modseq, ascending.
func (s *Store) ExpungedSince(ctx context.Context, mailboxID, modseq int64) ([]int64, error) {
	rows, err := s.query(ctx, `SELECT uid FROM mailbox_expunged WHERE mailbox_id = ? AND modseq > ?
		ORDER BY uid`, mailboxID, modseq)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanInt64)
}

func scanInt64(r rowScanner) (int64, error) {
	var v int64
	return v, r.Scan(&v)
}

// Group mailbox seen state

// SetGroupSeen marks or unmarks one group message as seen by one member.
func (t *Tx) SetGroupSeen(ctx context.Context, mailboxID, uid, personID int64, seen bool) error {
	if !seen {
		_, err := t.exec(ctx, "DELETE FROM group_seen WHERE mailbox_id = ? AND uid = ? AND person_id = ?",
			mailboxID, uid, personID)
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO group_seen (mailbox_id, uid, person_id) VALUES (?, ?, ?)
		ON CONFLICT (mailbox_id, uid, person_id) DO NOTHING`, mailboxID, uid, personID)
	return err
}

// GroupSeenUIDs returns the UIDs of a group folder that the person has seen.
func (s *Store) GroupSeenUIDs(ctx context.Context, mailboxID, personID int64) (map[int64]bool,
	error) {
	rows, err := s.query(ctx, "SELECT uid FROM group_seen WHERE mailbox_id = ? AND person_id = ?",
		mailboxID, personID)
	if err != nil {
		return nil, err
	}
	uids, err := collect(rows, scanInt64)
	out := make(map[int64]bool, len(uids))
	for _, u := range uids {
		out[u] = true
	}
	return out, err
}

// GroupAccess is one group mailbox that a person is a member of, with their permissions.
type GroupAccess struct {
	Group  GroupMailbox
	Member GroupMember
}

// GroupsOfPerson lists the group mailboxes a person is a member of, by address.
func (s *Store) GroupsOfPerson(ctx context.Context, personID int64) ([]GroupAccess, error) {
	rows, err := s.query(ctx, `SELECT g.id, g.org_id, g.name, g.address, g.address_key,
		g.created_at, m.can_read, m.can_write, m.can_send FROM group_members m
		JOIN group_mailboxes g ON g.id = m.group_id WHERE m.person_id = ?
		ORDER BY g.address_key`, personID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (GroupAccess, error) {
		var a GroupAccess
		var created int64
		err := r.Scan(&a.Group.ID, &a.Group.OrgID, &a.Group.Name, &a.Group.Address,
			&a.Group.AddressKey, &created, &a.Member.Read, &a.Member.Write, &a.Member.Send)
		a.Group.CreatedAt = fromMicros(created)
		a.Member.GroupID, a.Member.PersonID = a.Group.ID, personID
		return a, err
	})
}

// GroupMailboxByID returns a group mailbox by id, or ErrNotFound.
func (s *Store) GroupMailboxByID(ctx context.Context, id int64) (GroupMailbox, error) {
	g, err := scanGroup(s.queryRow(ctx, "SELECT "+groupColumns+" FROM group_mailboxes WHERE id = ?", id))
	return g, s.mapErr(err)
}

// Quotas

// SetQuota sets the storage limit in bytes of a person, group mailbox or organisation
// (ownerKind OwnerPerson, OwnerGroup or OwnerOrg). maxBytes 0 removes the limit.
func (t *Tx) SetQuota(ctx context.Context, ownerKind string, ownerID, maxBytes int64) error {
	if maxBytes <= 0 {
		_, err := t.exec(ctx, "DELETE FROM quotas WHERE owner_kind = ? AND owner_id = ?",
			ownerKind, ownerID)
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO quotas (owner_kind, owner_id, max_bytes) VALUES (?, ?, ?)
		ON CONFLICT (owner_kind, owner_id) DO UPDATE SET max_bytes = excluded.max_bytes`,
		ownerKind, ownerID, maxBytes)
	return err
}

// Quota returns an owner's storage limit in bytes, 0 when there is none.
func (s *Store) Quota(ctx context.Context, ownerKind string, ownerID int64) (int64, error) {
	var max int64
	err := s.queryRow(ctx, "SELECT max_bytes FROM quotas WHERE owner_kind = ? AND owner_id = ?",
		ownerKind, ownerID).Scan(&max)
	if s.mapErr(err) == ErrNotFound {
		return 0, nil
	}
	return max, err
}

// StorageUsed returns the bytes stored in all folders of a person or group mailbox. A
// message filed in two folders counts twice, as IMAP QUOTA (RFC 9208) counts it.
func (s *Store) StorageUsed(ctx context.Context, ownerKind string, ownerID int64) (int64, error) {
	var used int64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(size_bytes), 0) FROM mailboxes
		WHERE owner_kind = ? AND owner_id = ?`, ownerKind, ownerID).Scan(&used)
	return used, err
}

// OrgStorageUsed returns the bytes stored in all folders of an organisation's people and
// group mailboxes, not counting its sub-organisations.
func (s *Store) OrgStorageUsed(ctx context.Context, orgID int64) (int64, error) {
	var used int64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(b.size_bytes), 0) FROM mailboxes b
		WHERE (b.owner_kind = 'person' AND b.owner_id IN (SELECT id FROM people WHERE org_id = ?))
		OR (b.owner_kind = 'group' AND b.owner_id IN
			(SELECT id FROM group_mailboxes WHERE org_id = ?))`, orgID, orgID).Scan(&used)
	return used, err
}

// Retention

// SetRetention sets how many days an organisation keeps mail; days 0 keeps it for ever.
func (t *Tx) SetRetention(ctx context.Context, orgID int64, days int) error {
	if days <= 0 {
		_, err := t.exec(ctx, "DELETE FROM retention WHERE org_id = ?", orgID)
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO retention (org_id, days) VALUES (?, ?)
		ON CONFLICT (org_id) DO UPDATE SET days = excluded.days`, orgID, days)
	return err
}

// Retentions returns the retention period in days of every organisation that has one.
func (s *Store) Retentions(ctx context.Context) (map[int64]int, error) {
	rows, err := s.query(ctx, "SELECT org_id, days FROM retention")
	if err != nil {
		return nil, err
	}
	type pair struct {
		org  int64
		days int
	}
	pairs, err := collect(rows, func(r rowScanner) (pair, error) {
		var p pair
		return p, r.Scan(&p.org, &p.days)
	})
	out := make(map[int64]int, len(pairs))
	for _, p := range pairs {
		out[p.org] = p.days
	}
	return out, err
}

// MessagesOlderThan lists the messages, in every folder of an organisation's people and
// group mailboxes, whose internal date is before the given time, at most limit of them.
func (s *Store) MessagesOlderThan(ctx context.Context, orgID int64, before time.Time,
	limit int) ([]MailboxMessage, error) {
	rows, err := s.query(ctx, `SELECT `+mailboxMessageColumns+` FROM mailbox_messages mm
		JOIN messages m ON m.id = mm.message_id JOIN mailboxes b ON b.id = mm.mailbox_id
		WHERE mm.internal_date < ? AND (
			(b.owner_kind = 'person' AND b.owner_id IN (SELECT id FROM people WHERE org_id = ?))
			OR (b.owner_kind = 'group' AND b.owner_id IN
				(SELECT id FROM group_mailboxes WHERE org_id = ?)))
		ORDER BY mm.mailbox_id, mm.uid LIMIT ?`, micros(before), orgID, orgID, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMailboxMessage)
}
