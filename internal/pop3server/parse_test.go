package pop3server

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line     string
		wantName string
		wantArgs []string
		wantErr  string // part of the -ERR text when parsing fails
	}{
		{line: "CAPA", wantName: "CAPA"},
		{line: "capa", wantName: "CAPA"},
		{line: "StAt", wantName: "STAT"},
		{line: "LIST", wantName: "LIST"},
		{line: "LIST 1", wantName: "LIST", wantArgs: []string{"1"}},
		{line: "LIST  2", wantName: "LIST", wantArgs: []string{"2"}},
		{line: "LIST 3 ", wantName: "LIST", wantArgs: []string{"3"}},
		{line: "top 1 10", wantName: "TOP", wantArgs: []string{"1", "10"}},
		{line: "UIDL", wantName: "UIDL"},
		{line: "USER jane.smith@cps.cjsm.net", wantName: "USER",
			wantArgs: []string{"jane.smith@cps.cjsm.net"}},
		{line: "PASS secret", wantName: "PASS", wantArgs: []string{"secret"}},
		{line: "PASS two words ", wantName: "PASS", wantArgs: []string{"two words "}},
		{line: "PASS  leading", wantName: "PASS", wantArgs: []string{" leading"}},
		{line: "PASS caf\u00e9", wantName: "PASS", wantArgs: []string{"caf\u00e9"}},
		{line: "AUTH", wantName: "AUTH"},
		{line: "AUTH PLAIN", wantName: "AUTH", wantArgs: []string{"PLAIN"}},
		{line: "AUTH PLAIN AGphbmUAcHc=", wantName: "AUTH",
			wantArgs: []string{"PLAIN", "AGphbmUAcHc="}},
		{line: "STLS", wantName: "STLS"},
		{line: "QUIT", wantName: "QUIT"},
		{line: "APOP jane c4c9334bac560ecc979e58001b3e22fb", wantName: "APOP",
			wantArgs: []string{"jane", "c4c9334bac560ecc979e58001b3e22fb"}},

		{line: "", wantErr: "Empty command line"},
		{line: " ", wantErr: "Unknown command;"},
		{line: " STAT", wantErr: "Unknown command;"},
		{line: "XTND XMIT", wantErr: `Unknown command "XTND"`},
		{line: "RETRIEVE 1", wantErr: "Unknown command;"},
		{line: "RE\u00e9T", wantErr: "Unknown command;"},
		{line: "STAT\x00", wantErr: "control character 0x00 at offset 4"},
		{line: "USER a\rb", wantErr: "control character 0x0D"},
		{line: "USER\tjane", wantErr: "control character 0x09"},
		{line: "NOOP\x7f", wantErr: "control character 0x7F"},
		{line: "STAT 1", wantErr: "the syntax is STAT"},
		{line: "LIST 1 2", wantErr: "the syntax is LIST [msg]"},
		{line: "RETR", wantErr: "the syntax is RETR msg"},
		{line: "TOP 1", wantErr: "the syntax is TOP msg lines"},
		{line: "DELE", wantErr: "the syntax is DELE msg"},
		{line: "USER", wantErr: "the syntax is USER name"},
		{line: "USER jane smith", wantErr: "the syntax is USER name"},
		{line: "PASS", wantErr: "the syntax is PASS password"},
		{line: "PASS ", wantErr: "the syntax is PASS password"},
		{line: "AUTH PLAIN a b", wantErr: "the syntax is AUTH"},
		{line: "QUIT now", wantErr: "the syntax is QUIT"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmd, rep := parseCommand(tt.line)
			if tt.wantErr != "" {
				if rep == nil {
					t.Fatalf("parseCommand(%q) = %+v, want an error containing %q",
						tt.line, cmd, tt.wantErr)
				}
				if rep.ok {
					t.Errorf("error reply is +OK: %q", rep)
				}
				if !strings.Contains(rep.String(), tt.wantErr) {
					t.Errorf("error reply %q lacks %q", rep, tt.wantErr)
				}
				return
			}
			if rep != nil {
				t.Fatalf("parseCommand(%q) failed: %q", tt.line, rep)
			}
			if cmd.name != tt.wantName {
				t.Errorf("name = %q, want %q", cmd.name, tt.wantName)
			}
			if !reflect.DeepEqual(cmd.args, tt.wantArgs) {
				t.Errorf("args = %q, want %q", cmd.args, tt.wantArgs)
			}
		})
	}
}

