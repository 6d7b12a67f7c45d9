package smtpserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// maxAuthFailures is how many failed AUTH attempts one connection gets before it
// is closed. Throttling across connections is the backend's job.
const maxAuthFailures = 3

// session implements smtp.Session and smtp.AuthSession for one connection. go-smtp
// creates it at the first EHLO or HELO and keeps it until the connection closes.
//
// go-smtp calls every method from the connection's goroutine, except Data during a
// BDAT transfer, which runs in a goroutine of its own while the connection's
// goroutine may call Reset. mu guards the fields for that case.
type session struct {
	srv *Server
	g   *guardConn
	c   *smtp.Conn

	mu           sync.Mutex
	principal    Principal // set by a successful AUTH
	authFailures int
	tx           *transaction
}

// transaction is the state of one mail transaction, from MAIL FROM to the end of
// the message.
type transaction struct {
	conn          *Conn // the connection as it was at MAIL FROM
	principal     Principal
	authenticated bool
	extended      bool // the client greeted with EHLO
	from          string
	opts          MailOptions
	rcpts         []Recipient
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	g, ok := c.Conn().(*guardConn)
	if !ok {
		return nil, fmt.Errorf("smtpserver: connection from %v did not come through "+
			"a Serve method of this package", c.Conn().RemoteAddr())
	}
	return &session{srv: s, g: g, c: c}, nil
}

// conn returns a fresh description of the connection for the backend.
func (s *session) conn() *Conn {
	return &Conn{
		ID:       s.g.id,
		Remote:   s.g.RemoteAddr(),
		TLS:      s.g.tlsStateCopy(),
		HELO:     s.c.Hostname(),
		Listener: s.g.mode,
	}
}

// AuthMechanisms returns the SASL mechanisms offered: PLAIN (RFC 4616) and LOGIN
// on the submission listeners, none on the relay listener.
func (s *session) AuthMechanisms() []string {
	if s.g.mode == ModeRelay {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts a SASL exchange. The guard has already rejected AUTH before TLS.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.g.mode == ModeRelay {
		return nil, errAuthNotOffered
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(s.authenticate), nil
	case sasl.Login:
		return newLoginServer(s.authenticate), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// authenticate checks credentials with the backend. identity is the SASL
// authorization identity; acting for another user is not supported.
func (s *session) authenticate(identity, username, password string) error {
	if identity != "" && identity != username {
		return s.authFailed(username, errAuthzidMismatch)
	}

	p, err := s.srv.backend.Authenticate(s.g.ctx, s.conn(), username, password)
	if err == nil && p == nil {
		err = errors.New("backend Authenticate returned neither a principal nor an error")
	}
	if err != nil {
		reply := backendError(s.g, "AUTH", err, errAuthTemporary)
		if reply == errAuthTemporary {
			return reply
		}
		return s.authFailed(username, reply)
	}

	s.mu.Lock()
	s.principal = p
	s.mu.Unlock()
	s.g.log.Info("smtp authenticated", "user", username, "principal", p.String())
	return nil
}

// authFailed counts a failed AUTH and closes the connection after too many.
func (s *session) authFailed(username string, reply error) error {
	s.mu.Lock()
	s.authFailures++
	failures := s.authFailures
	s.mu.Unlock()

	s.g.log.Info("smtp authentication failed", "user", username, "failures", failures)
	if failures >= maxAuthFailures {
		s.g.requestClose(Reject(421, [3]int{4, 7, 0}, s.srv.cfg.Hostname+
			" Too many failed authentication attempts, closing the connection."))
	}
	return reply
}

// Mail starts a transaction. Submission listeners need a successful AUTH first;
// on the relay listener the backend identifies the peer at every MAIL FROM.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if !s.g.isTLS() {
		// The guard rejects MAIL before TLS, so this is a second check.
		return errTLSRequired
	}

	conn := s.conn()
	s.mu.Lock()
	p := s.principal
	s.mu.Unlock()
	authenticated := p != nil

	if p == nil {
		if s.g.mode != ModeRelay {
			return errAuthRequired
		}
		var err error
		p, err = s.srv.backend.Identify(s.g.ctx, conn)
		if err == nil && p == nil {
			err = errors.New("backend Identify returned neither a principal nor an error")
		}
		if err != nil {
			return backendError(s.g, "MAIL", err, errTemporary)
		}
	}

	mailOpts := convertMailOptions(opts)
	rewritten, err := s.srv.backend.Mail(s.g.ctx, conn, p, from, mailOpts)
	if err != nil {
		return backendError(s.g, "MAIL", err, errTemporary)
	}

	s.mu.Lock()
	s.tx = &transaction{
		conn:          conn,
		principal:     p,
		authenticated: authenticated,
		extended:      s.g.extended,
		from:          rewritten,
		opts:          mailOpts,
	}
	s.mu.Unlock()
	s.g.setInTx(true)
	return nil
}

// Rcpt adds a recipient after the backend accepts it. go-smtp enforces
// MaxRecipients with 452 4.5.3 before calling it (RFC 5321 section 4.5.3.1.10).
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.mu.Lock()
	tx := s.tx
	s.mu.Unlock()
	if tx == nil {
		return Reject(503, [3]int{5, 5, 1}, "Send MAIL FROM before RCPT TO.")
	}

	rcptOpts := convertRcptOptions(opts)
	if err := s.srv.backend.Rcpt(s.g.ctx, s.conn(), tx.principal, to, rcptOpts); err != nil {
		return backendError(s.g, "RCPT", err, errTemporary)
	}

	s.mu.Lock()
	tx.rcpts = append(tx.rcpts, Recipient{Address: to, Options: rcptOpts})
	s.mu.Unlock()
	return nil
}

