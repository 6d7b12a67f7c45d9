package address

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const fixLocalCharacter = "remove it; outside quotes a local part may contain letters, " +
	"digits, dots and !#$%&'*+-/=?^_`{|}~"

// splitAddress splits s at the "@" that ends the local part. A quoted local
// part may itself contain "@", so its closing quote is found first.
func splitAddress(s string) (local, domain string, f *failure) {
	if strings.HasPrefix(s, `"`) {
		end := closingQuote(s)
		if end < 0 {
			return "", "", fail(RuleLocalQuote, `end the quoted local part with " before the "@"`,
				"the quoted local part has no closing quote")
		}
		local, rest := s[:end+1], s[end+1:]
		switch {
		case rest == "":
			return "", "", fail(RuleMissingAt, "use the form name@domain", `there is no "@"`)
		case rest[0] != '@':
			return "", "", fail(RuleLocalQuote, `put the "@" straight after the closing quote`,
				"text follows the closing quote of the local part")
		case strings.Contains(rest[1:], "@"):
			return "", "", fail(RuleMultipleAt, "use the form name@domain",
				`more than one "@"`)
		}
		return local, rest[1:], nil
	}

	switch strings.Count(s, "@") {
	case 0:
		return "", "", fail(RuleMissingAt, "use the form name@domain", `there is no "@"`)
	case 1:
		local, domain, _ = strings.Cut(s, "@")
		return local, domain, nil
	default:
		return "", "", fail(RuleMultipleAt, "use the form name@domain", `more than one "@"`)
	}
}

// closingQuote returns the index of the quote that closes the quoted string at
// the start of s, or -1 when there is none.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// checkLocal checks a local part as RFC 5321 section 4.1.2 defines it
// (Dot-string or Quoted-string), extended by RFC 6531 section 3.3 to allow
// UTF-8 characters outside ASCII.
func checkLocal(local string) *failure {
	if local == "" {
		return fail(RuleLocalEmpty, `put the mailbox name before the "@", as in name@domain`,
			`there is nothing before the "@"`)
	}
	if len(local) > MaxLocalLength {
		return fail(RuleLocalTooLong, "use a shorter mailbox name",
			"the local part is %d octets, more than the %d allowed",
			len(local), MaxLocalLength)
	}
	if local[0] == '"' {
		return checkQuoted(local)
	}
	return checkDotString(local)
}

// checkDotString checks Dot-string = Atom *("." Atom), Atom = 1*atext.
func checkDotString(local string) *failure {
	switch {
	case strings.HasPrefix(local, "."):
		return fail(RuleLocalDot, "remove the leading dot", `the local part starts with "."`)
	case strings.HasSuffix(local, "."):
		return fail(RuleLocalDot, "remove the trailing dot", `the local part ends with "."`)
	case strings.Contains(local, ".."):
		return fail(RuleLocalDot, "remove the extra dot", `the local part contains ".."`)
	}

	for _, r := range local {
		if r == '.' {
			continue
		}
		if f := checkLocalRune(r, false); f != nil {
			return f
		}
	}
	return nil
}

// checkQuoted checks a Quoted-string local part, which splitAddress has
// already found to end with its closing quote.
func checkQuoted(local string) *failure {
	content := local[1 : len(local)-1]

	// RFC 5321 section 4.1.2 allows an empty quoted string, but no mailbox in
	// the community has an empty name.
	if content == "" {
		return fail(RuleLocalEmpty, "put the mailbox name between the quotes",
			"the quoted local part is empty")
	}

	for i := 0; i < len(content); {
		r, size := utf8.DecodeRuneInString(content[i:])
		if r == '\\' {
			// quoted-pairSMTP = %d92 %d32-126: only printable ASCII and space may
			// follow the backslash.
			if i+1 >= len(content) || content[i+1] < 32 || content[i+1] > 126 {
				return fail(RuleLocalQuote, "escape only printable ASCII characters",
					"a backslash in the quoted local part is not followed by a printable "+
						"ASCII character")
			}
			i += 2
			continue
		}
		if f := checkLocalRune(r, true); f != nil {
			return f
		}
		i += size
	}
	return nil
}

// checkLocalRune checks one character of a local part other than a dot in a
// Dot-string or an escape in a Quoted-string.
func checkLocalRune(r rune, quoted bool) *failure {
	if r >= utf8.RuneSelf {
		if !visibleNonASCII(r) {
			return fail(RuleLocalCharacter, "remove it",
				"the local part contains the invisible or control character %U", r)
		}
		return nil
	}

	c := byte(r)
	if quoted && isQtext(c) || !quoted && isAtext(c) {
		return nil
	}
	if quoted {
		return fail(RuleLocalCharacter, `remove it, or escape " and \ with a backslash`,
			"the quoted local part contains %q", string(c))
	}
	return fail(RuleLocalCharacter, fixLocalCharacter,
		"the local part contains %q", string(c))
}

// visibleNonASCII reports whether r may appear in a local part. RFC 6531
// allows any non-ASCII UTF-8, but invisible characters (format controls such
// as U+200B and the bidi overrides, C1 controls, private-use and unassigned
// code points, non-ASCII spaces) would let two addresses that display
// identically differ, so they are rejected. Which code points are assigned
// follows the Unicode version of the Go release that builds cjsm.
func visibleNonASCII(r rune) bool {
	return unicode.IsGraphic(r) && !unicode.Is(unicode.Zs, r)
}

// isAtext reports whether c is atext (RFC 5322 section 3.2.3, used by RFC
// 5321 section 4.1.2).
func isAtext(c byte) bool {
	return isLetterDigit(c) || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isQtext reports whether c is qtextSMTP: printable ASCII or space, except
// the quote and the backslash (RFC 5321 section 4.1.2).
func isQtext(c byte) bool {
	return c >= 32 && c <= 126 && c != '"' && c != '\\'
}

// unquoteLocal returns the content of a local part: a Dot-string as it is, a
// Quoted-string without its quotes and backslash escapes.
func unquoteLocal(local string) string {
	if !strings.HasPrefix(local, `"`) || len(local) < 2 {
		return local
	}
	content := local[1 : len(local)-1]
	if !strings.Contains(content, `\`) {
		return content
	}

	var b strings.Builder
	for i := 0; i < len(content); i++ {
		if content[i] == '\\' && i+1 < len(content) {
			i++
		}
		b.WriteByte(content[i])
	}
	return b.String()
}

// quoteLocal returns the shortest local part whose content is content: the
// content itself when it is a valid Dot-string, else a Quoted-string that
// escapes only the quote and the backslash.
func quoteLocal(content string) string {
	if content != "" && checkDotString(content) == nil {
		return content
	}

	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(content); i++ {
		if c := content[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(content[i])
	}
	b.WriteByte('"')
	return b.String()
}
