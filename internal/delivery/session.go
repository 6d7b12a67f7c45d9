package delivery

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"sync"
	"time"
)

// quitTimeout bounds the QUIT exchange when a session ends, which is a
// courtesy to the server and never delays a result.
const quitTimeout = 5 * time.Second

// ioBufferSize is the size of the read and write buffers of a session.
const ioBufferSize = 32 << 10

// session is one SMTP connection to a server: TCP, then STARTTLS, then EHLO
// over TLS. A session is used by one goroutine at a time. Only bind, which
// arranges for ctx to interrupt it, involves another goroutine.
type session struct {
	id      string
	host    string // the name connected to, for messages and certificate checks
	addr    string // ip:port
	key     string // idle pool key
	timeout time.Duration
	created time.Time

	conn net.Conn // a *tls.Conn once STARTTLS has succeeded
	r    *bufio.Reader
	w    *bufio.Writer

	ext      map[string]string // EHLO extensions, keywords in upper case
	tlsState tls.ConnectionState
	secure   bool // STARTTLS and the second EHLO have succeeded
	broken   bool // an I/O error or a 421 reply: never reuse

	mu        sync.Mutex
	ctx       context.Context
	stopAfter func() bool
}

func newSession(id, host, addr string, conn net.Conn, timeout time.Duration) *session {
	return &session{
		id:      id,
		host:    host,
		addr:    addr,
		timeout: timeout,
		created: time.Now(),
		conn:    conn,
		r:       bufio.NewReaderSize(conn, ioBufferSize),
		w:       bufio.NewWriterSize(conn, ioBufferSize),
		ctx:     context.Background(),
	}
}

// bind makes ctx the context of the session's next operations: when ctx ends,
// the operation under way fails at once. unbind must follow before another
// bind.
func (s *session) bind(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	s.stopAfter = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.conn.SetDeadline(time.Unix(1, 0))
	})
}

// unbind undoes bind.
func (s *session) unbind() {
	if s.stopAfter != nil {
		s.stopAfter()
		s.stopAfter = nil
	}
	s.mu.Lock()
	s.ctx = context.Background()
	s.mu.Unlock()
}

// setDeadline lets the next I/O run for d, or until the bound context ends.
// The lock orders it with the AfterFunc of bind, so that a deadline set here
// never replaces the expired one that cancellation set.
func (s *session) setDeadline(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		s.conn.SetDeadline(time.Unix(1, 0))
		return
	}
	deadline := time.Now().Add(d)
	if ctxDeadline, ok := s.ctx.Deadline(); ok && ctxDeadline.Before(deadline) {
		deadline = ctxDeadline
	}
	s.conn.SetDeadline(deadline)
}

// ioError describes an I/O failure of the session, saying when it was
// cancelled rather than lost.
func (s *session) ioError(during string, err error) *Error {
	s.broken = true
	s.mu.Lock()
	ctxErr := s.ctx.Err()
	s.mu.Unlock()

	prefix := hostPrefix(s.host, s.addr)
	if ctxErr != nil {
		return localError(true, codeLocalTemporary, s.host,
			"%s: delivery was stopped during %s (%v).", prefix, during, ctxErr)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return localError(true, codeBadConnection, s.host,
			"%s: no reply to %s within %v.", prefix, during, s.timeout)
	}
	if errors.Is(err, errMalformedReply) {
		return localError(true, codeBadConnection, s.host,
			"%s: invalid reply to %s (%v).", prefix, during, err)
	}
	return localError(true, codeBadConnection, s.host,
		"%s: connection lost during %s (%v).", prefix, during, err)
}

// command sends one command line and reads its reply. A 421 reply means the
// server is closing the connection (RFC 5321 section 3.8), so the session is
// marked broken.
func (s *session) command(line string) (reply, error) {
	s.setDeadline(s.timeout)
	if _, err := s.w.WriteString(line + "\r\n"); err != nil {
		return reply{}, err
	}
	if err := s.w.Flush(); err != nil {
		return reply{}, err
	}
	return s.readReply()
}

// readReply reads the next reply, for the greeting and after DATA.
func (s *session) readReply() (reply, error) {
	rep, err := readReply(s.r)
	if err != nil {
		return reply{}, err
	}
	if rep.code == 421 {
		s.broken = true
	}
	return rep, nil
}

