package delivery

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const (
	// maxReplyLineLength bounds one reply line, CRLF included. RFC 5321 section
	// 4.5.3.1.5 sets 512 octets. Servers exceed it in practice, so the limit is
	// four times that, as Postfix and go-smtp also accept longer lines.
	maxReplyLineLength = 2048

	// maxReplyLines bounds a multiline reply, so that a hostile server cannot
	// make the client buffer without end. EHLO replies have about 15 lines.
	maxReplyLines = 128
)

// reply is one SMTP reply: the three-digit code, the RFC 3463 enhanced status
// code when the server sent one, and the text of every line.
type reply struct {
	code     int
	enhanced string   // "class.subject.detail", or "" when absent
	lines    []string // text after the code, and after the enhanced code if any
}

// temporary reports whether the reply is a transient negative completion (4yz),
// after which the same command may succeed later (RFC 5321 section 4.2.1).
func (r reply) temporary() bool {
	return r.code >= 400 && r.code < 500
}

// positive reports whether the reply is a positive completion (2yz).
func (r reply) positive() bool {
	return r.code >= 200 && r.code < 300
}

// String returns the reply on one line, as it appears in error messages and
// in the Diagnostic-Code of a delivery status notification: the code, the
// enhanced code and the lines joined by spaces.
func (r reply) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(r.code))
	if r.enhanced != "" {
		b.WriteString(" ")
		b.WriteString(r.enhanced)
	}
	for _, line := range r.lines {
		if line != "" {
			b.WriteString(" ")
			b.WriteString(line)
		}
	}
	return b.String()
}

// errMalformedReply wraps every protocol violation that readReply finds.
var errMalformedReply = errors.New("malformed SMTP reply")

// readReply reads one reply, single or multiline (RFC 5321 section 4.2.1):
// every line starts with the same three-digit code, followed by "-" on all
// lines but the last and by a space, or nothing, on the last.
func readReply(r *bufio.Reader) (reply, error) {
	var rep reply
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return reply{}, fmt.Errorf("%w: more than %d lines", errMalformedReply, maxReplyLines)
		}
		line, err := readLine(r)
		if err != nil {
			return reply{}, err
		}
		code, last, text, err := parseReplyLine(line)
		if err != nil {
			return reply{}, err
		}
		if n == 0 {
			rep.code = code
		} else if code != rep.code {
			return reply{}, fmt.Errorf("%w: line %q continues a %d reply with code %d",
				errMalformedReply, line, rep.code, code)
		}
		rep.lines = append(rep.lines, text)
		if last {
			break
		}
	}
	rep.enhanced, rep.lines = splitEnhancedCode(rep.code, rep.lines)
	return rep, nil
}

// readLine reads one line ending in LF and returns it without CRLF or LF.
// Servers that end lines with a bare LF are accepted, as most clients do.
func readLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxReplyLineLength {
			return "", fmt.Errorf("%w: line longer than %d octets", errMalformedReply,
				maxReplyLineLength)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return "", err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}

// parseReplyLine splits one reply line into its code, whether it is the last
// line of the reply, and its text.
func parseReplyLine(line string) (code int, last bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: line %q is shorter than a reply code",
			errMalformedReply, line)
	}
	// RFC 5321 section 4.2: the first digit is 2 to 5, the second 0 to 5.
	if line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
		line[2] < '0' || line[2] > '9' {
		return 0, false, "", fmt.Errorf("%w: line %q does not start with a reply code",
			errMalformedReply, line)
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')

	switch {
	case len(line) == 3:
		return code, true, "", nil
	case line[3] == ' ':
		return code, true, line[4:], nil
	case line[3] == '-':
		return code, false, line[4:], nil
	}
	return 0, false, "", fmt.Errorf("%w: line %q has %q after its code, not space or hyphen",
		errMalformedReply, line, line[3])
}

// splitEnhancedCode removes the RFC 3463 enhanced status code from the start
// of each line when the first line has one whose class matches the reply
// code's first digit (RFC 2034 section 4), and returns it.
func splitEnhancedCode(code int, lines []string) (string, []string) {
	if len(lines) == 0 {
		return "", lines
	}
	first, _, _ := strings.Cut(lines[0], " ")
	if !validEnhancedCode(first) || int(first[0]-'0') != code/100 {
		return "", lines
	}

	stripped := make([]string, len(lines))
	for i, line := range lines {
		// RFC 2034 section 4 repeats the code on every line of a multiline reply.
		if rest, ok := strings.CutPrefix(line, first); ok && (rest == "" || rest[0] == ' ') {
			line = strings.TrimPrefix(rest, " ")
		}
		stripped[i] = line
	}
	return first, stripped
}

// validEnhancedCode reports whether s has the form class.subject.detail of
// RFC 3463 section 2: class 2, 4 or 5, subject and detail of one to three
// digits each.
func validEnhancedCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	if parts[0] != "2" && parts[0] != "4" && parts[0] != "5" {
		return false
	}
	for _, part := range parts[1:] {
		if len(part) == 0 || len(part) > 3 {
			return false
		}
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}

// parseEHLO returns the service extensions of a positive EHLO reply (RFC 5321
// section 4.1.1.1): every line after the first holds a keyword and optional
// parameters. Keywords are returned in upper case, because they are
// case-insensitive.
func parseEHLO(r reply) map[string]string {
	ext := make(map[string]string)
	if len(r.lines) < 2 {
		return ext
	}
	for _, line := range r.lines[1:] {
		keyword, params, _ := strings.Cut(strings.TrimSpace(line), " ")
		if keyword == "" {
			continue
		}
		ext[strings.ToUpper(keyword)] = strings.TrimSpace(params)
	}
	return ext
}

// parseSizeLimit returns the maximum message size from the parameter of the
// SIZE extension (RFC 1870 section 4), or 0 when the server gave no limit or
// a value that does not parse.
func parseSizeLimit(param string) int64 {
	if param == "" {
		return 0
	}
	size, err := strconv.ParseInt(param, 10, 64)
	if err != nil || size < 0 {
		return 0
	}
	return size
}
