package pop3server

import (
	"fmt"
	"strconv"
	"strings"
)

// command is one parsed command line.
type command struct {
	// name is the keyword in upper case, one of the keys of commandSpecs.
	name string
	// args are the arguments. PASS has exactly one, the rest of the line after
	// "PASS ", spaces included (RFC 1939 section 7).
	args []string
}

// commandSpec is the syntax of one command.
type commandSpec struct {
	minArgs, maxArgs int
	usage            string
}

// commandSpecs lists every keyword the parser accepts. APOP is parsed so that it
// gets a reply saying that it is not supported, rather than "unknown command".
var commandSpecs = map[string]commandSpec{
	"APOP": {2, 2, "APOP name digest"},
	"AUTH": {0, 2, "AUTH [mechanism [initial-response]]"},
	"CAPA": {0, 0, "CAPA"},
	"DELE": {1, 1, "DELE msg"},
	"LIST": {0, 1, "LIST [msg]"},
	"NOOP": {0, 0, "NOOP"},
	"PASS": {1, 1, "PASS password"},
	"QUIT": {0, 0, "QUIT"},
	"RETR": {1, 1, "RETR msg"},
	"RSET": {0, 0, "RSET"},
	"STAT": {0, 0, "STAT"},
	"STLS": {0, 0, "STLS"},
	"TOP":  {2, 2, "TOP msg lines"},
	"UIDL": {0, 1, "UIDL [msg]"},
	"USER": {1, 1, "USER name"},
}

// parseCommand parses a command line without its line end. The keyword is case
// insensitive and arguments are separated by spaces (RFC 1939 section 3). The
// error is the -ERR reply to send.
func parseCommand(line string) (command, *reply) {
	if line == "" {
		return command{}, errReply("", "Empty command line; send a command such as CAPA.")
	}
	for i := 0; i < len(line); i++ {
		// RFC 2449 section 3 allows only printable characters and spaces in a
		// command. Octets from 0x80 are let through for UTF-8 user names and
		// passwords.
		if c := line[i]; c < 0x20 || c == 0x7f {
			return command{}, errReply("", fmt.Sprintf(
				"Command line contains the control character 0x%02X at offset %d; remove it.",
				c, i))
		}
	}

	keyword, rest, hasArgs := strings.Cut(line, " ")
	name := strings.ToUpper(keyword)
	spec, ok := commandSpecs[name]
	if !ok {
		if isLetters(keyword) && len(keyword) <= 4 {
			return command{}, errReply("", fmt.Sprintf(
				"Unknown command %q; send CAPA to list the supported extensions.", name))
		}
		return command{}, errReply("", "Unknown command; send CAPA to list the supported extensions.")
	}

	var args []string
	switch {
	case name == "PASS" && hasArgs && rest != "":
		// RFC 1939 section 7: PASS has exactly one argument, so a space in it is
		// part of the password.
		args = []string{rest}
	case hasArgs:
		args = strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' })
	}
	if len(args) < spec.minArgs || len(args) > spec.maxArgs {
		return command{}, errReply("", fmt.Sprintf(
			"Wrong number of arguments for %s; the syntax is %s.", name, spec.usage))
	}
	return command{name: name, args: args}, nil
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// maxMessageNumber bounds message numbers. No maildrop holds anywhere near this
// many messages, and the bound keeps the number an int on every platform.
const maxMessageNumber = 1<<31 - 1

// parseMessageNumber parses a message number: decimal digits only, from 1.
func parseMessageNumber(s string) (int, bool) {
	if !isDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || n > maxMessageNumber {
		return 0, false
	}
	return int(n), true
}

// parseLineCount parses the line count of TOP: decimal digits only, from 0. A
// count too large for int64 is clamped, because it requests the whole body
// anyway.
func parseLineCount(s string) (int64, bool) {
	if !isDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Only a range error is possible after isDigits.
		return 1<<63 - 1, true
	}
	return n, true
}

// isDigits reports whether s is non-empty and all ASCII digits.
// strconv.ParseInt alone would also accept a sign.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
