package imapserver

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// watchedConn is a connection's socket, beneath TLS. It reports the first read that times
// out, so that the session can end the connection with BYE. It also reports its own
// closing, so that the server drops it from the set of open connections.
type watchedConn struct {
	net.Conn
	onReadTimeout atomic.Pointer[func()]
	onClose       func()
	timeoutOnce   sync.Once
	closeOnce     sync.Once
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	var netErr net.Error
	if err != nil && errors.As(err, &netErr) && netErr.Timeout() {
		if f := c.onReadTimeout.Load(); f != nil {
			c.timeoutOnce.Do(*f)
		}
	}
	return n, err
}

func (c *watchedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		if c.onClose != nil {
			c.onClose()
		}
	})
	return err
}

// oneConnListener hands go-imap a single connection, then reports itself closed, which
// makes goimapserver.Server.Serve return while the connection goes on being served.
type oneConnListener struct {
	mu   sync.Mutex
	conn net.Conn
	addr net.Addr
}

func newOneConnListener(conn net.Conn) *oneConnListener {
	return &oneConnListener{conn: conn, addr: conn.LocalAddr()}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	conn := l.conn
	l.conn = nil
	if conn == nil {
		return nil, net.ErrClosed
	}
	return conn, nil
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.addr }

// byeWait bounds how long a timed-out read waits for the BYE to be written. The wait keeps
// go-imap from replying to the unfinished command with SERVERBUG before the BYE goes out. It
// is bounded because the BYE cannot be written while the same read holds the TLS
// handshake lock, which happens when a STARTTLS handshake times out.
const byeWait = 2 * time.Second

// byeOnReadTimeout ends a connection whose read deadline passed with an untagged BYE
// (RFC 3501 section 7.1.5). go-imap v2.0.0-beta.8 reads a command until its final CRLF
// with a 30-second deadline and sends nothing when that deadline passes. This covers
// commands it cannot finish: a synchronizing literal over its 4096-byte limit, to which it
// sends no continuation request, and a quoted string without its closing quote. It also
// covers the 35-minute deadline of an authenticated session waiting for its next command.
func (s *session) byeOnReadTimeout() {
	s.log.Info("IMAP read timed out; closing the connection with BYE")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.conn.Bye("Timed out reading from the client; closing the connection"); err != nil {
			s.log.Debug("IMAP BYE after read timeout not sent", "err", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(byeWait):
	}
}
