// Command tlssink is the receiving end of the relay benchmark: an SMTP server that requires
// STARTTLS, accepts every message, throws its content away and counts it.
//
// The counts are served as JSON on a loopback HTTP listener:
//
//	GET /count                          {"messages":N,"recipients":R,"octets":B,"last_ns":T}
//	GET /wait?messages=N&timeout=120s   the same, once at least N messages have arrived;
//	                                    status 504 if the timeout passes first
//
// last_ns is the Unix time in nanoseconds at which the last message was accepted, so that a
// script can compute a rate that ends with the last arrival, not with its own polling.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

func main() {
	fs := flag.NewFlagSet("tlssink", flag.ContinueOnError)
	smtpAddr := fs.String("listen", "127.0.0.1:10026", "SMTP listener address (host:port)")
	httpAddr := fs.String("http", "127.0.0.1:10027",
		"HTTP listener for /count and /wait; keep it on loopback")
	certFile := fs.String("cert", "", "PEM certificate chain offered with STARTTLS; required")
	keyFile := fs.String("key", "", "PEM private key of -cert; required")
	hostname := fs.String("hostname", "sink.bench.test", "name in the greeting and EHLO reply")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *certFile == "" || *keyFile == "" {
		logger.Error("tlssink: -cert and -key are required")
		os.Exit(2)
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		logger.Error("tlssink: load -cert and -key", "cert", *certFile, "key", *keyFile,
			"err", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sink, err := start(*smtpAddr, *httpAddr, *hostname, cert, logger)
	if err != nil {
		logger.Error("tlssink: start", "err", err)
		os.Exit(1)
	}
	logger.Info("tlssink listening", "smtp", sink.smtpAddr, "http", sink.httpAddr)
	<-ctx.Done()
	sink.close()
	c := sink.counter.snapshot()
	logger.Info("tlssink stopped", "messages", c.Messages, "recipients", c.Recipients,
		"octets", c.Octets)
}

// sink is a running SMTP listener and its HTTP listener.
type sink struct {
	smtpAddr, httpAddr string
	counter            *counter
	smtp               *smtp.Server
	http               *http.Server
}

// start opens both listeners and serves them in the background.
func start(smtpAddr, httpAddr, hostname string, cert tls.Certificate,
	logger *slog.Logger) (*sink, error) {
	c := newCounter()
	sl, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		return nil, fmt.Errorf("-listen %q: %w", smtpAddr, err)
	}
	hl, err := net.Listen("tcp", httpAddr)
	if err != nil {
		sl.Close()
		return nil, fmt.Errorf("-http %q: %w", httpAddr, err)
	}

	srv := newSMTPServer(c, hostname, cert, logger)
	go func() {
		if err := srv.Serve(sl); err != nil {
			logger.Error("tlssink: SMTP listener stopped", "err", err)
		}
	}()
	hs := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("tlssink: HTTP listener stopped", "err", err)
		}
	}()
	return &sink{smtpAddr: sl.Addr().String(), httpAddr: hl.Addr().String(), counter: c,
		smtp: srv, http: hs}, nil
}

func (s *sink) close() {
	s.smtp.Close()
	s.http.Close()
}
