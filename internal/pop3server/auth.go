package pop3server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// cmdUser stores the user name for PASS (RFC 1939 section 7). It accepts any
// name, so that the reply does not reveal which accounts exist.
func (s *session) cmdUser(cmd command) error {
	s.user = cmd.args[0]
	s.send(okReply("Send PASS next."))
	return nil
}

// cmdPass signs in with the name from USER. After a failure the client starts
// again with USER (RFC 1939 section 7).
func (s *session) cmdPass(cmd command) error {
	if s.user == "" {
		return s.reject(errReply("", "Send USER before PASS."))
	}
	user := s.user
	s.user = ""
	return s.signIn(user, cmd.args[0])
}

// cmdAuth runs AUTH (RFC 5034 section 4) with the PLAIN mechanism (RFC 4616).
// Without arguments it lists the mechanisms, as older clients expect from the
// AUTH command of RFC 1734.
func (s *session) cmdAuth(cmd command) error {
	if len(cmd.args) == 0 {
		s.send(okReply("SASL mechanisms follow"))
		s.w.WriteString("PLAIN\r\n.\r\n")
		return nil
	}
	if !strings.EqualFold(cmd.args[0], "PLAIN") {
		return s.reject(errReply("", "Unsupported SASL mechanism; this server supports PLAIN."))
	}

	var response string
	if len(cmd.args) == 2 {
		response = cmd.args[1]
	} else {
		// PLAIN has no server challenge, so the continuation is "+ " and nothing.
		s.w.WriteString("+ \r\n")
		line, err := s.readLine(maxSASLResponseLength)
		if errors.Is(err, errLineTooLong) {
			return s.reject(errReply("", fmt.Sprintf(
				"SASL response too long; the limit is %d octets including CRLF.",
				maxSASLResponseLength)))
		}
		if err != nil {
			return err
		}
		response = line
	}
	if response == "*" {
		// RFC 5034 section 4: "*" cancels the exchange.
		s.send(errReply("", "Authentication cancelled."))
		return nil
	}

	username, password, rep := decodePlain(response)
	if rep != nil {
		return s.reject(rep)
	}
	return s.signIn(username, password)
}

