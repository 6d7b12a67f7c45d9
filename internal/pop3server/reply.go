package pop3server

import "strings"

// reply is a one-line response: a status indicator, an optional response code
// in brackets (RFC 2449 section 8) and a sentence for the user.
type reply struct {
	ok   bool
	code string // the response code without brackets, or ""
	text string
}

func okReply(text string) *reply {
	return &reply{ok: true, text: text}
}

func errReply(code, text string) *reply {
	return &reply{code: code, text: text}
}

// String returns the response line without its CRLF.
func (r *reply) String() string {
	var b strings.Builder
	if r.ok {
		b.WriteString("+OK")
	} else {
		b.WriteString("-ERR")
	}
	if r.code != "" {
		b.WriteString(" [")
		b.WriteString(r.code)
		b.WriteString("]")
	}
	if r.text != "" {
		b.WriteString(" ")
		b.WriteString(r.text)
	}
	return b.String()
}
