package mailbox

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// NotifyQuota files a warning into the owner's INBOX that their mailbox (or their
// organisation's storage) is at least WarnPercent full. The caller decides how often; the
// node sends at most one a day per mailbox. The notice bypasses the quota, since it must
// reach a full mailbox.
func (s *Service) NotifyQuota(ctx context.Context, o Owner, u Usage, address, from string) error {
	now := time.Now().UTC()
	messageID := grantNoticeID(from)
	raw := quotaNotice(u, address, from, messageID, now)
	if err := s.fileNotice(ctx, o, raw, messageID, from, now); err != nil {
		return fmt.Errorf("mailbox: file the quota notice of %s: %w", address, err)
	}
	s.log.Info("quota warning filed", "mailbox", address, "used", u.Used, "limit", u.Limit,
		"org_used", u.OrgUsed, "org_limit", u.OrgLimit)
	return nil
}

// quotaNotice builds the warning as an RFC 5322 message with CRLF line ends.
func quotaNotice(u Usage, address, from, messageID string, now time.Time) []byte {
	var b bytes.Buffer
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	line("From: CJSM service <%s>", from)
	line("To: <%s>", address)
	full := (u.Limit > 0 && u.Used >= u.Limit) || (u.OrgLimit > 0 && u.OrgUsed >= u.OrgLimit)
	if full {
		line("Subject: Your mailbox is full")
	} else {
		line("Subject: Your mailbox is nearly full")
	}
	line("Date: %s", now.Format(time.RFC1123Z))
	line("Message-ID: %s", messageID)
	line("Auto-Submitted: auto-generated")
	line("MIME-Version: 1.0")
	line("Content-Type: text/plain; charset=utf-8")
	line("")
	if u.Limit > 0 && u.Used*100 >= u.Limit*WarnPercent {
		line("The mailbox %s uses %d of its %d bytes (%d%%).", address, u.Used, u.Limit, u.Used*100/u.Limit)
	}
	if u.OrgLimit > 0 && u.OrgUsed*100 >= u.OrgLimit*WarnPercent {
		line("Your organisation uses %d of its %d bytes (%d%%).", u.OrgUsed, u.OrgLimit, u.OrgUsed*100/u.OrgLimit)
	}
	line("")
	line("When it is full, new mail is refused and senders are asked to try again later.")
	line("Delete or archive messages you no longer need, or ask your organisation")
	line("administrator for more space.")
	return b.Bytes()
}

// fileNotice stores a notice built by this package and files it into the owner's INBOX,
// bypassing the quota, because a notice must reach a full mailbox too.
func (s *Service) fileNotice(ctx context.Context, o Owner, raw []byte, messageID, from string,
	now time.Time) error {
	key, err := s.blobs.Put(raw)
	if err != nil {
		return err
	}
	header, body := ExtractText(raw)
	var mailboxID int64
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		msg := store.Message{QueueID: newQueueID(), Blob: key, Size: int64(len(raw)),
			MessageID: messageID, Sender: from, ReceivedAt: now}
		if err := tx.CreateMessage(ctx, &msg); err != nil {
			return err
		}
		if err := tx.PutMessageText(ctx, msg.ID, header, body); err != nil {
			return err
		}
		mailboxID, _, err = tx.AppendToMailbox(ctx, o.Kind, o.ID, "INBOX", msg.ID, "")
		return err
	})
	if err != nil {
		return err
	}
	s.Changed(mailboxID)
	return nil
}
