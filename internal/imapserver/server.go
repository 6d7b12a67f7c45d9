// Package imapserver is cjsm's IMAP server: IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051)
// over TLS, on github.com/emersion/go-imap/v2 for the protocol and the mailbox service for
// everything stored.
//
// The server only speaks IMAP; every folder and message operation, and every permission
// check, goes through mailbox.Service. Passwords are checked by identity.SignIn. Clients
// authenticate only over TLS: on the implicit-TLS port (993) from the start, and on the
// STARTTLS port (143) after STARTTLS, before which the server advertises LOGINDISABLED.
//
// Group mailboxes appear in the shared namespace as "Shared/<group address>/<folder>",
// listed only to members with the read right.
package imapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"

	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/mailbox"
)

// Config holds what the server needs.
type Config struct {
	// TLS is the server's TLS configuration, for both ports. Required.
	TLS *tls.Config
	// SignIn checks passwords. Required.
	SignIn *identity.SignIn
	// Mailboxes is the mailbox service. Required.
	Mailboxes *mailbox.Service
	// Logger receives connection and error logs; nil means slog.Default().
	Logger *slog.Logger
	// IdlePoll is how often an IDLE session re-reads its folder, to see changes that the
	// in-process notifier does not carry (other nodes, the queue's deliveries) and to end
	// access of a suspended person. 0 means 10 seconds.
	IdlePoll time.Duration
}

// Capabilities advertised after authentication, besides those the library adds itself
// (LITERAL-, SASL-IR, STARTTLS or AUTH=PLAIN before sign-in; UNSELECT, ENABLE, IDLE and
// UTF8=ACCEPT after).
var Capabilities = imap.CapSet{
	imap.CapIMAP4rev1:    {},
	imap.CapIMAP4rev2:    {},
	imap.CapNamespace:    {},
	imap.CapUIDPlus:      {},
	imap.CapMove:         {},
	imap.CapSpecialUse:   {},
	imap.CapLiteralPlus:  {},
	imap.CapChildren:     {},
	imap.CapESearch:      {},
	imap.CapSearchRes:    {},
	imap.CapListExtended: {},
	imap.CapListStatus:   {},
	imap.CapStatusSize:   {},
	imap.CapBinary:       {},
}

// Server is the IMAP server of one node.
type Server struct {
	cfg    Config
	log    *slog.Logger
	lib    *goimapserver.Server
	nextID atomic.Uint64

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	closed    bool
}

// New returns a server. It panics when a required Config field is missing, because that is
// a wiring mistake.
func New(cfg Config) *Server {
	if cfg.TLS == nil || cfg.SignIn == nil || cfg.Mailboxes == nil {
		panic("imapserver: Config needs TLS, SignIn and Mailboxes")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IdlePoll <= 0 {
		cfg.IdlePoll = 10 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("protocol", "imap"),
		listeners: map[net.Listener]struct{}{}}
	s.lib = goimapserver.New(&goimapserver.Options{
		NewSession: s.newSession,
		Caps:       Capabilities,
		Logger:     libLogger{s.log},
		TLSConfig:  cfg.TLS,
		// RFC 9051 section 11.1 and the design rule "no plaintext authentication": LOGIN and
		// AUTHENTICATE are refused until the connection is a *tls.Conn.
		InsecureAuth: false,
	})
	return s
}

// ServeTLS accepts implicit-TLS connections (port 993, RFC 8314) on l until Shutdown.
func (s *Server) ServeTLS(l net.Listener) error {
	return s.serve(tls.NewListener(l, s.cfg.TLS))
}

// Serve accepts plain connections on l (port 143) that must use STARTTLS before they may
// authenticate, until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l)
}

func (s *Server) serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("imapserver: server is shut down")
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	s.log.Info("IMAP listener started", "addr", l.Addr().String())
	err := s.lib.Serve(l)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown closes the listeners and every connection. Sessions end at once: IMAP has no
// graceful hand-over, and clients reconnect.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.lib.Close() }()
	select {
	case err := <-done:
		s.log.Info("IMAP server stopped")
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("imapserver: shutdown: %w", ctx.Err())
	}
}

func (s *Server) newSession(c *goimapserver.Conn) (goimapserver.Session,
	*goimapserver.GreetingData, error) {
	id := fmt.Sprintf("imap-%d", s.nextID.Add(1))
	remote := ""
	if addr := c.NetConn().RemoteAddr(); addr != nil {
		remote = addr.String()
		if host, _, err := net.SplitHostPort(remote); err == nil {
			remote = host
		}
	}
	sess := &session{srv: s, conn: c, remoteIP: remote,
		log: s.log.With("conn_id", id, "remote_ip", remote)}
	sess.log.Debug("IMAP connection opened")
	return sess, nil, nil
}

// libLogger sends the library's messages (failed writes, panics) to slog.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(format string, args ...any) {
	l.log.Warn("IMAP library: " + fmt.Sprintf(format, args...))
}
