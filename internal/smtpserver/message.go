package smtpserver

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"net"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").
	WithPadding(base32.NoPadding)

// newID returns 16 random characters from [a-z2-7], used for connection ids,
// transaction ids and the local part of generated Message-IDs.
func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return idEncoding.EncodeToString(b[:])
}

// headerSummary is a summary of a message's header section (RFC 5322 section 2.2)
// for the session.
type headerSummary struct {
	// end is the offset where new header fields go: the start of the empty line
	// before the body, or of the first line that is not a header field, or
	// len(msg) when every line is a header field.
	end int
	// received counts the Received fields (RFC 5321 section 4.4).
	received int
	// hasDate and hasMessageID report Date and Message-ID fields (RFC 5322
	// section 3.6).
	hasDate      bool
	hasMessageID bool
	// messageID is the Message-ID field body, trimmed, for logs. Only its first
	// line is kept, at most 200 octets.
	messageID string
	// foldedStart reports that the first line starts with a space or tab. Such a
	// line would continue whatever field is put before it.
	foldedStart bool
}

// scanHeader reads the header section of msg. It accepts any input; a message
// without a header section gives end 0.
func scanHeader(msg []byte) headerSummary {
	var h headerSummary
	if len(msg) > 0 && (msg[0] == ' ' || msg[0] == '\t') {
		h.foldedStart = true
	}

	pos := 0
	for pos < len(msg) {
		next := len(msg)
		if i := bytes.IndexByte(msg[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		line := msg[pos:next]

		if isBlankLine(line) {
			h.end = pos
			return h
		}
		// RFC 5322 section 2.2.3: a line that starts with white space continues
		// the field before it.
		if line[0] == ' ' || line[0] == '\t' {
			pos = next
			continue
		}

		name, body, ok := splitField(line)
		if !ok {
			h.end = pos
			return h
		}
		switch {
		case strings.EqualFold(name, "Received"):
			h.received++
		case strings.EqualFold(name, "Date"):
			h.hasDate = true
		case strings.EqualFold(name, "Message-ID"):
			h.hasMessageID = true
			h.messageID = logValue(body)
		}
		pos = next
	}

	h.end = len(msg)
	return h
}

func isBlankLine(line []byte) bool {
	return string(line) == "\r\n" || string(line) == "\n"
}

// splitField splits a header line into its field name and the rest of the line.
// RFC 5322 section 3.6.8 allows printable US-ASCII except ":" in a name, and
// section 4.5.3 (obsolete syntax) allows white space before the colon.
func splitField(line []byte) (name string, body []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return "", nil, false
	}
	raw := bytes.TrimRight(line[:colon], " \t")
	if len(raw) == 0 {
		return "", nil, false
	}
	for _, b := range raw {
		if b < 33 || b > 126 {
			return "", nil, false
		}
	}
	return string(raw), line[colon+1:], true
}

// logValue trims a field body to at most 200 octets of valid UTF-8 without control
// characters, safe to log.
func logValue(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// receivedInfo holds what goes into a Received header.
type receivedInfo struct {
	helo      string // EHLO or HELO argument, unverified
	remote    net.Addr
	hostname  string // this server
	protocol  string // RFC 3848 protocol name: ESMTPS, ESMTPSA or SMTP
	tls       *tls.ConnectionState
	id        string
	recipient string // the recipient, only when there is exactly one
	date      time.Time
}

// buildReceived formats a Received header field as RFC 5321 section 4.4 defines it,
// folded into lines under 78 octets where the parts allow:
//
//	Received: from client.example ([192.0.2.1])
//		by mx.example with ESMTPS (TLS 1.3 cipher TLS_AES_128_GCM_SHA256)
//		id abcdefghijklmnop for <rcpt@example>;
//		Mon, 02 Jan 2006 15:04:05 +0000
func buildReceived(info receivedInfo) []byte {
	literal := addressLiteral(info.remote)

	var b strings.Builder
	b.WriteString("Received: from ")
	if helo, ok := cleanHELO(info.helo); ok {
		b.WriteString(helo + " (" + literal + ")")
	} else {
		// The client's name is not a domain or address literal, so the address
		// literal takes its place and the name goes into a comment.
		b.WriteString(literal + " (" + literal + " HELO " + commentText(info.helo, 64) + ")")
	}

	b.WriteString("\r\n\tby " + info.hostname + " with " + info.protocol)
	if info.tls != nil {
		b.WriteString(" (" + tls.VersionName(info.tls.Version) +
			" cipher " + tls.CipherSuiteName(info.tls.CipherSuite) + ")")
	}

	b.WriteString("\r\n\tid " + info.id)
	if info.recipient != "" && isSafePath(info.recipient) {
		b.WriteString(" for <" + info.recipient + ">")
	}
	b.WriteString(";\r\n\t" + info.date.Format(time.RFC1123Z) + "\r\n")
	return []byte(b.String())
}

// addressLiteral returns the client address as an RFC 5321 section 4.1.3 address
// literal: [192.0.2.1] or [IPv6:2001:db8::1].
func addressLiteral(a net.Addr) string {
	if a == nil {
		return "[unknown]"
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return "[unknown]"
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return "[" + ip.String() + "]"
	}
	return "[IPv6:" + ip.WithZone("").String() + "]"
}

// cleanHELO returns the EHLO name when it is a domain or an address literal made
// only of the characters those allow, so that it cannot change the structure of the
// Received field.
func cleanHELO(helo string) (string, bool) {
	if helo == "" || len(helo) > 255 {
		return "", false
	}
	if strings.HasPrefix(helo, "[") && strings.HasSuffix(helo, "]") {
		inner := strings.TrimPrefix(helo[1:len(helo)-1], "IPv6:")
		if inner == "" {
			return "", false
		}
		for _, r := range inner {
			if !isHex(r) && r != '.' && r != ':' {
				return "", false
			}
		}
		return helo, true
	}

	for _, label := range strings.Split(helo, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for _, r := range label {
			if !isAlnum(r) && r != '-' && r != '_' {
				return "", false
			}
		}
	}
	return helo, true
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func isHex(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
}

// commentText makes s safe inside an RFC 5322 comment: printable US-ASCII other
// than "(", ")" and "\" is kept, anything else becomes "?". The result has at most
// max octets.
func commentText(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '(' || c == ')' || c == '\\' {
			c = '?'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// isSafePath reports whether an address can go into the "for" clause as it is:
// it must have an "@" and only characters of atext, "." and "@" (RFC 5322 section
// 3.2.3), or UTF-8 for SMTPUTF8 addresses.
func isSafePath(addr string) bool {
	if !strings.Contains(addr, "@") || len(addr) > 320 {
		return false
	}
	for _, r := range addr {
		switch {
		case isAlnum(r), r >= 0x80:
		case strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.@", r):
		default:
			return false
		}
	}
	return true
}

// protocolName returns the "with" protocol of the Received field (RFC 3848):
// ESMTPS after EHLO over TLS, ESMTPSA when the client also authenticated. RFC 3848
// registers no TLS variant for HELO, so a HELO client gets SMTP.
func protocolName(extended, authenticated bool) string {
	switch {
	case !extended:
		return "SMTP"
	case authenticated:
		return "ESMTPSA"
	}
	return "ESMTPS"
}

// decorate returns msg with the Received field prepended and, when h shows them
// missing, Date and Message-ID fields added at the end of the header section
// (RFC 5322 section 3.6 requires both). It also returns the message's Message-ID.
func decorate(msg []byte, h headerSummary, received []byte, hostname string,
	now time.Time) (out []byte, messageID string) {

	var extra []byte
	if !h.hasDate {
		extra = append(extra, "Date: "+now.Format(time.RFC1123Z)+"\r\n"...)
	}
	messageID = h.messageID
	if !h.hasMessageID {
		messageID = "<" + newID() + "@" + hostname + ">"
		extra = append(extra, "Message-ID: "+messageID+"\r\n"...)
	}

	out = make([]byte, 0, len(received)+len(msg)+len(extra))
	out = append(out, received...)
	out = append(out, msg[:h.end]...)
	out = append(out, extra...)
	out = append(out, msg[h.end:]...)
	return out, messageID
}