func TestParseMessageNumber(t *testing.T) {
	tests := []struct {
		in     string
		want   int
		wantOK bool
	}{
		{"1", 1, true},
		{"42", 42, true},
		{"007", 7, true},
		{"2147483647", 2147483647, true},
		{"2147483648", 0, false},
		{"99999999999999999999999", 0, false},
		{"0", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1a", 0, false},
		{"0x10", 0, false},
		{"1_000", 0, false},
		{"\u0661", 0, false}, // ARABIC-INDIC DIGIT ONE
	}
	for _, tt := range tests {
		got, ok := parseMessageNumber(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseMessageNumber(%q) = %d, %v; want %d, %v",
				tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseLineCount(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		wantOK bool
	}{
		{"0", 0, true},
		{"10", 10, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"99999999999999999999999", 1<<63 - 1, true},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.5", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseLineCount(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseLineCount(%q) = %d, %v; want %d, %v",
				tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestDecodePlain(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name         string
		response     string
		wantUser     string
		wantPassword string
		wantErr      string
	}{
		{name: "empty authzid", response: b64("\x00jane\x00pw"),
			wantUser: "jane", wantPassword: "pw"},
		{name: "authzid equal to user", response: b64("jane\x00jane\x00pw"),
			wantUser: "jane", wantPassword: "pw"},
		{name: "password with spaces and UTF-8", response: b64("\x00jane\x00caf\u00e9 au lait"),
			wantUser: "jane", wantPassword: "caf\u00e9 au lait"},
		{name: "authzid of another user", response: b64("admin\x00jane\x00pw"),
			wantErr: "[AUTH] Signing in as another user"},
		{name: "equals sign is empty", response: "=", wantErr: "not a PLAIN message"},
		{name: "empty", response: "", wantErr: "not a PLAIN message"},
		{name: "not base64", response: "%%%", wantErr: "not valid base64"},
		{name: "missing padding", response: "AGphbmUAcHc", wantErr: "not valid base64"},
		{name: "one NUL", response: b64("jane\x00pw"), wantErr: "not a PLAIN message"},
		{name: "three NULs", response: b64("\x00jane\x00pw\x00x"), wantErr: "not a PLAIN message"},
		{name: "empty user", response: b64("\x00\x00pw"), wantErr: "not a PLAIN message"},
		{name: "empty password", response: b64("\x00jane\x00"), wantErr: "not a PLAIN message"},
		{name: "invalid UTF-8", response: b64("\x00jane\x00\xff\xfe"),
			wantErr: "not a PLAIN message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, password, rep := decodePlain(tt.response)
			if tt.wantErr != "" {
				if rep == nil {
					t.Fatalf("decodePlain(%q) = %q, %q; want an error", tt.response, user, password)
				}
				if !strings.Contains(rep.String(), tt.wantErr) {
					t.Errorf("error reply %q lacks %q", rep, tt.wantErr)
				}
				return
			}
			if rep != nil {
				t.Fatalf("decodePlain(%q) failed: %q", tt.response, rep)
			}
			if user != tt.wantUser {
				t.Errorf("user = %q, want %q", user, tt.wantUser)
			}
			if password != tt.wantPassword {
				t.Errorf("password = %q, want %q", password, tt.wantPassword)
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	tests := []struct {
		name    string
		list    []Message
		wantErr string
	}{
		{name: "empty maildrop"},
		{name: "valid", list: []Message{{UID: "a", Size: 0}, {UID: strings.Repeat("~", 70), Size: 9}}},
		{name: "empty UID", list: []Message{{UID: ""}}, wantErr: "not 1 to 70"},
		{name: "UID of 71", list: []Message{{UID: strings.Repeat("x", 71)}}, wantErr: "not 1 to 70"},
		{name: "UID with space", list: []Message{{UID: "a b"}}, wantErr: "0x20"},
		{name: "UID with DEL", list: []Message{{UID: "a\x7f"}}, wantErr: "0x7F"},
		{name: "UID with UTF-8", list: []Message{{UID: "caf\u00e9"}}, wantErr: "0xC3"},
		{name: "duplicate UID", list: []Message{{UID: "a"}, {UID: "a"}}, wantErr: "listed twice"},
		{name: "negative size", list: []Message{{UID: "a", Size: -1}}, wantErr: "negative size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateMessages(tt.list)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validateMessages: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("validateMessages error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// writeMessageString runs writeMessage and returns what it wrote.
func writeMessageString(t *testing.T, r io.Reader, bodyLines int64) (string, error) {
	t.Helper()
	var out strings.Builder
	w := bufio.NewWriter(&out)
	err := writeMessage(w, r, bodyLines)
	if ferr := w.Flush(); ferr != nil {
		t.Fatal(ferr)
	}
	return out.String(), err
}

func TestWriteMessage(t *testing.T) {
	long := "." + strings.Repeat("x", messageReadBuffer*2+100)
	tests := []struct {
		name      string
		message   string
		bodyLines int64
		want      string
	}{
		{"empty", "", -1, ""},
		{"CRLF unchanged", "A: b\r\n\r\nbody\r\n", -1, "A: b\r\n\r\nbody\r\n"},
		{"leading dots stuffed", ".\r\n..\r\n.x\r\nx.\r\n", -1, "..\r\n...\r\n..x\r\nx.\r\n"},
		{"bare LF to CRLF", "A: b\n\nbody\n.dot\n", -1, "A: b\r\n\r\nbody\r\n..dot\r\n"},
		{"mixed line ends", "a\r\nb\nc\r\n", -1, "a\r\nb\r\nc\r\n"},
		{"no final line end", "a\r\nlast", -1, "a\r\nlast\r\n"},
		{"no final line end after dot", "a\r\n.", -1, "a\r\n..\r\n"},
		{"final lone CR", "a\r", -1, "a\r\n"},
		{"CR inside a line kept", "a\rb\r\n", -1, "a\rb\r\n"},
		{"CR before CRLF kept", "a\r\r\n", -1, "a\r\r\n"},
		{"long line stuffed once", long + "\r\n.y\r\n", -1, "." + long + "\r\n..y\r\n"},
		{"TOP 0", "A: b\r\nC: d\r\n\r\nl1\r\nl2\r\n", 0, "A: b\r\nC: d\r\n\r\n"},
		{"TOP 1", "A: b\r\n\r\nl1\r\nl2\r\n", 1, "A: b\r\n\r\nl1\r\n"},
		{"TOP more than body", "A: b\r\n\r\nl1\r\n", 5, "A: b\r\n\r\nl1\r\n"},
		{"TOP stuffs dots", "A: b\r\n\r\n.l1\r\nl2\r\n", 1, "A: b\r\n\r\n..l1\r\n"},
		{"TOP bare LF", "A: b\n\nl1\nl2\n", 1, "A: b\r\n\r\nl1\r\n"},
		{"TOP without body", "A: b\r\nC: d\r\n", 0, "A: b\r\nC: d\r\n"},
		{"TOP empty body line counts", "A: b\r\n\r\n\r\nl2\r\n", 1, "A: b\r\n\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := writeMessageString(t, strings.NewReader(tt.message), tt.bodyLines)
			if err != nil {
				t.Fatalf("writeMessage: %v", err)
			}
			if got != tt.want {
				t.Errorf("writeMessage(%.40q, %d)\n got %.80q\nwant %.80q",
					tt.message, tt.bodyLines, got, tt.want)
			}
		})
	}
}

func TestWriteMessageOneByteReads(t *testing.T) {
	msg := "A: b\r\n\r\n.dot\r\nx\ry\r\nbare\nend\r"
	got, err := writeMessageString(t, iotest.OneByteReader(strings.NewReader(msg)), -1)
	if err != nil {
		t.Fatal(err)
	}
	want := "A: b\r\n\r\n..dot\r\nx\ry\r\nbare\r\nend\r\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestWriteMessageCRAtBufferEdge puts the CR of a CRLF at the last octet of the
// read buffer, so that the LF comes in the next piece.
func TestWriteMessageCRAtBufferEdge(t *testing.T) {
	line := strings.Repeat("y", messageReadBuffer-1) + "\r\n"
	msg := line + ".next\r\n"
	got, err := writeMessageString(t, strings.NewReader(msg), -1)
	if err != nil {
		t.Fatal(err)
	}
	if want := line + "..next\r\n"; got != want {
		t.Errorf("output differs: len %d, want len %d; tail %q",
			len(got), len(want), got[max(0, len(got)-20):])
	}
}

func TestWriteMessageReadErrorIsMarked(t *testing.T) {
	r := io.MultiReader(strings.NewReader("A: b\r\n"), errReader{errors.New("disk gone")})
	_, err := writeMessageString(t, r, -1)
	if !errors.Is(err, errMessageRead) {
		t.Fatalf("error = %v, want it to wrap errMessageRead", err)
	}
}
