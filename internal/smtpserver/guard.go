package smtpserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// A guardConn sits between the client's socket and go-smtp, which reads and writes
// it as its net.Conn. go-smtp v0.26.0 parses commands and their parameters; the
// guard enforces what go-smtp does not:
//
//   - framing: commands and message lines must end with CRLF, hold no other CR or LF
//     and fit MaxLineLength. go-smtp's reader (net/textproto) takes a bare LF as a
//     line end, and its DATA reader passes bare CR and LF through to the message.
//   - TLS: the guard runs STARTTLS itself, discards anything the client pipelined
//     behind it, and rejects mail commands and AUTH before TLS.
//   - the EHLO reply, which depends on the TLS state and the listener.
//   - the end of DATA: content reaches go-smtp only as checked CRLF lines, so go-smtp
//     finds the end exactly where the strict CRLF "." CRLF rule puts it.
//   - draining on shutdown, and read and write deadlines.
//
// The guard returns at most one command line to go-smtp per Read, and go-smtp reads
// again only after it has handled that line and written its reply. Each Read in the
// command state is therefore a point where the previous reply is on the wire and the
// guard may write replies of its own. The guard follows the replies go-smtp writes
// to learn when DATA content (354) or a SASL response (334) comes next.
type guardConn struct {
	srv      *Server
	raw      net.Conn
	mode     Mode
	id       string
	remoteIP string
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	opened   time.Time

	// The fields below are used only by the goroutine that go-smtp runs for this
	// connection, which makes every Read and Write call.
	transport net.Conn // raw, or a *tls.Conn over raw once TLS is up
	br        *bufio.Reader
	started   bool  // the implicit TLS handshake ran (ModeSubmissions)
	readErr   error // sticky error that ends reading
	state     readState
	pending   []byte // checked octets not yet handed to go-smtp
	lineBuf   []byte
	chunkBuf  []byte
	chunkLeft int64 // octets left in the current BDAT chunk
	chunkLast bool  // the current BDAT chunk is the LAST one
	checker   lineChecker

	verb       string // command word of the last command passed to go-smtp
	saslNext   bool   // go-smtp sent 334, so the next line is a SASL response
	needHello  bool   // STARTTLS succeeded and no EHLO or HELO followed yet
	extended   bool   // the last accepted greeting was EHLO, not HELO
	bdatActive bool   // a BDAT transfer is under way in go-smtp
	ehloHold   bool   // go-smtp's EHLO reply is being replaced
	heldReply  []byte // go-smtp's EHLO reply, held back
	wbuf       []byte // reply octets from go-smtp without their CRLF yet
	rejects    int    // lines the guard itself rejected

	mu         sync.Mutex // guards the fields below
	tlsState   *tls.ConnectionState
	draining   bool
	inTx       bool
	violation  error // problem found in the current message's content
	closeReply error // when set, sent as the last reply at the next command
	delivered  int
	closed     bool
}

type readState int

const (
	stateCommand readState = iota // reading command lines
	stateData                     // reading DATA content after a 354 reply
	stateChunk                    // reading the octets of a BDAT chunk
)

// maxGuardRejects is the number of command lines the guard rejects itself before
// it closes the connection. go-smtp applies its own limit to syntax errors it finds.
const maxGuardRejects = 10

// maxDiscardedLine is the number of octets of an over-long command line read and
// thrown away to find its end. Past it the connection is closed.
const maxDiscardedLine = 64 * 1024

var terminator = []byte(".\r\n")

// errDraining ends a read that would wait for a command while the server shuts
// down.
var errDraining = errors.New("smtpserver: server is shutting down")

