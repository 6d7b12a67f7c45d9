package address

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Length limits in octets.
const (
	// MaxAddressLength bounds a mailbox, because RFC 5321 section 4.5.3.1.3
	// limits a path to 256 octets including its two angle brackets.
	MaxAddressLength = 254

	// MaxLocalLength bounds a local part (RFC 5321 section 4.5.3.1.1).
	MaxLocalLength = 64

	// MaxDomainLength bounds a domain written without its trailing dot: RFC 1035
	// section 2.3.4 allows 255 octets in wire form, which is 253 as text.
	MaxDomainLength = 253

	// MaxLabelLength bounds one domain label (RFC 1035 section 2.3.4).
	MaxLabelLength = 63

	// maxInputLength bounds the raw input so that IDNA conversion, whose
	// Punycode step is quadratic in the label length, stays cheap on hostile
	// input. A U-label domain can be longer than its A-label form.
	// NOTE: a name whose U-label form exceeds this, yet whose A-label form
	// fits, is rejected; no such name is known in use.
	maxInputLength = 1024
)

// idnaProfile converts domains to A-labels. It maps input as UTS #46 lookup
// does (case folding, NFC, full-width forms), so that any spelling a resolver
// would accept gives the one A-label that DNS would be asked for. It then
// applies the validity checks of IDNA2008: STD3 rules (letters, digits and
// hyphens only), the hyphen rules of RFC 5891 section 4.2.3.1, the joiner
// rules of RFC 5892 appendix A and the Bidi rule of RFC 5893.
// Non-transitional processing keeps "ß" and "ς" as IDNA2008 defines them
// instead of mapping them to "ss" and "σ". The DNS length limits are left to
// checkASCIIDomain, whose errors name the label and the limit, and the
// IDNA2008 code point rules that the package lacks to checkIDNA2008Label.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.CheckHyphens(true),
	idna.CheckJoiners(true),
)

const (
	fixLabelCharacters = "domain labels may contain only letters, digits and hyphens"
	fixDomainSpelling  = "check the spelling of the domain"
)

// ParseDomain validates a domain name and returns it in canonical form: lower
// case, A-labels (Punycode) in place of U-labels, without a trailing dot. The
// domain needs at least two labels. Each label is 1 to 63 octets of letters,
// digits and hyphens, with no hyphen at either end, and an internationalised
// label must be valid IDNA2008 (RFC 5890 to 5893). Address literals such as
// "[192.0.2.1]" are rejected because the community uses names only. Errors
// are *Error values with Kind "domain".
func ParseDomain(s string) (string, error) {
	domain, f := parseDomain(s)
	if f != nil {
		return "", f.error("domain", s)
	}
	return domain, nil
}

func parseDomain(s string) (string, *failure) {
	if f := checkDomainInput(s); f != nil {
		return "", f
	}

	// ASCII labels are checked before IDNA conversion because the idna
	// package reports only "disallowed rune" or "invalid label".
	trimmed := strings.TrimSuffix(s, ".")
	for label := range strings.SplitSeq(trimmed, ".") {
		if !isASCII(label) {
			continue
		}
		if f := checkLabel(label, trimmed); f != nil {
			return "", f
		}
	}

	ascii, err := idnaProfile.ToASCII(trimmed)
	if err != nil {
		return "", fail(RuleIDNA,
			"check the spelling, or give the A-label (xn--) form that the owner registered",
			"not a valid internationalised domain name (%v)", err)
	}

	// A mapped full stop such as U+3002 can leave a trailing dot behind.
	domain := strings.TrimSuffix(ascii, ".")
	if f := checkASCIIDomain(domain); f != nil {
		return "", f
	}
	if f := checkULabels(domain); f != nil {
		return "", f
	}
	return domain, nil
}

// checkULabels applies checkIDNA2008Label to the U-label form of each A-label
// in domain.
func checkULabels(domain string) *failure {
	if !strings.Contains(domain, "xn--") {
		return nil
	}
	unicodeDomain, err := idnaProfile.ToUnicode(domain)
	if err != nil {
		return fail(RuleIDNA, fixDomainSpelling,
			"not a valid internationalised domain name (%v)", err)
	}
	for label := range strings.SplitSeq(unicodeDomain, ".") {
		if f := checkIDNA2008Label(label); f != nil {
			return f
		}
	}
	return nil
}

