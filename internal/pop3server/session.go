package pop3server

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// state is a POP3 session state (RFC 1939 section 3).
type state int

const (
	stateAuthorization state = iota
	stateTransaction
	stateUpdate
)

func (st state) String() string {
	switch st {
	case stateAuthorization:
		return "AUTHORIZATION"
	case stateTransaction:
		return "TRANSACTION"
	case stateUpdate:
		return "UPDATE"
	}
	return "unknown"
}

const (
	// readBufferSize is the size of the buffer that reads commands. Longer lines
	// are read in pieces up to their limit.
	readBufferSize = 4096

	// maxSASLResponseLength bounds the line that carries an AUTH PLAIN response
	// after a "+ " continuation, in octets including CRLF. It is longer than a
	// command because it holds the base64 of the user name and the password.
	maxSASLResponseLength = 4096

	// maxDiscardedLine is the number of octets of an over-long line read and
	// thrown away to find its end. Past it the connection is closed.
	maxDiscardedLine = 64 * 1024

	// maxClientErrors is the number of invalid commands in a row after which the
	// connection is closed.
	maxClientErrors = 10

	// maxAuthFailures is the number of failed sign-ins after which the
	// connection is closed. The sign-in service throttles across connections.
	maxAuthFailures = 3

	// closeTimeout bounds the TLS close_notify alert that closes a connection.
	closeTimeout = 10 * time.Second
)

// Reasons a session ends, logged as "reason".
var (
	errQuit             = errors.New("client sent QUIT")
	errIdle             = errors.New("idle timeout")
	errShutdown         = errors.New("server shutting down")
	errTooManyErrors    = errors.New("too many invalid commands")
	errTooManyFailures  = errors.New("too many failed sign-ins")
	errLineTooLong      = errors.New("line too long")
	errLineFlood        = errors.New("line too long to find its end")
	errMessageTransfer  = errors.New("message transfer failed")
	errClientDisconnect = errors.New("client closed the connection")
)

// entry is one message of the maildrop in the session.
type entry struct {
	Message
	deleted bool
}

// session is one client connection. Its methods run on the session's goroutine,
// except drain and forceClose, which Shutdown calls.
type session struct {
	srv      *Server
	raw      net.Conn // the TCP connection
	conn     net.Conn // raw, or TLS over raw
	r        *bufio.Reader
	w        *bufio.Writer
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	id       string
	remoteIP string
	listener string
	opened   time.Time

	implicitTLS  bool
	tlsActive    bool
	handshaking  bool // the client expects TLS records, so no plaintext response may go out
	state        state
	user         string // the name from USER, then the signed-in user
	drop         Maildrop
	msgs         []entry
	clientErrors int
	authFailures int
	retrieved    int
	deleted      int

	mu       sync.Mutex // guards draining and the read deadline
	draining bool
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").
	WithPadding(base32.NoPadding)

// newID returns 16 random characters from [a-z2-7] for a connection id.
func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return idEncoding.EncodeToString(b[:])
}

func newSession(srv *Server, raw net.Conn, implicitTLS bool) *session {
	id := newID()
	ctx, cancel := context.WithCancel(context.WithValue(srv.ctx, connIDKey{}, id))
	s := &session{
		srv:         srv,
		raw:         raw,
		conn:        raw,
		ctx:         ctx,
		cancel:      cancel,
		id:          id,
		remoteIP:    remoteIP(raw.RemoteAddr()),
		listener:    listenerName(implicitTLS),
		opened:      time.Now(),
		implicitTLS: implicitTLS,
	}
	s.log = srv.log.With("conn_id", s.id, "remote_ip", s.remoteIP)
	s.r = bufio.NewReaderSize(raw, readBufferSize)
	s.w = bufio.NewWriter(deadlineWriter{s})
	return s
}

