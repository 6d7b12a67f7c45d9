package delivery

import (
	"bufio"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		code     int
		enhanced string
		lines    []string
	}{
		{"single line", "250 OK\r\n", 250, "", []string{"OK"}},
		{"code only", "250\r\n", 250, "", []string{""}},
		{"enhanced code", "550 5.1.1 no such user\r\n", 550, "5.1.1", []string{"no such user"}},
		{"enhanced code alone", "250 2.0.0\r\n", 250, "2.0.0", []string{""}},
		{"multiline", "250-mx.test\r\n250-SIZE 1000\r\n250 STARTTLS\r\n", 250, "",
			[]string{"mx.test", "SIZE 1000", "STARTTLS"}},
		{"multiline enhanced on every line",
			"550-5.7.1 first line\r\n550-5.7.1 second line\r\n550 5.7.1 third\r\n", 550,
			"5.7.1", []string{"first line", "second line", "third"}},
		{"bare LF", "220 ready\n", 220, "", []string{"ready"}},
		{"class mismatch keeps text", "450 5.1.1 odd\r\n", 450, "", []string{"5.1.1 odd"}},
		{"not an enhanced code", "250 2.0 ok\r\n", 250, "", []string{"2.0 ok"}},
		{"four-digit detail", "550 5.1.1000 x\r\n", 550, "", []string{"5.1.1000 x"}},
		{"three-digit parts", "550 5.123.999 x\r\n", 550, "5.123.999", []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := readReply(bufio.NewReader(strings.NewReader(tt.input)))
			if err != nil {
				t.Fatalf("readReply(%q): %v", tt.input, err)
			}
			if rep.code != tt.code {
				t.Errorf("code = %d, want %d", rep.code, tt.code)
			}
			if rep.enhanced != tt.enhanced {
				t.Errorf("enhanced = %q, want %q", rep.enhanced, tt.enhanced)
			}
			if !slices.Equal(rep.lines, tt.lines) {
				t.Errorf("lines = %q, want %q", rep.lines, tt.lines)
			}
		})
	}
}

func TestReadReplyRejectsMalformed(t *testing.T) {
	tests := []struct {
		name  string
		input string
	}{
		{"short", "25\r\n"},
		{"letters", "abc hello\r\n"},
		{"first digit 1", "150 hello\r\n"},
		{"first digit 6", "650 hello\r\n"},
		{"second digit 6", "260 hello\r\n"},
		{"bad separator", "250+hello\r\n"},
		{"code changes", "250-one\r\n251 two\r\n"},
		{"too long", "250 " + strings.Repeat("x", maxReplyLineLength) + "\r\n"},
		{"too many lines", strings.Repeat("250-x\r\n", maxReplyLines) + "250 x\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readReply(bufio.NewReaderSize(strings.NewReader(tt.input), 16))
			if !errors.Is(err, errMalformedReply) {
				t.Errorf("readReply(%.40q) error = %v, want a malformed reply", tt.input, err)
			}
		})
	}
}

func TestReadReplyReportsTruncation(t *testing.T) {
	for _, input := range []string{"", "250-first\r\n", "250 no line end"} {
		_, err := readReply(bufio.NewReader(strings.NewReader(input)))
		if !errors.Is(err, io.EOF) {
			t.Errorf("readReply(%q) error = %v, want EOF", input, err)
		}
	}
}

func TestReadReplyLongLine(t *testing.T) {
	text := strings.Repeat("y", 100)
	rep, err := readReply(bufio.NewReaderSize(strings.NewReader("250 "+text+"\r\n"), 16))
	if err != nil {
		t.Fatal(err)
	}
	if rep.lines[0] != text {
		t.Errorf("line = %q, want %q", rep.lines[0], text)
	}
}

func TestReplyString(t *testing.T) {
	rep := reply{code: 550, enhanced: "5.1.1", lines: []string{"no such", "", "user"}}
	if got := rep.String(); got != "550 5.1.1 no such user" {
		t.Errorf("String() = %q", got)
	}
	if got := (reply{code: 250, lines: []string{""}}).String(); got != "250" {
		t.Errorf("String() = %q, want 250", got)
	}
}

func TestParseEHLO(t *testing.T) {
	rep := reply{code: 250, lines: []string{
		"mx.police.test Hello out.cjsm.test",
		"PIPELINING",
		"size 10240000",
		"STARTTLS",
		"AUTH PLAIN  LOGIN",
		"",
		"DSN",
	}}
	want := map[string]string{
		"PIPELINING": "",
		"SIZE":       "10240000",
		"STARTTLS":   "",
		"AUTH":       "PLAIN  LOGIN",
		"DSN":        "",
	}
	if got := parseEHLO(rep); !maps.Equal(got, want) {
		t.Errorf("parseEHLO = %v, want %v", got, want)
	}
	if got := parseEHLO(reply{code: 250, lines: []string{"mx.test"}}); len(got) != 0 {
		t.Errorf("parseEHLO of a one-line reply = %v, want none", got)
	}
}

func TestParseSizeLimit(t *testing.T) {
	tests := map[string]int64{
		"":                     0,
		"0":                    0,
		"10240000":             10240000,
		"-5":                   0,
		"ten":                  0,
		"99999999999999999999": 0,
	}
	for param, want := range tests {
		if got := parseSizeLimit(param); got != want {
			t.Errorf("parseSizeLimit(%q) = %d, want %d", param, got, want)
		}
	}
}

// FuzzReadReply checks that any server output yields a well-formed reply or
// an error, and never a panic or an unbounded reply.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{
		"250 OK\r\n",
		"250-mx.test\r\n250-SIZE 1000\r\n250 STARTTLS\r\n",
		"550-5.7.1 a\r\n550 5.7.1 b\r\n",
		"421 4.3.2 busy\n",
		"250-x\r\n251 y\r\n",
		"2",
		"599 9.9.9 x\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(strings.NewReader(string(data)), 16)
		for {
			rep, err := readReply(r)
			if err != nil {
				return
			}
			if rep.code < 200 || rep.code > 559 {
				t.Fatalf("code %d out of range", rep.code)
			}
			if rep.enhanced != "" && !validEnhancedCode(rep.enhanced) {
				t.Fatalf("enhanced code %q is invalid", rep.enhanced)
			}
			if len(rep.lines) == 0 || len(rep.lines) > maxReplyLines {
				t.Fatalf("%d lines", len(rep.lines))
			}
			for _, line := range rep.lines {
				if strings.Contains(line, "\n") || len(line) > maxReplyLineLength {
					t.Fatalf("line %q has LF or is too long", line)
				}
			}
			parseEHLO(rep)
		}
	})
}
