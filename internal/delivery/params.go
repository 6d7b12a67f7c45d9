package delivery

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// maxEnvIDLength is the longest ENVID value RFC 3461 section 4.4 allows,
	// before xtext encoding.
	maxEnvIDLength = 100

	// maxORcptLength is the longest ORCPT value, type included, that RFC 3461
	// section 4.2 allows, after encoding.
	maxORcptLength = 500
)

// encodeXtext encodes s as xtext (RFC 3461 section 4): printable ASCII other
// than "+" and "=" stays as it is, and every other octet becomes "+" and two
// upper-case hex digits.
func encodeXtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '!' && c <= '~' && c != '+' && c != '=' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "+%02X", c)
	}
	return b.String()
}

// encodeUTF8AddrXtext encodes an address for ORCPT=utf-8; as the
// utf-8-addr-xtext form of RFC 6533 section 3, which needs no SMTPUTF8
// support from the server. Printable ASCII other than "+", "=" and "\" stays
// as it is, and every other character becomes \x{HEX} with its Unicode code
// point.
func encodeUTF8AddrXtext(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '!' && r <= '~' && r != '+' && r != '=' && r != '\\' {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, `\x{%02X}`, r)
	}
	return b.String()
}

// formatORcpt returns the ORCPT parameter value (RFC 3461 section 4.2) for
// orcpt, which is "addr-type;address" with the address not encoded, or a bare
// address taken as type rfc822. A non-ASCII rfc822 address is sent as type
// utf-8 (RFC 6533 section 3), because rfc822 addresses are ASCII only.
func formatORcpt(orcpt string) (string, error) {
	addrType, addr, found := strings.Cut(orcpt, ";")
	if !found {
		addrType, addr = "rfc822", orcpt
	}
	if addr == "" {
		return "", fmt.Errorf("ORCPT %q has no address after the type; give "+
			"\"rfc822;name@domain\" or a bare address", orcpt)
	}
	if !utf8.ValidString(addr) || strings.ContainsFunc(addr, isControl) {
		return "", fmt.Errorf("ORCPT %q contains a control character or invalid UTF-8; "+
			"give the original recipient address as received", orcpt)
	}

	var value string
	switch strings.ToLower(addrType) {
	case "rfc822":
		if isASCII(addr) {
			value = "rfc822;" + encodeXtext(addr)
		} else {
			value = "utf-8;" + encodeUTF8AddrXtext(addr)
		}
	case "utf-8":
		value = "utf-8;" + encodeUTF8AddrXtext(addr)
	default:
		return "", fmt.Errorf("ORCPT %q has the address type %q; use rfc822 or utf-8",
			orcpt, addrType)
	}
	if len(value) > maxORcptLength {
		return "", fmt.Errorf("ORCPT %q encodes to %d octets, more than the %d of "+
			"RFC 3461 section 4.2; leave ORCPT out for this recipient",
			orcpt, len(value), maxORcptLength)
	}
	return value, nil
}

// formatNotify checks a NOTIFY value (RFC 3461 section 4.1) and returns it in
// upper case without spaces: NEVER alone, or a comma-separated list of
// SUCCESS, FAILURE and DELAY.
func formatNotify(notify string) (string, error) {
	var keywords []string
	for keyword := range strings.SplitSeq(notify, ",") {
		keyword = strings.ToUpper(strings.TrimSpace(keyword))
		switch keyword {
		case "NEVER", "SUCCESS", "FAILURE", "DELAY":
		default:
			return "", fmt.Errorf("NOTIFY %q contains %q; use NEVER, or any of "+
				"SUCCESS, FAILURE and DELAY separated by commas", notify, keyword)
		}
		if slices.Contains(keywords, keyword) {
			return "", fmt.Errorf("NOTIFY %q names %s twice; name it once", notify, keyword)
		}
		keywords = append(keywords, keyword)
	}
	if slices.Contains(keywords, "NEVER") && len(keywords) > 1 {
		return "", fmt.Errorf("NOTIFY %q combines NEVER with other keywords; "+
			"RFC 3461 section 4.1 allows NEVER only alone", notify)
	}
	return strings.Join(keywords, ","), nil
}

// formatRet checks a RET value (RFC 3461 section 4.3) and returns it in upper
// case.
func formatRet(ret string) (string, error) {
	switch upper := strings.ToUpper(ret); upper {
	case "", "FULL", "HDRS":
		return upper, nil
	}
	return "", fmt.Errorf("RET %q is not FULL or HDRS; use one of them or leave RET empty", ret)
}

// checkEnvID checks an ENVID value (RFC 3461 section 4.4): printable ASCII
// and space, at most 100 characters.
func checkEnvID(envID string) error {
	if len(envID) > maxEnvIDLength {
		return fmt.Errorf("ENVID %q is %d characters, more than the %d of RFC 3461 "+
			"section 4.4; use a shorter identifier", envID, len(envID), maxEnvIDLength)
	}
	for i := 0; i < len(envID); i++ {
		if envID[i] < ' ' || envID[i] > '~' {
			return fmt.Errorf("ENVID %q contains the octet %#02x; use printable ASCII only",
				envID, envID[i])
		}
	}
	return nil
}

// isASCII reports whether s has only octets below 0x80.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// has8Bit reports whether msg has an octet above 0x7f, which needs
// BODY=8BITMIME (RFC 6152).
func has8Bit(msg []byte) bool {
	for _, c := range msg {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func isControl(r rune) bool {
	return r < ' ' || r == 0x7f
}

// mailParams returns the parameters of MAIL FROM for the extensions the
// server offers. The caller has checked that SMTPUTF8 and REQUIRETLS are
// offered when needed.
func mailParams(ext map[string]string, p *preparedEnvelope, size int, eightBit bool) []string {
	var params []string
	if _, ok := ext["SIZE"]; ok {
		// RFC 1870 lets the declared size be an estimate, so dot stuffing and
		// line ending conversion are not counted.
		params = append(params, "SIZE="+strconv.Itoa(size))
	}
	if _, ok := ext["8BITMIME"]; ok && eightBit {
		params = append(params, "BODY=8BITMIME")
	}
	if p.smtpUTF8 {
		params = append(params, "SMTPUTF8")
	}
	if p.requireTLS {
		params = append(params, "REQUIRETLS")
	}
	if _, ok := ext["DSN"]; ok {
		if p.ret != "" {
			params = append(params, "RET="+p.ret)
		}
		if p.envID != "" {
			params = append(params, "ENVID="+encodeXtext(p.envID))
		}
	}
	return params
}

// rcptParams returns the parameters of RCPT TO for recipient i.
func rcptParams(ext map[string]string, p *preparedEnvelope, i int) []string {
	if _, ok := ext["DSN"]; !ok {
		return nil
	}
	var params []string
	if notify := p.notify[i]; notify != "" {
		params = append(params, "NOTIFY="+notify)
	}
	if orcpt := p.orcpt[i]; orcpt != "" {
		params = append(params, "ORCPT="+orcpt)
	}
	return params
}
