// Package dsn builds delivery status notifications: multipart/report messages with a
// human-readable part, a message/delivery-status part (RFC 3464) and the original message's
// header (text/rfc822-headers, RFC 6522) or, when the sender asked for RET=FULL, the whole
// original message.
package dsn

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Recipient is the status of one recipient in a report.
type Recipient struct {
	Address        string
	ORcpt          string // original recipient from RCPT ORCPT=, already in "type;address" form or a bare address
	Action         string // failed, delayed, delivered, relayed or expanded (RFC 3464 section 2.3.3)
	Status         string // RFC 3463 code such as 5.1.1
	Diagnostic     string // remote reply, "smtp; 550 …"
	RemoteMTA      string
	Reason         string // plain-language reason for the human-readable part
	Notify         string // NOTIFY values from RCPT, comma-separated
	LastAttempt    time.Time
	WillRetryUntil time.Time // for delayed
}

// Report describes one notification.
type Report struct {
	ReportingMTA string
	EnvelopeID   string
	QueueID      string
	Arrival      time.Time
	Sender       string
	Recipients   []Recipient
	ReturnFull   bool
}

// Wants reports whether a recipient's NOTIFY values ask for a notice of this action. With no
// NOTIFY parameter the default is failures and delays (RFC 3461 section 4.1).
func Wants(notify, action string) bool {
	if notify == "" {
		return action == "failed" || action == "delayed"
	}
	n := strings.ToUpper(notify)
	switch action {
	case "failed":
		return strings.Contains(n, "FAILURE")
	case "delayed":
		return strings.Contains(n, "DELAY")
	case "delivered", "relayed", "expanded":
		return strings.Contains(n, "SUCCESS")
	}
	return false
}

// MessageID returns the Message-ID header field value of a built report.
func MessageID(report []byte) string {
	for _, line := range strings.Split(string(headerOf(report)), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "message-id:") {
			return strings.TrimSpace(line[len("message-id:"):])
		}
	}
	return ""
}

func headerOf(msg []byte) []byte {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+2]
	}
	return msg
}

func random() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Build returns the notification message in CRLF form, addressed to r.Sender.
func Build(r Report, original []byte) []byte {
	boundary := "=_cjsm_" + random()
	failed := false
	for _, rc := range r.Recipients {
		if rc.Action == "failed" {
			failed = true
		}
	}
	subject := "Delayed mail (still trying)"
	if failed {
		subject = "Undelivered mail returned to sender"
	}
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", r.ReportingMTA)
	w("To: <%s>", r.Sender)
	w("Subject: %s", subject)
	w("Date: %s", time.Now().UTC().Format(time.RFC1123Z))
	w("Message-ID: <%s@%s>", random(), r.ReportingMTA)
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"", boundary)
	w("")
	w("This is a delivery status notification in MIME format.")
	w("")

	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w("")
	if failed {
		w("Your message (queue id %s) could not be delivered to some or all recipients.", r.QueueID)
	} else {
		w("Your message (queue id %s) has not been delivered yet. cjsm will keep trying;", r.QueueID)
		w("you need do nothing unless you are told later that it failed.")
	}
	w("")
	for _, rc := range r.Recipients {
		w("  <%s>: %s", rc.Address, rc.Reason)
		if rc.Action == "delayed" && !rc.WillRetryUntil.IsZero() {
			w("    cjsm will keep trying until %s.", rc.WillRetryUntil.Format("2 January 2006 15:04 MST"))
		}
	}
	w("")

	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("")
	// RFC 3464 section 2.2: per-message fields.
	w("Reporting-MTA: dns; %s", r.ReportingMTA)
	if r.EnvelopeID != "" {
		w("Original-Envelope-Id: %s", r.EnvelopeID)
	}
	if !r.Arrival.IsZero() {
		w("Arrival-Date: %s", r.Arrival.Format(time.RFC1123Z))
	}
	for _, rc := range r.Recipients {
		// RFC 3464 section 2.3: per-recipient fields, each group after a blank line.
		w("")
		if rc.ORcpt != "" {
			orcpt := rc.ORcpt
			if !strings.Contains(orcpt, ";") {
				orcpt = "rfc822; " + orcpt
			}
			w("Original-Recipient: %s", orcpt)
		}
		w("Final-Recipient: rfc822; %s", rc.Address)
		w("Action: %s", rc.Action)
		w("Status: %s", rc.Status)
		if rc.RemoteMTA != "" {
			w("Remote-MTA: dns; %s", rc.RemoteMTA)
		}
		if rc.Diagnostic != "" {
			w("Diagnostic-Code: %s", oneLine(rc.Diagnostic))
		}
		if !rc.LastAttempt.IsZero() {
			w("Last-Attempt-Date: %s", rc.LastAttempt.Format(time.RFC1123Z))
		}
		if rc.Action == "delayed" && !rc.WillRetryUntil.IsZero() {
			w("Will-Retry-Until: %s", rc.WillRetryUntil.Format(time.RFC1123Z))
		}
	}
	w("")

	w("--%s", boundary)
	if r.ReturnFull {
		w("Content-Type: message/rfc822")
		w("")
		b.Write(original)
		if !bytes.HasSuffix(original, []byte("\r\n")) {
			b.WriteString("\r\n")
		}
	} else {
		w("Content-Type: text/rfc822-headers")
		w("")
		b.Write(headerOf(original))
	}
	w("")
	w("--%s--", boundary)
	return b.Bytes()
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", " ")
}
