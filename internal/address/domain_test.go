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
		{"٠۱.example", RuleIDNA, "internationalised"},
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

func TestParseDomainIDNA2008(t *testing.T) {
	valid := []struct{ in, want string }{
		{"l·l.example", "xn--ll-0ea.example"},    // MIDDLE DOT between two l
		{"ア・イ.example", "xn--ccke4x.example"},    // KATAKANA MIDDLE DOT with Katakana
		{"ͷ͵ͷ.example", "xn--wvadb.example"},     // KERAIA before a Greek letter
		{"א׳.example", "xn--4db4e.example"},      // GERESH after a Hebrew letter
		{"a\u0f0b.example", "xn--a-1cg.example"}, // TSHEG, a PVALID exception
		{"〇.example", "xn--w6j.example"},         // IDEOGRAPHIC NUMBER ZERO
		{"пример.рф", "xn--e1afmkfd.xn--p1ai"},   // Cyrillic letters
		{"ǅ.example", "xn--d-toa.example"},       // title case maps to "dž"
	}
	for _, tt := range valid {
		got, err := ParseDomain(tt.in)
		if err != nil {
			t.Errorf("ParseDomain(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}

	invalid := []struct{ in, problem string }{
		{"☃.example", "U+2603"},       // symbol, NV8 in UTS #46
		{"xn--n3h.example", "U+2603"}, // the same as an A-label
		{"a♥b.example", "U+2665"},     // symbol inside a label
		{"€.example", "U+20AC"},       // currency sign
		{"÷.example", "U+00F7"},       // maths operator
		{"¼.example", "U+2044"},       // maps to 1⁄4 with FRACTION SLASH
		{"a·b.example", "U+00B7"},     // MIDDLE DOT outside "l·l"
		{"a・b.example", "U+30FB"},     // KATAKANA MIDDLE DOT without Japanese
		{"a͵.example", "U+0375"},      // KERAIA at the end
		{"׳א.example", "U+05F3"},      // GERESH with no Hebrew letter before it
		{"بـب.example", "U+0640"},     // ARABIC TATWEEL, DISALLOWED exception
		{"ᄀ.example", "U+1100"},       // old Hangul jamo
		{"a\u20d0.example", "U+20D0"}, // combining mark for symbols
	}
	for _, tt := range invalid {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseDomain(tt.in)
			checkError(t, err, "domain", tt.in, RuleIDNA, tt.problem)
		})
	}
}
