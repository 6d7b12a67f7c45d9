package smtpserver

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// Message content problems. A message with a bare CR or LF is rejected rather than
// normalised. An onward hop may read the bare CR or LF as a line end, and then a
// "." after it ends the message early there and the rest is read as new commands
// (SMTP smuggling, 2023). Rejecting keeps every hop's idea of where the message ends the
// same, and a sender that emits bare line ends learns of it. RFC 5321 section 2.3.8
// requires CRLF line ends; RFC 3463 X.6.0 is "other or undefined media error".
var (
	errDataBareLF = Reject(554, [3]int{5, 6, 0}, "Message rejected: it contains a line "+
		"feed (LF) without a carriage return before it. Every line must end with CRLF.")
	errDataBareCR = Reject(554, [3]int{5, 6, 0}, "Message rejected: it contains a "+
		"carriage return (CR) that is not followed by a line feed. Every line must end "+
		"with CRLF.")
)

// errDataLineTooLong builds the reply for a message line over the limit. RFC 5321
// section 4.5.3.1.6 bounds a text line at 1000 octets including CRLF, not counting
// a leading dot added for transparency.
func errDataLineTooLong(max int) error {
	return Reject(554, [3]int{5, 6, 0}, fmt.Sprintf("Message rejected: a line is longer "+
		"than %d octets including CRLF. Encode the content with quoted-printable or "+
		"base64.", max))
}

// lineChecker checks message content for bare CR, bare LF and lines over the
// length limit. It accepts the content in pieces of any size, so it works across
// BDAT chunk boundaries. The zero value is not usable; call reset first.
type lineChecker struct {
	max        int  // maximum line length in octets, including CRLF
	dotStuffed bool // a leading dot was added for transparency (DATA, not BDAT)

	length  int  // octets of the current line so far, without CR and a stuffed dot
	sawCR   bool // the previous octet was CR
	atStart bool // no octet of the current line has been seen yet
}

func (c *lineChecker) reset(max int, dotStuffed bool) {
	*c = lineChecker{max: max, dotStuffed: dotStuffed, atStart: true}
}

// write checks the next piece of content and returns the first problem found, as
// an *smtp.SMTPError for the client. After a problem the checker state is
// undefined until reset.
func (c *lineChecker) write(p []byte) error {
	for _, b := range p {
		if c.sawCR {
			if b != '\n' {
				return errDataBareCR
			}
			c.sawCR = false
			c.length = 0
			c.atStart = true
			continue
		}

		switch b {
		case '\n':
			return errDataBareLF
		case '\r':
			c.sawCR = true
			continue
		case '.':
			if c.atStart && c.dotStuffed {
				// RFC 5321 section 4.5.2: the stuffed dot is not part of the line.
				c.atStart = false
				continue
			}
		}

		c.atStart = false
		c.length++
		if c.length > c.max-2 {
			return errDataLineTooLong(c.max)
		}
	}
	return nil
}

// finish reports a problem with the end of the content: a CR as its last octet.
// A last line without CRLF is allowed here; BDAT content may end that way and the
// session adds the CRLF.
func (c *lineChecker) finish() error {
	if c.sawCR {
		return errDataBareCR
	}
	return nil
}

// endDetector finds the end of DATA content: the first "." line that follows a
// CRLF, that is CRLF "." CRLF (RFC 5321 section 4.1.1.4), where the start of the
// content counts as following a CRLF. A dot after a bare LF or a bare CR never ends
// the content.
type endDetector struct {
	state endState
}

type endState int

const (
	endLineStart endState = iota // after CRLF, or at the start of the content
	endInLine                    // inside a line
	endCR                        // after a CR inside a line
	endDot                       // after a "." at the start of a line
	endDotCR                     // after "." CR at the start of a line
	endDone                      // after CRLF "." CRLF
)

// scan consumes p up to and including the end marker. It returns how many octets
// of p belong to the content (the marker included) and whether the end was found.
func (d *endDetector) scan(p []byte) (n int, done bool) {
	for i, b := range p {
		switch d.state {
		case endLineStart:
			switch b {
			case '.':
				d.state = endDot
			case '\r':
				d.state = endCR
			default:
				d.state = endInLine
			}
		case endInLine:
			if b == '\r' {
				d.state = endCR
			}
		case endCR:
			switch b {
			case '\n':
				d.state = endLineStart
			case '\r':
				d.state = endCR
			default:
				d.state = endInLine
			}
		case endDot:
			if b == '\r' {
				d.state = endDotCR
			} else {
				d.state = endInLine
			}
		case endDotCR:
			switch b {
			case '\n':
				d.state = endDone
				return i + 1, true
			case '\r':
				d.state = endCR
			default:
				d.state = endInLine
			}
		}
	}
	return len(p), false
}