// dataRejected passes an SMTP reply that refuses the message to a backend that implements
// DataRejecter, and returns err. Other errors, such as a lost connection, are not passed.
func (s *session) dataRejected(tx *transaction, rcpts []Recipient, err error) error {
	var reply *smtp.SMTPError
	if dr, ok := s.srv.backend.(DataRejecter); ok && errors.As(err, &reply) {
		dr.DataRejected(s.g.ctx, tx.conn, tx.principal, tx.from, rcpts, reply.Message)
	}
	return err
}

// Data receives the message, checks it, adds trace and missing header fields and
// hands it to the backend. go-smtp sends the returned *smtp.SMTPError as the reply,
// so success is returned as a 250 SMTPError carrying the queue id.
func (s *session) Data(r io.Reader) error {
	s.mu.Lock()
	tx := s.tx
	var rcpts []Recipient
	if tx != nil {
		rcpts = append(rcpts, tx.rcpts...)
	}
	s.mu.Unlock()
	if tx == nil || len(rcpts) == 0 {
		return Reject(503, [3]int{5, 5, 1}, "Send MAIL FROM and RCPT TO before the message.")
	}

	msg, err := s.readMessage(r, tx.opts.Size)
	if err != nil {
		return s.dataRejected(tx, rcpts, err)
	}
	if len(msg) > 0 && !bytes.HasSuffix(msg, []byte("\r\n")) {
		// Only BDAT content can end without CRLF; DATA lines always have one.
		msg = append(msg, "\r\n"...)
	}

	h := scanHeader(msg)
	if h.foldedStart {
		return s.dataRejected(tx, rcpts, Reject(554, [3]int{5, 6, 0}, "Message rejected: "+
			"its first header line starts with white space, which is not a valid header field."))
	}
	// RFC 5321 section 6.3: counting Received fields detects mail loops. RFC 3463
	// X.4.6 is "routing loop detected".
	if h.received > s.srv.cfg.MaxReceivedHeaders {
		return s.dataRejected(tx, rcpts, Reject(554, [3]int{5, 4, 6}, fmt.Sprintf("Message "+
			"rejected: it has %d Received header fields, more than the limit of %d, so it is "+
			"probably in a mail loop.", h.received, s.srv.cfg.MaxReceivedHeaders)))
	}

	env := Envelope{ID: newID(), From: tx.from, Recipients: rcpts, Options: tx.opts}
	full, messageID := s.decorate(msg, h, tx, env)

	queueID, err := s.srv.backend.Deliver(s.g.ctx, tx.conn, tx.principal, env, full)
	if err != nil {
		return backendError(s.g, "DATA", err, errTemporary)
	}
	queueID = commentText(queueID, 64)

	s.g.countDelivered()
	s.g.log.Info("smtp message accepted", "queue_id", queueID, "msg_id", messageID,
		"principal", tx.principal.String(), "recipients", len(rcpts), "size", len(full))
	return &smtp.SMTPError{
		Code:         250,
		EnhancedCode: smtp.EnhancedCode{2, 0, 0},
		Message:      "OK queued as " + queueID,
	}
}