// decodePlain decodes a base64 PLAIN response, "=" standing for an empty one
// (RFC 5034 section 4). The message is authzid NUL authcid NUL passwd in UTF-8
// (RFC 4616 section 2). An authorization identity other than the user's own is
// rejected, because no user may act as another. The reply is the -ERR to send.
func decodePlain(response string) (username, password string, rep *reply) {
	if response == "=" {
		response = ""
	}
	raw, err := base64.StdEncoding.DecodeString(response)
	if err != nil {
		return "", "", errReply("", "The AUTH PLAIN response is not valid base64.")
	}

	parts := bytes.Split(raw, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 || len(parts[2]) == 0 || !utf8.Valid(raw) {
		return "", "", errReply("", "The AUTH PLAIN response is not a PLAIN message; "+
			"send base64 of: authorization identity (may be empty), NUL, user name, NUL, "+
			"password (RFC 4616).")
	}
	authzid, authcid := string(parts[0]), string(parts[1])
	if authzid != "" && authzid != authcid {
		return "", "", errReply("AUTH", "Signing in as another user is not supported; "+
			"leave the authorization identity empty.")
	}
	return authcid, string(parts[2]), nil
}

// signIn checks the credentials, lists the maildrop and enters the TRANSACTION
// state. A failure leaves the session in the AUTHORIZATION state, except that the
// connection is closed after maxAuthFailures failures.
func (s *session) signIn(username, password string) error {
	drop, err := s.srv.backend.Authenticate(s.ctx, username, password, s.remoteIP)
	if err == nil && drop == nil {
		err = errors.New("backend returned neither a maildrop nor an error")
	}
	if err != nil {
		return s.signInFailed(username, err)
	}

	list, err := drop.Messages(s.ctx)
	var rep *reply
	if err != nil {
		rep = errReply("SYS/TEMP", "The maildrop cannot be read at the moment; "+
			"try again in a few minutes.")
	} else if err = validateMessages(list); err != nil {
		// RFC 3206 section 4 names a corrupted mailbox as a SYS/PERM case.
		rep = errReply("SYS/PERM", "The maildrop cannot be listed; "+
			"report this to the service desk.")
	}
	if rep != nil {
		s.log.Error("pop3 maildrop listing failed", "user", username, "error", err.Error())
		if cerr := drop.Close(); cerr != nil {
			s.log.Error("pop3 maildrop unlock failed", "user", username, "error", cerr.Error())
		}
		s.send(rep)
		return nil
	}

	s.drop = drop
	s.user = username
	s.msgs = make([]entry, len(list))
	for i, m := range list {
		s.msgs[i] = entry{Message: m}
	}
	s.state = stateTransaction
	count, size := s.totals()
	s.send(okReply(fmt.Sprintf("Signed in; the maildrop has %d messages (%d octets).",
		count, size)))
	return nil
}

// signInFailed sends the response code that matches err and logs the failure.
func (s *session) signInFailed(username string, err error) error {
	var rep *reply
	var reason string
	switch {
	case errors.Is(err, ErrBadCredentials):
		rep = errReply("AUTH", "Invalid user name or password.")
		reason = "invalid credentials"
	case errors.Is(err, ErrThrottled):
		rep = errReply("LOGIN-DELAY", "Too many failed sign-ins; "+
			"wait a few minutes before trying again.")
		reason = "throttled"
	case errors.Is(err, ErrDisabled):
		rep = errReply("AUTH", "This account is suspended or disabled; "+
			"contact your organisation administrator.")
		reason = "account disabled"
	case errors.Is(err, ErrNoMaildrop):
		rep = errReply("AUTH", "Your organisation keeps its mail on its own mail system, "+
			"not here; read it there.")
		reason = "no maildrop"
	case errors.Is(err, ErrLocked):
		rep = errReply("IN-USE", "Another POP3 session has this maildrop open; "+
			"close it and try again.")
		reason = "maildrop in use"
	default:
		rep = errReply("SYS/TEMP", "Sign-in is not available at the moment; "+
			"try again in a few minutes.")
		reason = "backend error"
	}

	attrs := []any{"user", username, "reason", reason}
	if reason == "backend error" {
		attrs = append(attrs, "error", err.Error())
	}
	s.log.Warn("pop3 sign-in failed", attrs...)

	s.authFailures++
	s.send(rep)
	if s.authFailures >= maxAuthFailures {
		return errTooManyFailures
	}
	return nil
}

// maxUIDLength is the longest unique-id RFC 1939 section 7 allows.
const maxUIDLength = 70

// validateMessages checks what the backend listed: unique-ids of 1 to 70
// characters from 0x21 to 0x7E (RFC 1939 section 7), each used once, and sizes
// that are not negative.
func validateMessages(list []Message) error {
	seen := make(map[string]bool, len(list))
	for i, m := range list {
		if m.UID == "" || len(m.UID) > maxUIDLength {
			return fmt.Errorf("message %d: UID %q is not 1 to %d characters long",
				i+1, m.UID, maxUIDLength)
		}
		for j := 0; j < len(m.UID); j++ {
			if c := m.UID[j]; c < 0x21 || c > 0x7e {
				return fmt.Errorf("message %d: UID %q contains the octet 0x%02X, "+
					"outside 0x21 to 0x7E", i+1, m.UID, c)
			}
		}
		if seen[m.UID] {
			return fmt.Errorf("message %d: UID %q is listed twice", i+1, m.UID)
		}
		seen[m.UID] = true
		if m.Size < 0 {
			return fmt.Errorf("message %d (UID %q): negative size %d", i+1, m.UID, m.Size)
		}
	}
	return nil
}
