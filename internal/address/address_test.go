package address

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// checkError asserts that err is an *Error of the given kind and rule, and
// that its message names the input and contains problem.
func checkError(t *testing.T, err error, kind, input string, rule Rule, problem string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s %q: got nil error, want rule %q", kind, input, rule)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s %q: error %v is %T, want *Error", kind, input, err, err)
	}

	if e.Kind != kind {
		t.Errorf("%s %q: Kind = %q, want %q", kind, input, e.Kind, kind)
	}
	if e.Input != input {
		t.Errorf("%s %q: Input = %q", kind, input, e.Input)
	}
	if e.Rule != rule {
		t.Errorf("%s %q: Rule = %q, want %q (message: %v)", kind, input, e.Rule, rule, err)
	}
	if RuleOf(err) != rule {
		t.Errorf("%s %q: RuleOf = %q, want %q", kind, input, RuleOf(err), rule)
	}

	message := err.Error()
	if prefix := fmt.Sprintf("%s %q: ", kind, input); !strings.HasPrefix(message, prefix) {
		t.Errorf("message %q does not start with %q", message, prefix)
	}
	if !strings.Contains(message, problem) {
		t.Errorf("message %q does not contain %q", message, problem)
	}
	if e.Fix == "" {
		t.Errorf("%s %q: error has no fix: %v", kind, input, err)
	}
}

func TestParseValid(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	local64 := strings.Repeat("l", 64)
	// 64 + 1 + 63 + 1 + 63 + 1 + 53 + 8 = 254 octets.
	longest := local64 + "@" + long63 + "." + long63 + "." + strings.Repeat("c", 53) + ".example"

	tests := []struct {
		in     string
		local  string
		domain string
	}{
		{"jane@firm.example", "jane", "firm.example"},
		{"Jane.Smith@Firm.EXAMPLE", "Jane.Smith", "firm.example"},
		{"jane@firm.example.", "jane", "firm.example"},
		{"jane+tag@firm.example", "jane+tag", "firm.example"},
		{"j!#$%&'*+-/=?^_`{|}~@firm.example", "j!#$%&'*+-/=?^_`{|}~", "firm.example"},
		{"jane@1firm.example", "jane", "1firm.example"},
		{"jane@a-b.c-d.example", "jane", "a-b.c-d.example"},
		{"jane@xn--bcher-kva.example", "jane", "xn--bcher-kva.example"},
		{"jane@XN--BCHER-KVA.Example", "jane", "xn--bcher-kva.example"},
		{"jane@mail.police.uk", "jane", "mail.police.uk"},
		{`"jane smith"@firm.example`, `"jane smith"`, "firm.example"},
		{`"jane@home"@firm.example`, `"jane@home"`, "firm.example"},
		{`"ja\"ne"@firm.example`, `"ja\"ne"`, "firm.example"},
		{`"ja\\ne"@firm.example`, `"ja\\ne"`, "firm.example"},
		{`"jörg müller"@firm.example`, `"jörg müller"`, "firm.example"},
		{local64 + "@firm.example", local64, "firm.example"},
		{"jane@" + long63 + ".example", "jane", long63 + ".example"},
		{longest, local64, strings.TrimPrefix(longest, local64+"@")},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if a.Local != tt.local {
				t.Errorf("Local = %q, want %q", a.Local, tt.local)
			}
			if a.Domain != tt.domain {
				t.Errorf("Domain = %q, want %q", a.Domain, tt.domain)
			}
		})
	}
	if len(longest) != MaxAddressLength {
		t.Errorf("longest test address is %d octets, want %d", len(longest), MaxAddressLength)
	}
}

