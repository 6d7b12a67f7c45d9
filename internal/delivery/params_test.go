package delivery

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeXtext(t *testing.T) {
	tests := map[string]string{
		"":                   "",
		"queue-42@cjsm.test": "queue-42@cjsm.test",
		"a+b=c":              "a+2Bb+3Dc",
		"two words":          "two+20words",
		"tab\there":          "tab+09here",
		"é":                  "+C3+A9",
		"\x7f":               "+7F",
	}
	for in, want := range tests {
		if got := encodeXtext(in); got != want {
			t.Errorf("encodeXtext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatORcpt(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"jane@firm.test", "rfc822;jane@firm.test"},
		{"rfc822;jane@firm.test", "rfc822;jane@firm.test"},
		{"RFC822;jane+tag@firm.test", "rfc822;jane+2Btag@firm.test"},
		{"jöran@firm.test", `utf-8;j\x{F6}ran@firm.test`},
		{"utf-8;a=b@firm.test", `utf-8;a\x{3D}b@firm.test`},
		{`rfc822;"a\b"@firm.test`, `rfc822;"a\b"@firm.test`},
		{`utf-8;"a\b"@firm.test`, `utf-8;"a\x{5C}b"@firm.test`},
	}
	for _, tt := range tests {
		got, err := formatORcpt(tt.in)
		if err != nil {
			t.Errorf("formatORcpt(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("formatORcpt(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatORcptRejects(t *testing.T) {
	tests := map[string]string{
		"rfc822;":                       "no address",
		"x400;c=gb":                     "address type",
		"jane@firm.test\r\nRSET":        "control character",
		"\xff@firm.test":                "invalid UTF-8",
		strings.Repeat("a", 600) + "@x": "more than the 500",
	}
	for in, want := range tests {
		_, err := formatORcpt(in)
		if err == nil {
			t.Errorf("formatORcpt(%.30q) accepted it", in)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("formatORcpt(%.30q) error %q does not contain %q", in, err, want)
		}
	}
}

func TestFormatNotify(t *testing.T) {
	valid := map[string]string{
		"NEVER":                 "NEVER",
		"success,failure":       "SUCCESS,FAILURE",
		" DELAY , SUCCESS ":     "DELAY,SUCCESS",
		"FAILURE,DELAY,SUCCESS": "FAILURE,DELAY,SUCCESS",
	}
	for in, want := range valid {
		got, err := formatNotify(in)
		if err != nil || got != want {
			t.Errorf("formatNotify(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ALWAYS", "NEVER,SUCCESS", "SUCCESS,SUCCESS",
		"SUCCESS,,FAILURE", "SUCCESS FAILURE"} {
		if got, err := formatNotify(in); err == nil {
			t.Errorf("formatNotify(%q) = %q, want an error", in, got)
		}
	}
}

func TestFormatRet(t *testing.T) {
	for in, want := range map[string]string{"": "", "full": "FULL", "HDRS": "HDRS"} {
		got, err := formatRet(in)
		if err != nil || got != want {
			t.Errorf("formatRet(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := formatRet("HEADERS"); err == nil {
		t.Error("formatRet(HEADERS) accepted it")
	}
}

func TestCheckEnvID(t *testing.T) {
	for _, ok := range []string{"", "q-1 2", strings.Repeat("x", maxEnvIDLength)} {
		if err := checkEnvID(ok); err != nil {
			t.Errorf("checkEnvID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"a\r\nb", "é", strings.Repeat("x", maxEnvIDLength+1)} {
		if err := checkEnvID(bad); err == nil {
			t.Errorf("checkEnvID(%.20q) accepted it", bad)
		}
	}
}

func TestMailParams(t *testing.T) {
	all := map[string]string{"SIZE": "1000", "8BITMIME": "", "DSN": "", "SMTPUTF8": "",
		"REQUIRETLS": ""}
	p := &preparedEnvelope{smtpUTF8: true, requireTLS: true, ret: "HDRS", envID: "q+1"}

	got := mailParams(all, p, 123, true)
	want := []string{"SIZE=123", "BODY=8BITMIME", "SMTPUTF8", "REQUIRETLS", "RET=HDRS",
		"ENVID=q+2B1"}
	if !slices.Equal(got, want) {
		t.Errorf("mailParams with every extension = %q, want %q", got, want)
	}

	// Without the DSN extension, the DSN parameters are left out (RFC 3461
	// section 4), and 7-bit data needs no BODY.
	got = mailParams(map[string]string{"SIZE": ""}, &preparedEnvelope{ret: "FULL", envID: "x"},
		5, false)
	if !slices.Equal(got, []string{"SIZE=5"}) {
		t.Errorf("mailParams without DSN = %q, want [SIZE=5]", got)
	}
}

func TestRcptParams(t *testing.T) {
	p := &preparedEnvelope{
		to:     []string{"a@x.test", "b@x.test"},
		notify: []string{"SUCCESS,FAILURE", ""},
		orcpt:  []string{"rfc822;a@x.test", ""},
	}
	got := rcptParams(map[string]string{"DSN": ""}, p, 0)
	if !slices.Equal(got, []string{"NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;a@x.test"}) {
		t.Errorf("rcptParams = %q", got)
	}
	if got := rcptParams(map[string]string{"DSN": ""}, p, 1); len(got) != 0 {
		t.Errorf("rcptParams without values = %q, want none", got)
	}
	if got := rcptParams(map[string]string{}, p, 0); len(got) != 0 {
		t.Errorf("rcptParams without DSN = %q, want none", got)
	}
}

// decodeXtext reverses encodeXtext, for the round-trip fuzz test.
func decodeXtext(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

// FuzzEncodeXtext checks that xtext output is safe on a command line and
// decodes to the input.
func FuzzEncodeXtext(f *testing.F) {
	for _, seed := range []string{"", "queue-42", "a+b=c", "\r\n", "é\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := encodeXtext(in)
		requireCommandSafe(t, out)
		if decoded, ok := decodeXtext(out); !ok || decoded != in {
			t.Fatalf("encodeXtext(%q) = %q decodes to %q", in, out, decoded)
		}
	})
}

// FuzzFormatORcpt checks that an accepted ORCPT value is safe on a command
// line and within the length limit.
func FuzzFormatORcpt(f *testing.F) {
	for _, seed := range []string{"jane@firm.test", "utf-8;jöran@firm.test", "rfc822;",
		"x;y", "a\r\nb", `"a\b"@x`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := formatORcpt(in)
		if err != nil {
			return
		}
		requireCommandSafe(t, out)
		if len(out) > maxORcptLength {
			t.Fatalf("formatORcpt(%q) is %d octets", in, len(out))
		}
		if !strings.HasPrefix(out, "rfc822;") && !strings.HasPrefix(out, "utf-8;") {
			t.Fatalf("formatORcpt(%q) = %q has no known type", in, out)
		}
	})
}

// FuzzFormatNotify checks that an accepted NOTIFY value holds only keywords.
func FuzzFormatNotify(f *testing.F) {
	for _, seed := range []string{"NEVER", "success,delay", "NEVER,SUCCESS", "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := formatNotify(in)
		if err != nil {
			return
		}
		for keyword := range strings.SplitSeq(out, ",") {
			if !slices.Contains([]string{"NEVER", "SUCCESS", "FAILURE", "DELAY"}, keyword) {
				t.Fatalf("formatNotify(%q) = %q", in, out)
			}
		}
	})
}

// requireCommandSafe fails when s could end or split an SMTP command
// parameter: any space, control character, or octet outside ASCII.
func requireCommandSafe(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%q is not valid UTF-8", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			t.Fatalf("%q has the octet %#02x", s, s[i])
		}
	}
}