func newGuard(srv *Server, raw net.Conn, mode Mode) *guardConn {
	ctx, cancel := context.WithCancel(srv.ctx)
	id := newID()
	ctx = context.WithValue(ctx, connIDKey{}, id)

	g := &guardConn{
		srv:      srv,
		raw:      raw,
		mode:     mode,
		id:       id,
		remoteIP: remoteIP(raw.RemoteAddr()),
		ctx:      ctx,
		cancel:   cancel,
		opened:   time.Now(),
		chunkBuf: make([]byte, 32*1024),
	}
	g.log = srv.log.With("conn_id", g.id, "remote_ip", g.remoteIP)

	g.transport = raw
	if mode == ModeSubmissions {
		g.transport = tls.Server(raw, srv.tlsConfig)
	}
	g.br = bufio.NewReaderSize(deadlineReader{g}, 4096)
	return g
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

// deadlineReader reads from the transport with a fresh read deadline for every
// read, so ReadTimeout bounds idle time rather than the length of a message. It
// also stops a read for the next command once the server is draining.
type deadlineReader struct{ g *guardConn }

func (d deadlineReader) Read(p []byte) (int, error) {
	g := d.g

	g.mu.Lock()
	if g.draining && !g.inTx && g.state == stateCommand && !g.saslNext {
		g.mu.Unlock()
		return 0, errDraining
	}
	if err := g.raw.SetReadDeadline(time.Now().Add(g.srv.cfg.ReadTimeout)); err != nil {
		g.mu.Unlock()
		return 0, err
	}
	g.mu.Unlock()

	return g.transport.Read(p)
}

// Read hands go-smtp the next checked octets.
func (g *guardConn) Read(p []byte) (int, error) {
	if err := g.start(); err != nil {
		return 0, err
	}

	for len(g.pending) == 0 {
		if g.readErr != nil {
			return 0, g.readErr
		}

		var err error
		switch g.state {
		case stateCommand:
			err = g.fillCommand()
		case stateData:
			err = g.fillData()
		case stateChunk:
			err = g.fillChunk()
		}
		if err != nil {
			g.readErr = err
		}
	}

	n := copy(p, g.pending)
	g.pending = g.pending[n:]
	return n, nil
}

// start runs the TLS handshake of an implicit-TLS connection with a deadline,
// before the greeting is written.
func (g *guardConn) start() error {
	if g.started {
		return nil
	}
	g.started = true

	tlsConn, ok := g.transport.(*tls.Conn)
	if !ok {
		return nil
	}
	if err := g.handshake(tlsConn); err != nil {
		g.readErr = io.EOF
		return err
	}
	return nil
}

func (g *guardConn) handshake(tlsConn *tls.Conn) error {
	ctx, cancel := context.WithTimeout(g.ctx, g.srv.cfg.ReadTimeout)
	defer cancel()

	if err := tlsConn.HandshakeContext(ctx); err != nil {
		g.log.Info("smtp TLS handshake failed", "err", err)
		return err
	}

	state := tlsConn.ConnectionState()
	g.mu.Lock()
	g.tlsState = &state
	g.mu.Unlock()
	return nil
}

// fillCommand reads command lines until one is for go-smtp, and replies to the
// others itself.
func (g *guardConn) fillCommand() error {
	for {
		if reply := g.closingReply(); reply != nil {
			g.writeReply(reply)
			return io.EOF
		}
		if g.rejects >= maxGuardRejects {
			g.writeReply(Reject(421, [3]int{4, 7, 0}, g.srv.cfg.Hostname+
				" Too many malformed commands, closing the connection."))
			return io.EOF
		}

		line, complete, err := g.readLine(g.srv.cfg.MaxLineLength)
		if err != nil {
			return g.commandReadError(err)
		}
		problem := commandProblem(line)
		if !complete {
			if !bytes.HasSuffix(line, []byte("\n")) {
				if err := g.discardLine(); err != nil {
					return g.commandReadError(err)
				}
			}
			problem = errCommandTooLong(g.srv.cfg.MaxLineLength)
		}

		if g.saslNext {
			g.saslNext = false
			if problem != nil {
				// go-smtp waits for this SASL response. The cancel line "*"
				// (RFC 4954 section 4) makes it send the one reply this line gets.
				g.rejects++
				g.log.Info("smtp malformed SASL response", "reason", problem.Error())
				line = []byte("*\r\n")
			}
			g.pending = line
			return nil
		}
		if problem != nil {
			g.rejectLine(commandVerb(line), problem)
			continue
		}

		verb := commandVerb(line)
		forward, err := g.dispatch(verb, line)
		if err != nil {
			return err
		}
		if forward {
			g.verb = verb
			g.pending = line
			return nil
		}
	}
}

// dispatch runs the commands the guard handles itself and prepares for the replies
// to those it passes on. It reports whether go-smtp gets the line.
func (g *guardConn) dispatch(verb string, line []byte) (forward bool, err error) {
	// A line such as "BDAT\t5" is no BDAT command to go-smtp, but a client that
	// sent it may follow it with a chunk, which must never be read as commands.
	if len(line) >= 4 && strings.EqualFold(string(line[:4]), "BDAT") {
		verb = "BDAT"
	}

	switch verb {
	case "STARTTLS":
		return false, g.startTLS(line)

	case "MAIL", "RCPT", "DATA", "AUTH":
		if rejection := g.mailGate(); rejection != nil {
			g.rejectLine(verb, rejection)
			return false, nil
		}

	case "BDAT":
		size, last, ok := parseBDAT(string(line[:len(line)-2]))
		if !ok {
			g.rejectLine(verb, errBDATSyntax(g.srv.cfg.Hostname))
			return false, io.EOF
		}
		if rejection := g.mailGate(); rejection != nil {
			// The client sends the chunk without waiting for the reply to BDAT
			// (RFC 3030 section 2), so the chunk is read and thrown away.
			if _, err := io.CopyN(io.Discard, g.br, size); err != nil {
				return false, err
			}
			g.rejectLine(verb, rejection)
			return false, nil
		}
		g.beginChunk(size, last)

	case "EHLO":
		g.ehloHold = true
	}
	return true, nil
}

// mailGate returns the rejection for a mail command or AUTH in the current TLS
// state, or nil when it may go ahead.
func (g *guardConn) mailGate() error {
	if !g.isTLS() {
		return errTLSRequired
	}
	if g.needHello {
		// RFC 3207 section 4.2: after the handshake the server discards what it
		// learned from the client before it, so the client must greet again.
		return Reject(503, [3]int{5, 5, 1}, "Send EHLO again after STARTTLS.")
	}
	return nil
}

// startTLS runs the STARTTLS command (RFC 3207).
func (g *guardConn) startTLS(line []byte) error {
	if len(line) != len("STARTTLS\r\n") {
		g.rejectLine("STARTTLS", Reject(501, [3]int{5, 5, 4}, "STARTTLS takes no parameters."))
		return nil
	}
	if g.isTLS() {
		g.rejectLine("STARTTLS", Reject(503, [3]int{5, 5, 1}, "TLS is already active."))
		return nil
	}

	g.writeReply(Reject(220, [3]int{2, 0, 0}, "Ready to start TLS"))

	// Octets the client sent after STARTTLS, before the handshake, arrived in
	// plaintext and could have been injected by anyone on the path (CVE-2011-0411).
	// They are dropped, never read as commands once TLS is up.
	if n := g.br.Buffered(); n > 0 {
		g.log.Warn("smtp discarded plaintext sent after STARTTLS", "octets", n)
	}

	tlsConn := tls.Server(g.raw, g.srv.tlsConfig)
	if err := g.handshake(tlsConn); err != nil {
		return io.EOF
	}

	g.transport = tlsConn
	g.br.Reset(deadlineReader{g})
	g.needHello = true
	return nil
}

// fillData reads the next line of DATA content.
func (g *guardConn) fillData() error {
	// One octet more than the limit: a leading dot added for transparency does not
	// count (RFC 5321 section 4.5.3.1.6).
	line, complete, err := g.readLine(g.srv.cfg.MaxLineLength + 1)
	if err != nil {
		return err
	}

	if complete && string(line) == string(terminator) {
		g.pending = terminator
		g.state = stateCommand
		return nil
	}

	problem := g.checker.write(line)
	if problem == nil && !complete {
		problem = errDataLineTooLong(g.srv.cfg.MaxLineLength)
	}
	if problem != nil {
		g.setViolation(problem)
		return g.discardData(line)
	}

	g.pending = line
	return nil
}

// discardData throws away the rest of a rejected message up to its end, found by
// the strict CRLF "." CRLF rule, and then gives go-smtp the end marker so that it
// ends the message there too. bad is the start of the line that failed the check,
// which starts right after a CRLF.
func (g *guardConn) discardData(bad []byte) error {
	var d endDetector
	if _, done := d.scan(bad); done {
		g.pending = terminator
		g.state = stateCommand
		return nil
	}

	for {
		if g.br.Buffered() == 0 {
			if _, err := g.br.Peek(1); err != nil {
				return err
			}
		}
		buf, _ := g.br.Peek(g.br.Buffered())
		n, done := d.scan(buf)
		if _, err := g.br.Discard(n); err != nil {
			return err
		}
		if done {
			g.pending = terminator
			g.state = stateCommand
			return nil
		}
	}
}

// beginChunk prepares to pass a BDAT chunk of size octets to go-smtp after the
// BDAT line. go-smtp reads exactly size octets after every BDAT line that
// parseBDAT accepts.
func (g *guardConn) beginChunk(size int64, last bool) {
	if !g.bdatActive {
		g.bdatActive = true
		g.checker.reset(g.srv.cfg.MaxLineLength, false)
		g.setViolation(nil)
	}

	g.chunkLeft = size
	g.chunkLast = last
	if size > 0 {
		g.state = stateChunk
		return
	}
	if last {
		g.finishChunks()
	}
}

// fillChunk passes on the next octets of a BDAT chunk, checking them on the way.
// go-smtp reads the chunk itself, so it gets every octet even after a problem. The
// session reads the recorded problem and rejects the message.
func (g *guardConn) fillChunk() error {
	want := min(g.chunkLeft, int64(len(g.chunkBuf)))
	n, err := g.br.Read(g.chunkBuf[:want])
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}

	data := g.chunkBuf[:n]
	if g.violationErr() == nil {
		if problem := g.checker.write(data); problem != nil {
			g.setViolation(problem)
		}
	}
	g.pending = data
	g.chunkLeft -= int64(n)

	if g.chunkLeft == 0 {
		g.state = stateCommand
		if g.chunkLast {
			g.finishChunks()
		}
	}
	return nil
}

