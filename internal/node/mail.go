package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/delivery"
	"github.com/cjsm/cjsm/internal/queue"
	"github.com/cjsm/cjsm/internal/relay"
	"github.com/cjsm/cjsm/internal/smtpserver"
)

func init() { starters = append(starters, startMail) }

// QueueConfig returns the queue settings of cfg.
func QueueConfig(cfg config.Config) queue.Config {
	return queue.Config{Hostname: cfg.Hostname, NodeID: cfg.NodeID, Workers: cfg.Queue.Workers,
		PerDestination: cfg.Queue.PerDestination, RetryInitial: cfg.Queue.RetryInitial.Duration,
		RetryMax: cfg.Queue.RetryMax.Duration, DelayNotice: cfg.Queue.DelayNotice.Duration,
		Expire: cfg.Queue.Expire.Duration, Lease: cfg.Queue.Lease.Duration,
		PollInterval: cfg.Queue.PollInterval.Duration}
}

// ServerTLS returns the TLS configuration of the mail listeners: TLS 1.2 or later, and client
// certificates verified against tls.client_ca_file when a client offers one.
func ServerTLS(cfg config.Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file %q / tls.key_file %q: %w", cfg.TLS.CertFile, cfg.TLS.KeyFile, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLS.ClientCAFile != "" {
		pool, err := loadPool(cfg.TLS.ClientCAFile, false)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// loadPool reads PEM certificates from path, on top of the system roots when withSystem.
func loadPool(path string, withSystem bool) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if withSystem {
		if sys, err := x509.SystemCertPool(); err == nil {
			pool = sys
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s contains no PEM certificate", path)
	}
	return pool, nil
}

// startMail starts the queue and the SMTP listeners.
func startMail(ctx context.Context, n *Node) error {
	cfg := n.Config
	if cfg.Listen.SMTP == "" && cfg.Listen.Submission == "" && cfg.Listen.Submissions == "" {
		return nil
	}
	tc, err := ServerTLS(cfg)
	if err != nil {
		return err
	}
	var roots *x509.CertPool
	if cfg.TLS.RootCAFile != "" {
		if roots, err = loadPool(cfg.TLS.RootCAFile, true); err != nil {
			return fmt.Errorf("tls.root_ca_file: %w", err)
		}
	}
	client := &delivery.Client{Hostname: cfg.Hostname, Resolver: cfg.DNS.Resolver,
		DNSTimeout: cfg.DNS.Timeout.Duration, DialTimeout: 30 * time.Second,
		CommandTimeout: 5 * time.Minute, RootCAs: roots, Logger: n.Log.With("component", "delivery"),
		MaxIdlePerHost: cfg.Queue.PerDestination, IdleTimeout: 30 * time.Second}
	deliverer := relay.NewDeliverer(n.Store, client)
	deliverer.PortOverride = n.DeliveryPort
	policy := relay.New(n.Store, cfg.CommunitySuffix, n.SignIn, n.Queue, n.Log.With("component", "relay"))
	policy.CheckQuota = n.checkQuota
	policy.AfterFiling = n.quotaAfterFiling
	policy.Postmaster = cfg.Postmaster
	n.Queue.SetDeliverer(deliverer, policy)

	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var qwg sync.WaitGroup
	qwg.Add(1)
	go func() { defer qwg.Done(); n.Queue.Run(qctx) }()
	n.serve("queue", func() error { qwg.Wait(); return nil }, func(ctx context.Context) error {
		cancel()
		qwg.Wait()
		return client.Close()
	})

	srv := smtpserver.New(smtpserver.Config{Hostname: cfg.Hostname, TLSConfig: tc,
		MaxMessageBytes: cfg.Limits.MaxMessageSize, MaxRecipients: cfg.Limits.MaxRecipients,
		MaxReceivedHeaders: cfg.Limits.MaxReceivedHeaders}, policy, n.Log.With("component", "smtp"))
	for _, l := range []struct {
		name, addr string
		mode       smtpserver.Mode
	}{
		{"smtp", cfg.Listen.SMTP, smtpserver.ModeRelay},
		{"submission", cfg.Listen.Submission, smtpserver.ModeSubmission},
		{"submissions", cfg.Listen.Submissions, smtpserver.ModeSubmissions},
	} {
		if l.addr == "" {
			continue
		}
		ln, err := n.listen(l.name, l.addr)
		if err != nil {
			return err
		}
		switch l.mode {
		case smtpserver.ModeRelay:
			n.serve(l.name, func() error { return srv.ServeRelay(ln) }, nil)
		case smtpserver.ModeSubmission:
			n.serve(l.name, func() error { return srv.ServeSubmission(ln) }, nil)
		default:
			n.serve(l.name, func() error { return srv.ServeSubmissions(ln) }, nil)
		}
	}
	n.mu.Lock()
	n.stoppers = append(n.stoppers, srv.Shutdown)
	n.mu.Unlock()
	return nil
}
