package mailbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// NotifyMailboxGrants files one notice into the person's INBOX that lists every grant of
// access to their mailbox they have not been notified of, and marks those grants notified. It
// returns whether it filed a notice. The identity service's sign-in hook calls it after each
// successful sign-in, so a person learns of a grant at their next sign-in, expired and
// revoked grants included.
//
// from is the notice's From address, such as postmaster@<host name>. The notice bypasses
// the quota, because the notice must reach the person even when their mailbox is full. When two
// sign-ins race, one files the notice and the other files nothing.
func (s *Service) NotifyMailboxGrants(ctx context.Context, p store.Person, from string) (bool,
	error) {
	grants, err := s.st.UnnotifiedMailboxGrants(ctx, p.ID)
	if err != nil || len(grants) == 0 {
		return false, err
	}
	now := time.Now().UTC()
	messageID := grantNoticeID(from)
	raw := grantNotice(p, grants, from, messageID, now)
	// NOTE: the sign-in that loses a race has stored this blob already; the node's blob
	// check reports it as orphaned at the next start.
	key, err := s.blobs.Put(raw)
	if err != nil {
		return false, fmt.Errorf("mailbox: store the grant notice of %s: %w", p.AddressKey, err)
	}
	header, body := ExtractText(raw)
	var mailboxID int64
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		for _, g := range grants {
			if err := tx.MarkMailboxGrantNotified(ctx, g.ID, now); err != nil {
				return err
			}
		}
		msg := store.Message{QueueID: newQueueID(), Blob: key, Size: int64(len(raw)),
			MessageID: messageID, Sender: from, OrgID: p.OrgID, ReceivedAt: now}
		if err := tx.CreateMessage(ctx, &msg); err != nil {
			return err
		}
		if err := tx.PutMessageText(ctx, msg.ID, header, body); err != nil {
			return err
		}
		mailboxID, _, err = tx.AppendToMailbox(ctx, store.OwnerPerson, p.ID, "INBOX", msg.ID, "")
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		// Another sign-in marked the grants first and filed the notice.
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("mailbox: file the grant notice of %s: %w", p.AddressKey, err)
	}
	s.Changed(mailboxID)
	s.log.Info("mailbox access notice filed", "user", p.AddressKey, "grants", len(grants))
	return true, nil
}

// grantNotice builds the notice as an RFC 5322 message with CRLF line ends.
func grantNotice(p store.Person, grants []store.MailboxGrant, from, messageID string,
	now time.Time) []byte {
	var b bytes.Buffer
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	subject := "Access to your mailbox was granted to another person"
	line("From: CJSM service <%s>", from)
	line("To: <%s>", p.Address)
	line("Subject: %s", subject)
	line("Date: %s", now.Format(time.RFC1123Z))
	line("Message-ID: %s", messageID)
	line("MIME-Version: 1.0")
	line("Content-Type: text/plain; charset=utf-8")
	line("Content-Transfer-Encoding: 8bit")
	line("")
	line("An operator of the secure email service gave another person read access to your")
	line("mailbox for the period shown. During it, that person can read your mail and copy")
	line("messages into their own mailbox, but cannot send, file or delete your mail, or")
	line("mark it as read.")
	for _, g := range grants {
		line("")
		line("  Person:     %s", g.GranteeAddress)
		line("  Reason:     %s", g.Reason)
		line("  From:       %s", g.CreatedAt.Format("2 January 2006 15:04 MST"))
		line("  Until:      %s", g.ExpiresAt.Format("2 January 2006 15:04 MST"))
		if !g.RevokedAt.IsZero() {
			line("  Ended:      %s (revoked)", g.RevokedAt.Format("2 January 2006 15:04 MST"))
		}
		line("  Granted by: %s", g.GrantedBy)
	}
	line("")
	line("If you did not expect this, contact your organisation administrator or the")
	line("service desk.")
	return b.Bytes()
}

// grantNoticeID returns a new Message-ID (RFC 5322 section 3.6.4) in the domain of from.
func grantNoticeID(from string) string {
	domain := "localhost"
	for i := len(from) - 1; i >= 0; i-- {
		if from[i] == '@' {
			domain = from[i+1:]
			break
		}
	}
	r := make([]byte, 12)
	if _, err := rand.Read(r); err != nil {
		panic("mailbox: no randomness: " + err.Error())
	}
	return "<grant-notice." + hex.EncodeToString(r) + "@" + domain + ">"
}