func (g *guardConn) finishChunks() {
	if g.violationErr() != nil {
		return
	}
	if problem := g.checker.finish(); problem != nil {
		g.setViolation(problem)
	}
}

// readLine reads one line, terminator included, of at most limit octets. complete
// is false when the line is longer. line then contains what was read of it, and it
// ends with LF only when the whole line was read.
func (g *guardConn) readLine(limit int) (line []byte, complete bool, err error) {
	g.lineBuf = g.lineBuf[:0]
	for {
		frag, err := g.br.ReadSlice('\n')
		g.lineBuf = append(g.lineBuf, frag...)
		if len(g.lineBuf) > limit {
			return g.lineBuf, false, nil
		}
		switch err {
		case nil:
			return g.lineBuf, true, nil
		case bufio.ErrBufferFull:
			continue
		default:
			return g.lineBuf, false, err
		}
	}
}

// discardLine reads up to the end of an over-long command line.
func (g *guardConn) discardLine() error {
	discarded := 0
	for {
		frag, err := g.br.ReadSlice('\n')
		discarded += len(frag)
		switch {
		case err == nil:
			return nil
		case err != bufio.ErrBufferFull:
			return err
		case discarded > maxDiscardedLine:
			g.writeReply(Reject(421, [3]int{4, 5, 2}, g.srv.cfg.Hostname+
				" Line too long, closing the connection."))
			return io.EOF
		}
	}
}

