package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// counts are the sink's totals since it started.
type counts struct {
	Messages   int64 `json:"messages"`
	Recipients int64 `json:"recipients"`
	Octets     int64 `json:"octets"`
	LastNS     int64 `json:"last_ns"` // Unix time of the last message accepted, 0 before any
}

// counter holds the counts and wakes waiters on every message.
type counter struct {
	mu      sync.Mutex
	c       counts
	changed chan struct{} // closed and replaced on every message
}

func newCounter() *counter { return &counter{changed: make(chan struct{})} }

func (c *counter) add(recipients int, octets int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Messages++
	c.c.Recipients += int64(recipients)
	c.c.Octets += octets
	c.c.LastNS = time.Now().UnixNano()
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *counter) snapshot() counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c
}

// waitFor blocks until at least n messages have arrived or ctx ends, and reports which.
func (c *counter) waitFor(ctx context.Context, n int64) (counts, bool) {
	for {
		c.mu.Lock()
		snap, changed := c.c, c.changed
		c.mu.Unlock()
		if snap.Messages >= n {
			return snap, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return snap, false
		}
	}
}

// maxWait bounds the timeout of one /wait request.
const maxWait = time.Hour

// handler serves /count and /wait.
func (c *counter) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		writeCounts(w, http.StatusOK, c.snapshot())
	})
	mux.HandleFunc("GET /wait", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("messages"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "messages must be a count of messages, such as messages=2000",
				http.StatusBadRequest)
			return
		}
		timeout := time.Minute
		if text := r.URL.Query().Get("timeout"); text != "" {
			if timeout, err = time.ParseDuration(text); err != nil || timeout <= 0 ||
				timeout > maxWait {
				http.Error(w, fmt.Sprintf("timeout %q is invalid; give a duration up to %s, "+
					"such as 120s", text, maxWait), http.StatusBadRequest)
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		snap, ok := c.waitFor(ctx, n)
		status := http.StatusOK
		if !ok {
			status = http.StatusGatewayTimeout
		}
		writeCounts(w, status, snap)
	})
	return mux
}

func writeCounts(w http.ResponseWriter, status int, c counts) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(c)
}

// newSMTPServer returns a go-smtp server that counts into c. It offers STARTTLS and no AUTH.
func newSMTPServer(c *counter, hostname string, cert tls.Certificate,
	logger *slog.Logger) *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(conn *smtp.Conn) (smtp.Session, error) {
		return &session{counter: c, conn: conn}, nil
	}))
	srv.Domain = hostname
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert},
		MinVersion: tls.VersionTLS12}
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Minute, time.Minute
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 1000
	srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	return srv
}

// session is one SMTP connection to the sink.
type session struct {
	counter    *counter
	conn       *smtp.Conn
	recipients int
}

var errTLSRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message: "Must issue a STARTTLS command first"}

// Mail rejects a transaction before STARTTLS, because the benchmark measures relaying over
// TLS and a plaintext delivery would be a mistake in the server under test.
func (s *session) Mail(string, *smtp.MailOptions) error {
	if _, ok := s.conn.TLSConnectionState(); !ok {
		return errTLSRequired
	}
	return nil
}

func (s *session) Rcpt(string, *smtp.RcptOptions) error {
	s.recipients++
	return nil
}

// Data reads the message to the end and counts it; the content is discarded.
func (s *session) Data(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	s.counter.add(s.recipients, n)
	return nil
}

func (s *session) Reset()        { s.recipients = 0 }
func (s *session) Logout() error { return nil }
