package address

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzAddressSeeds = []string{
	"jane@firm.example",
	"Jane.Smith@FIRM.example.",
	`"jane smith"@firm.example`,
	`"ja\"ne"@firm.example`,
	`"a@b"@firm.example`,
	"用户@例子.广告",
	"jörg@bücher.example",
	"jane@xn--bcher-kva.example",
	"jane@ｆｉｒｍ。example",
	"jane@straße.example",
	"jane@@firm.example",
	"jane@[192.0.2.1]",
	"jane@192.0.2.1",
	"jane@ab--cd.example",
	"jane@a\u05d0.example",
	"jane\u200b@firm.example",
	"@relay.example:jane@firm.example",
	"jane@ab－－cd.example",
	"jane@ｘｎ－－bcher-kva.example",
	"jane@⒈example",
	"jane@" + strings.Repeat("例", 57) + ".example",
	"jörg@bücher.example",
	"",
}

// FuzzParse checks that Parse never panics, that every error is an *Error
// naming the input, and that a parsed address is canonical: it re-parses to
// itself, fits in 254 octets and survives the trip through community form.
func FuzzParse(f *testing.F) {
	for _, seed := range fuzzAddressSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			checkFuzzError(t, err, s)
			return
		}
		checkParsedAddress(t, a)

		if normalized, err := Normalize(s); err != nil || normalized != a.String() {
			t.Errorf("Normalize(%q) = %q, %v, want %q", s, normalized, err, a.String())
		}
		if path, err := ParsePath("<" + s + ">"); err != nil || path != a {
			t.Errorf("ParsePath(<%s>) = %#v, %v, want %#v", s, path, err, a)
		}

		// The display form parses back to the same address.
		if u := a.Unicode(); len(u) <= maxInputLength {
			if back, err := Parse(u); err != nil || back != a {
				t.Errorf("Parse(Unicode() = %q) = %#v, %v, want %#v", u, back, err, a)
			}
		}

		community, err := CommunityForm(a, testSuffix)
		if err != nil {
			if RuleOf(err) != RuleTooLong {
				t.Errorf("CommunityForm(%q): %v", a, err)
			}
			return
		}
		checkParsedAddress(t, community)
		if a.Domain == testSuffix || IsUnderSuffix(a.Domain, testSuffix) {
			if community != a {
				t.Errorf("CommunityForm(%q) = %q, want it unchanged", a, community)
			}
			return
		}
		if plain, ok := PlainForm(community, testSuffix); !ok || plain != a {
			t.Errorf("PlainForm(%q) = %#v, %v, want %#v", community, plain, ok, a)
		}
	})
}

// FuzzParsePath checks ParsePath the way FuzzParse checks Parse.
func FuzzParsePath(f *testing.F) {
	for _, seed := range fuzzAddressSeeds {
		f.Add("<" + seed + ">")
	}
	f.Add("<>")
	f.Add("<@one.example,@two:jane@firm.example>")
	f.Add("<Postmaster>")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParsePath(s)
		if err != nil {
			checkFuzzError(t, err, s)
			return
		}
		if a.IsZero() {
			if s != "<>" {
				t.Errorf("ParsePath(%q) returned the null path", s)
			}
			return
		}
		checkParsedAddress(t, a)
		if again, err := ParsePath(a.Path()); err != nil || again != a {
			t.Errorf("ParsePath(%q) = %#v, %v, want %#v", a.Path(), again, err, a)
		}
	})
}

// FuzzParseDomain checks that a parsed domain is canonical and within the DNS
// limits.
func FuzzParseDomain(f *testing.F) {
	for _, seed := range []string{
		"firm.example", "FIRM.example.", "bücher.example", "xn--bcher-kva.example",
		"例子.广告", "firm。example", "[192.0.2.1]", "10.0.0.1", "a..b", "xn--a.example",
		"ab--cd.example", "a\u05d0.example", "ß.example", "xn--zca.example",
		"☃.example", "l·l.example", "ア・イ.example", "׳א.example", "пример.рф",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDomain(s)
		if err != nil {
			checkFuzzError(t, err, s)
			return
		}
		checkCanonicalDomain(t, d)
	})
}

// FuzzSlug checks that Slug always returns a valid, stable DNS label, and that
// HostedLocalPart always returns a valid local part or "".
func FuzzSlug(f *testing.F) {
	for _, seed := range []string{
		"St. Mary's Victim Support (North)", "Smith & Jones", "Zoë", "O'Brien", "",
		"警察局", "ﬁrst", "１２３", strings.Repeat("ab ", 40), "--", "Straße", "İstanbul",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		slug := Slug(name)
		if err := ValidateSlug(slug); err != nil {
			t.Errorf("Slug(%q) = %q: %v", name, slug, err)
		}
		if again := Slug(slug); again != slug {
			t.Errorf("Slug(Slug(%q)) = %q, want %q", name, again, slug)
		}

		local := HostedLocalPart(name, name)
		if local == "" {
			return
		}
		if len(local) > MaxLocalLength {
			t.Errorf("HostedLocalPart(%q) is %d octets", name, len(local))
		}
		if strings.ToLower(local) != local || !isASCII(local) {
			t.Errorf("HostedLocalPart(%q) = %q, not lower-case ASCII", name, local)
		}
		a, err := Parse(local + "@" + slug + "." + testSuffix)
		if err != nil {
			t.Errorf("hosted address for %q: %v", name, err)
			return
		}
		if Key(a) != a.String() {
			t.Errorf("hosted address %q has Key %q", a, Key(a))
		}
	})
}

func checkFuzzError(t *testing.T, err error, input string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error for %q is %T, want *Error: %v", input, err, err)
	}
	if e.Input != input || e.Rule == "" || e.Problem == "" || e.Fix == "" {
		t.Errorf("incomplete error for %q: %#v", input, e)
	}
}

// checkParsedAddress checks the invariants of every Address that Parse and
// ParsePath return.
func checkParsedAddress(t *testing.T, a Address) {
	t.Helper()
	s := a.String()
	if len(s) > MaxAddressLength {
		t.Errorf("%q is %d octets, more than %d", s, len(s), MaxAddressLength)
	}
	if len(a.Local) == 0 || len(a.Local) > MaxLocalLength {
		t.Errorf("%q has a local part of %d octets", s, len(a.Local))
	}
	if !utf8.ValidString(a.Local) {
		t.Errorf("%q has a local part that is not UTF-8", s)
	}
	checkCanonicalDomain(t, a.Domain)

	again, err := Parse(s)
	if err != nil {
		t.Fatalf("String() = %q does not parse: %v", s, err)
	}
	if again != a {
		t.Errorf("Parse(%q) = %#v, want %#v", s, again, a)
	}
	if Key(again) != Key(a) || !again.Equal(a) {
		t.Errorf("Key(%q) changed on re-parse: %q, %q", s, Key(again), Key(a))
	}
}

func checkCanonicalDomain(t *testing.T, d string) {
	t.Helper()
	if len(d) > MaxDomainLength {
		t.Errorf("domain %q is %d octets", d, len(d))
	}
	if !isASCII(d) || strings.ToLower(d) != d || strings.HasSuffix(d, ".") {
		t.Errorf("domain %q is not canonical", d)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		t.Errorf("domain %q has fewer than two labels", d)
	}
	for _, label := range labels {
		if f := checkLabel(label, d); f != nil {
			t.Errorf("domain %q: %s", d, f.problem)
		}
	}
	if again, err := ParseDomain(d); err != nil || again != d {
		t.Errorf("ParseDomain(%q) = %q, %v, want it unchanged", d, again, err)
	}
}
