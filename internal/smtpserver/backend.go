package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"net"

	"github.com/emersion/go-smtp"
)

// Mode is the kind of listener a connection arrived on. It decides whether AUTH is
// offered and how the sender is identified.
type Mode int

const (
	// ModeRelay is the MX listener (port 25). It offers STARTTLS and no AUTH, and the
	// backend identifies the peer from its TLS state and address (Backend.Identify).
	ModeRelay Mode = iota + 1
	// ModeSubmission is the submission listener (port 587, RFC 6409). It offers
	// STARTTLS and requires AUTH before MAIL FROM.
	ModeSubmission
	// ModeSubmissions is the implicit-TLS submission listener (port 465, RFC 8314).
	// It requires AUTH before MAIL FROM.
	ModeSubmissions
)

// String returns the listener name used in logs: "relay", "submission" or
// "submissions".
func (m Mode) String() string {
	switch m {
	case ModeRelay:
		return "relay"
	case ModeSubmission:
		return "submission"
	case ModeSubmissions:
		return "submissions"
	}
	return "unknown"
}

// Conn describes the client connection to the backend. Each backend call gets a
// fresh copy, so the backend may keep it.
type Conn struct {
	// ID is the connection id, also logged as conn_id.
	ID string
	// Remote is the client's address.
	Remote net.Addr
	// TLS is the negotiated TLS state. Every call that reaches the backend happens
	// after TLS, so it is never nil there. Relay peers' client certificates are in
	// TLS.PeerCertificates when Config.TLSConfig requests them.
	TLS *tls.ConnectionState
	// HELO is the name the client gave in its EHLO or HELO after TLS started. It is
	// client-supplied and unverified.
	HELO string
	// Listener is the kind of listener the client connected to.
	Listener Mode
}

// Principal is who the backend decided the client is: an authenticated person, a
// connector or a trusted domain's server. This package treats it as opaque and only
// passes it back to the backend and logs its String form.
type Principal interface {
	String() string
}

// MailOptions holds the MAIL FROM parameters that the backend may need.
type MailOptions struct {
	// Size is the message size in octets declared with SIZE= (RFC 1870), or 0.
	Size int64
	// Body is the BODY= value, "7BIT" or "8BITMIME" (RFC 6152), or empty.
	Body string
	// UTF8 is set when the client sent SMTPUTF8 (RFC 6531).
	UTF8 bool
	// RequireTLS is set when the client sent REQUIRETLS (RFC 8689): every onward
	// hop must use TLS with a verified certificate, or the message must bounce.
	RequireTLS bool
	// Return is the DSN RET= value, "FULL" or "HDRS" (RFC 3461 section 4.3), or empty.
	Return string
	// EnvelopeID is the DSN ENVID= value after xtext decoding (RFC 3461 section
	// 4.4), or empty.
	EnvelopeID string
}

// RcptOptions holds the RCPT TO parameters that the backend may need.
type RcptOptions struct {
	// Notify holds the DSN NOTIFY= values: "NEVER", or some of "SUCCESS",
	// "FAILURE" and "DELAY" (RFC 3461 section 4.1). Empty when absent.
	Notify []string
	// OriginalRecipientType is the ORCPT= address type, "RFC822" or "UTF-8"
	// (RFC 3461 section 4.2, RFC 6533), or empty.
	OriginalRecipientType string
	// OriginalRecipient is the ORCPT= address after decoding, or empty.
	OriginalRecipient string
}

// Recipient is one accepted RCPT TO.
type Recipient struct {
	// Address is the forward-path as the client sent it, without angle brackets.
	Address string
	// Options holds the RCPT TO parameters.
	Options RcptOptions
}

// Envelope is the SMTP envelope of one accepted message.
type Envelope struct {
	// ID is the id this package wrote into the Received header. The backend should
	// store the message under it and return it from Deliver, so that the id in the
	// 250 reply matches the header.
	ID string
	// From is the reverse-path as returned by Backend.Mail; empty for the null
	// reverse-path "<>".
	From string
	// Recipients lists the accepted recipients in the order of RCPT TO.
	Recipients []Recipient
	// Options holds the MAIL FROM parameters.
	Options MailOptions
}

