package address

import (
	"fmt"
	"strings"
	"testing"
)

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"St. Mary's Victim Support (North)", "st-marys-victim-support-north"},
		{"Crown Prosecution Service", "crown-prosecution-service"},
		{"HMP Wandsworth", "hmp-wandsworth"},
		{"Smith & Jones LLP", "smith-and-jones-llp"},
		{"O’Brien Solicitors", "obrien-solicitors"},
		{"O´Brien＇s Chambers", "obriens-chambers"},
		{"Smith ＆ Jones", "smith-and-jones"},
		{"Zoë's Café", "zoes-cafe"},
		{"Straße & Partner", "strasse-and-partner"},
		{"Ærø Ødegaard Łódź", "aero-odegaard-lodz"},
		{"Cymorth i Ddioddefwyr – Gŵyr", "cymorth-i-ddioddefwyr-gwyr"},
		{"ﬁrst Legal", "first-legal"},
		{"１２３ Legal", "123-legal"},
		{"  --Youth Offending Team--  ", "youth-offending-team"},
		{"Probation_Service.North/East", "probation-service-north-east"},
		{"", "org"},
		{"   ", "org"},
		{"---", "org"},
		{"警察局", "org"},
		{"'''", "org"},
	}
	for _, tt := range tests {
		if got := Slug(tt.in); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSlugLongNames(t *testing.T) {
	tests := []struct{ in, want string }{
		// The cut falls inside "Jenkins", so the slug ends at the hyphen before it.
		{
			"The Quite Remarkably Long Named Association Of Solicitors Jenkins",
			"the-quite-remarkably-long-named-association-of-solicitors",
		},
		// A word that ends exactly at octet 63 is kept whole.
		{
			strings.Repeat("a", 61) + " b c",
			strings.Repeat("a", 61) + "-b",
		},
		// A single word longer than a label is cut at 63 octets.
		{strings.Repeat("x", 100), strings.Repeat("x", 63)},
	}
	for _, tt := range tests {
		got := Slug(tt.in)
		if got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > MaxLabelLength {
			t.Errorf("Slug(%q) is %d octets, more than %d", tt.in, len(got), MaxLabelLength)
		}
	}
}

func TestSlugIsValidLabel(t *testing.T) {
	for _, name := range []string{
		"St. Mary's Victim Support (North)", "", "警察局", strings.Repeat("ab-", 40),
		"--a--b--", "Ω Legal", "9", "x--y Chambers",
	} {
		slug := Slug(name)
		if err := ValidateSlug(slug); err != nil {
			t.Errorf("Slug(%q) = %q fails ValidateSlug: %v", name, slug, err)
		}
		if again := Slug(slug); again != slug {
			t.Errorf("Slug(%q) = %q, want it unchanged", slug, again)
		}
		if _, err := ParseDomain(slug + "." + testSuffix); err != nil {
			t.Errorf("hosted domain for slug %q: %v", slug, err)
		}
	}
}

func TestValidateSlug(t *testing.T) {
	tests := []struct {
		in      string
		rule    Rule
		problem string
	}{
		{"", RuleEmpty, "empty"},
		{"St-Marys", RuleNotCanonical, "upper-case"},
		{"st marys", RuleLabelCharacter, `contains " "`},
		{"st.marys", RuleLabelCharacter, `contains "."`},
		{"-marys", RuleLabelHyphen, `starts or ends with "-"`},
		{"st--marys", RuleLabelHyphen, "third and fourth positions"},
		{strings.Repeat("a", 64), RuleLabelTooLong, "64 octets"},
		{"bücher", RuleLabelCharacter, "non-ASCII"},
	}
	for _, tt := range tests {
		checkError(t, ValidateSlug(tt.in), "organisation slug", tt.in, tt.rule, tt.problem)
	}
}

func TestHostedLocalPart(t *testing.T) {
	tests := []struct{ first, last, want string }{
		{"Jane", "Smith", "jane.smith"},
		{"Zoë", "O'Brien", "zoe.obrien"},
		{"Seán", "O’Connor", "sean.oconnor"},
		{"Mary Ann", "Smith-Jones", "mary-ann.smith-jones"},
		{"  Jane ", " Smith\t", "jane.smith"},
		{"José María", "García Márquez", "jose-maria.garcia-marquez"},
		{"Anne–Marie", "Lee", "anne-marie.lee"},
		{"Jean - Luc", "Picard", "jean-luc.picard"},
		{"J.", "Smith", "j.smith"},
		{"Siân", "Llŷr", "sian.llyr"},
		{"Łukasz", "Żółć", "lukasz.zolc"},
		{"Jörg", "Straße", "jorg.strasse"},
		{"Jane", "", "jane"},
		{"", "Smith", "smith"},
		{"张", "Wei", "wei"},
		{"张", "伟", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := HostedLocalPart(tt.first, tt.last); got != tt.want {
			t.Errorf("HostedLocalPart(%q, %q) = %q, want %q", tt.first, tt.last, got, tt.want)
		}
	}
}

func TestHostedLocalPartLength(t *testing.T) {
	got := HostedLocalPart(strings.Repeat("a", 40), strings.Repeat("b", 40))
	if len(got) != MaxLocalLength {
		t.Errorf("local part is %d octets, want %d", len(got), MaxLocalLength)
	}
	if want := strings.Repeat("a", 40) + "." + strings.Repeat("b", 23); got != want {
		t.Errorf("HostedLocalPart = %q, want %q", got, want)
	}

	// A cut that would end on the dot removes it.
	got = HostedLocalPart(strings.Repeat("a", 64), "b")
	if got != strings.Repeat("a", 64) {
		t.Errorf("HostedLocalPart with a 64-octet first name = %q", got)
	}
}

// recordTaken returns a taken function that treats the given local parts as
// used and records every candidate it is asked about.
func recordTaken(used ...string) (func(string) bool, *[]string) {
	var asked []string
	set := make(map[string]bool)
	for _, local := range used {
		set[local+"@st-marys.cjsm.net"] = true
	}
	return func(candidate string) bool {
		asked = append(asked, candidate)
		return set[candidate]
	}, &asked
}

func TestHostedAddress(t *testing.T) {
	taken, asked := recordTaken()
	a, err := HostedAddress("Jane", "Smith", "st-marys", testSuffix, taken)
	if err != nil {
		t.Fatalf("HostedAddress: %v", err)
	}
	if a.String() != "jane.smith@st-marys.cjsm.net" {
		t.Errorf("HostedAddress = %q, want jane.smith@st-marys.cjsm.net", a)
	}
	if len(*asked) != 1 {
		t.Errorf("taken was asked %d times, want 1: %q", len(*asked), *asked)
	}

	a, err = HostedAddress("Zoë", "O'Brien", "st-marys", testSuffix, nil)
	if err != nil || a.String() != "zoe.obrien@st-marys.cjsm.net" {
		t.Errorf("HostedAddress with nil taken = %q, %v", a, err)
	}
}

func TestHostedAddressCollisions(t *testing.T) {
	taken, asked := recordTaken("jane.smith", "jane.smith2", "jane.smith4")
	a, err := HostedAddress("Jane", "Smith", "st-marys", testSuffix, taken)
	if err != nil {
		t.Fatalf("HostedAddress: %v", err)
	}
	if a.String() != "jane.smith3@st-marys.cjsm.net" {
		t.Errorf("HostedAddress = %q, want jane.smith3@st-marys.cjsm.net", a)
	}
	want := []string{
		"jane.smith@st-marys.cjsm.net",
		"jane.smith2@st-marys.cjsm.net",
		"jane.smith3@st-marys.cjsm.net",
	}
	if fmt.Sprint(*asked) != fmt.Sprint(want) {
		t.Errorf("candidates asked = %q, want %q", *asked, want)
	}

	// Two people whose names fold to the same local part get distinct
	// addresses in a predictable order.
	used := map[string]bool{}
	takenSet := func(s string) bool { return used[s] }
	for i, name := range []string{"Zoë", "Zoe", "ZOE", "Zoé"} {
		a, err := HostedAddress(name, "Smith", "st-marys", testSuffix, takenSet)
		if err != nil {
			t.Fatalf("HostedAddress(%q): %v", name, err)
		}
		want := "zoe.smith@st-marys.cjsm.net"
		if i > 0 {
			want = fmt.Sprintf("zoe.smith%d@st-marys.cjsm.net", i+1)
		}
		if a.String() != want {
			t.Errorf("HostedAddress(%q) = %q, want %q", name, a, want)
		}
		used[a.String()] = true
	}
}

func TestHostedAddressExhausted(t *testing.T) {
	calls := 0
	last := ""
	_, err := HostedAddress("Jane", "Smith", "st-marys", testSuffix, func(s string) bool {
		calls++
		last = s
		return true
	})
	checkError(t, err, "address", "jane.smith@st-marys.cjsm.net", RuleNoFreeAddress,
		"jane.smith and jane.smith2 to jane.smith999 are all taken")
	if calls != MaxHostedCandidates {
		t.Errorf("taken was asked %d times, want %d", calls, MaxHostedCandidates)
	}
	if last != "jane.smith999@st-marys.cjsm.net" {
		t.Errorf("last candidate = %q, want jane.smith999@st-marys.cjsm.net", last)
	}
}

func TestHostedAddressLongName(t *testing.T) {
	first, last := strings.Repeat("a", 40), strings.Repeat("b", 40)
	base := HostedLocalPart(first, last)
	taken, asked := recordTaken(base, trimLocalPart(base, 63)+"2")
	a, err := HostedAddress(first, last, "st-marys", testSuffix, taken)
	if err != nil {
		t.Fatalf("HostedAddress: %v", err)
	}
	want := base[:63] + "3"
	if a.Local != want {
		t.Errorf("Local = %q, want %q", a.Local, want)
	}
	for _, candidate := range *asked {
		local, _, _ := strings.Cut(candidate, "@")
		if len(local) > MaxLocalLength {
			t.Errorf("candidate %q has a local part of %d octets", candidate, len(local))
		}
	}

	// A long slug and suffix leave less room for the local part.
	slug := strings.Repeat("s", 63)
	suffix := strings.Repeat("x", 63) + "." + strings.Repeat("y", 63) + ".example"
	a, err = HostedAddress(first, last, slug, suffix, nil)
	if err != nil {
		t.Fatalf("HostedAddress with a long domain: %v", err)
	}
	if n := len(a.String()); n > MaxAddressLength {
		t.Errorf("HostedAddress = %q, %d octets", a, n)
	}
}

func TestHostedAddressErrors(t *testing.T) {
	_, err := HostedAddress("Jane", "Smith", "st-marys", "CJSM.NET", nil)
	checkError(t, err, "community suffix", "CJSM.NET", RuleNotCanonical, "canonical")

	_, err = HostedAddress("Jane", "Smith", "St Marys", testSuffix, nil)
	checkError(t, err, "organisation slug", "St Marys", RuleLabelCharacter, `contains " "`)

	_, err = HostedAddress("张", "伟", "st-marys", testSuffix, nil)
	checkError(t, err, "name", "张 伟", RuleHostedName, "no letters or digits")

	// A suffix of 245 octets makes "st-marys." + suffix 254 octets.
	long63 := strings.Repeat("a", 63)
	labels := long63 + "." + long63 + "." + long63 + "."
	suffix := labels + strings.Repeat("b", 45) + ".example"
	_, err = HostedAddress("Jane", "Smith", "st-marys", suffix, nil)
	checkError(t, err, "domain", "st-marys."+suffix, RuleDomainTooLong, "domain is 254")

	// A 250-octet domain leaves 3 octets, too few for a local part and a number.
	suffix = labels + strings.Repeat("b", 41) + ".example"
	_, err = HostedAddress("Jane", "Smith", "st-marys", suffix, nil)
	checkError(t, err, "domain", "st-marys."+suffix, RuleTooLong, "room for a local part")
}
