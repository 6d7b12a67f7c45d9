package address

import (
	"errors"
	"fmt"
)

// Rule names one rule of address syntax or community policy. Its values are
// stable, so callers may compare them, count them and write them to logs.
type Rule string

// Rules that Parse, ParsePath, ParseDomain and the community and hosted-address
// functions report in Error.Rule.
const (
	RuleEmpty          Rule = "empty"           // nothing was given
	RuleSpace          Rule = "space"           // white space before or after the value
	RuleEncoding       Rule = "encoding"        // not valid UTF-8
	RuleTooLong        Rule = "too-long"        // address longer than 254 octets
	RuleAngleBrackets  Rule = "angle-brackets"  // brackets or display name where none belong
	RuleSourceRoute    Rule = "source-route"    // malformed source route in a path
	RuleMissingAt      Rule = "missing-at"      // no "@"
	RuleMultipleAt     Rule = "multiple-at"     // more than one "@" outside quotes
	RuleLocalEmpty     Rule = "local-empty"     // nothing before the "@"
	RuleLocalTooLong   Rule = "local-too-long"  // local part longer than 64 octets
	RuleLocalDot       Rule = "local-dot"       // leading, trailing or doubled dot
	RuleLocalCharacter Rule = "local-character" // character not allowed in a local part
	RuleLocalQuote     Rule = "local-quote"     // malformed quoted local part
	RuleDomainEmpty    Rule = "domain-empty"    // nothing after the "@"
	RuleAddressLiteral Rule = "address-literal" // [192.0.2.1] in place of a name
	RuleDomainTooLong  Rule = "domain-too-long" // domain longer than 253 octets
	RuleLabelEmpty     Rule = "label-empty"     // leading or doubled dot in a domain
	RuleLabelTooLong   Rule = "label-too-long"  // label longer than 63 octets
	RuleLabelCharacter Rule = "label-character" // label character other than letter, digit, "-"
	RuleLabelHyphen    Rule = "label-hyphen"    // hyphen at either end or reserved "--"
	RuleSingleLabel    Rule = "single-label"    // domain with only one label
	RuleNumericTLD     Rule = "numeric-tld"     // top-level label of digits only
	RuleIDNA           Rule = "idna"            // invalid internationalised domain name
	RuleNotCanonical   Rule = "not-canonical"   // configured value not in canonical form
	RuleHostedName     Rule = "hosted-name"     // name yields no usable local part
	RuleNoFreeAddress  Rule = "no-free-address" // every hosted address candidate is taken
)

// Error is a rejected address, path, domain or name. Its message names the
// value, the problem and the fix, for example:
//
//	address "jane@@firm.example": more than one "@"; use the form name@domain
type Error struct {
	Kind    string // kind of value: "address", "path", "domain", "community suffix", ...
	Input   string // value as given
	Rule    Rule   // rule that the value breaks
	Problem string // description of the fault
	Fix     string // remedy for the sender or administrator
}

// Error returns the message in the form `kind "input": problem; fix`.
func (e *Error) Error() string {
	return fmt.Sprintf("%s %q: %s; %s", e.Kind, e.Input, e.Problem, e.Fix)
}

// RuleOf returns the Rule of the first *Error in err's chain, or "" when
// there is none.
func RuleOf(err error) Rule {
	var e *Error
	if errors.As(err, &e) {
		return e.Rule
	}
	return ""
}

// failure is an Error before the caller adds the kind and input, so that the
// same check can report for an address, a path or a bare domain.
type failure struct {
	rule    Rule
	problem string
	fix     string
}

func fail(rule Rule, fix, format string, args ...any) *failure {
	return &failure{rule: rule, problem: fmt.Sprintf(format, args...), fix: fix}
}

func (f *failure) error(kind, input string) *Error {
	return &Error{Kind: kind, Input: input, Rule: f.rule, Problem: f.problem, Fix: f.fix}
}