// Backend makes every decision about who may send what to whom. Each method gets
// the connection's context, which carries the connection id (see ConnID) and is
// cancelled when the connection closes or a forced shutdown begins.
//
// A method that returns an *smtp.SMTPError (see Reject) has that reply sent to the
// client as it is. Any other error is logged with the connection id and the client
// gets a generic temporary failure (451 4.3.0; 454 4.7.0 for Authenticate, as RFC
// 4954 section 6 specifies).
type Backend interface {
	// Authenticate checks a user name and password from AUTH PLAIN or AUTH LOGIN
	// on a submission listener. It returns the principal on success, and an
	// *smtp.SMTPError such as 535 5.7.8 when the credentials are wrong.
	Authenticate(ctx context.Context, c *Conn, username, password string) (Principal, error)

	// Identify decides who a relay peer is from c.TLS and c.Remote. It is called
	// at every MAIL FROM on the relay listener. A peer it cannot identify should
	// get an error such as 550 5.7.1.
	Identify(ctx context.Context, c *Conn) (Principal, error)

	// Mail checks that principal p may use the reverse-path from (empty for "<>")
	// and returns the reverse-path to use, which may be rewritten, for example to
	// the community form of a gateway user's address.
	Mail(ctx context.Context, c *Conn, p Principal, from string, opts MailOptions) (string, error)

	// Rcpt checks that p may send to the forward-path to.
	Rcpt(ctx context.Context, c *Conn, p Principal, to string, opts RcptOptions) error

	// Deliver commits the message durably and returns its queue id, which is sent
	// to the client in the 250 reply. msg is the full message in CRLF form with
	// the Received header prepended, and Date and Message-ID added when missing.
	// Deliver must not return before the message is safe, because the client
	// discards its copy once it reads the 250 reply.
	Deliver(ctx context.Context, c *Conn, p Principal, env Envelope,
		msg []byte) (queueID string, err error)
}

// Reject returns an error that reaches the client as the SMTP reply
// "code enhanced msg", for example Reject(550, [3]int{5, 7, 1}, "...").
// Backend methods return it to reject a command with a specific reply.
func Reject(code int, enhanced [3]int, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode(enhanced), Message: msg}
}

type connIDKey struct{}

// ConnID returns the connection id carried by a context that this package passed to
// a Backend method, or "" for any other context.
func ConnID(ctx context.Context) string {
	id, _ := ctx.Value(connIDKey{}).(string)
	return id
}

// Replies that this package sends itself. RFC 3463 defines the enhanced codes.
var (
	// RFC 3207 section 4 and RFC 3463 X.7.0 (other security status).
	errTLSRequired = Reject(530, [3]int{5, 7, 0}, "This service accepts mail only over TLS, "+
		"so the client must issue STARTTLS first.")
	// RFC 4954 section 6: 530 5.7.0 when a command needs authentication.
	errAuthRequired = Reject(530, [3]int{5, 7, 0}, "Authentication required. "+
		"Authenticate with AUTH PLAIN or AUTH LOGIN before MAIL FROM.")
	// RFC 4954 section 6: 454 4.7.0 for a temporary authentication failure.
	errAuthTemporary = Reject(454, [3]int{4, 7, 0}, "Temporary authentication failure, "+
		"try again later.")
	// RFC 4954 section 6: 535 5.7.8 for invalid credentials.
	errAuthzidMismatch = Reject(535, [3]int{5, 7, 8}, "Authentication failed: the "+
		"authorization identity must be empty or equal to the user name.")
	errAuthNotOffered = Reject(502, [3]int{5, 5, 1}, "AUTH is not offered on this "+
		"listener. Authenticate on the submission port instead.")
	// RFC 3463 X.3.0: other or undefined mail system status.
	errTemporary = Reject(451, [3]int{4, 3, 0}, "Temporary local problem, "+
		"try again later.")
	// RFC 3463 X.4.2: bad connection.
	errReadFailed = Reject(421, [3]int{4, 4, 2}, "Connection failed while "+
		"receiving the message.")
)

// backendError turns an error from a Backend method into the reply for the client.
// An *smtp.SMTPError is kept; anything else is logged and replaced by fallback.
// go-smtp checks replies with a type assertion, so the result is always an
// *smtp.SMTPError itself, never a wrapper.
func backendError(g *guardConn, command string, err error, fallback error) error {
	var reply *smtp.SMTPError
	if errors.As(err, &reply) {
		return reply
	}
	g.log.Error("smtp backend call failed", "command", command, "err", err)
	return fallback
}

// DataRejecter is a Backend that is also called for each message the server itself refuses
// after DATA: a line over 1,000 octets, a message over the size limit or a mail loop.
// Tracking then shows these rejections as it shows the backend's own.
type DataRejecter interface {
	DataRejected(ctx context.Context, c *Conn, p Principal, from string, rcpts []Recipient,
		reason string)
}