// greet reads the server's greeting and sends EHLO with hostname.
func (s *session) greet(hostname string) *Error {
	s.setDeadline(s.timeout)
	greeting, err := s.readReply()
	if err != nil {
		return s.ioError("the greeting", err)
	}
	if greeting.code != 220 {
		s.broken = true
		return replyError(s.host, s.addr, "the connection", greeting)
	}
	return s.hello(hostname)
}

// hello sends EHLO and records the extensions of its reply. A server that
// rejects EHLO cannot offer STARTTLS, so the failure is temporary whatever
// the reply code, as every TLS failure is.
func (s *session) hello(hostname string) *Error {
	rep, err := s.command("EHLO " + hostname)
	if err != nil {
		return s.ioError("EHLO", err)
	}
	if !rep.positive() {
		s.broken = true
		failure := replyError(s.host, s.addr, "EHLO "+hostname, rep)
		failure.Temporary = true
		failure.Message += ". TLS is required and needs EHLO, so the message was not sent."
		return failure
	}
	s.ext = parseEHLO(rep)
	return nil
}

// startTLS upgrades the connection with STARTTLS (RFC 3207) and sends EHLO
// again, because RFC 3207 section 4.2 has the client discard the extensions
// it learnt before TLS. Any failure leaves the session broken, so that no
// command is ever sent without TLS.
func (s *session) startTLS(hostname string, config *tls.Config) *Error {
	prefix := hostPrefix(s.host, s.addr)
	if _, ok := s.ext["STARTTLS"]; !ok {
		s.broken = true
		return localError(true, codeNoStartTLS, s.host,
			"%s: server does not offer STARTTLS, and TLS is required. "+
				"The message was not sent in plaintext.", prefix)
	}

	rep, err := s.command("STARTTLS")
	if err != nil {
		return s.ioError("STARTTLS", err)
	}
	if rep.code != 220 {
		s.broken = true
		return localError(true, codeNoStartTLS, s.host,
			"%s: server refused STARTTLS with %q, and TLS is required. "+
				"The message was not sent in plaintext.", prefix, rep.String())
	}
	// Octets already buffered after the 220 reply came before TLS but would
	// be read as if they came over it. They are a sign that a man in the
	// middle is injecting replies, so the connection is dropped.
	if s.r.Buffered() > 0 {
		s.broken = true
		return localError(true, codeTLSFailed, s.host,
			"%s: server sent %d octets after its STARTTLS reply and before TLS began. "+
				"The message was not sent.", prefix, s.r.Buffered())
	}

	tlsConn := tls.Client(s.conn, config)
	s.setDeadline(s.timeout)
	s.mu.Lock()
	ctx := s.ctx
	s.mu.Unlock()
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		s.broken = true
		return tlsFailure(s.host, s.addr, err)
	}

	s.mu.Lock()
	s.conn = tlsConn
	s.mu.Unlock()
	s.r = bufio.NewReaderSize(tlsConn, ioBufferSize)
	s.w = bufio.NewWriterSize(tlsConn, ioBufferSize)
	s.tlsState = tlsConn.ConnectionState()
	if failure := s.hello(hostname); failure != nil {
		return failure
	}
	s.secure = true
	return nil
}

// writeData sends the message after a 354 reply, with dot stuffing and CRLF
// line endings (RFC 5321 section 4.5.2), and the final ".". Each chunk gets a
// fresh deadline, so that a large message on a slow link is not cut off.
func (s *session) writeData(msg []byte) error {
	dot := textproto.NewWriter(s.w).DotWriter()
	const chunk = 64 << 10
	for len(msg) > 0 {
		n := min(len(msg), chunk)
		s.setDeadline(s.timeout)
		if _, err := dot.Write(msg[:n]); err != nil {
			return err
		}
		msg = msg[n:]
	}
	s.setDeadline(s.timeout)
	if err := dot.Close(); err != nil {
		return err
	}
	return s.w.Flush()
}

// reset sends RSET, which ends any transaction and proves that an idle
// connection still works (RFC 5321 section 4.1.1.5).
func (s *session) reset() error {
	rep, err := s.command("RSET")
	if err != nil {
		s.broken = true
		return err
	}
	if !rep.positive() {
		s.broken = true
		return fmt.Errorf("RSET rejected: %s", rep)
	}
	return nil
}

// close sends QUIT, when the connection is still usable, and closes it.
func (s *session) close() {
	if !s.broken {
		s.mu.Lock()
		s.conn.SetDeadline(time.Now().Add(quitTimeout))
		s.mu.Unlock()
		s.w.WriteString("QUIT\r\n")
		if s.w.Flush() == nil {
			readReply(s.r)
		}
	}
	s.conn.Close()
}