// commandProblem returns the reply for a command line that is not framed as RFC
// 5321 section 2.3.8 requires: ended by CRLF and without any other CR or LF. The
// line includes its terminator. It returns nil for a well-formed line.
func commandProblem(line []byte) error {
	if len(line) < 2 || line[len(line)-1] != '\n' || line[len(line)-2] != '\r' {
		return errCommandBareLF
	}
	if bytes.IndexByte(line[:len(line)-2], '\r') >= 0 {
		return errCommandBareCR
	}
	return nil
}

// Command framing problems. RFC 3463 X.5.2 is "syntax error".
var (
	errCommandBareLF = Reject(500, [3]int{5, 5, 2}, "Command rejected: it ends with a "+
		"line feed (LF) without a carriage return. Commands must end with CRLF.")
	errCommandBareCR = Reject(500, [3]int{5, 5, 2}, "Command rejected: it contains a "+
		"carriage return (CR) that is not followed by a line feed.")
)

// errCommandTooLong builds the reply for a command line over the limit. RFC 5321
// section 4.5.3.1.9 gives "500 Line too long" for a line over an implementation
// limit.
func errCommandTooLong(max int) error {
	return Reject(500, [3]int{5, 5, 2}, fmt.Sprintf("Line too long: commands are "+
		"limited to %d octets including CRLF.", max))
}

// commandVerb returns the command word of a line, terminator included, in upper
// case. It splits the line as go-smtp v0.26.0 does (parseCmd): a line that starts
// with "STARTTLS" is STARTTLS, and otherwise the word is the first four octets when
// the line has exactly four or a space follows them. Any other line gets the text
// before its first space, only for logs, since go-smtp rejects it as mangled.
func commandVerb(line []byte) string {
	text := strings.TrimRight(string(line), "\r\n")
	upper := strings.ToUpper(text)
	switch {
	case strings.HasPrefix(upper, "STARTTLS"):
		return "STARTTLS"
	case len(text) == 4 || len(text) > 4 && text[4] == ' ':
		return strings.ToUpper(text[:4])
	}
	word, _, _ := strings.Cut(upper, " ")
	if len(word) > 16 {
		word = word[:16]
	}
	return word
}

// parseBDAT parses a BDAT command line without its CRLF, as RFC 3030 section 2
// defines it: "BDAT" SP chunk-size [SP "LAST"]. It accepts exactly the lines for
// which go-smtp v0.26.0 reads a chunk, so both agree on where the chunk ends: go-smtp
// takes the size with strconv.ParseUint(s, 10, 32) and reads no chunk when the
// arguments do not parse.
func parseBDAT(line string) (size int64, last bool, ok bool) {
	if len(line) < 6 || !strings.EqualFold(line[:4], "BDAT") || line[4] != ' ' {
		return 0, false, false
	}

	args := strings.Fields(line[5:])
	if len(args) == 0 || len(args) > 2 {
		return 0, false, false
	}
	if len(args) == 2 {
		if !strings.EqualFold(args[1], "LAST") {
			return 0, false, false
		}
		last = true
	}

	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		return 0, false, false
	}
	return int64(n), last, true
}

// errBDATSyntax is sent before closing the connection when a BDAT line cannot be
// parsed: the chunk that follows has an unknown length, so nothing after it can be
// read as a command. RFC 5321 section 3.8 lets a server close with 421.
func errBDATSyntax(hostname string) error {
	return Reject(421, [3]int{4, 5, 4}, hostname+" Invalid BDAT arguments: the chunk "+
		"size is missing or not a number. Closing the connection because the end of "+
		"the chunk cannot be found.")
}

// replyLine formats an *smtp.SMTPError as one reply line with CRLF.
func replyLine(e *smtp.SMTPError) []byte {
	if e.EnhancedCode == smtp.NoEnhancedCode {
		return fmt.Appendf(nil, "%d %s\r\n", e.Code, e.Message)
	}
	ec := e.EnhancedCode
	return fmt.Appendf(nil, "%d %d.%d.%d %s\r\n", e.Code, ec[0], ec[1], ec[2], e.Message)
}

// parseReplyLine returns the code of one reply line and whether it is the last line
// of its reply ("250 ..." rather than "250-...").
func parseReplyLine(line []byte) (code int, final bool) {
	if len(line) < 3 {
		return 0, true
	}
	for _, b := range line[:3] {
		if b < '0' || b > '9' {
			return 0, true
		}
		code = code*10 + int(b-'0')
	}
	return code, len(line) == 3 || line[3] != '-'
}