func remoteIP(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// deadlineWriter writes to the session's connection, giving each write
// IdleTimeout to complete, so that a client that stops reading a long response
// is cut off like one that stops sending commands.
type deadlineWriter struct{ s *session }

func (d deadlineWriter) Write(p []byte) (int, error) {
	if err := d.s.raw.SetWriteDeadline(time.Now().Add(d.s.srv.cfg.IdleTimeout)); err != nil {
		return 0, err
	}
	return d.s.conn.Write(p)
}

// serve runs the session to its end and releases everything it holds.
func (s *session) serve() {
	s.log.Info("pop3 session opened", "listener", s.listener)
	err := s.run()
	s.finish(err)
}

// run greets the client and executes commands until the session ends. It
// returns why it ended.
func (s *session) run() error {
	if s.implicitTLS {
		tlsConn := tls.Server(s.raw, s.srv.tlsConfig)
		if err := s.handshake(tlsConn); err != nil {
			return err
		}
	}
	s.send(okReply(s.srv.cfg.Hostname + " POP3 service ready"))

	for {
		line, err := s.readLine(s.srv.cfg.MaxLineLength)
		if errors.Is(err, errLineTooLong) {
			err = s.reject(errReply("", fmt.Sprintf(
				"Command line too long; the limit is %d octets including CRLF.",
				s.srv.cfg.MaxLineLength)))
		} else if err == nil {
			err = s.execute(line)
		}
		if err != nil {
			return err
		}
	}
}

// execute parses and runs one command line. A non-nil error ends the session.
func (s *session) execute(line string) error {
	cmd, rep := parseCommand(line)
	if rep != nil {
		return s.reject(rep)
	}

	// Nothing but CAPA, STLS and QUIT before TLS, so that neither credentials nor
	// mail cross the network in clear text. RFC 2595 would allow more.
	if !s.tlsActive && cmd.name != "CAPA" && cmd.name != "STLS" && cmd.name != "QUIT" {
		return s.reject(errReply("", "TLS is required first; send STLS, "+
			"or connect to the POP3 over TLS port (995)."))
	}

	switch s.state {
	case stateAuthorization:
		return s.executeAuthorization(cmd)
	case stateTransaction:
		return s.executeTransaction(cmd)
	}
	return fmt.Errorf("unexpected command %s in state %v", cmd.name, s.state)
}

func (s *session) executeAuthorization(cmd command) error {
	switch cmd.name {
	case "CAPA":
		return s.cmdCapa()
	case "QUIT":
		s.send(okReply("Goodbye."))
		return errQuit
	case "STLS":
		return s.cmdSTLS()
	case "USER":
		return s.cmdUser(cmd)
	case "PASS":
		return s.cmdPass(cmd)
	case "AUTH":
		return s.cmdAuth(cmd)
	case "APOP":
		return s.reject(errReply("", "APOP is not supported; sign in with USER and PASS, "+
			"or AUTH PLAIN."))
	}
	return s.reject(errReply("", cmd.name+" is valid only after sign-in; "+
		"sign in first with USER and PASS, or AUTH PLAIN."))
}

func (s *session) executeTransaction(cmd command) error {
	switch cmd.name {
	case "CAPA":
		return s.cmdCapa()
	case "QUIT":
		return s.cmdQuit()
	case "STAT":
		return s.cmdStat()
	case "LIST":
		return s.cmdList(cmd)
	case "UIDL":
		return s.cmdUidl(cmd)
	case "RETR":
		return s.cmdRetr(cmd)
	case "TOP":
		return s.cmdTop(cmd)
	case "DELE":
		return s.cmdDele(cmd)
	case "RSET":
		return s.cmdRset()
	case "NOOP":
		s.send(okReply(""))
		return nil
	}
	return s.reject(errReply("", cmd.name+" is valid only before sign-in, "+
		"and this session has signed in."))
}

// cmdCapa lists the capabilities (RFC 2449 section 5). USER and SASL appear only
// under TLS, because they are refused without it, and STLS only before TLS.
func (s *session) cmdCapa() error {
	s.send(okReply("Capability list follows"))
	capabilities := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"}
	if s.tlsActive {
		capabilities = append(capabilities, "USER", "SASL PLAIN")
	} else {
		capabilities = append(capabilities, "STLS")
	}
	for _, c := range capabilities {
		s.w.WriteString(c + "\r\n")
	}
	s.w.WriteString(".\r\n")
	return nil
}

// cmdSTLS starts TLS (RFC 2595 section 4).
func (s *session) cmdSTLS() error {
	if s.tlsActive {
		return s.reject(errReply("", "TLS is already active."))
	}
	s.send(okReply("Begin TLS negotiation."))
	if err := s.w.Flush(); err != nil {
		return err
	}

	// Octets that arrived after the STLS line were sent before TLS, so a
	// man-in-the-middle could have put them there: discard them rather than run
	// them as commands under TLS (CVE-2011-0411). Octets that arrive later but
	// before the handshake are read by the handshake, which then fails.
	if n := s.r.Buffered(); n > 0 {
		s.log.Warn("pop3 discarded octets sent after STLS before TLS started", "octets", n)
	}

	tlsConn := tls.Server(s.raw, s.srv.tlsConfig)
	if err := s.handshake(tlsConn); err != nil {
		return err
	}
	s.user = ""
	return nil
}

// handshake runs the TLS handshake on tlsConn and, when it succeeds, makes
// tlsConn the session's connection with a fresh read buffer.
func (s *session) handshake(tlsConn *tls.Conn) error {
	s.handshaking = true
	timeout := min(handshakeTimeout, s.srv.cfg.IdleTimeout)
	if err := s.armRead(timeout); err != nil {
		return err
	}
	if err := s.raw.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if err := tlsConn.HandshakeContext(s.ctx); err != nil {
		if s.isDraining() {
			return errShutdown
		}
		return fmt.Errorf("TLS handshake failed: %w", err)
	}

	s.conn = tlsConn
	s.r = bufio.NewReaderSize(tlsConn, readBufferSize)
	s.tlsActive = true
	s.handshaking = false
	return nil
}

// send writes a one-line response into the write buffer. readLine flushes it.
// A positive response resets the count of invalid commands. Write errors stay
// in the buffer and end the session at the next flush.
func (s *session) send(rep *reply) {
	if rep.ok {
		s.clientErrors = 0
	}
	s.w.WriteString(rep.String())
	s.w.WriteString("\r\n")
}

// reject sends rep in reply to an invalid command, or closes the session when
// the client has sent too many in a row.
func (s *session) reject(rep *reply) error {
	s.clientErrors++
	if s.clientErrors >= maxClientErrors {
		s.send(errReply("", "Too many invalid commands; closing the connection."))
		return errTooManyErrors
	}
	s.send(rep)
	return nil
}

// readLine flushes pending responses and reads one line of at most limit octets
// including the line end, which it removes. A bare LF ends a line too. A longer
// line is read to its end and thrown away, and readLine returns errLineTooLong.
func (s *session) readLine(limit int) (string, error) {
	if s.r.Buffered() == 0 {
		// Responses to pipelined commands go out together (RFC 2449 section
		// 6.6), once the client waits for them.
		if err := s.w.Flush(); err != nil {
			return "", err
		}
	}
	if err := s.armRead(s.srv.cfg.IdleTimeout); err != nil {
		return "", err
	}

	var line []byte
	total := 0
	for {
		piece, err := s.r.ReadSlice('\n')
		total += len(piece)
		if total <= limit {
			line = append(line, piece...)
		} else if total > limit+maxDiscardedLine {
			return "", errLineFlood
		}
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return "", s.readError(err)
		}
	}
	if total > limit {
		return "", errLineTooLong
	}

	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}

