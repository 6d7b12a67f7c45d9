package address

import (
	"fmt"
	"strings"
)

// ValidateSuffix checks a community suffix such as "cjsm.net". It must be a
// valid domain (see ParseDomain) written in canonical form, lower-case
// A-labels without a trailing dot, so that suffix comparisons are plain
// string comparisons. Errors are *Error values with Kind "community suffix".
func ValidateSuffix(suffix string) error {
	canonical, f := parseDomain(suffix)
	if f != nil {
		return f.error("community suffix", suffix)
	}
	if canonical != suffix {
		return fail(RuleNotCanonical, fmt.Sprintf("write it as %q", canonical),
			"the suffix is not in canonical form").error("community suffix", suffix)
	}
	return nil
}

// IsUnderSuffix reports whether domain lies strictly below suffix:
// "firm.example.cjsm.net" and "org.cjsm.net" are under "cjsm.net", but
// "cjsm.net" itself and "notcjsm.net" are not. Both arguments are
// normalised first, and the result is false when either is invalid.
func IsUnderSuffix(domain, suffix string) bool {
	d, f := parseDomain(domain)
	if f != nil {
		return false
	}
	s, f := parseDomain(suffix)
	if f != nil {
		return false
	}
	return strings.HasSuffix(d, "."+s)
}

// CommunityForm returns the community form of a gateway user's address:
// jane@firm.example becomes jane@firm.example.cjsm.net for the suffix
// "cjsm.net". An address already at or under the suffix, such as a hosted
// address or postmaster@cjsm.net, is returned unchanged. The suffix must pass
// ValidateSuffix. The error reports an invalid a, an invalid suffix, or a
// community form longer than 254 octets.
func CommunityForm(a Address, suffix string) (Address, error) {
	if err := ValidateSuffix(suffix); err != nil {
		return Address{}, err
	}
	parsed, err := Parse(a.String())
	if err != nil {
		return Address{}, err
	}
	if parsed.Domain == suffix || strings.HasSuffix(parsed.Domain, "."+suffix) {
		return parsed, nil
	}

	community := parsed.Local + "@" + parsed.Domain + "." + suffix
	result, f := parse(community)
	if f != nil {
		return Address{}, &Error{
			Kind:    "address",
			Input:   a.String(),
			Rule:    f.rule,
			Problem: fmt.Sprintf("its community form %q is invalid: %s", community, f.problem),
			Fix:     "use a shorter address, because the community form adds the suffix",
		}
	}
	return result, nil
}

// PlainForm returns the address that a community-form address stands for:
// jane@firm.example.cjsm.net becomes jane@firm.example for the suffix
// "cjsm.net". It reverses CommunityForm. The result is false when a is not
// under the suffix, when the suffix fails ValidateSuffix, or when what
// remains is not a valid domain of its own or is itself under the suffix.
// A hosted address such as jane.smith@org.cjsm.net therefore has no plain
// form, because "org" is a single label.
func PlainForm(a Address, suffix string) (Address, bool) {
	if ValidateSuffix(suffix) != nil {
		return Address{}, false
	}
	domain, f := parseDomain(a.Domain)
	if f != nil {
		return Address{}, false
	}
	plain, ok := strings.CutSuffix(domain, "."+suffix)
	if !ok {
		return Address{}, false
	}
	if _, f := parseDomain(plain); f != nil {
		return Address{}, false
	}
	if plain == suffix || strings.HasSuffix(plain, "."+suffix) {
		return Address{}, false
	}
	return Address{Local: a.Local, Domain: plain}, true
}