// commandReadError turns a failed read for the next command into the error that
// ends the connection, first sending 421 when the server closes it.
func (g *guardConn) commandReadError(err error) error {
	var netErr net.Error
	switch {
	case errors.Is(err, errDraining):
		g.writeReply(g.shutdownReply())
		return io.EOF
	case errors.As(err, &netErr) && netErr.Timeout():
		if g.isDraining() {
			g.writeReply(g.shutdownReply())
		} else {
			g.writeReply(Reject(421, [3]int{4, 4, 2}, g.srv.cfg.Hostname+
				" Idle timeout, closing the connection."))
		}
		return io.EOF
	}
	return err
}

// rejectLine sends the guard's own rejection of a line.
func (g *guardConn) rejectLine(verb string, reply error) {
	g.rejects++
	g.verb = verb
	g.writeReply(reply)
}

// writeReply writes a reply of the guard's own. reply is an *smtp.SMTPError.
func (g *guardConn) writeReply(reply error) {
	var e *smtp.SMTPError
	if !errors.As(reply, &e) {
		e = errTemporary.(*smtp.SMTPError)
	}
	line := replyLine(e)
	if err := g.writeTransport(line); err != nil {
		g.log.Debug("smtp reply write failed", "err", err)
	}
	if e.Code >= 400 {
		g.logReject(line)
	}
}

