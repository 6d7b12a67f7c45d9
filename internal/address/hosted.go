package address

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxHostedCandidates is the number of local parts HostedAddress tries:
// first.last, then first.last2 up to first.last999.
const MaxHostedCandidates = 999

// fallbackSlug is the slug of a name that has no letters or digits in ASCII.
const fallbackSlug = "org"

// apostrophes are dropped from names instead of separating words, so that
// "St. Mary's" gives "marys" and "O'Brien" gives "obrien". The acute accent
// and the grave accent appear here because people type them as apostrophes.
const apostrophes = "'\u2018\u2019\u02bc\u02bb\u0060\u00b4\u2032"

// letterFolds spells letters that Unicode decomposition leaves alone.
var letterFolds = map[rune]string{
	'ß': "ss", 'ẞ': "SS", 'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE",
	'ø': "o", 'Ø': "O", 'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D",
	'ð': "d", 'Ð': "D", 'þ': "th", 'Þ': "Th", 'ı': "i", 'ħ': "h", 'Ħ': "H",
}

// Slug turns an organisation name into a DNS label for its hosted domain:
// "St. Mary's Victim Support (North)" becomes "st-marys-victim-support-north".
// Accents are folded to ASCII ("é" to "e", "ß" to "ss"), "&" becomes "and",
// apostrophes are dropped and every other run of characters outside a-z and
// 0-9 becomes one hyphen. A result longer than 63 octets is cut at the last
// hyphen that fits, or at 63 octets when no hyphen fits. A name with no usable
// characters, such as one written only in a non-Latin script, gives "org".
// The result always passes ValidateSlug, and Slug(Slug(name)) equals
// Slug(name).
func Slug(name string) string {
	folded := strings.ReplaceAll(foldToASCII(name), "&", " and ")

	var b strings.Builder
	pendingHyphen := false
	for i := 0; i < len(folded); i++ {
		c := lowerASCII(folded[i])
		if !isLowerAlnum(c) {
			pendingHyphen = true
			continue
		}
		if pendingHyphen && b.Len() > 0 {
			b.WriteByte('-')
		}
		pendingHyphen = false
		b.WriteByte(c)
	}

	slug := cutAtHyphen(b.String(), MaxLabelLength)
	if slug == "" {
		return fallbackSlug
	}
	return slug
}

// ValidateSlug checks that slug can serve as an organisation's label under
// the community suffix: one lower-case ASCII label of letters, digits and
// hyphens, 1 to 63 octets, without a hyphen at either end. Errors are
// *Error values with Kind "organisation slug".
func ValidateSlug(slug string) error {
	if slug == "" {
		return fail(RuleEmpty, "derive one from the organisation name with Slug",
			"the slug is empty").error("organisation slug", slug)
	}
	if !isASCII(slug) {
		return fail(RuleLabelCharacter, "derive it with Slug, which folds accents to ASCII",
			"the slug contains non-ASCII characters").error("organisation slug", slug)
	}
	if f := checkLabel(slug, slug); f != nil {
		return f.error("organisation slug", slug)
	}
	if strings.ToLower(slug) != slug {
		return fail(RuleNotCanonical, fmt.Sprintf("write it as %q", strings.ToLower(slug)),
			"the slug contains upper-case letters").error("organisation slug", slug)
	}
	return nil
}

// HostedLocalPart returns the local part of a hosted user's address,
// first.last in lower-case ASCII: "Zoë" and "O'Brien" give "zoe.obrien".
// Accents are folded, apostrophes dropped, hyphens kept for double-barrelled
// names, white space inside a name becomes a hyphen ("Mary Ann" gives
// "mary-ann"), and other characters are dropped. When only one name has
// usable characters the result is that name alone, and when neither has,
// the result is "". It is at most 64 octets.
func HostedLocalPart(first, last string) string {
	parts := make([]string, 0, 2)
	for _, name := range []string{first, last} {
		if part := hostedNamePart(name); part != "" {
			parts = append(parts, part)
		}
	}
	return trimLocalPart(strings.Join(parts, "."), MaxLocalLength)
}

// hostedNamePart folds one name to lower-case ASCII letters, digits and
// single inner hyphens.
func hostedNamePart(name string) string {
	var b strings.Builder
	pendingHyphen := false
	for _, r := range foldToASCII(name) {
		switch {
		case r <= unicode.MaxASCII && isLowerAlnum(lowerASCII(byte(r))):
			if pendingHyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			pendingHyphen = false
			b.WriteByte(lowerASCII(byte(r)))
		case r == '-' || unicode.Is(unicode.Pd, r) || unicode.IsSpace(r):
			pendingHyphen = true
		}
	}
	return b.String()
}

