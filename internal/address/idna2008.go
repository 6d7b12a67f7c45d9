package address

import "unicode"

// The golang.org/x/net/idna package (v0.63.0) treats the characters that
// UTS #46 marks NV8, "valid but not in IDNA2008", as valid. That admits
// symbols and punctuation such as "☃", "€" and "÷" in U-labels. It also
// skips the CONTEXTO rules. checkIDNA2008Label adds the code point rules of
// RFC 5892 on top of the package's checks. The digit rules of RFC 5892
// appendix A.8 and A.9 need no code here, because the Bidi rule of RFC 5893,
// which the package applies, already rejects a label that mixes the two kinds
// of Arabic-Indic digits.

// idna2008Categories are the general categories of RFC 5892 section 2.1,
// LetterDigits, without Lu. Upper-case letters cannot survive the UTS #46
// mapping, so one that remains is unstable (RFC 5892 section 2.2).
var idna2008Categories = []*unicode.RangeTable{
	unicode.Ll, unicode.Lo, unicode.Lm, unicode.Mn, unicode.Mc, unicode.Nd,
}

// idna2008Exceptions lists the code points of RFC 5892 section 2.6 that
// override their category: true for PVALID, false for DISALLOWED. The
// CONTEXTO exceptions are handled by contextRuleAllows.
var idna2008Exceptions = map[rune]bool{
	0x00DF: true,  // LATIN SMALL LETTER SHARP S
	0x03C2: true,  // GREEK SMALL LETTER FINAL SIGMA
	0x06FD: true,  // ARABIC SIGN SINDHI AMPERSAND
	0x06FE: true,  // ARABIC SIGN SINDHI POSTPOSITION MEN
	0x0F0B: true,  // TIBETAN MARK INTERSYLLABIC TSHEG
	0x3007: true,  // IDEOGRAPHIC NUMBER ZERO
	0x0640: false, // ARABIC TATWEEL
	0x07FA: false, // NKO LAJANYALAN
	0x302E: false, // HANGUL SINGLE DOT TONE MARK
	0x302F: false, // HANGUL DOUBLE DOT TONE MARK
	0x3031: false, // VERTICAL KANA REPEAT MARK
	0x3032: false, // VERTICAL KANA REPEAT WITH VOICED SOUND MARK
	0x3033: false, // VERTICAL KANA REPEAT MARK UPPER HALF
	0x3034: false, // VERTICAL KANA REPEAT WITH VOICED SOUND MARK UPPER HALF
	0x3035: false, // VERTICAL KANA REPEAT MARK LOWER HALF
	0x303B: false, // VERTICAL IDEOGRAPHIC ITERATION MARK
}

// idna2008DisallowedBlocks are RFC 5892 section 2.4 (IgnorableBlocks) and
// section 2.9 (OldHangulJamo), which contain marks and letters that the
// category rule would otherwise admit.
var idna2008DisallowedBlocks = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x1100, Hi: 0x11FF, Stride: 1}, // Hangul Jamo
		{Lo: 0x20D0, Hi: 0x20FF, Stride: 1}, // Combining Diacritical Marks for Symbols
		{Lo: 0xA960, Hi: 0xA97F, Stride: 1}, // Hangul Jamo Extended-A
		{Lo: 0xD7B0, Hi: 0xD7FF, Stride: 1}, // Hangul Jamo Extended-B
	},
	R32: []unicode.Range32{
		{Lo: 0x1D100, Hi: 0x1D24F, Stride: 1}, // Musical Symbols, Ancient Greek Musical Notation
	},
}

// checkIDNA2008Label checks each non-ASCII code point of a U-label against
// RFC 5892. ASCII code points are left to the STD3 rules.
func checkIDNA2008Label(label string) *failure {
	runes := []rune(label)
	for i, r := range runes {
		if r <= unicode.MaxASCII {
			continue
		}
		if !idna2008Allows(runes, i) {
			return fail(RuleIDNA, fixDomainSpelling,
				"the label %q contains %U %q, which IDNA2008 does not allow here (RFC 5892)",
				label, r, string(r))
		}
	}
	return nil
}

// idna2008Allows reports whether the code point runes[i] is PVALID, or
// CONTEXTO with its context rule met.
func idna2008Allows(runes []rune, i int) bool {
	r := runes[i]
	if allowed, ok := idna2008Exceptions[r]; ok {
		return allowed
	}
	if allowed, ok := contextRuleAllows(runes, i); ok {
		return allowed
	}
	if unicode.Is(idna2008DisallowedBlocks, r) {
		return false
	}
	return unicode.In(r, idna2008Categories...)
}

// contextRuleAllows applies the CONTEXTO rules of RFC 5892 appendix A.3 to
// A.7. ok is false when runes[i] has no such rule.
func contextRuleAllows(runes []rune, i int) (allowed, ok bool) {
	switch runes[i] {
	case 0x00B7: // MIDDLE DOT, only in "l·l" as Catalan writes it
		return i > 0 && i < len(runes)-1 && runes[i-1] == 'l' && runes[i+1] == 'l', true
	case 0x0375: // GREEK LOWER NUMERAL SIGN, only before a Greek character
		return i < len(runes)-1 && unicode.Is(unicode.Greek, runes[i+1]), true
	case 0x05F3, 0x05F4: // HEBREW PUNCTUATION GERESH and GERSHAYIM, after Hebrew
		return i > 0 && unicode.Is(unicode.Hebrew, runes[i-1]), true
	case 0x30FB: // KATAKANA MIDDLE DOT, in a label with Japanese script
		for _, r := range runes {
			if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) && r != 0x30FB {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}