func (g *guardConn) logReject(line []byte) {
	text := strings.TrimRight(string(line), "\r\n")
	if len(text) > 300 {
		text = text[:300]
	}
	g.log.Info("smtp command rejected", "command", g.verb, "reply", text)
}

// Write takes go-smtp's replies. It passes them on line by line, replaces the
// EHLO reply, and follows the reply codes to know what the client sends next.
func (g *guardConn) Write(p []byte) (int, error) {
	if err := g.start(); err != nil {
		return 0, err
	}

	g.wbuf = append(g.wbuf, p...)
	rest := g.wbuf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		if err := g.outputReplyLine(rest[:i+1]); err != nil {
			g.wbuf = g.wbuf[:0]
			return 0, err
		}
		rest = rest[i+1:]
	}
	g.wbuf = append(g.wbuf[:0], rest...)
	return len(p), nil
}

func (g *guardConn) outputReplyLine(line []byte) error {
	code, final := parseReplyLine(line)

	if g.ehloHold {
		g.heldReply = append(g.heldReply, line...)
		if !final {
			return nil
		}
		g.ehloHold = false
		out := g.heldReply
		if code == 250 {
			g.needHello = false
			g.extended = true
			g.bdatActive = false
			out = g.ehloReply()
		}
		err := g.writeTransport(out)
		g.heldReply = g.heldReply[:0]
		if code >= 400 {
			g.logReject(line)
		}
		return err
	}

	if err := g.writeTransport(line); err != nil {
		return err
	}
	if final {
		g.afterReply(code, line)
	}
	return nil
}

// afterReply updates the guard's view of the session from the final line of a
// reply go-smtp wrote.
func (g *guardConn) afterReply(code int, line []byte) {
	switch code {
	case 354:
		g.state = stateData
		g.checker.reset(g.srv.cfg.MaxLineLength, true)
		g.setViolation(nil)
	case 334:
		g.saslNext = true
	}

	switch g.verb {
	case "HELO":
		if code == 250 {
			g.needHello = false
			g.extended = false
		}
		g.bdatActive = false
	case "RSET":
		g.bdatActive = false
	case "BDAT":
		// go-smtp ends the transfer after the LAST chunk and after any error.
		if g.chunkLast || code != 250 {
			g.bdatActive = false
		}
	}

	if code >= 400 {
		g.logReject(line)
	}
}

// ehloReply builds the EHLO reply (RFC 5321 section 4.1.1.1). Before TLS it offers
// only STARTTLS beside PIPELINING and ENHANCEDSTATUSCODES, since every mail command
// is rejected until then.
func (g *guardConn) ehloReply() []byte {
	cfg := g.srv.cfg
	lines := []string{cfg.Hostname}
	if !g.isTLS() {
		lines = append(lines, "PIPELINING", "ENHANCEDSTATUSCODES", "STARTTLS")
	} else {
		lines = append(lines,
			"PIPELINING",
			"8BITMIME",
			"SMTPUTF8",
			fmt.Sprintf("SIZE %d", cfg.MaxMessageBytes),
			"ENHANCEDSTATUSCODES",
			"CHUNKING",
			"DSN",
			"REQUIRETLS",
			fmt.Sprintf("LIMITS RCPTMAX=%d", cfg.MaxRecipients),
		)
		if g.mode != ModeRelay {
			lines = append(lines, "AUTH PLAIN LOGIN")
		}
	}

	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + l + "\r\n")
	}
	return []byte(b.String())
}

