package pop3server

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{
		"CAPA", "stls", "USER jane", "PASS two words", "AUTH PLAIN AGphbmUAcHc=", "AUTH",
		"LIST", "LIST 1", "TOP 1 0", "RETR 99999999999", "UIDL 1", "DELE 1", "QUIT",
		"", " ", "XTND", "LIST  1 ", "USER a\x00b", "PASS \xff\xfe", "APOP a b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, rep := parseCommand(line)
		if rep != nil {
			if rep.ok {
				t.Fatalf("parse error reply is +OK: %q", rep)
			}
			if strings.ContainsAny(rep.String(), "\r\n") {
				t.Fatalf("reply %q contains a line break", rep)
			}
			return
		}

		spec, known := commandSpecs[cmd.name]
		if !known {
			t.Fatalf("parsed unknown command %q from %q", cmd.name, line)
		}
		if !strings.EqualFold(line[:len(cmd.name)], cmd.name) {
			t.Fatalf("line %q does not start with keyword %q", line, cmd.name)
		}
		if len(cmd.args) < spec.minArgs || len(cmd.args) > spec.maxArgs {
			t.Fatalf("%q: %d arguments for %s", line, len(cmd.args), cmd.name)
		}
		for _, arg := range cmd.args {
			if arg == "" {
				t.Fatalf("%q: empty argument", line)
			}
			if cmd.name != "PASS" && strings.Contains(arg, " ") {
				t.Fatalf("%q: argument %q contains a space", line, arg)
			}
			for i := 0; i < len(arg); i++ {
				if arg[i] < 0x20 || arg[i] == 0x7f {
					t.Fatalf("%q: argument %q contains a control character", line, arg)
				}
			}
		}
	})
}

func FuzzDecodePlain(f *testing.F) {
	for _, seed := range []string{"AGphbmUAcHc=", "amFuZQBqYW5lAHB3", "=", "*", "", "%%", "AA=="} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, response string) {
		user, password, rep := decodePlain(response)
		if rep != nil {
			if rep.ok {
				t.Fatalf("error reply is +OK: %q", rep)
			}
			return
		}
		if user == "" || password == "" {
			t.Fatalf("decodePlain(%q) accepted an empty user %q or password", response, user)
		}
		if strings.Contains(user, "\x00") || strings.Contains(password, "\x00") {
			t.Fatalf("decodePlain(%q) returned a NUL", response)
		}
		if !utf8.ValidString(user) || !utf8.ValidString(password) {
			t.Fatalf("decodePlain(%q) returned invalid UTF-8", response)
		}
	})
}

// FuzzWriteMessage checks writeMessage against a simple line-by-line model of
// what it must send, and that its output can never end the response early.
func FuzzWriteMessage(f *testing.F) {
	for _, seed := range []string{
		msgDots, msgPlain, "", ".", "\r", "\n", "a\r\r\n", "x\n\r", ".\n.\r\n..",
		"A: b\n\nl1\nl2", "A: b\r\n\r\n.\r\n",
	} {
		f.Add(seed, int64(-1))
		f.Add(seed, int64(0))
		f.Add(seed, int64(1))
	}
	f.Fuzz(func(t *testing.T, message string, bodyLines int64) {
		if bodyLines < -1 {
			bodyLines = -1
		}
		got, err := writeMessageString(t, strings.NewReader(message), bodyLines)
		if err != nil {
			t.Fatal(err)
		}
		if want := modelWriteMessage(message, bodyLines); got != want {
			t.Fatalf("writeMessage(%q, %d)\n got %q\nwant %q", message, bodyLines, got, want)
		}

		if got != "" && !strings.HasSuffix(got, "\r\n") {
			t.Fatalf("output %q does not end in CRLF", got)
		}
		if strings.HasPrefix(got, ".\r\n") || strings.Contains(got, "\r\n.\r\n") {
			t.Fatalf("output %q contains a line that ends the response", got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] == '\n' && (i == 0 || got[i-1] != '\r') {
				t.Fatalf("output %q contains a bare LF at %d", got, i)
			}
		}
	})
}

// modelWriteMessage is what writeMessage must produce, written as plainly as
// possible: split into lines at LF, drop one CR before each line end, stuff dots,
// end every line with CRLF, and stop after bodyLines lines of the body.
func modelWriteMessage(message string, bodyLines int64) string {
	if message == "" {
		return ""
	}
	lines := strings.Split(message, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var b strings.Builder
	inHeader := true
	for _, line := range lines {
		if !inHeader && bodyLines >= 0 {
			if bodyLines == 0 {
				break
			}
			bodyLines--
		}
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, ".") {
			b.WriteString(".")
		}
		b.WriteString(line + "\r\n")
		if line == "" {
			inHeader = false
		}
	}
	return b.String()
}