// readError turns a read error into the reason the session ends.
func (s *session) readError(err error) error {
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		if s.isDraining() {
			return errShutdown
		}
		return errIdle
	case errors.Is(err, io.EOF):
		return errClientDisconnect
	}
	return err
}

// armRead sets the read deadline d from now, unless the server is shutting down.
func (s *session) armRead(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return errShutdown
	}
	return s.raw.SetReadDeadline(time.Now().Add(d))
}

func (s *session) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// drain makes the session end before its next command. A read waiting for that
// command returns at once.
func (s *session) drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draining = true
	s.raw.SetReadDeadline(time.Now())
}

// forceClose closes the connection under the session and cancels its backend
// calls.
func (s *session) forceClose() {
	s.raw.Close()
	s.cancel()
}

// finish sends the last response the end calls for, releases the maildrop lock,
// closes the connection and logs the session's end.
func (s *session) finish(reason error) {
	if rep := s.finalReply(reason); rep != nil {
		s.send(rep)
	}
	s.w.Flush()
	s.raw.SetWriteDeadline(time.Now().Add(closeTimeout))

	s.releaseMaildrop()
	s.conn.Close()
	s.cancel()

	attrs := []any{
		"listener", s.listener,
		"reason", reason.Error(),
		"state", s.state.String(),
		"duration_ms", time.Since(s.opened).Milliseconds(),
	}
	if s.state != stateAuthorization {
		attrs = append(attrs, "user", s.user, "retrieved", s.retrieved, "deleted", s.deleted)
	}
	s.log.Info("pop3 session closed", attrs...)
}

// releaseMaildrop releases the maildrop lock, if the session holds one. Later calls do
// nothing.
func (s *session) releaseMaildrop() {
	if s.drop == nil {
		return
	}
	if err := s.drop.Close(); err != nil {
		s.log.Error("pop3 maildrop unlock failed", "user", s.user, "error", err.Error())
	}
	s.drop = nil
}

// finalReply returns the response that gives the client the reason the server
// closes the connection, or nil when the client ended the session or a response has
// gone out already.
func (s *session) finalReply(reason error) *reply {
	if s.handshaking {
		// The client expects TLS records, so plaintext would only confuse it.
		return nil
	}
	keptNote := ""
	if s.state == stateTransaction {
		keptNote = " Messages marked for deletion were kept."
	}
	switch {
	case errors.Is(reason, errIdle):
		// RFC 1939 section 3: the autologout timer closes the connection without
		// entering the UPDATE state.
		return errReply("", fmt.Sprintf("No command for %v; closing the connection.%s",
			s.srv.cfg.IdleTimeout, keptNote))
	case errors.Is(reason, errShutdown):
		return errReply("SYS/TEMP", "The server is shutting down; "+
			"connect again in a few minutes."+keptNote)
	case errors.Is(reason, errLineFlood):
		return errReply("", "Line too long; closing the connection.")
	}
	return nil
}
