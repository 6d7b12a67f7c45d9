package delivery

import (
	"strings"
)

// preparedEnvelope is an Envelope after its checks, with its DSN parameters
// formatted for the wire. notify and orcpt are indexed like to.
type preparedEnvelope struct {
	from       string
	to         []string
	smtpUTF8   bool
	requireTLS bool
	ret        string
	envID      string
	notify     []string
	orcpt      []string
}

// checkCapabilities returns why this server cannot take the message at all,
// or nil. Such a failure concerns the host, so the next MX host is tried.
func (s *session) checkCapabilities(p *preparedEnvelope, size int) *Error {
	prefix := hostPrefix(s.host, s.addr)

	// RFC 8689 section 4.2.1: a message sent with REQUIRETLS goes only to a
	// server that offers REQUIRETLS, and is otherwise returned to the sender.
	// TODO: RFC 8689 also requires MX records authenticated by DNSSEC or an
	// MTA-STS policy. Neither is checked yet, so REQUIRETLS mail trusts plain DNS.
	if _, ok := s.ext["REQUIRETLS"]; p.requireTLS && !ok {
		return localError(false, codeNoRequireTLS, s.host,
			"%s: server does not offer REQUIRETLS, which the sender required. "+
				"RFC 8689 section 4.2.1 forbids sending the message to it.", prefix)
	}

	// RFC 6531: an address with non-ASCII characters needs SMTPUTF8.
	if _, ok := s.ext["SMTPUTF8"]; p.smtpUTF8 && !ok {
		return localError(false, codeNoSMTPUTF8, s.host,
			"%s: server does not offer SMTPUTF8, which the message needs for its "+
				"internationalised addresses or headers.", prefix)
	}

	// RFC 1870: the SIZE parameter is the largest message the server accepts,
	// and 0 means no fixed limit.
	if param, ok := s.ext["SIZE"]; ok {
		if limit := parseSizeLimit(param); limit > 0 && int64(size) > limit {
			return localError(false, codeTooBig, s.host,
				"%s: the message is %d octets, more than the %d the server accepts.",
				prefix, size, limit)
		}
	}
	return nil
}

// transaction sends one message in one SMTP transaction (RFC 5321 section
// 3.3) and fills results for each recipient. It returns whether the
// session can carry another message.
func (s *session) transaction(p *preparedEnvelope, msg []byte,
	results []RecipientResult) bool {
	if !s.secure {
		// connect returns only sessions that completed STARTTLS, so this cannot
		// happen. It guards the rule that mail never goes in plaintext.
		failAll(results, localError(true, codeTLSFailed, s.host,
			"%s: internal error: transaction on a connection without TLS. "+
				"The message was not sent.", hostPrefix(s.host, s.addr)))
		s.broken = true
		return false
	}

	mail := "MAIL FROM:<" + p.from + ">"
	params := mailParams(s.ext, p, len(msg), has8Bit(msg))
	rep, err := s.command(joinParams(mail, params))
	if err != nil {
		failAll(results, s.ioError("MAIL FROM", err))
		return false
	}
	if !rep.positive() {
		failAll(results, replyError(s.host, s.addr, mail, rep))
		return s.endFailedTransaction()
	}

	accepted := s.recipients(p, results)
	if s.broken {
		return false
	}
	if len(accepted) == 0 {
		return s.endFailedTransaction()
	}

	rep, err = s.command("DATA")
	if err != nil {
		failSome(results, accepted, s.ioError("DATA", err))
		return false
	}
	if rep.code != 354 {
		failSome(results, accepted, replyError(s.host, s.addr, "DATA", rep))
		return s.endFailedTransaction()
	}

	if err := s.writeData(msg); err != nil {
		failSome(results, accepted, s.ioError("the message data", err))
		return false
	}
	// RFC 5321 section 4.5.3.2.6 recommends waiting 10 minutes for the reply
	// to the final dot, twice the 5 minutes of other commands.
	s.setDeadline(2 * s.timeout)
	rep, err = s.readReply()
	if err != nil {
		failSome(results, accepted, s.ioError("the end of the message data", err))
		return false
	}
	if !rep.positive() {
		failSome(results, accepted, replyError(s.host, s.addr, "the message data", rep))
		return !s.broken
	}
	for _, i := range accepted {
		results[i].Reply = rep.String()
	}
	return !s.broken
}

// recipients sends RCPT TO for every recipient and returns the indexes of
// those the server accepted. Rejected ones get their Error in results.
func (s *session) recipients(p *preparedEnvelope, results []RecipientResult) []int {
	var accepted []int
	for i, rcpt := range p.to {
		if results[i].Err != nil {
			continue // rejected before the session, such as for its syntax
		}
		command := "RCPT TO:<" + rcpt + ">"
		rep, err := s.command(joinParams(command, rcptParams(s.ext, p, i)))
		if err != nil {
			failFrom(results, i, s.ioError(command, err))
			return nil
		}
		if !rep.positive() {
			results[i].Err = replyError(s.host, s.addr, command, rep)
			if s.broken {
				// 421: the server closes the connection, so the recipients not
				// yet sent get the same temporary failure.
				failFrom(results, i+1, results[i].Err)
				return nil
			}
			continue
		}
		accepted = append(accepted, i)
	}
	return accepted
}

// endFailedTransaction sends RSET after a transaction that ended without
// delivery, so that the session can be reused, and returns whether it can.
func (s *session) endFailedTransaction() bool {
	if s.broken {
		return false
	}
	return s.reset() == nil
}

func joinParams(command string, params []string) string {
	if len(params) == 0 {
		return command
	}
	return command + " " + strings.Join(params, " ")
}

// failAll sets err for every recipient without a result yet.
func failAll(results []RecipientResult, err *Error) {
	failFrom(results, 0, err)
}

// failFrom sets err for the recipients from index start on that have no
// result yet.
func failFrom(results []RecipientResult, start int, err *Error) {
	for i := start; i < len(results); i++ {
		if results[i].Err == nil && results[i].Reply == "" {
			results[i].Err = err
		}
	}
}

// failSome sets err for the recipients at the given indexes.
func failSome(results []RecipientResult, indexes []int, err *Error) {
	for _, i := range indexes {
		results[i].Err = err
	}
}
