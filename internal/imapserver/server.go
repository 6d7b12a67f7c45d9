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
	// IdlePoll is how often an IDLE session re-reads its folder, to see changes that no
	// notification announced (another node's on SQLite, or one lost while PostgreSQL's
	// LISTEN connection was down) and to end access of a suspended person. 0 means 10
	// seconds.
	IdlePoll time.Duration
}

// quotaResStorage advertises the STORAGE resource of QUOTA (RFC 9208 section 5.1).
const quotaResStorage = imap.Cap("QUOTA=RES-" + string(imap.QuotaResourceStorage))

// Capabilities advertised after authentication, besides those the library adds itself
// (SASL-IR, LITERAL-, STARTTLS or AUTH=PLAIN before sign-in; UNSELECT, ENABLE, IDLE and
// UTF8=ACCEPT after). CONDSTORE, SORT and QUOTA come from the patched go-imap in
// third_party/go-imap (see its CJSM.md).
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
	imap.CapCondStore:    {},
	imap.CapSort:         {},
	imap.CapQuota:        {},
	quotaResStorage:      {},
}

// Server is the IMAP server of one node.
//
// Each connection gets its own go-imap server value, because go-imap v2.0.0-beta.8 takes its
// logger from the server options only. A per-connection server is the one way to give the
// library's log lines the conn_id and remote_ip of their connection.
type Server struct {
	cfg    Config
	log    *slog.Logger
	nextID atomic.Uint64

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*watchedConn]struct{}
	closed    bool
}

// tlsHandshakeTimeout bounds the TLS handshake on the implicit-TLS port. go-imap sets no read
// deadline before its first command read, so without it a client that connects and sends
// nothing would hold the connection open.
const tlsHandshakeTimeout = 30 * time.Second

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
	return &Server{cfg: cfg, log: cfg.Logger.With("protocol", "imap"),
		listeners: map[net.Listener]struct{}{}, conns: map[*watchedConn]struct{}{}}
}

// ServeTLS accepts implicit-TLS connections (port 993, RFC 8314) on l until Shutdown.
func (s *Server) ServeTLS(l net.Listener) error {
	return s.serve(l, true)
}

// Serve accepts plain connections on l (port 143) that must use STARTTLS before they may
// authenticate, until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, false)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("imapserver: server is shut down")
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	s.log.Info("IMAP listener started", "addr", l.Addr().String(), "implicit_tls", implicitTLS)

	var delay time.Duration
	for {
		raw, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		var temp interface{ Temporary() bool }
		if errors.As(err, &temp) && temp.Temporary() {
			// Back off as go-imap's own accept loop does, from 5 ms doubling to 1 s, while
			// accept fails for a passing reason such as running out of file descriptors.
			delay = max(5*time.Millisecond, min(2*delay, time.Second))
			s.log.Warn("IMAP accept failed; retrying", "addr", l.Addr().String(),
				"retry_in", delay, "err", err)
			time.Sleep(delay)
			continue
		}
		if err != nil {
			return fmt.Errorf("imapserver: accept on %s: %w", l.Addr(), err)
		}
		delay = 0
		go s.handle(raw, implicitTLS)
	}
}

// handle runs one connection: the TLS handshake on the implicit-TLS port, then a go-imap
// server of its own whose log lines carry the connection's conn_id and remote_ip.
func (s *Server) handle(raw net.Conn, implicitTLS bool) {
	id := fmt.Sprintf("imap-%d", s.nextID.Add(1))
	remote := raw.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	log := s.log.With("conn_id", id, "remote_ip", remote)

	wc := &watchedConn{Conn: raw}
	wc.onClose = func() {
		s.mu.Lock()
		delete(s.conns, wc)
		s.mu.Unlock()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		raw.Close()
		return
	}
	s.conns[wc] = struct{}{}
	s.mu.Unlock()

	var conn net.Conn = wc
	if implicitTLS {
		tlsConn := tls.Server(wc, s.cfg.TLS)
		ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
		err := tlsConn.HandshakeContext(ctx)
		cancel()
		if err != nil {
			log.Debug("IMAP TLS handshake failed", "err", err)
			wc.Close()
			return
		}
		conn = tlsConn
	}

	lib := goimapserver.New(&goimapserver.Options{
		NewSession: func(c *goimapserver.Conn) (goimapserver.Session,
			*goimapserver.GreetingData, error) {
			return s.newSession(c, wc, remote, log), nil, nil
		},
		Caps:      Capabilities,
		Logger:    libLogger{log},
		TLSConfig: s.cfg.TLS,
		// RFC 9051 section 11.1 and the design rule "no plaintext authentication": LOGIN and
		// AUTHENTICATE are refused until the connection is a *tls.Conn.
		InsecureAuth: false,
	})
	// Serve starts the connection's goroutine and returns when the listener reports that
	// it has no second connection.
	if err := lib.Serve(newOneConnListener(conn)); err != nil {
		log.Error("IMAP connection not served", "err", err)
		wc.Close()
	}
}

// Shutdown closes the listeners and every connection. Sessions end at once: IMAP has no
// graceful hand-over, and clients reconnect. ctx is not used, because nothing waits.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var errs []error
	for l := range s.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	conns := make([]*watchedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.Close()
	}
	s.log.Info("IMAP server stopped", "connections_closed", len(conns))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("imapserver: shutdown: %w", err)
	}
	return nil
}

func (s *Server) newSession(c *goimapserver.Conn, wc *watchedConn, remote string,
	log *slog.Logger) *session {
	sess := &session{srv: s, conn: c, remoteIP: remote, log: log}
	bye := sess.byeOnReadTimeout
	wc.onReadTimeout.Store(&bye)
	log.Debug("IMAP connection opened")
	return sess
}

// libLogger sends the library's messages (failed reads and writes, commands it replied to
// with NO [SERVERBUG], panics) to slog. Each connection has its own, with conn_id and remote_ip.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(format string, args ...any) {
	l.log.Warn("IMAP library: " + fmt.Sprintf(format, args...))
}

// The patched library advertises SORT and QUOTA only for sessions that implement them.
var (
	_ goimapserver.SessionSort  = (*session)(nil)
	_ goimapserver.SessionQuota = (*session)(nil)
	// It announces HIGHESTMODSEQ when a command other than SELECT enables CONDSTORE.
	_ goimapserver.SessionCondStore = (*session)(nil)
)
