package delivery

import (
	"fmt"
	"net"
	"strings"
)

// Error is the failure to deliver to one recipient in this attempt. The queue
// retries a Temporary error with backoff until the message expires, and
// bounces a permanent one at once with a delivery status notification
// (RFC 3464) built from Enhanced, Reply and Message.
type Error struct {
	// Temporary is true when a later attempt may succeed: a 4yz reply, a DNS
	// failure other than a non-existent domain, a refused or lost connection,
	// and every TLS failure.
	Temporary bool

	// Code is the server's reply code, such as 550. It is 0 when the failure
	// happened before or outside any reply: DNS, connection, TLS, or a check
	// made by this client such as a missing REQUIRETLS extension.
	Code int

	// Enhanced is the RFC 3463 status code, such as "5.1.1": the server's own
	// when it sent one, otherwise the code that best describes the failure,
	// such as "4.4.1" when no server replied. It is never empty.
	Enhanced string

	// Reply is the server's reply on one line ("550 5.1.1 no such user"), for
	// the Diagnostic-Code field of a delivery status notification. It is empty
	// when Code is 0.
	Reply string

	// Message is a plain-language sentence for the sender and the operator that
	// names the host and the reason, for example "mx1.police.example
	// [192.0.2.7]: certificate is not valid for mx1.police.example (x509:
	// certificate is valid for other.example, not mx1.police.example). The
	// message was not sent in plaintext."
	Message string

	// Host is the MX or route host name the failure concerns. It is empty when
	// the failure concerns the recipient domain as a whole, such as a DNS
	// failure or a null MX.
	Host string
}

// Error returns Message.
func (e *Error) Error() string {
	return e.Message
}

// Enhanced status codes that this package assigns to failures with no server
// reply. RFC 3463 section 3 defines them, except where noted.
const (
	codeNoAnswer       = "4.4.1"  // connection refused or timed out
	codeBadConnection  = "4.4.2"  // connection lost or protocol error
	codeDNSTemporary   = "4.4.3"  // DNS server failure or timeout
	codeNoRoute        = "5.4.4"  // MX hosts that do not exist
	codeNoDomain       = "5.1.2"  // recipient domain does not exist
	codeNullMX         = "5.1.10" // RFC 7505: the domain accepts no mail
	codeBadRecipient   = "5.1.3"  // recipient address syntax
	codeTooBig         = "5.3.4"  // message larger than the server's SIZE
	codeNoSMTPUTF8     = "5.6.7"  // RFC 6531: non-ASCII address, no SMTPUTF8
	codeNoStartTLS     = "4.7.4"  // STARTTLS not offered, or refused
	codeTLSFailed      = "4.7.5"  // handshake or certificate failure
	codeNoRequireTLS   = "5.7.30" // RFC 8689: REQUIRETLS not offered
	codeLocalTemporary = "4.3.0"  // cancelled, or a failure on this side
)

// hostPrefix returns "host [ip]" for messages, or host alone when addr is
// empty or holds the same IP address, as for a route given as an address.
func hostPrefix(host, addr string) string {
	ip, _, err := net.SplitHostPort(addr)
	if err != nil {
		ip = addr
	}
	if ip == "" || ip == host {
		return host
	}
	return host + " [" + ip + "]"
}

// replyError returns the Error for a negative reply to command.
func replyError(host, addr, command string, r reply) *Error {
	enhanced := r.enhanced
	if enhanced == "" {
		// RFC 3463 section 3.1: X.0.0 when nothing more specific is known.
		enhanced = fmt.Sprintf("%d.0.0", r.code/100)
	}
	return &Error{
		Temporary: r.temporary(),
		Code:      r.code,
		Enhanced:  enhanced,
		Reply:     r.String(),
		Message: fmt.Sprintf("%s rejected %s: %s",
			hostPrefix(host, addr), command, r.String()),
		Host: host,
	}
}

// localError returns an Error for a failure with no server reply.
func localError(temporary bool, enhanced, host, format string, args ...any) *Error {
	return &Error{
		Temporary: temporary,
		Enhanced:  enhanced,
		Message:   fmt.Sprintf(format, args...),
		Host:      host,
	}
}

// maxAttemptsInMessage bounds how many host failures one combined message
// lists, so that a domain with many MX hosts yields a readable bounce.
const maxAttemptsInMessage = 5

// combineAttempts returns the Error reported when no host took the message.
// It is temporary unless every attempt failed permanently, because another
// host may work on the next try. Its message lists each attempt in order.
func combineAttempts(attempts []*Error) *Error {
	if len(attempts) == 1 {
		return attempts[0]
	}

	combined := *attempts[len(attempts)-1]
	combined.Temporary = false
	for _, a := range attempts {
		if a.Temporary {
			combined.Temporary = true
			combined.Code, combined.Enhanced, combined.Reply = a.Code, a.Enhanced, a.Reply
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "No host accepted the message after %d attempts.", len(attempts))
	for i, a := range attempts {
		if i == maxAttemptsInMessage {
			fmt.Fprintf(&b, " %d more attempts failed.", len(attempts)-i)
			break
		}
		fmt.Fprintf(&b, " %d: %s", i+1, a.Message)
		if !strings.HasSuffix(a.Message, ".") {
			b.WriteString(".")
		}
	}
	combined.Message = b.String()
	return &combined
}
