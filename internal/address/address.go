// Package address parses, validates and normalises mail addresses, and
// derives community and hosted addresses from them. The relay, the directory
// and the administration commands all apply these rules, and nothing here
// reads the store.
//
// Domains are kept in canonical form (lower case, A-labels, no trailing dot).
// Local parts are kept as given. Key and Address.Equal compare them
// without regard to case.
package address

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Address is a mailbox, local@domain. Values returned by Parse and ParsePath
// have the Domain in canonical form and the Local part exactly as given,
// including any quotes and backslash escapes. The zero Address is the null
// reverse path "<>".
type Address struct {
	Local  string
	Domain string
}

// String returns the address as local@domain, or "" for the zero Address.
func (a Address) String() string {
	if a.IsZero() {
		return ""
	}
	return a.Local + "@" + a.Domain
}

// IsZero reports whether a is the zero Address, the null reverse path.
func (a Address) IsZero() bool {
	return a.Local == "" && a.Domain == ""
}

// Path returns the address in angle brackets as MAIL FROM and RCPT TO carry
// it, and "<>" for the zero Address.
func (a Address) Path() string {
	return "<" + a.String() + ">"
}

// Unicode returns the address with the domain in U-labels, for display. A
// domain that does not convert is shown as its A-labels.
func (a Address) Unicode() string {
	if a.IsZero() {
		return ""
	}
	return a.Local + "@" + domainUnicode(a.Domain)
}

// NeedsSMTPUTF8 reports whether sending a requires the SMTPUTF8 extension
// (RFC 6531) because a contains non-ASCII characters. For a parsed Address
// only the local part can, because its domain is in A-labels.
func (a Address) NeedsSMTPUTF8() bool {
	return !isASCII(a.Local) || !isASCII(a.Domain)
}

// Equal reports whether a and b name the same mailbox in the community, that
// is whether their Keys are equal.
func (a Address) Equal(b Address) bool {
	return Key(a) == Key(b)
}

// Key returns the lookup key of a parsed address for the directory and for
// comparisons. RFC 5321 section 2.4 lets the receiving system treat local
// parts as case-sensitive, but the community treats them case-insensitively,
// so Key folds the local part to lower case. It also applies Unicode NFC, so
// that composed and decomposed spellings of a letter match, and writes a
// quoted local part unquoted when it can be (`"jane"` becomes `jane`). Dots and
// "+" tags are not removed. The key can exceed the length limits when lower
// casing lengthens a character, so it is not always a valid address.
func Key(a Address) string {
	if a.IsZero() {
		return ""
	}
	content := strings.ToLower(norm.NFC.String(unquoteLocal(a.Local)))
	return quoteLocal(content) + "@" + strings.ToLower(a.Domain)
}

// Parse parses a mailbox as RFC 5321 section 4.1.2 defines it, local@domain,
// without display name or angle brackets. The local part is a Dot-string or
// a Quoted-string of at most 64 octets and may contain UTF-8 (RFC 6531). The
// domain must pass ParseDomain, so address literals are rejected. The whole
// address, with its domain in A-labels, is at most 254 octets. Errors are
// *Error values with Kind "address".
func Parse(s string) (Address, error) {
	a, f := parse(s)
	if f != nil {
		return Address{}, f.error("address", s)
	}
	return a, nil
}

func parse(s string) (Address, *failure) {
	if f := checkAddressInput(s); f != nil {
		return Address{}, f
	}

	local, domain, f := splitAddress(s)
	if f != nil {
		return Address{}, f
	}
	if f := checkLocal(local); f != nil {
		return Address{}, f
	}
	domain, f = parseDomain(domain)
	if f != nil {
		return Address{}, f
	}

	a := Address{Local: local, Domain: domain}
	if n := len(a.String()); n > MaxAddressLength {
		return Address{}, fail(RuleTooLong, "use a shorter address",
			"the address is %d octets, more than the %d allowed", n, MaxAddressLength)
	}
	return a, nil
}

// checkAddressInput applies the checks that come before splitting the
// address at its "@".
func checkAddressInput(s string) *failure {
	switch {
	case s == "":
		return fail(RuleEmpty, "give an address of the form name@domain", "the address is empty")
	case len(s) > maxInputLength:
		return fail(RuleTooLong, "use a shorter address",
			"the address is %d octets, more than the %d allowed", len(s), MaxAddressLength)
	case !utf8.ValidString(s):
		return fail(RuleEncoding, "send the address encoded as UTF-8",
			"the address is not valid UTF-8")
	case strings.TrimSpace(s) != s:
		return fail(RuleSpace, "remove the white space", "white space surrounds the address")
	case strings.HasPrefix(s, "<") || strings.HasSuffix(s, ">"):
		return fail(RuleAngleBrackets, "give the bare address, as in name@domain",
			"the address has angle brackets or a display name")
	}
	return nil
}

// ParsePath parses a reverse-path or forward-path as MAIL FROM and RCPT TO
// carry it (RFC 5321 section 4.1.2): a mailbox in angle brackets. The null
// path "<>" returns the zero Address and a nil error. A source route, as in
// "<@relay.example:jane@firm.example>", is dropped after a check of its form,
// because RFC 5321 section 4.1.1.3 has servers accept source routes and
// ignore them. The special
// recipient "<Postmaster>" has no domain, so it is rejected here and left to
// the caller. Errors are *Error values with Kind "path".
func ParsePath(s string) (Address, error) {
	if s == "<>" {
		return Address{}, nil
	}
	if len(s) < 2 || s[0] != '<' || s[len(s)-1] != '>' {
		return Address{}, fail(RuleAngleBrackets,
			"write it as <name@domain>, or <> for the null path",
			"the path is not enclosed in angle brackets").error("path", s)
	}

	mailbox, f := dropSourceRoute(s[1 : len(s)-1])
	if f != nil {
		return Address{}, f.error("path", s)
	}
	a, f := parse(mailbox)
	if f != nil {
		return Address{}, f.error("path", s)
	}
	return a, nil
}

// dropSourceRoute removes an A-d-l, "@one.example,@two.example:", from the
// start of a path's content (RFC 5321 section 4.1.2 and appendix C).
func dropSourceRoute(s string) (string, *failure) {
	if !strings.HasPrefix(s, "@") {
		return s, nil
	}
	route, mailbox, found := strings.Cut(s, ":")
	if !found {
		return "", fail(RuleSourceRoute, "remove the source route, which is ignored anyway",
			`the source route does not end with ":"`)
	}
	for hop := range strings.SplitSeq(route, ",") {
		domain, ok := strings.CutPrefix(hop, "@")
		if !ok || domain == "" || strings.ContainsAny(domain, "@<> ") {
			return "", fail(RuleSourceRoute,
				"remove the source route, which is ignored anyway",
				"the source route contains the malformed hop %q", hop)
		}
	}
	return mailbox, nil
}

// Normalize parses s and returns its canonical form: the domain in lower-case
// A-labels, the local part exactly as given. The local part keeps its case
// because RFC 5321 section 2.4 allows the receiving system to treat it as
// case-sensitive, and for a gateway user that system is the organisation's
// own. Use Key to compare addresses.
func Normalize(s string) (string, error) {
	a, err := Parse(s)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}