// readMessage reads the whole message. It stops early when the guard has found a
// problem in the content, which during BDAT makes go-smtp drop the rest of the
// chunk and send the rejection at once.
func (s *session) readMessage(r io.Reader, sizeHint int64) ([]byte, error) {
	var buf bytes.Buffer
	if sizeHint > 0 && sizeHint <= s.srv.cfg.MaxMessageBytes {
		buf.Grow(int(sizeHint))
	}

	chunk := make([]byte, 32*1024)
	for {
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if problem := s.g.violationErr(); problem != nil {
			return nil, problem
		}
		if err == io.EOF {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, readError(s.g, err)
		}
	}
}

// readError turns an error from go-smtp's message reader into the reply.
func readError(g *guardConn, err error) error {
	var reply *smtp.SMTPError
	switch {
	case errors.As(err, &reply):
		// go-smtp's 552 5.3.4 for a message over MaxMessageBytes.
		return reply
	case errors.Is(err, smtp.ErrDataReset):
		// The client abandoned a BDAT transfer; go-smtp sends no reply for it.
		return err
	}
	g.log.Info("smtp message read failed", "err", err)
	return errReadFailed
}

// decorate builds the Received field and adds the missing header fields.
func (s *session) decorate(msg []byte, h headerSummary, tx *transaction,
	env Envelope) ([]byte, string) {

	info := receivedInfo{
		helo:     tx.conn.HELO,
		remote:   tx.conn.Remote,
		hostname: s.srv.cfg.Hostname,
		protocol: protocolName(tx.extended, tx.authenticated),
		tls:      tx.conn.TLS,
		id:       env.ID,
		date:     s.srv.now(),
	}
	// RFC 5321 section 4.4 allows one path in the "for" clause. Naming one of
	// several recipients would show that address to the others (section 7.2).
	if len(env.Recipients) == 1 {
		info.recipient = env.Recipients[0].Address
	}
	return decorate(msg, h, buildReceived(info), s.srv.cfg.Hostname, info.date)
}

// Reset ends the transaction. go-smtp calls it after RSET, a new EHLO, and the end
// of every message.
func (s *session) Reset() {
	s.mu.Lock()
	s.tx = nil
	s.mu.Unlock()
	s.g.setInTx(false)
}

// Logout is called when the connection closes; the guard logs the close.
func (s *session) Logout() error {
	s.Reset()
	return nil
}

func convertMailOptions(o *smtp.MailOptions) MailOptions {
	if o == nil {
		return MailOptions{}
	}
	return MailOptions{
		Size:       o.Size,
		Body:       string(o.Body),
		UTF8:       o.UTF8,
		RequireTLS: o.RequireTLS,
		Return:     string(o.Return),
		EnvelopeID: o.EnvelopeID,
	}
}

func convertRcptOptions(o *smtp.RcptOptions) RcptOptions {
	if o == nil {
		return RcptOptions{}
	}
	var notify []string
	for _, n := range o.Notify {
		notify = append(notify, string(n))
	}
	return RcptOptions{
		Notify:                notify,
		OriginalRecipientType: string(o.OriginalRecipientType),
		OriginalRecipient:     o.OriginalRecipient,
	}
}

// loginServer is the server side of the LOGIN SASL mechanism
// (draft-murchison-sasl-login), which go-sasl provides only as a client. Outlook
// and other older clients still use it.
type loginServer struct {
	authenticate sasl.PlainAuthenticator
	step         int
	username     string
}

func newLoginServer(authenticate sasl.PlainAuthenticator) sasl.Server {
	return &loginServer{authenticate: authenticate}
}

// Next runs one step. It requests the user name unless the client sent it as the
// initial response, then the password, and then checks both.
func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if response == nil {
			l.step = 1
			return []byte("Username:"), false, nil
		}
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 1:
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.authenticate("", l.username, string(response))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}
