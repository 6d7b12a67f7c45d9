package imapserver

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShortenQuoted(t *testing.T) {
	long := strings.Repeat("x", 5000)
	cut := `"` + strings.Repeat("x", maxQuotedEcho) + `..."`
	tests := []struct{ name, text, want string }{
		{"no quotes", "INBOX cannot be deleted", "INBOX cannot be deleted"},
		{"short name kept", `"Cases" is empty`, `"Cases" is empty`},
		{"long name cut", strconv.Quote(long) + " is longer than 512 bytes",
			cut + " is longer than 512 bytes"},
		{"second value cut", `cannot rename "a" to ` + strconv.Quote(long),
			`cannot rename "a" to ` + cut},
		{"unterminated quote kept", `bad "` + long[:10], `bad "` + long[:10]},
		{"name of exactly the limit kept", strconv.Quote(long[:maxQuotedEcho]),
			strconv.Quote(long[:maxQuotedEcho])},
		{"multibyte characters counted once", strconv.Quote(strings.Repeat("é", 150)),
			strconv.Quote(strings.Repeat("é", maxQuotedEcho) + "...")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := shortenQuoted(tc.text); got != tc.want {
				t.Errorf("shortenQuoted(%.60q...) = %.200q, want %.200q", tc.text, got, tc.want)
			}
		})
	}
}

func FuzzShortenQuoted(f *testing.F) {
	f.Add(`"` + strings.Repeat("x", 300) + `" is longer than 512 bytes`)
	f.Add(`cannot rename "a\"b" into itself`)
	f.Add(`"\xff" bad`)
	f.Fuzz(func(t *testing.T, text string) {
		got := shortenQuoted(text)
		for rest := got; ; {
			i := strings.IndexByte(rest, '"')
			if i < 0 {
				break
			}
			quoted, err := strconv.QuotedPrefix(rest[i:])
			if err != nil {
				break
			}
			rest = rest[i+len(quoted):]
			value, err := strconv.Unquote(quoted)
			if err == nil && utf8.RuneCountInString(value) > maxQuotedEcho+len("...") {
				t.Errorf("shortenQuoted(%q) kept the %d-character value %q", text,
					utf8.RuneCountInString(value), value)
			}
		}
		if utf8.ValidString(text) && !utf8.ValidString(got) {
			t.Errorf("valid UTF-8 %q became invalid %q", text, got)
		}
	})
}
