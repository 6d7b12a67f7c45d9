package address

import (
	"strings"
	"testing"
)

const testSuffix = "cjsm.net"

func mustParse(t *testing.T, s string) Address {
	t.Helper()
	a, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return a
}

func TestValidateSuffix(t *testing.T) {
	for _, valid := range []string{"cjsm.net", "secure.cjsm.net", "xn--bcher-kva.example"} {
		if err := ValidateSuffix(valid); err != nil {
			t.Errorf("ValidateSuffix(%q): %v", valid, err)
		}
	}

	tests := []struct {
		in      string
		rule    Rule
		problem string
	}{
		{"", RuleDomainEmpty, "missing"},
		{"cjsm", RuleSingleLabel, "only one label"},
		{"cjsm..net", RuleLabelEmpty, `contains ".."`},
		{"CJSM.net", RuleNotCanonical, `write it as "cjsm.net"`},
		{"cjsm.net.", RuleNotCanonical, `write it as "cjsm.net"`},
		{"bücher.example", RuleNotCanonical, `write it as "xn--bcher-kva.example"`},
		{"[192.0.2.1]", RuleAddressLiteral, "address literals"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			checkError(t, ValidateSuffix(tt.in), "community suffix", tt.in, tt.rule, tt.problem)
		})
	}
}

func TestIsUnderSuffix(t *testing.T) {
	tests := []struct {
		domain, suffix string
		want           bool
	}{
		{"firm.example.cjsm.net", "cjsm.net", true},
		{"org.cjsm.net", "cjsm.net", true},
		{"FIRM.Example.CJSM.net.", "cjsm.net", true},
		{"firm.example.cjsm.net", "CJSM.NET", true},
		{"xn--bcher-kva.example.cjsm.net", "cjsm.net", true},
		{"bücher.example.cjsm.net", "cjsm.net", true},
		{"cjsm.net", "cjsm.net", false},
		{"notcjsm.net", "cjsm.net", false},
		{"cjsm.net.example", "cjsm.net", false},
		{"firm.example", "cjsm.net", false},
		{"firm..cjsm.net", "cjsm.net", false},
		{"firm.example.cjsm.net", "cjsm", false},
		{"", "cjsm.net", false},
	}
	for _, tt := range tests {
		if got := IsUnderSuffix(tt.domain, tt.suffix); got != tt.want {
			t.Errorf("IsUnderSuffix(%q, %q) = %v, want %v", tt.domain, tt.suffix, got, tt.want)
		}
	}
}

func TestCommunityForm(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jane@firm.example", "jane@firm.example.cjsm.net"},
		{"Jane.Smith@firm.example", "Jane.Smith@firm.example.cjsm.net"},
		{`"jane smith"@firm.example`, `"jane smith"@firm.example.cjsm.net`},
		{"jörg@bücher.example", "jörg@xn--bcher-kva.example.cjsm.net"},
		// Already in community form, hosted, or at the suffix: unchanged.
		{"jane@firm.example.cjsm.net", "jane@firm.example.cjsm.net"},
		{"jane.smith@st-marys.cjsm.net", "jane.smith@st-marys.cjsm.net"},
		{"postmaster@cjsm.net", "postmaster@cjsm.net"},
	}
	for _, tt := range tests {
		got, err := CommunityForm(mustParse(t, tt.in), testSuffix)
		if err != nil {
			t.Errorf("CommunityForm(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("CommunityForm(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCommunityFormErrors(t *testing.T) {
	jane := Address{Local: "jane", Domain: "firm.example"}

	_, err := CommunityForm(jane, "CJSM.NET")
	checkError(t, err, "community suffix", "CJSM.NET", RuleNotCanonical, "canonical")

	_, err = CommunityForm(Address{Local: "jane", Domain: "firm"}, testSuffix)
	checkError(t, err, "address", "jane@firm", RuleSingleLabel, "only one label")

	// 64 + 1 + 63 + 1 + 63 + 1 + 49 + 8 = 250 octets, 259 with ".cjsm.net".
	long63 := strings.Repeat("a", 63)
	long := strings.Repeat("l", 64) + "@" + long63 + "." + long63 + "." +
		strings.Repeat("c", 49) + ".example"
	_, err = CommunityForm(mustParse(t, long), testSuffix)
	checkError(t, err, "address", long, RuleTooLong, "community form")
	checkError(t, err, "address", long, RuleTooLong, "259 octets")
}

func TestCommunityPlainRoundTrip(t *testing.T) {
	for _, in := range []string{
		"jane@firm.example",
		"Jane.Smith@Chambers.Example",
		`"jane smith"@firm.example`,
		"jörg@bücher.example",
		"用户@例子.广告",
		"duty.solicitor@mail.firm.co.uk",
	} {
		a := mustParse(t, in)
		community, err := CommunityForm(a, testSuffix)
		if err != nil {
			t.Errorf("CommunityForm(%q): %v", in, err)
			continue
		}
		if !IsUnderSuffix(community.Domain, testSuffix) {
			t.Errorf("CommunityForm(%q) = %q, not under %q", in, community, testSuffix)
		}
		again, err := CommunityForm(community, testSuffix)
		if err != nil || again != community {
			t.Errorf("CommunityForm(%q) = %q, %v, want it unchanged", community, again, err)
		}
		plain, ok := PlainForm(community, testSuffix)
		if !ok {
			t.Errorf("PlainForm(%q) reports no plain form", community)
			continue
		}
		if plain != a {
			t.Errorf("PlainForm(CommunityForm(%q)) = %#v, want %#v", in, plain, a)
		}
	}
}

func TestPlainForm(t *testing.T) {
	tests := []struct {
		in     string
		suffix string
		want   string // "" when there is no plain form
	}{
		{"jane@firm.example.cjsm.net", testSuffix, "jane@firm.example"},
		{"Jane@FIRM.example.CJSM.net", testSuffix, "Jane@firm.example"},
		{"jane@firm.example", testSuffix, ""},
		{"jane.smith@st-marys.cjsm.net", testSuffix, ""},
		{"postmaster@cjsm.net", testSuffix, ""},
		{"jane@firm.example.cjsm.net.cjsm.net", testSuffix, ""},
		{"jane@firm.notcjsm.net", testSuffix, ""},
		{"jane@firm.example.cjsm.net", "CJSM.NET", ""},
		{"jane@firm.example.cjsm.net", "cjsm", ""},
	}
	for _, tt := range tests {
		got, ok := PlainForm(mustParse(t, tt.in), tt.suffix)
		if want := tt.want != ""; ok != want {
			t.Errorf("PlainForm(%q, %q) ok = %v, want %v", tt.in, tt.suffix, ok, want)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("PlainForm(%q, %q) = %q, want %q", tt.in, tt.suffix, got, tt.want)
		}
	}

	invalid := Address{Local: "jane", Domain: "firm..example.cjsm.net"}
	if got, ok := PlainForm(invalid, testSuffix); ok {
		t.Errorf("PlainForm(%q) = %q, true for an invalid domain", invalid, got)
	}
}
