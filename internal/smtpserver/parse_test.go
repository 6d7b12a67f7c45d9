package smtpserver

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

func TestLineChecker(t *testing.T) {
	cases := []struct {
		name       string
		pieces     []string
		dotStuffed bool
		want       error // nil, or one of the errData values; long lines get errTooLong
	}{
		{"crlf lines", []string{"a\r\nb\r\n"}, false, nil},
		{"empty", nil, false, nil},
		{"last line without crlf", []string{"a\r\nb"}, false, nil},
		{"bare lf", []string{"a\nb\r\n"}, false, errDataBareLF},
		{"bare cr", []string{"a\rb\r\n"}, false, errDataBareCR},
		{"cr cr lf", []string{"a\r\r\n"}, false, errDataBareCR},
		{"crlf split across pieces", []string{"a\r", "\nb\r\n"}, false, nil},
		{"cr then other across pieces", []string{"a\r", "b"}, false, errDataBareCR},
		{"cr at the very end", []string{"a\r"}, false, errDataBareCR},
		{"998 octets", []string{strings.Repeat("a", 998) + "\r\n"}, false, nil},
		{"999 octets", []string{strings.Repeat("a", 999) + "\r\n"}, false, errTooLong},
		{"999 split", []string{strings.Repeat("a", 500), strings.Repeat("a", 499)}, false,
			errTooLong},
		{"stuffed dot not counted", []string{"." + strings.Repeat("a", 998) + "\r\n"}, true,
			nil},
		{"dot counted without stuffing", []string{"." + strings.Repeat("a", 998) + "\r\n"},
			false, errTooLong},
		{"only the first dot is stuffing", []string{".." + strings.Repeat("a", 998) + "\r\n"},
			true, errTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c lineChecker
			c.reset(1000, tc.dotStuffed)
			var got error
			for _, p := range tc.pieces {
				if got = c.write([]byte(p)); got != nil {
					break
				}
			}
			if got == nil {
				got = c.finish()
			}

			switch {
			case tc.want == errTooLong:
				if got == nil || !strings.Contains(got.Error(), "longer than 1000") {
					t.Errorf("got %v, want the line length error", got)
				}
			case got != tc.want:
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// errTooLong marks the expected line length error in TestLineChecker.
var errTooLong = errDataLineTooLong(1)

func TestEndDetector(t *testing.T) {
	cases := []struct {
		input string
		want  int // octets up to and including the end marker, or -1
	}{
		{".\r\n", 3},
		{"a\r\n.\r\nMAIL", 6},
		{"a\n.\n", -1},
		{"a\n.\r\n", -1},
		{"a\r.\r\n", -1},
		{"a\r\n.\n", -1},
		{"a\r\n.\rX\r\n", -1},
		{"a\r\n..\r\n", -1},
		{"a\r\r\n.\r\n", 7},
		{"a\r\n.\r\r\n.\r\n", 10},
		{"\r\n.\r\n", 5},
	}
	for _, tc := range cases {
		var d endDetector
		n, done := d.scan([]byte(tc.input))
		got := -1
		if done {
			got = n
		}
		if got != tc.want {
			t.Errorf("scan(%q) = %d, want %d", tc.input, got, tc.want)
		}
	}
}

func TestParseBDAT(t *testing.T) {
	cases := []struct {
		line string
		size int64
		last bool
		ok   bool
	}{
		{"BDAT 10", 10, false, true},
		{"bdat 0 last", 0, true, true},
		{"BDAT  42   LAST ", 42, true, true},
		{"BDAT 4294967295 LAST", 4294967295, true, true},
		{"BDAT 4294967296", 0, false, false},
		{"BDAT", 0, false, false},
		{"BDAT ", 0, false, false},
		{"BDAT -1", 0, false, false},
		{"BDAT x", 0, false, false},
		{"BDAT 1 FIRST", 0, false, false},
		{"BDAT 1 LAST x", 0, false, false},
		{"BDATX 1", 0, false, false},
		{"BDAT\t1", 0, false, false},
	}
	for _, tc := range cases {
		size, last, ok := parseBDAT(tc.line)
		if size != tc.size || last != tc.last || ok != tc.ok {
			t.Errorf("parseBDAT(%q) = %d, %v, %v; want %d, %v, %v", tc.line, size, last, ok,
				tc.size, tc.last, tc.ok)
		}
	}
}

func TestCommandVerb(t *testing.T) {
	cases := map[string]string{
		"MAIL FROM:<a@b>\r\n":  "MAIL",
		"mail from:<a@b>\r\n":  "MAIL",
		"DATA\r\n":             "DATA",
		"STARTTLS\r\n":         "STARTTLS",
		"starttlsx\r\n":        "STARTTLS",
		"MAILFROM:<a@b>\r\n":   "MAILFROM:<A@B>",
		"MAIL\tFROM:<a@b>\r\n": "MAIL\tFROM:<A@B>",
		"QUIT\r\n":             "QUIT",
		"\r\n":                 "",
	}
	for line, want := range cases {
		if got := commandVerb([]byte(line)); got != want {
			t.Errorf("commandVerb(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestCommandProblem(t *testing.T) {
	cases := map[string]error{
		"NOOP\r\n":        nil,
		"NOOP\n":          errCommandBareLF,
		"NOOP\r":          errCommandBareLF,
		"NO\rOP\r\n":      errCommandBareCR,
		"NOOP\r\r\n":      errCommandBareCR,
		"\n":              errCommandBareLF,
		"MAIL\x00\r\n":    nil,
		"EHLO é.test\r\n": nil,
	}
	for line, want := range cases {
		if got := commandProblem([]byte(line)); got != want {
			t.Errorf("commandProblem(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestScanHeader(t *testing.T) {
	cases := []struct {
		name string
		msg  string
		want headerSummary
	}{
		{"plain", "Subject: x\r\nDate: now\r\n\r\nbody\r\n",
			headerSummary{end: 23, hasDate: true}},
		{"received counted, folded lines skipped",
			"Received: a\r\n b\r\nreceived : c\r\nRECEIVED:d\r\n\r\nReceived: body\r\n",
			headerSummary{end: 43, received: 3}},
		{"message-id kept for logs", "Message-ID:  <x@y>\r\n\r\n",
			headerSummary{end: 20, hasMessageID: true, messageID: "<x@y>"}},
		{"no blank line", "Subject: x\r\n", headerSummary{end: 12}},
		{"body without header", "hello there\r\n", headerSummary{end: 0}},
		{"header then non-field line", "Subject: x\r\nnot a field\r\n",
			headerSummary{end: 12}},
		{"empty header", "\r\nbody\r\n", headerSummary{end: 0}},
		{"empty message", "", headerSummary{end: 0}},
		{"folded start", " x\r\nSubject: y\r\n\r\n",
			headerSummary{end: 16, foldedStart: true}},
		{"field name with space is no field", "Sub ject: x\r\n\r\n", headerSummary{end: 0}},
		{"date in body not seen", "Subject: x\r\n\r\nDate: y\r\n", headerSummary{end: 12}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := scanHeader([]byte(tc.msg)); got != tc.want {
				t.Errorf("scanHeader(%q) = %+v, want %+v", tc.msg, got, tc.want)
			}
		})
	}
}

func TestBuildReceived(t *testing.T) {
	date := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	tlsState := &tls.ConnectionState{Version: tls.VersionTLS13,
		CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	v4 := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}
	v6 := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1234}

	cases := []struct {
		name string
		info receivedInfo
		want string
	}{
		{"single recipient",
			receivedInfo{helo: "client.example", remote: v4, hostname: "mx.test",
				protocol: "ESMTPSA", tls: tlsState, id: "abc", recipient: "bob@court.test",
				date: date},
			"Received: from client.example ([192.0.2.1])\r\n" +
				"\tby mx.test with ESMTPSA (TLS 1.3 cipher TLS_AES_128_GCM_SHA256)\r\n" +
				"\tid abc for <bob@court.test>;\r\n" +
				"\tFri, 02 Jan 2026 15:04:05 +0000\r\n"},
		{"no recipient, IPv6",
			receivedInfo{helo: "[IPv6:2001:db8::1]", remote: v6, hostname: "mx.test",
				protocol: "ESMTPS", tls: tlsState, id: "abc", date: date},
			"Received: from [IPv6:2001:db8::1] ([IPv6:2001:db8::1])\r\n" +
				"\tby mx.test with ESMTPS (TLS 1.3 cipher TLS_AES_128_GCM_SHA256)\r\n" +
				"\tid abc;\r\n" +
				"\tFri, 02 Jan 2026 15:04:05 +0000\r\n"},
		{"hostile HELO goes into a comment",
			receivedInfo{helo: "x(y);by evil", remote: v4, hostname: "mx.test",
				protocol: "SMTP", id: "abc", recipient: "a b@c", date: date},
			"Received: from [192.0.2.1] ([192.0.2.1] HELO x?y?;by?evil)\r\n" +
				"\tby mx.test with SMTP\r\n" +
				"\tid abc;\r\n" +
				"\tFri, 02 Jan 2026 15:04:05 +0000\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(buildReceived(tc.info)); got != tc.want {
				t.Errorf("buildReceived =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestCleanHELO(t *testing.T) {
	cases := map[string]bool{
		"client.example":       true,
		"mail-1.under_score.x": true,
		"[192.0.2.1]":          true,
		"[IPv6:2001:db8::1]":   true,
		"":                     false,
		"a..b":                 false,
		"a b":                  false,
		"evil;x":               false,
		"[]":                   false,
		"[1.2.3.4)":            false,
		"caf\u00e9.example":    false,
	}
	for helo, want := range cases {
		if _, got := cleanHELO(helo); got != want {
			t.Errorf("cleanHELO(%q) = %v, want %v", helo, got, want)
		}
	}
}

func TestDecorateAddsMissingFields(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	msg := []byte("Subject: x\r\nDate: kept\r\n\r\nbody\r\n")
	out, id := decorate(msg, scanHeader(msg), []byte("Received: r\r\n"), "mx.test", now)

	want := "Received: r\r\nSubject: x\r\nDate: kept\r\nMessage-ID: " + id + "\r\n\r\nbody\r\n"
	if string(out) != want {
		t.Errorf("decorate =\n%q\nwant\n%q", out, want)
	}
	if !strings.HasSuffix(id, "@mx.test>") || !strings.HasPrefix(id, "<") {
		t.Errorf("generated Message-ID %q is not <random@mx.test>", id)
	}
}

func TestLoginServerSteps(t *testing.T) {
	var gotUser, gotPass string
	auth := func(identity, user, pass string) error {
		gotUser, gotPass = user, pass
		return nil
	}

	l := newLoginServer(auth)
	if ch, done, err := l.Next(nil); string(ch) != "Username:" || done || err != nil {
		t.Fatalf("first step = %q, %v, %v; want the Username: challenge", ch, done, err)
	}
	if ch, done, err := l.Next([]byte("u")); string(ch) != "Password:" || done || err != nil {
		t.Fatalf("second step = %q, %v, %v; want the Password: challenge", ch, done, err)
	}
	if _, done, err := l.Next([]byte("p")); !done || err != nil {
		t.Fatalf("third step = %v, %v; want done", done, err)
	}
	if gotUser != "u" || gotPass != "p" {
		t.Errorf("authenticated %q/%q, want u/p", gotUser, gotPass)
	}
	if _, _, err := l.Next([]byte("x")); err == nil {
		t.Error("a fourth response was accepted")
	}
}
