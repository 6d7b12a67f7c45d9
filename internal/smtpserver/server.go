// Package smtpserver speaks SMTP on cjsm's three mail listeners: relay (MX, port
// 25), submission (587) and submissions (465, implicit TLS). It enforces the
// protocol rules: TLS 1.2 or later before any mail command, AUTH on submission,
// strict CRLF framing against SMTP smuggling, line, size and recipient limits, and
// loop detection. It adds the Received header and missing Date and Message-ID.
// Every decision about who may send what to whom goes to a Backend, which the
// command wires to the directory and the queue, so this package imports no domain
// package.
//
// The protocol engine is github.com/emersion/go-smtp. Each connection runs through a
// guard (guardConn) that go-smtp uses as its net.Conn. The guard handles TLS and
// framing itself, so go-smtp only ever reads well-formed lines.
package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Config holds the settings of a Server. Zero fields take the defaults given.
type Config struct {
	// Hostname is the server's name in the greeting, the EHLO reply, Received
	// fields and generated Message-IDs. Default: os.Hostname().
	Hostname string

	// TLSConfig holds the server certificate. Every listener needs it. MinVersion
	// is raised to TLS 1.2 whatever it holds. For the relay listener, set
	// ClientAuth to tls.RequestClientCert or tls.VerifyClientCertIfGiven so that
	// connectors' client certificates reach Backend.Identify.
	TLSConfig *tls.Config

	// MaxMessageBytes bounds the message size in octets, advertised with SIZE
	// (RFC 1870). Default 50 MiB.
	//
	// NOTE: each message is held in memory until Backend.Deliver returns, at peak
	// about twice its size (the message read, then the copy with added headers).
	MaxMessageBytes int64

	// MaxRecipients bounds the RCPT TO commands of one transaction. Default 500.
	MaxRecipients int

	// MaxLineLength bounds command lines and message lines, in octets including
	// CRLF. Default 1000, the text line limit of RFC 5321 section 4.5.3.1.6. The
	// same limit applies to commands so that long ESMTP parameters fit.
	MaxLineLength int

	// ReadTimeout bounds each wait for data from the client, including the TLS
	// handshake. Default 5 minutes, the server timeout of RFC 5321 section
	// 4.5.3.2.7.
	ReadTimeout time.Duration

	// WriteTimeout bounds each write of a reply. Default 1 minute.
	WriteTimeout time.Duration

	// MaxReceivedHeaders is the most Received fields a message may carry before it
	// is taken for a mail loop (RFC 5321 section 6.3). Default 50.
	MaxReceivedHeaders int
}

// Defaults applied by New.
const (
	DefaultMaxMessageBytes    = 50 << 20
	DefaultMaxRecipients      = 500
	DefaultMaxLineLength      = 1000
	DefaultReadTimeout        = 5 * time.Minute
	DefaultWriteTimeout       = time.Minute
	DefaultMaxReceivedHeaders = 50
)

// minLineLength is the smallest MaxLineLength accepted, because RFC 5321 section
// 4.5.3.1.4 requires servers to accept command lines of 512 octets.
const minLineLength = 512

// Server accepts SMTP connections on any number of listeners. Create it with New.
type Server struct {
	cfg       Config
	backend   Backend
	log       *slog.Logger
	tlsConfig *tls.Config
	engine    *smtp.Server
	now       func() time.Time

	ctx    context.Context // parent of every connection's context
	cancel context.CancelFunc

	mu       sync.Mutex
	conns    map[*guardConn]struct{}
	draining bool
}

// New returns a Server that sends every decision to backend and logs to logger
// (slog.Default() when nil). It applies the defaults of Config.
func New(cfg Config, backend Backend, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	cfg = withDefaults(cfg)

	var tlsConfig *tls.Config
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
		if tlsConfig.MinVersion < tls.VersionTLS12 {
			tlsConfig.MinVersion = tls.VersionTLS12
		}
		if tlsConfig.MaxVersion != 0 && tlsConfig.MaxVersion < tls.VersionTLS12 {
			tlsConfig.MaxVersion = 0
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:       cfg,
		backend:   backend,
		log:       logger,
		tlsConfig: tlsConfig,
		now:       time.Now,
		ctx:       ctx,
		cancel:    cancel,
		conns:     make(map[*guardConn]struct{}),
	}
	s.engine = s.newEngine()
	return s
}

func withDefaults(cfg Config) Config {
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
		if cfg.Hostname == "" {
			cfg.Hostname = "localhost"
		}
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = DefaultMaxRecipients
	}
	if cfg.MaxLineLength <= 0 {
		cfg.MaxLineLength = DefaultMaxLineLength
	}
	cfg.MaxLineLength = max(cfg.MaxLineLength, minLineLength)
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxReceivedHeaders <= 0 {
		cfg.MaxReceivedHeaders = DefaultMaxReceivedHeaders
	}
	return cfg
}

