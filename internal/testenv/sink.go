package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// SinkOptions configures a Sink.
type SinkOptions struct {
	// TLSConfig, when set, makes the sink offer STARTTLS with it. Set its
	// ClientAuth to receive client certificates.
	TLSConfig *tls.Config

	// RequireTLS rejects MAIL FROM before STARTTLS with 530 5.7.0.
	RequireTLS bool

	// Hostname is the name in the greeting and EHLO reply. Default "sink.test".
	Hostname string

	// RcptError, when set, is called for each RCPT TO; a non-nil result rejects
	// that recipient with the error's code and text.
	RcptError func(rcpt string) *smtp.SMTPError

	// DataError, when set, rejects every message after its data with this error,
	// in place of 250.
	DataError *smtp.SMTPError
}

// SinkMessage is a message a Sink accepted, with its envelope and connection.
type SinkMessage struct {
	From       string
	To         []string
	Data       []byte
	Helo       string // the EHLO or HELO name
	RemoteAddr string
	Received   time.Time

	TLS         bool
	TLSVersion  uint16 // tls.VersionTLS12, tls.VersionTLS13, ...
	CipherSuite uint16
	ServerName  string // the server name (SNI) the client sent
	// PeerCertificates is the client's certificate chain, when it sent one.
	PeerCertificates []*x509.Certificate
}

// SinkServer is a Go SMTP server on 127.0.0.1 that records every message it
// accepts. Its methods are safe for concurrent use.
type SinkServer struct {
	t      testing.TB
	server *smtp.Server
	addr   string
	log    *testLogger

	mu         sync.Mutex
	messages   []SinkMessage
	rejections []string
	arrived    chan struct{} // closed and replaced when a message arrives
	rcptError  func(rcpt string) *smtp.SMTPError
	dataError  *smtp.SMTPError
	requireTLS bool
}

// Sink starts a recording SMTP server on a free port of 127.0.0.1 and closes it
// when the test ends.
func Sink(t testing.TB, opts SinkOptions) *SinkServer {
	t.Helper()
	began := time.Now()
	hostname := opts.Hostname
	if hostname == "" {
		hostname = "sink.test"
	}

	s := &SinkServer{
		t:          t,
		log:        newTestLogger(t),
		arrived:    make(chan struct{}),
		rcptError:  opts.RcptError,
		dataError:  opts.DataError,
		requireTLS: opts.RequireTLS,
	}
	s.server = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.server.Domain = hostname
	s.server.TLSConfig = opts.TLSConfig
	s.server.ReadTimeout = time.Minute
	s.server.WriteTimeout = time.Minute
	s.server.MaxMessageBytes = 64 << 20
	s.server.EnableSMTPUTF8 = true
	s.server.ErrorLog = s.log

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: listen for the SMTP sink: %v", err)
	}
	s.addr = l.Addr().String()
	go s.server.Serve(l)

	t.Cleanup(func() {
		s.log.close()
		s.server.Close()
	})
	logStart(t, "SMTP sink on "+s.addr, began)
	return s
}

// Addr returns the sink's address, 127.0.0.1:PORT.
func (s *SinkServer) Addr() string {
	return s.addr
}

// Messages returns a copy of the messages accepted so far, oldest first.
func (s *SinkServer) Messages() []SinkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SinkMessage(nil), s.messages...)
}

// Rejections returns the replies the sink sent for RcptError and DataError, one
// line each such as "RCPT TO:<a@b.test>: 450 4.2.0 mailbox busy".
func (s *SinkServer) Rejections() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejections...)
}

// WaitMessages waits until the sink has accepted n messages and returns all it has.
// It fails the test when they do not arrive within timeout.
func (s *SinkServer) WaitMessages(n int, timeout time.Duration) []SinkMessage {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		count, arrived := len(s.messages), s.arrived
		s.mu.Unlock()
		if count >= n {
			return s.Messages()
		}

		select {
		case <-arrived:
		case <-deadline.C:
			s.t.Fatalf("testenv: SMTP sink %s has %d messages after %v, expected %d; rejections: %q",
				s.addr, count, timeout, n, s.Rejections())
		}
	}
}

// SetRcptError replaces SinkOptions.RcptError while the sink runs; nil accepts
// every recipient.
func (s *SinkServer) SetRcptError(f func(rcpt string) *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptError = f
}

// SetDataError replaces SinkOptions.DataError while the sink runs; nil accepts
// every message.
func (s *SinkServer) SetDataError(err *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataError = err
}

// SMTPError builds an SMTP reply for SinkOptions, such as
// SMTPError(450, "4.2.0", "mailbox busy"). An enhanced code that does not parse
// as three dot-separated numbers is left out of the reply.
func SMTPError(code int, enhancedCode, message string) *smtp.SMTPError {
	enhanced := smtp.NoEnhancedCode
	var class, subject, detail int
	if _, err := fmt.Sscanf(enhancedCode, "%d.%d.%d", &class, &subject, &detail); err == nil {
		enhanced = smtp.EnhancedCode{class, subject, detail}
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: message}
}

func (s *SinkServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &sinkSession{sink: s, conn: c}, nil
}

func (s *SinkServer) reject(command string, err *smtp.SMTPError) {
	line := fmt.Sprintf("%s: %d %s", command, err.Code, err.Message)
	if code := err.EnhancedCode; code != smtp.NoEnhancedCode {
		line = fmt.Sprintf("%s: %d %d.%d.%d %s", command, err.Code,
			code[0], code[1], code[2], err.Message)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejections = append(s.rejections, line)
}

func (s *SinkServer) record(m SinkMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// sinkSession is one SMTP transaction state of a Sink connection.
type sinkSession struct {
	sink *SinkServer
	conn *smtp.Conn
	from string
	to   []string
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.sink.mu.Lock()
	requireTLS := ss.sink.requireTLS
	ss.sink.mu.Unlock()

	if _, isTLS := ss.conn.TLSConnectionState(); requireTLS && !isTLS {
		// RFC 3207 gives 530 for commands that a server requiring TLS rejects before STARTTLS.
		err := SMTPError(530, "5.7.0", "Must issue a STARTTLS command first")
		ss.sink.reject("MAIL FROM:<"+from+">", err)
		return err
	}
	ss.from = from
	ss.to = nil
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.sink.mu.Lock()
	rcptError := ss.sink.rcptError
	ss.sink.mu.Unlock()

	if rcptError != nil {
		if err := rcptError(to); err != nil {
			ss.sink.reject("RCPT TO:<"+to+">", err)
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}

	ss.sink.mu.Lock()
	dataError := ss.sink.dataError
	ss.sink.mu.Unlock()
	if dataError != nil {
		ss.sink.reject("DATA", dataError)
		return dataError
	}

	m := SinkMessage{
		From:       ss.from,
		To:         append([]string(nil), ss.to...),
		Data:       data,
		Helo:       ss.conn.Hostname(),
		RemoteAddr: ss.conn.Conn().RemoteAddr().String(),
		Received:   time.Now(),
	}
	if state, ok := ss.conn.TLSConnectionState(); ok {
		m.TLS = true
		m.TLSVersion = state.Version
		m.CipherSuite = state.CipherSuite
		m.ServerName = state.ServerName
		m.PeerCertificates = state.PeerCertificates
	}
	ss.sink.record(m)
	return nil
}

func (ss *sinkSession) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *sinkSession) Logout() error {
	return nil
}
