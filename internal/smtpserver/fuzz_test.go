package smtpserver

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// validContent is the reference for lineChecker: every CR is followed by LF, every
// LF follows a CR, and every line fits max octets with its CRLF (a leading dot not
// counted when dotStuffed).
func validContent(p []byte, max int, dotStuffed bool) bool {
	for i, b := range p {
		if b == '\r' && (i+1 >= len(p) || p[i+1] != '\n') {
			return false
		}
		if b == '\n' && (i == 0 || p[i-1] != '\r') {
			return false
		}
	}
	for _, line := range bytes.Split(p, []byte("\r\n")) {
		if dotStuffed && len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		if len(line) > max-2 {
			return false
		}
	}
	return true
}

func FuzzLineChecker(f *testing.F) {
	f.Add([]byte("a\r\nb\r\n"), uint16(1), true)
	f.Add([]byte("a\nb"), uint16(0), false)
	f.Add([]byte("a\r"), uint16(2), false)
	f.Add([]byte("."+strings.Repeat("x", 510)+"\r\n"), uint16(5), true)
	f.Fuzz(func(t *testing.T, input []byte, split uint16, dotStuffed bool) {
		const max = 512
		at := int(split) % (len(input) + 1)

		var whole, parts lineChecker
		whole.reset(max, dotStuffed)
		parts.reset(max, dotStuffed)

		errWhole := whole.write(input)
		if errWhole == nil {
			errWhole = whole.finish()
		}
		errParts := parts.write(input[:at])
		if errParts == nil {
			errParts = parts.write(input[at:])
		}
		if errParts == nil {
			errParts = parts.finish()
		}

		if errString(errWhole) != errString(errParts) {
			t.Fatalf("split at %d changed the result: %v, then %v", at, errWhole, errParts)
		}
		if want := validContent(input, max, dotStuffed); (errWhole == nil) != want {
			t.Fatalf("checker says %v, reference says valid=%v", errWhole, want)
		}
	})
}

// referenceEnd returns the offset just after the first strict CRLF "." CRLF, with
// the start of the content counting as after a CRLF, or -1.
func referenceEnd(input []byte) int {
	i := bytes.Index(append([]byte("\r\n"), input...), []byte("\r\n.\r\n"))
	if i < 0 {
		return -1
	}
	return i + 3
}

func FuzzEndDetector(f *testing.F) {
	f.Add([]byte("a\r\n.\r\nb"), uint16(3))
	f.Add([]byte("a\n.\n"), uint16(0))
	f.Add([]byte(".\r\n"), uint16(1))
	f.Fuzz(func(t *testing.T, input []byte, split uint16) {
		at := int(split) % (len(input) + 1)

		var d endDetector
		got := -1
		if n, done := d.scan(input[:at]); done {
			got = n
		} else if n, done := d.scan(input[at:]); done {
			got = at + n
		}

		if want := referenceEnd(input); got != want {
			t.Fatalf("end at %d, reference %d", got, want)
		}
	})
}

// FuzzGuardData feeds arbitrary octets to a guard in the DATA state and checks
// that it ends the message exactly where the strict rule does, passes on only
// well-framed lines, and flags a problem exactly when the content is invalid.
func FuzzGuardData(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"))
	f.Add([]byte("body\n.\nMAIL FROM:<a@b>\r\n.\r\n"))
	f.Add([]byte("body\r.\rMAIL\r\n.\r\n"))
	f.Add([]byte("..stuffed\r\n.\r\n"))
	f.Add([]byte(strings.Repeat("a", 1200) + "\r\n.\r\n"))
	f.Fuzz(func(t *testing.T, input []byte) {
		g, pc := newTestGuard(input)
		g.state = stateData
		g.checker.reset(g.srv.cfg.MaxLineLength, true)

		var out []byte
		buf := make([]byte, 700)
		var readErr error
		for {
			n, err := g.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				readErr = err
				break
			}
			if g.state == stateCommand && len(g.pending) == 0 {
				break
			}
		}

		end := referenceEnd(input)
		if end < 0 {
			if readErr == nil {
				t.Fatalf("message ended without a strict end marker; output %q", out)
			}
			return
		}
		if readErr != nil {
			t.Fatalf("read failed before the end marker at %d: %v", end, readErr)
		}

		consumed := len(input) - pc.in.Len() - g.br.Buffered()
		if consumed != end {
			t.Fatalf("consumed %d octets, the end marker ends at %d", consumed, end)
		}
		if !bytes.HasSuffix(out, terminator) {
			t.Fatalf("output %q does not end with the end marker", out)
		}
		if !validContent(out[:len(out)-len(terminator)], g.srv.cfg.MaxLineLength, true) {
			t.Fatalf("output holds a malformed line: %q", out)
		}

		content := input[:end-len(terminator)]
		valid := validContent(content, g.srv.cfg.MaxLineLength, true)
		if valid != (g.violationErr() == nil) {
			t.Fatalf("content valid=%v but guard recorded %v", valid, g.violationErr())
		}
		if valid && !bytes.Equal(out, input[:end]) {
			t.Fatalf("valid content changed on the way: %q became %q", input[:end], out)
		}
	})
}

