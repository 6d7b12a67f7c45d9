package address

import (
	"strings"
	"testing"
)

func TestParseDomainValid(t *testing.T) {
	// Four labels of 63 octets and three dots make 255 octets, so the longest
	// valid domain uses 61 octets in its last label: 3*63 + 3 + 61 = 253.
	long63 := strings.Repeat("a", 63)
	longest := long63 + "." + long63 + "." + long63 + "." + strings.Repeat("b", 61)

	tests := []struct{ in, want string }{
		{"firm.example", "firm.example"},
		{"FIRM.Example.", "firm.example"},
		{"mail.cps.gov.uk", "mail.cps.gov.uk"},
		{"1firm.example", "1firm.example"},
		{"a.b", "a.b"},
		{"firm.example1", "firm.example1"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"例子.广告", "xn--fsqu00a.xn--4rr70v"},
		{"firm。example", "firm.example"},
		{longest, longest},
		// The label limit applies to the A-label: 25 CJK characters are 75 octets
		// in UTF-8 but far fewer in Punycode.
		{strings.Repeat("例", 25) + ".example", "xn--fsq" + strings.Repeat("a", 24) +
			".example"},
	}
	for _, tt := range tests {
		got, err := ParseDomain(tt.in)
		if err != nil {
			t.Errorf("ParseDomain(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if len(longest) != MaxDomainLength {
		t.Errorf("longest test domain is %d octets, want %d", len(longest), MaxDomainLength)
	}
}

func TestParseDomainInvalid(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	tooLong := long63 + "." + long63 + "." + long63 + "." + strings.Repeat("b", 62)

	tests := []struct {
		in      string
		rule    Rule
		problem string
	}{
		{"", RuleDomainEmpty, "missing"},
		{"[192.0.2.1]", RuleAddressLiteral, "address literals"},
		{"firm", RuleSingleLabel, "only one label"},
		{"xn--bcher-kva", RuleSingleLabel, "only one label"},
		{".", RuleLabelEmpty, "no labels"},
		{"..", RuleLabelEmpty, `starts with "."`},
		{"firm..example", RuleLabelEmpty, `contains ".."`},
		{"firm.example\xff", RuleEncoding, "UTF-8"},
		{"firm_1.example", RuleLabelCharacter, `contains "_"`},
		{"firm.exa*mple", RuleLabelCharacter, `contains "*"`},
		{"firm.-example", RuleLabelHyphen, `starts or ends with "-"`},
		{"r3--sn.example", RuleLabelHyphen, "third and fourth positions"},
		{"10.0.0.1", RuleNumericTLD, "all digits"},
		{tooLong, RuleDomainTooLong, "254 octets"},
		{strings.Repeat("a.", 600) + "example", RuleDomainTooLong, "1207 octets"},
		{"bücher.exa mple", RuleLabelCharacter, `contains " "`},
		{strings.Repeat("ü", 60) + ".example", RuleLabelTooLong, `the label "xn--`},
		{"xn--bcher-kva\u200c.example", RuleIDNA, "internationalised"},
		{"Ⅻ\u0000.example", RuleIDNA, "internationalised"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDomain(tt.in)
			checkError(t, err, "domain", tt.in, tt.rule, tt.problem)
			if got != "" {
				t.Errorf("ParseDomain returned %q with its error, want \"\"", got)
			}
		})
	}
}