func TestParseInternationalised(t *testing.T) {
	tests := []struct {
		in      string
		local   string
		domain  string
		unicode string
	}{
		{"用户@例子.广告", "用户", "xn--fsqu00a.xn--4rr70v", "用户@例子.广告"},
		{"jörg@bücher.example", "jörg", "xn--bcher-kva.example", "jörg@bücher.example"},
		{"jörg@BÜCHER.example", "jörg", "xn--bcher-kva.example", "jörg@bücher.example"},
		{"jane@xn--bcher-kva.example", "jane", "xn--bcher-kva.example", "jane@bücher.example"},
		// Decomposed ü (u + U+0308) maps to the same A-label through NFC.
		{"jane@bu\u0308cher.example", "jane", "xn--bcher-kva.example", "jane@bücher.example"},
		// Non-transitional IDNA2008 keeps ß instead of mapping it to ss.
		{"jane@straße.example", "jane", "xn--strae-oqa.example", "jane@straße.example"},
		// Full-width letters and the ideographic full stop map as UTS #46 defines.
		{"jane@ｆｉｒｍ。example", "jane", "firm.example", "jane@firm.example"},
		{"δοκιμή@παράδειγμα.δοκιμή", "δοκιμή", "xn--hxajbheg2az3al.xn--jxalpdlp",
			"δοκιμή@παράδειγμα.δοκιμή"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if a.Local != tt.local {
				t.Errorf("Local = %q, want %q", a.Local, tt.local)
			}
			if a.Domain != tt.domain {
				t.Errorf("Domain = %q, want %q", a.Domain, tt.domain)
			}
			if got := a.Unicode(); got != tt.unicode {
				t.Errorf("Unicode() = %q, want %q", got, tt.unicode)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	local65 := strings.Repeat("l", 65)
	label64 := strings.Repeat("a", 64)
	long63 := strings.Repeat("a", 63)
	// 64 + 1 + 63 + 1 + 63 + 1 + 54 + 8 = 255 octets.
	tooLong := strings.Repeat("l", 64) + "@" + long63 + "." + long63 + "." +
		strings.Repeat("c", 54) + ".example"

	tests := []struct {
		in      string
		rule    Rule
		problem string
	}{
		{"", RuleEmpty, "empty"},
		{" jane@firm.example", RuleSpace, "white space"},
		{"jane@firm.example\r\n", RuleSpace, "white space"},
		{"jane\xff@firm.example", RuleEncoding, "UTF-8"},
		{"<jane@firm.example>", RuleAngleBrackets, "angle brackets"},
		{"Jane Smith <jane@firm.example>", RuleAngleBrackets, "display name"},
		{"jane.firm.example", RuleMissingAt, `no "@"`},
		{`"jane"`, RuleMissingAt, `no "@"`},
		{"jane@@firm.example", RuleMultipleAt, `more than one "@"`},
		{"jane@firm@example", RuleMultipleAt, `more than one "@"`},
		{`"jane"@firm@example`, RuleMultipleAt, `more than one "@"`},
		{"@firm.example", RuleLocalEmpty, `nothing before the "@"`},
		{`""@firm.example`, RuleLocalEmpty, "quoted local part is empty"},
		{local65 + "@firm.example", RuleLocalTooLong, "65 octets"},
		{".jane@firm.example", RuleLocalDot, `starts with "."`},
		{"jane.@firm.example", RuleLocalDot, `ends with "."`},
		{"ja..ne@firm.example", RuleLocalDot, `contains ".."`},
		{"jane smith@firm.example", RuleLocalCharacter, `contains " "`},
		{"jane(work)@firm.example", RuleLocalCharacter, `contains "("`},
		{"jane,smith@firm.example", RuleLocalCharacter, `contains ","`},
		{"ja\"ne@firm.example", RuleLocalCharacter, `contains "\""`},
		{"jane\x00@firm.example", RuleLocalCharacter, `contains "\x00"`},
		{"jane\u200b@firm.example", RuleLocalCharacter, "U+200B"},
		{"jane\u202e@firm.example", RuleLocalCharacter, "U+202E"},
		{"jane\u00a0smith@firm.example", RuleLocalCharacter, "U+00A0"},
		{"jane\u0085@firm.example", RuleLocalCharacter, "U+0085"},
		{"jane\ue000@firm.example", RuleLocalCharacter, "U+E000"},
		{"\"jane\x01\"@firm.example", RuleLocalCharacter, `quoted local part contains "\x01"`},
		{"\"jane\u200b\"@firm.example", RuleLocalCharacter, "U+200B"},
		{`"jane@firm.example`, RuleLocalQuote, "no closing quote"},
		{`"jane\"@firm.example`, RuleLocalQuote, "no closing quote"},
		{`"jane"smith@firm.example`, RuleLocalQuote, "follows the closing quote"},
		{"\"ja\\\x01ne\"@firm.example", RuleLocalQuote, "backslash"},
		{`"ja\éne"@firm.example`, RuleLocalQuote, "backslash"},
		{"jane@", RuleDomainEmpty, "domain is missing"},
		{"jane@[192.0.2.1]", RuleAddressLiteral, "address literals"},
		{"jane@[IPv6:2001:db8::1]", RuleAddressLiteral, "address literals"},
		{"jane@firm", RuleSingleLabel, `"firm" has only one label`},
		{"jane@firm.", RuleSingleLabel, "only one label"},
		{"jane@.", RuleLabelEmpty, "no labels"},
		{"jane@firm..example", RuleLabelEmpty, `contains ".."`},
		{"jane@.firm.example", RuleLabelEmpty, `starts with "."`},
		{"jane@firm.example..", RuleLabelEmpty, `contains ".."`},
		{"jane@firm_x.example", RuleLabelCharacter, `"firm_x" contains "_"`},
		{"jane@firm x.example", RuleLabelCharacter, `contains " "`},
		{"jane@firm!.example", RuleLabelCharacter, `contains "!"`},
		{"jane@-firm.example", RuleLabelHyphen, `starts or ends with "-"`},
		{"jane@firm-.example", RuleLabelHyphen, `starts or ends with "-"`},
		{"jane@ab--cd.example", RuleLabelHyphen, "third and fourth positions"},
		{"jane@" + label64 + ".example", RuleLabelTooLong, "64 octets"},
		{"jane@192.0.2.1", RuleNumericTLD, `"1" is all digits`},
		{"jane@firm.123", RuleNumericTLD, "all digits"},
		{"jane@xn--a.example", RuleIDNA, "internationalised domain name"},
		{"jane@a\u05d0.example", RuleIDNA, "internationalised domain name"},
		{"jane@bücher\u200d.example", RuleIDNA, "internationalised domain name"},
		{"jane@bü_cher.example", RuleIDNA, "internationalised domain name"},
		{"jane@\u0301firm.example", RuleIDNA, "internationalised domain name"},
		{tooLong, RuleTooLong, "255 octets"},
		{strings.Repeat("a", 1100) + "@firm.example", RuleTooLong, "1113 octets"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := Parse(tt.in)
			checkError(t, err, "address", tt.in, tt.rule, tt.problem)
			if !a.IsZero() {
				t.Errorf("Parse returned %#v with its error, want the zero Address", a)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("jane@@firm.example")
	want := `address "jane@@firm.example": more than one "@"; use the form name@domain`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestParsePathValid(t *testing.T) {
	tests := []struct {
		in   string
		want Address
	}{
		{"<>", Address{}},
		{"<jane@firm.example>", Address{"jane", "firm.example"}},
		{"<Jane@FIRM.example.>", Address{"Jane", "firm.example"}},
		{`<"jane smith"@firm.example>`, Address{`"jane smith"`, "firm.example"}},
		{"<jörg@bücher.example>", Address{"jörg", "xn--bcher-kva.example"}},
		{"<@relay.example:jane@firm.example>", Address{"jane", "firm.example"}},
		{"<@one.example,@two:jane@firm.example>", Address{"jane", "firm.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePath(tt.in)
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParsePath(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePathInvalid(t *testing.T) {
	tests := []struct {
		in      string
		rule    Rule
		problem string
	}{
		{"", RuleAngleBrackets, "not enclosed in angle brackets"},
		{"jane@firm.example", RuleAngleBrackets, "not enclosed in angle brackets"},
		{"<jane@firm.example", RuleAngleBrackets, "not enclosed in angle brackets"},
		{"jane@firm.example>", RuleAngleBrackets, "not enclosed in angle brackets"},
		{"<", RuleAngleBrackets, "not enclosed in angle brackets"},
		{"<<jane@firm.example>>", RuleAngleBrackets, "angle brackets"},
		{"< jane@firm.example>", RuleSpace, "white space"},
		{"<Postmaster>", RuleMissingAt, `no "@"`},
		{"<jane@@firm.example>", RuleMultipleAt, `more than one "@"`},
		{"<jane@[192.0.2.1]>", RuleAddressLiteral, "address literals"},
		{"<@relay.example>", RuleSourceRoute, `does not end with ":"`},
		{"<@:jane@firm.example>", RuleSourceRoute, `malformed hop "@"`},
		{"<@relay.example,relay2:jane@firm.example>", RuleSourceRoute, `hop "relay2"`},
		{"<@relay.example:>", RuleEmpty, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParsePath(tt.in)
			checkError(t, err, "path", tt.in, tt.rule, tt.problem)
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jane@firm.example", "jane@firm.example"},
		{"Jane.Smith@FIRM.Example.", "Jane.Smith@firm.example"},
		{`"Jane"@Firm.Example`, `"Jane"@firm.example`},
		{"JÖRG@BÜCHER.example", "JÖRG@xn--bcher-kva.example"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if err != nil {
			t.Errorf("Normalize(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}

	_, err := Normalize("jane@@firm.example")
	checkError(t, err, "address", "jane@@firm.example", RuleMultipleAt, `more than one "@"`)
}

func TestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jane@firm.example", "jane@firm.example"},
		{"Jane.Smith@FIRM.example", "jane.smith@firm.example"},
		{`"Jane"@firm.example`, "jane@firm.example"},
		{`"j\ane"@firm.example`, "jane@firm.example"},
		{`"Jane Smith"@firm.example`, `"jane smith"@firm.example`},
		{`"a\"B"@firm.example`, `"a\"b"@firm.example`},
		{`"a..b"@firm.example`, `"a..b"@firm.example`},
		{"JÖRG@bücher.example", "jörg@xn--bcher-kva.example"},
		{"jo\u0308rg@firm.example", "jörg@firm.example"},
		{"Jane+Tag@firm.example", "jane+tag@firm.example"},
	}
	for _, tt := range tests {
		a, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := Key(a); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Key(Address{}); got != "" {
		t.Errorf("Key of the zero Address = %q, want \"\"", got)
	}
}

func TestAddressEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"jane@firm.example", "JANE@FIRM.EXAMPLE", true},
		{"jane@firm.example", `"jane"@firm.example`, true},
		{"jörg@bücher.example", "JÖRG@xn--bcher-kva.example", true},
		{"jane@firm.example", "jane@firm.example.", true},
		{"jane@firm.example", "j.ane@firm.example", false},
		{"jane@firm.example", "jane+x@firm.example", false},
		{"jane@firm.example", "jane@firm.example.cjsm.net", false},
		{"jane@firm.example", "jane2@firm.example", false},
	}
	for _, tt := range tests {
		a, errA := Parse(tt.a)
		b, errB := Parse(tt.b)
		if errA != nil || errB != nil {
			t.Errorf("Parse: %v, %v", errA, errB)
			continue
		}
		if got := a.Equal(b); got != tt.want {
			t.Errorf("%q.Equal(%q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestAddressForms(t *testing.T) {
	var zero Address
	if !zero.IsZero() || zero.String() != "" || zero.Path() != "<>" || zero.Unicode() != "" {
		t.Errorf("zero Address: IsZero %v, String %q, Path %q, Unicode %q",
			zero.IsZero(), zero.String(), zero.Path(), zero.Unicode())
	}

	a := Address{Local: "jörg", Domain: "xn--bcher-kva.example"}
	if a.IsZero() {
		t.Error("IsZero() = true for a non-zero Address")
	}
	if got := a.String(); got != "jörg@xn--bcher-kva.example" {
		t.Errorf("String() = %q", got)
	}
	if got := a.Path(); got != "<jörg@xn--bcher-kva.example>" {
		t.Errorf("Path() = %q", got)
	}
	if got := a.Unicode(); got != "jörg@bücher.example" {
		t.Errorf("Unicode() = %q", got)
	}
}

func TestNeedsSMTPUTF8(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"jane@firm.example", false},
		{"jane@bücher.example", false},
		{"jörg@firm.example", true},
		{`"jörg"@firm.example`, true},
	}
	for _, tt := range tests {
		a, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := a.NeedsSMTPUTF8(); got != tt.want {
			t.Errorf("NeedsSMTPUTF8(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRuleOfOtherError(t *testing.T) {
	if got := RuleOf(errors.New("other")); got != "" {
		t.Errorf("RuleOf(plain error) = %q, want \"\"", got)
	}
	if got := RuleOf(nil); got != "" {
		t.Errorf("RuleOf(nil) = %q, want \"\"", got)
	}
	_, err := Parse("jane@firm")
	wrapped := fmt.Errorf("import line 3: %w", err)
	if got := RuleOf(wrapped); got != RuleSingleLabel {
		t.Errorf("RuleOf(wrapped) = %q, want %q", got, RuleSingleLabel)
	}
}