// checkDomainInput applies the checks that need no label splitting.
func checkDomainInput(s string) *failure {
	switch {
	case s == "":
		return fail(RuleDomainEmpty, "give a domain name such as firm.example",
			"the domain is missing")
	case strings.HasPrefix(s, "["):
		// RFC 5321 section 4.1.3 defines address literals. The community routes
		// by name only, so they are never valid here.
		return fail(RuleAddressLiteral, "use the domain name of the mail system instead",
			"address literals such as [192.0.2.1] are not accepted")
	case len(s) > maxInputLength:
		return fail(RuleDomainTooLong, "use a shorter domain name",
			"the domain is %d octets, more than the %d allowed", len(s), MaxDomainLength)
	case !utf8.ValidString(s):
		return fail(RuleEncoding, "send the domain encoded as UTF-8",
			"the domain is not valid UTF-8")
	case s == ".":
		return fail(RuleLabelEmpty, fixDomainSpelling, "the domain has no labels")
	}
	return nil
}

// checkASCIIDomain checks a domain after IDNA conversion, so every label is
// ASCII. It repeats the label checks to guarantee the result even where the
// idna package maps its input into something new.
func checkASCIIDomain(domain string) *failure {
	if len(domain) > MaxDomainLength {
		return fail(RuleDomainTooLong, "use a shorter domain name",
			"the domain is %d octets, more than the %d allowed", len(domain), MaxDomainLength)
	}

	labels := strings.Split(domain, ".")
	for _, label := range labels {
		if f := checkLabel(label, domain); f != nil {
			return f
		}
	}
	if len(labels) < 2 {
		return fail(RuleSingleLabel, "give the full domain name, such as firm.example",
			"the domain %q has only one label", domain)
	}

	// RFC 3696 section 2: a top-level domain is never all-numeric, which keeps
	// names apart from IPv4 addresses written without brackets.
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return fail(RuleNumericTLD,
			"give the domain name; IP addresses are not accepted",
			"the top-level label %q is all digits, so the domain reads as an IP address",
			tld)
	}
	return nil
}

// checkLabel checks one ASCII label of domain. The rules are those of a host
// name (RFC 1123 section 2.1, letters, digits and hyphens, first character
// may be a digit) plus the hyphen rules of RFC 5891 section 4.2.3.1.
func checkLabel(label, domain string) *failure {
	if label == "" {
		switch {
		case strings.HasPrefix(domain, "."):
			return fail(RuleLabelEmpty, "remove the leading dot", "the domain starts with \".\"")
		default:
			return fail(RuleLabelEmpty, "remove the extra dot", "the domain contains \"..\"")
		}
	}
	if len(label) > MaxLabelLength {
		return fail(RuleLabelTooLong, "shorten the label",
			"the label %q is %d octets, more than the %d allowed",
			label, len(label), MaxLabelLength)
	}
	for i := 0; i < len(label); i++ {
		if c := label[i]; !isLetterDigit(c) && c != '-' {
			return fail(RuleLabelCharacter, fixLabelCharacters,
				"the label %q contains %q", label, string(c))
		}
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return fail(RuleLabelHyphen, "labels must begin and end with a letter or digit",
			"the label %q starts or ends with \"-\"", label)
	}
	if len(label) >= 4 && label[2:4] == "--" && !strings.EqualFold(label[:2], "xn") {
		return fail(RuleLabelHyphen, fixDomainSpelling,
			"the label %q has \"--\" in the third and fourth positions, "+
				"which are reserved for IDNA labels (RFC 5891 section 4.2.3.1)", label)
	}
	return nil
}

// domainUnicode returns domain with its A-labels converted to U-labels, or
// domain itself when the conversion fails.
func domainUnicode(domain string) string {
	u, err := idnaProfile.ToUnicode(domain)
	if err != nil {
		return domain
	}
	return u
}

func isLetterDigit(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