// HostedAddress picks a free address for a hosted user:
// first.last@<orgSlug>.<suffix>, using HostedLocalPart. When taken reports the
// candidate as used, it tries first.last2, first.last3 and so on up to
// first.last999, in that order, so that the same set of taken addresses
// always yields the same result. A local part is shortened before the number when it would
// otherwise exceed the length limits. taken receives each candidate in
// canonical form, all lower case, which equals its Key. A nil taken treats
// every candidate as free.
//
// The error reports an invalid suffix or slug, a name without usable
// characters (Rule RuleHostedName), or that all 999 candidates are taken
// (Rule RuleNoFreeAddress).
func HostedAddress(first, last, orgSlug, suffix string,
	taken func(string) bool) (Address, error) {
	if err := ValidateSuffix(suffix); err != nil {
		return Address{}, err
	}
	if err := ValidateSlug(orgSlug); err != nil {
		return Address{}, err
	}
	domain := orgSlug + "." + suffix
	if _, err := ParseDomain(domain); err != nil {
		return Address{}, err
	}

	// The local part must leave room for "@", the domain and a number.
	maxLocal := min(MaxLocalLength, MaxAddressLength-len("@")-len(domain))
	if maxLocal <= len(strconv.Itoa(MaxHostedCandidates)) {
		return Address{}, &Error{
			Kind:  "domain",
			Input: domain,
			Rule:  RuleTooLong,
			Problem: fmt.Sprintf("the hosted domain is %d octets, too long to leave "+
				"room for a local part", len(domain)),
			Fix: "use a shorter organisation slug",
		}
	}

	base := trimLocalPart(HostedLocalPart(first, last), maxLocal)
	if base == "" {
		return Address{}, &Error{
			Kind:    "name",
			Input:   strings.TrimSpace(first + " " + last),
			Rule:    RuleHostedName,
			Problem: "the name has no letters or digits that can be written in ASCII",
			Fix:     "choose the local part of the hosted address by hand",
		}
	}

	for n := 1; n <= MaxHostedCandidates; n++ {
		local := base
		if n > 1 {
			number := strconv.Itoa(n)
			local = trimLocalPart(base, maxLocal-len(number)) + number
		}
		a, err := Parse(local + "@" + domain)
		if err != nil {
			return Address{}, err
		}
		if taken == nil || !taken(a.String()) {
			return a, nil
		}
	}

	return Address{}, &Error{
		Kind:  "address",
		Input: base + "@" + domain,
		Rule:  RuleNoFreeAddress,
		Problem: fmt.Sprintf("%s and %s2 to %s%d are all taken",
			base, base, base, MaxHostedCandidates),
		Fix: "choose the local part of the hosted address by hand",
	}
}

// foldToASCII drops apostrophes and spells accented letters in ASCII where
// Unicode compatibility decomposition (NFKD) or letterFolds allows. Other
// characters are kept, so the caller decides what to do with them.
func foldToASCII(s string) string {
	isApostrophe := func(r rune) bool { return strings.ContainsRune(apostrophes, r) }

	// Apostrophes go before decomposition, which turns "´" into a space and a
	// combining accent, and again after it, which turns "＇" into "'".
	s = strings.Map(func(r rune) rune {
		if isApostrophe(r) {
			return -1
		}
		return r
	}, s)

	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) || isApostrophe(r) {
			continue
		}
		if spelled, ok := letterFolds[r]; ok {
			b.WriteString(spelled)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cutAtHyphen shortens a slug to at most limit octets, preferring to cut at a
// hyphen so that no word is split, and never leaves a hyphen at the end.
func cutAtHyphen(slug string, limit int) string {
	if len(slug) <= limit {
		return slug
	}
	cut := slug[:limit]
	if slug[limit] != '-' {
		if i := strings.LastIndexByte(cut, '-'); i > 0 {
			cut = cut[:i]
		}
	}
	return strings.TrimRight(cut, "-")
}

// trimLocalPart shortens an ASCII local part to at most limit octets and
// removes any dot or hyphen left at its end.
func trimLocalPart(local string, limit int) string {
	limit = max(limit, 0)
	if len(local) > limit {
		local = local[:limit]
	}
	return strings.TrimRight(local, ".-")
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func isLowerAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}