func (g *guardConn) writeTransport(b []byte) error {
	if err := g.raw.SetWriteDeadline(time.Now().Add(g.srv.cfg.WriteTimeout)); err != nil {
		return err
	}
	_, err := g.transport.Write(b)
	return err
}

// Close closes the connection once and logs it. go-smtp calls it after QUIT,
// after a fatal error, and on Server.Close.
func (g *guardConn) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	delivered := g.delivered
	g.mu.Unlock()

	g.cancel()
	g.srv.forget(g)

	var err error
	if tlsConn, ok := g.transport.(*tls.Conn); ok {
		// Closing a TLS connection sends close_notify, which must not block on a
		// client that stopped reading.
		_ = g.raw.SetWriteDeadline(time.Now().Add(time.Second))
		err = tlsConn.Close()
	} else {
		err = g.raw.Close()
	}

	g.log.Info("smtp connection closed", "listener", g.mode.String(),
		"duration_ms", time.Since(g.opened).Milliseconds(), "messages", delivered)
	if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}

// LocalAddr returns the local address of the socket.
func (g *guardConn) LocalAddr() net.Addr { return g.raw.LocalAddr() }

// RemoteAddr returns the client's address.
func (g *guardConn) RemoteAddr() net.Addr { return g.raw.RemoteAddr() }

// SetDeadline does nothing, because the guard sets its own deadlines on every read
// and write. go-smtp's ReadTimeout and WriteTimeout stay zero.
func (g *guardConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline does nothing, like SetDeadline.
func (g *guardConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline does nothing, like SetDeadline.
func (g *guardConn) SetWriteDeadline(time.Time) error { return nil }

func (g *guardConn) isTLS() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tlsState != nil
}

// tlsStateCopy returns a copy of the TLS state, or nil before TLS.
func (g *guardConn) tlsStateCopy() *tls.ConnectionState {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tlsState == nil {
		return nil
	}
	state := *g.tlsState
	return &state
}

func (g *guardConn) setInTx(inTx bool) {
	g.mu.Lock()
	g.inTx = inTx
	g.mu.Unlock()
}

func (g *guardConn) setViolation(err error) {
	g.mu.Lock()
	g.violation = err
	g.mu.Unlock()
}

// violationErr returns the problem found in the current message's content, or nil.
// The session's BDAT goroutine calls it while the guard checks chunks.
func (g *guardConn) violationErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.violation
}

// requestClose makes reply the last reply. It is sent when go-smtp next reads a
// command, and the connection then closes.
func (g *guardConn) requestClose(reply error) {
	g.mu.Lock()
	g.closeReply = reply
	g.mu.Unlock()
}

func (g *guardConn) countDelivered() {
	g.mu.Lock()
	g.delivered++
	g.mu.Unlock()
}

func (g *guardConn) isDraining() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.draining
}

// closingReply returns the reply to close with before the next command, or nil.
func (g *guardConn) closingReply() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closeReply != nil {
		return g.closeReply
	}
	if g.draining && !g.inTx {
		return g.shutdownReplyLocked()
	}
	return nil
}

func (g *guardConn) shutdownReply() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.shutdownReplyLocked()
}

// shutdownReplyLocked returns 421 with RFC 3463 X.3.2, "system not accepting
// network messages".
func (g *guardConn) shutdownReplyLocked() error {
	return Reject(421, [3]int{4, 3, 2}, g.srv.cfg.Hostname+
		" Service shutting down, try again later.")
}

// beginDrain makes the connection close at its next command outside a mail
// transaction. A read that waits for a command outside a transaction is
// interrupted at once.
func (g *guardConn) beginDrain() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.draining = true
	if !g.inTx {
		_ = g.raw.SetReadDeadline(time.Now())
	}
}

// forceClose closes the socket under go-smtp, which then ends the connection.
func (g *guardConn) forceClose() {
	g.cancel()
	_ = g.raw.Close()
}