// FuzzGuardCommands checks that whatever the client sends, go-smtp gets only
// command lines framed with CRLF and within the limit, and never blocks the guard.
func FuzzGuardCommands(f *testing.F) {
	f.Add([]byte("EHLO a\r\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\r\n"))
	f.Add([]byte("NOOP\r" + strings.Repeat("x", 2000) + "\r\nQUIT\r\n"))
	f.Add([]byte("BDAT 5 LAST\r\nab\ncdNOOP\r\n"))
	f.Add([]byte("BDAT x\r\nNOOP\r\n"))
	f.Fuzz(func(t *testing.T, input []byte) {
		g, _ := newTestGuard(input)

		// Every successful Read consumes at least one input octet.
		buf := make([]byte, 4096)
		for i := 0; i <= len(input); i++ {
			before := g.state
			n, err := g.Read(buf)
			if err != nil {
				return
			}
			if before != stateCommand {
				continue
			}
			// No 334 or 354 reply is written here, so a Read in the command state
			// returns one whole command line.
			line := buf[:n]
			if problem := commandProblem(line); problem != nil {
				t.Fatalf("go-smtp got a malformed command line %q: %v", line, problem)
			}
			if n > g.srv.cfg.MaxLineLength || len(g.pending) != 0 {
				t.Fatalf("go-smtp got %d octets of a line, %d left over", n, len(g.pending))
			}
		}
		t.Fatal("guard kept returning data from a finite input")
	})
}

func FuzzScanHeader(f *testing.F) {
	f.Add([]byte("Received: a\r\n b\r\nMessage-ID: <x@y>\r\n\r\nbody"))
	f.Add([]byte(" folded\r\n"))
	f.Add([]byte("no colon\r\n"))
	f.Add([]byte("Message-ID: \xff\xfe\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		h := scanHeader(msg)
		if h.end < 0 || h.end > len(msg) {
			t.Fatalf("end %d outside the message of %d octets", h.end, len(msg))
		}
		if h.end > 0 && h.end < len(msg) && msg[h.end-1] != '\n' {
			t.Fatalf("end %d is not at the start of a line", h.end)
		}
		if h.received > bytes.Count(msg[:h.end], []byte("\n"))+1 {
			t.Fatalf("%d Received fields in %d lines", h.received,
				bytes.Count(msg, []byte("\n"))+1)
		}
		if !utf8.ValidString(h.messageID) || len(h.messageID) > 200 ||
			strings.ContainsAny(h.messageID, "\r\n") {
			t.Fatalf("Message-ID for logs %q is not one short valid line", h.messageID)
		}

		out, _ := decorate(msg, h, []byte("Received: r\r\n"), "mx.test", fixedTime)
		if !bytes.HasPrefix(out, []byte("Received: r\r\n")) ||
			!bytes.Contains(out, msg[h.end:]) {
			t.Fatalf("decorate lost part of the message: %q", out)
		}
	})
}

func FuzzParseBDAT(f *testing.F) {
	f.Add("BDAT 10 LAST")
	f.Add("bdat 0")
	f.Add("BDAT 99999999999")
	f.Fuzz(func(t *testing.T, line string) {
		size, last, ok := parseBDAT(line)
		if !ok {
			return
		}
		if size < 0 || size > 1<<32-1 {
			t.Fatalf("size %d outside 0..2^32-1", size)
		}
		args := strings.Fields(line[5:])
		if got, _ := strconv.ParseUint(args[0], 10, 32); int64(got) != size {
			t.Fatalf("size %d, argument %q", size, args[0])
		}
		if last != (len(args) == 2) {
			t.Fatalf("last = %v with arguments %q", last, args)
		}
	})
}

var fixedTime = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
