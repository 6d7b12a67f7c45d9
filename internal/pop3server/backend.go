package pop3server

import (
	"context"
	"errors"
	"io"
)

// Backend signs users in. The command wires it to the identity service, whose one
// sign-in path also applies throttling and account status, and to the mailbox
// store, which provides the Maildrop.
type Backend interface {
	// Authenticate checks username and password for a client at remoteIP and, when
	// they are valid, locks the user's maildrop and returns it. The server calls
	// Maildrop.Close exactly once: at QUIT before its reply, or else when the session
	// ends, however it ends.
	//
	// The error picks the response code (RFC 2449 section 8, RFC 3206): wrap
	// ErrBadCredentials, ErrThrottled, ErrDisabled or ErrLocked. Any other error
	// is taken for a fault of the service and answered with [SYS/TEMP].
	// ctx carries the connection id (see ConnID). It is cancelled when the session
	// ends, or earlier when the context passed to Shutdown ends.
	Authenticate(ctx context.Context, username, password, remoteIP string) (Maildrop, error)
}

// Maildrop is one user's INBOX, locked for one POP3 session. The server calls its
// methods from one goroutine at a time.
type Maildrop interface {
	// Messages lists the maildrop's messages, oldest first. The server calls it
	// once, right after sign-in, and numbers the messages from 1 in this order for
	// the rest of the session (RFC 1939 section 5).
	Messages(ctx context.Context) ([]Message, error)

	// Open returns the raw message with the given UID. The server converts bare LF
	// line ends to CRLF as it sends, but messages should be stored with CRLF.
	Open(ctx context.Context, uid string) (io.ReadCloser, error)

	// Delete removes the messages with the given UIDs. The server calls it at most
	// once, when the client sends QUIT in the TRANSACTION state (RFC 1939
	// section 6), and never when the connection drops, times out or the server
	// shuts down.
	Delete(ctx context.Context, uids []string) error

	// Close releases the lock on the maildrop.
	Close() error
}

// Message describes one message of a maildrop.
type Message struct {
	// UID is a stable id that no other message of the maildrop has, now or
	// later: 1 to 70 characters from 0x21 to 0x7E (RFC 1939 section 7, UIDL).
	// Clients that leave mail on the server use it to know which messages they
	// have already downloaded.
	UID string

	// Size is the size of the message in octets with CRLF line ends, reported by
	// LIST, STAT and RETR (RFC 1939 section 5).
	Size int64
}

// Errors a Backend returns, wrapped or not, so that the server can pick the
// response code. Each names the condition, never which check failed, so that
// the reply does not reveal whether an account exists.
var (
	// ErrBadCredentials means that the username or the password is wrong, or that
	// no such account exists. The reply carries [AUTH] (RFC 3206 section 5).
	ErrBadCredentials = errors.New("pop3server: invalid username or password")

	// ErrThrottled means that the sign-in service refuses attempts from this user
	// or address for a while after repeated failures. The reply carries
	// [LOGIN-DELAY]. RFC 2449 section 8.1.1 defines that code for a login refused
	// because the last one was too recent. It is used here because clients react
	// to it as they should to throttling: they wait and retry, and do not ask the
	// user for a new password as they do after [AUTH].
	ErrThrottled = errors.New("pop3server: too many failed sign-in attempts")

	// ErrDisabled means that the account is suspended or disabled. The reply
	// carries [AUTH], which RFC 3206 section 5 also uses for expired accounts and
	// sign-ins against policy. Return it only after the password has been checked, or the
	// reply reveals to a guesser that the account exists.
	ErrDisabled = errors.New("pop3server: account suspended or disabled")

	// ErrNoMaildrop means that the person has no maildrop here, because their
	// organisation keeps its mail on its own system. The reply carries [AUTH]. Return it
	// only after the password has been checked, as for ErrDisabled.
	ErrNoMaildrop = errors.New("pop3server: no maildrop on this server")

	// ErrLocked means that another POP3 session holds the maildrop. The reply
	// carries [IN-USE] (RFC 2449 section 8.1.2).
	ErrLocked = errors.New("pop3server: maildrop in use by another POP3 session")
)

// connIDKey is the context key of the connection id.
type connIDKey struct{}

// ConnID returns the connection id that the server logs as conn_id, from the
// context of a Backend or Maildrop call, or "" when ctx has none.
func ConnID(ctx context.Context) string {
	id, _ := ctx.Value(connIDKey{}).(string)
	return id
}
