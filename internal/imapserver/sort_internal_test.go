package imapserver

import "testing"

func TestBaseSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bail hearing", "Bail hearing"},
		{"Re: Bail hearing", "Bail hearing"},
		{"RE: re: Fwd: Bail hearing", "Bail hearing"},
		{"Re[2]: Bail hearing", "Bail hearing"},
		{"Re [case-42]: Bail hearing", "Bail hearing"},
		{"[case-42] Re: Bail hearing", "Bail hearing"},
		{"Fw: Bail hearing (fwd)", "Bail hearing"},
		{"Bail hearing (FWD) (fwd)", "Bail hearing"},
		{"[Fwd: Re: Bail hearing]", "Bail hearing"},
		{"[Fwd: [Fwd: Bail hearing]]", "Bail hearing"},
		// A blob that would leave nothing is kept (RFC 5256 section 2.1 step 4).
		{"[case-42]", "[case-42]"},
		{"Re:", ""},
		{"Regarding the bail", "Regarding the bail"},
		{"Fwdx: y", "Fwdx: y"},
		{"", ""},
		{"[unclosed Re: x", "[unclosed Re: x"},
		{"   spaced   ", "spaced"},
	}
	for _, tt := range tests {
		if got := baseSubject(tt.in); got != tt.want {
			t.Errorf("baseSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzBaseSubject checks that baseSubject ends on every input, and that the base subject of a
// base subject is itself: removing markers again finds nothing more to remove.
func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: [x] Fwd: y (fwd)", "[Fwd: [Fwd: ]]", "[[[", "re re: :"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := baseSubject(s)
		if twice := baseSubject(once); twice != once {
			t.Errorf("baseSubject(%q) = %q, but baseSubject of that = %q", s, once, twice)
		}
	})
}

// TestCasemapOrdersLikeASCIICasemap checks the i;ascii-casemap order (RFC 4790 section 9.2):
// letters compare as upper case, so "_", "[" and "^" sort after every letter.
func TestCasemapOrdersLikeASCIICasemap(t *testing.T) {
	ordered := []string{"apple", "Banana", "cherry", "ZEBRA", "[list] x", "_report"}
	for i := 1; i < len(ordered); i++ {
		if casemap(ordered[i-1]) >= casemap(ordered[i]) {
			t.Errorf("%q does not sort before %q", ordered[i-1], ordered[i])
		}
	}
	if casemap("é") != "é" {
		t.Errorf("casemap changed a non-ASCII letter: %q", casemap("é"))
	}
}