// newEngine configures go-smtp. go-smtp reads only guard connections and never
// learns about TLS. The guard runs STARTTLS, rejects AUTH before TLS (hence
// AllowInsecureAuth) and sets deadlines (hence no timeouts here).
func (s *Server) newEngine() *smtp.Server {
	e := smtp.NewServer(smtp.BackendFunc(s.newSession))
	e.Domain = s.cfg.Hostname
	e.MaxMessageBytes = s.cfg.MaxMessageBytes
	e.MaxRecipients = s.cfg.MaxRecipients
	// The guard enforces the line limit. go-smtp's own limit is off: v0.26.0
	// applies it to the BDAT chunks it throws away (over SIZE, or before RCPT),
	// which have no lines, and then closes the connection.
	e.MaxLineLength = 0
	e.AllowInsecureAuth = true
	e.EnableSMTPUTF8 = true
	e.EnableREQUIRETLS = true
	e.EnableDSN = true
	e.ErrorLog = engineLog{s.log}
	return e
}

// ServeRelay accepts MX connections on l (port 25): STARTTLS, no AUTH, and the
// backend identifies each peer at MAIL FROM. It blocks until Shutdown, then
// returns nil, or returns the listener's error.
func (s *Server) ServeRelay(l net.Listener) error {
	return s.serve(l, ModeRelay)
}

// ServeSubmission accepts submission connections on l (port 587): STARTTLS, then
// AUTH before MAIL FROM. It blocks like ServeRelay.
func (s *Server) ServeSubmission(l net.Listener) error {
	return s.serve(l, ModeSubmission)
}

// ServeSubmissions accepts implicit-TLS submission connections on l (port 465,
// RFC 8314): TLS from the first octet, then AUTH before MAIL FROM. l must be a
// plain TCP listener; the server runs TLS itself. It blocks like ServeRelay.
func (s *Server) ServeSubmissions(l net.Listener) error {
	return s.serve(l, ModeSubmissions)
}

func (s *Server) serve(l net.Listener, mode Mode) error {
	if s.tlsConfig == nil {
		return fmt.Errorf("smtpserver: %s listener on %v: Config.TLSConfig is nil; "+
			"set a certificate, because every listener requires TLS", mode, l.Addr())
	}
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		return smtp.ErrServerClosed
	}

	s.log.Info("smtp listener started", "listener", mode.String(), "addr", l.Addr().String())
	err := s.engine.Serve(&guardListener{Listener: l, srv: s, mode: mode})
	s.log.Info("smtp listener stopped", "listener", mode.String(), "addr", l.Addr().String())
	return err
}

// Shutdown stops accepting connections and waits for mail transactions under way
// to finish. Connections outside a transaction get 421 and close at once; the
// others get 421 at their next command after the transaction ends. When ctx ends
// first, Shutdown closes the remaining connections, cancels the contexts of
// backend calls still running, and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	conns := make([]*guardConn, 0, len(s.conns))
	for g := range s.conns {
		conns = append(conns, g)
	}
	s.mu.Unlock()

	done := make(chan error, 1)
	go func() {
		// go-smtp closes the listeners and waits for every connection to end.
		done <- s.engine.Shutdown(context.Background())
	}()
	for _, g := range conns {
		g.beginDrain()
	}

	select {
	case err := <-done:
		s.cancel()
		if errors.Is(err, smtp.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		s.mu.Lock()
		for g := range s.conns {
			g.forceClose()
		}
		s.mu.Unlock()
		s.cancel()
		return ctx.Err()
	}
}

// forget removes a closed connection from the server's set.
func (s *Server) forget(g *guardConn) {
	s.mu.Lock()
	delete(s.conns, g)
	s.mu.Unlock()
}

// guardListener wraps every accepted connection in a guard.
type guardListener struct {
	net.Listener
	srv  *Server
	mode Mode
}

// Accept waits for a connection and returns it wrapped in a guard. It does not
// wait for the TLS handshake of an implicit-TLS connection, which the guard runs
// before the greeting.
func (l *guardListener) Accept() (net.Conn, error) {
	raw, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}

	g := newGuard(l.srv, raw, l.mode)
	g.log.Info("smtp connection opened", "listener", l.mode.String())

	l.srv.mu.Lock()
	l.srv.conns[g] = struct{}{}
	draining := l.srv.draining
	l.srv.mu.Unlock()
	if draining {
		g.beginDrain()
	}
	return g, nil
}

// engineLog sends go-smtp's internal error messages to slog.
type engineLog struct{ log *slog.Logger }

func (l engineLog) Printf(format string, v ...any) {
	l.log.Warn("smtp engine error", "detail", fmt.Sprintf(format, v...))
}

func (l engineLog) Println(v ...any) {
	l.log.Warn("smtp engine error", "detail", fmt.Sprint(v...))
}
