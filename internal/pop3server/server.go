// Package pop3server speaks POP3 (RFC 1939) on cjsm's two POP3 listeners: port
// 995 with implicit TLS and port 110 with STLS (RFC 2595). It implements CAPA and
// response codes (RFC 2449, RFC 3206), UIDL, TOP, USER/PASS and AUTH PLAIN
// (RFC 5034, RFC 4616).
//
// TLS 1.2 or later comes before everything else: on port 110 every command but
// CAPA, STLS and QUIT is rejected until STLS succeeds, so no password ever
// crosses the network in clear text. Messages marked with DELE are removed only
// when the client sends QUIT (RFC 1939 section 6), never when a connection drops,
// idles out or the server shuts down.
//
// Sign-in and the mailbox go through a Backend, which the command wires to the
// identity service and the mailbox store, so this package imports no domain
// package.
package pop3server

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
)

// Config holds the settings of a Server. Zero fields take the defaults given.
type Config struct {
	// Hostname is the server's name in the greeting. Default: os.Hostname().
	Hostname string

	// TLSConfig holds the server certificate. Both listeners need it. MinVersion
	// is raised to TLS 1.2 whatever it holds.
	TLSConfig *tls.Config

	// IdleTimeout closes a connection that sends no command, or reads none of a
	// response, for this long. Default 10 minutes, the shortest autologout timer
	// RFC 1939 section 3 allows. Shorter values are accepted for tests.
	IdleTimeout time.Duration

	// MaxLineLength bounds a command line in octets, including CRLF. Default and
	// minimum 255, because RFC 2449 section 4 requires servers that support CAPA
	// to accept commands of 255 octets.
	MaxLineLength int
}

// Defaults applied by New.
const (
	DefaultIdleTimeout   = 10 * time.Minute
	DefaultMaxLineLength = 255
)

// handshakeTimeout bounds a TLS handshake, or IdleTimeout when that is shorter.
const handshakeTimeout = time.Minute

// ErrNoCertificate is returned by ServeTLS and ServeSTLS when Config.TLSConfig
// holds no certificate.
var ErrNoCertificate = errors.New(
	"pop3server: Config.TLSConfig has no certificate; set Certificates or GetCertificate, " +
		"because both POP3 listeners require TLS")

// Server accepts POP3 connections on any number of listeners. Create it with New.
type Server struct {
	cfg       Config
	backend   Backend
	log       *slog.Logger
	tlsConfig *tls.Config

	ctx    context.Context // parent of every session's context
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	closing   bool
	running   sync.WaitGroup // one per session
}

// New returns a Server that signs users in through backend and logs to logger
// (slog.Default() when nil). It applies the defaults of Config.
func New(cfg Config, backend Backend, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	cfg = withDefaults(cfg)

	var tlsConfig *tls.Config
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
		tlsConfig.MinVersion = max(tlsConfig.MinVersion, tls.VersionTLS12)
		if tlsConfig.MaxVersion != 0 && tlsConfig.MaxVersion < tls.VersionTLS12 {
			tlsConfig.MaxVersion = 0
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:       cfg,
		backend:   backend,
		log:       logger,
		tlsConfig: tlsConfig,
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		sessions:  make(map[*session]struct{}),
	}
}

func withDefaults(cfg Config) Config {
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
		if cfg.Hostname == "" {
			cfg.Hostname = "localhost"
		}
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	cfg.MaxLineLength = max(cfg.MaxLineLength, DefaultMaxLineLength)
	return cfg
}

// ServeTLS accepts POP3 connections with implicit TLS on l (port 995, RFC 8314):
// TLS from the first octet. l must be a plain TCP listener, because the server
// runs TLS itself. ServeTLS blocks until Shutdown, then returns nil, or returns
// the listener's error. Called after Shutdown, it returns nil at once.
func (s *Server) ServeTLS(l net.Listener) error {
	return s.serve(l, true)
}

// ServeSTLS accepts POP3 connections on l (port 110) that must upgrade to TLS
// with STLS (RFC 2595 section 4) before anything but CAPA and QUIT. It blocks
// like ServeTLS.
func (s *Server) ServeSTLS(l net.Listener) error {
	return s.serve(l, false)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	if s.tlsConfig == nil || (len(s.tlsConfig.Certificates) == 0 &&
		s.tlsConfig.GetCertificate == nil && s.tlsConfig.GetConfigForClient == nil) {
		return ErrNoCertificate
	}
	listener := listenerName(implicitTLS)

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()

	s.log.Info("pop3 listener started", "listener", listener, "addr", l.Addr().String())
	defer s.log.Info("pop3 listener stopped", "listener", listener, "addr", l.Addr().String())

	var retryDelay time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.isClosing() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("pop3server: %s listener on %v: %w", listener, l.Addr(), err)
			}
			// Other errors, such as running out of file descriptors, are usually
			// temporary, so accepting resumes after a growing delay.
			retryDelay = min(max(2*retryDelay, 5*time.Millisecond), time.Second)
			s.log.Warn("pop3 accept failed; retrying", "listener", listener,
				"error", err.Error(), "retry_in", retryDelay.String())
			time.Sleep(retryDelay)
			continue
		}
		retryDelay = 0
		s.start(conn, implicitTLS)
	}
}

func listenerName(implicitTLS bool) string {
	if implicitTLS {
		return "pop3s"
	}
	return "pop3"
}

// start runs a session for conn in a new goroutine.
func (s *Server) start(conn net.Conn, implicitTLS bool) {
	sess := newSession(s, conn, implicitTLS)

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.sessions[sess] = struct{}{}
	s.running.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.running.Done()
		sess.serve()
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
	}()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown closes the listeners and ends every session at its next command: the
// client gets "-ERR [SYS/TEMP]" and the connection closes without entering the
// UPDATE state, so messages marked for deletion stay. A command under way, such
// as a RETR, finishes first. When ctx ends before every session has, Shutdown
// closes the remaining connections, cancels the contexts of backend calls still
// running, and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		if err := l.Close(); err != nil {
			s.log.Warn("pop3 listener close failed", "addr", l.Addr().String(), "error", err.Error())
		}
	}
	for sess := range s.sessions {
		sess.drain()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()

	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for sess := range s.sessions {
			sess.forceClose()
		}
		s.mu.Unlock()
		s.cancel()
		return ctx.Err()
	}
}
