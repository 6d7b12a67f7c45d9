// Package node wires one cjsm process: it opens the stores, checks them, and runs every
// listener and background worker named in the configuration until it is stopped.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/httpserver"
	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/queue"
	"github.com/cjsm/cjsm/internal/store"
)

// Node is a running cjsm process.
type Node struct {
	Config    config.Config
	Store     *store.Store
	Blobs     *blob.Store
	Directory *directory.Service
	Queue     *queue.Queue
	Mailboxes *mailbox.Service
	SignIn    *identity.SignIn
	Log       *slog.Logger

	// DeliveryPort, when not 0, replaces the port of every delivery destination, so that
	// tests and the demo can run receiving servers on free loopback ports.
	DeliveryPort int
	// POP3LockLease and POP3LockRenew, when not 0, replace the lease of a POP3 maildrop lock
	// (mailbox.DefaultMaildropLease) and how often a session renews it
	// (mailbox.DefaultMaildropRenew), so that tests can let a dead node's locks lapse soon.
	POP3LockLease, POP3LockRenew time.Duration
	// IMAPIdlePoll, when not 0, replaces how often an IMAP IDLE session re-reads its folder
	// (10 seconds), so that tests can tell a change notification from a poll.
	IMAPIdlePoll time.Duration

	// indexQueue carries filed messages to the text indexer (runIndexer); nil when the node
	// serves no mailbox protocol, and then filed indexes at once.
	indexQueue chan mailbox.IndexItem
	indexBytes atomic.Int64 // octets of the messages waiting in indexQueue

	mu        sync.Mutex
	addrs     map[string]string
	listeners []net.Listener
	stopping  bool
	stoppers  []func(context.Context) error
	serveErrs chan error
	wg        sync.WaitGroup
}

// Open opens the stores named by cfg, applies migrations and checks the blob store against
// the rows that refer to it. It starts no listener.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Node, error) {
	st, err := store.Open(ctx, cfg.Store.DSN)
	if err != nil {
		return nil, err
	}
	blobs, err := blob.Open(filepath.Join(cfg.DataDir, "blobs"))
	if err != nil {
		st.Close()
		return nil, err
	}
	n := &Node{Config: cfg, Store: st, Blobs: blobs, Log: logger,
		Directory: directory.New(st, cfg.CommunitySuffix),
		Queue:     queue.New(st, blobs, QueueConfig(cfg), logger),
		Mailboxes: mailbox.New(st, blobs, mailbox.Config{MaxMessageBytes: cfg.Limits.MaxMessageSize},
			logger.With("component", "mailbox")),
		SignIn: identity.NewSignIn(st, cfg.CommunitySuffix, cfg.Limits.MaxAuthFailures,
			logger.With("component", "signin")),
		addrs: map[string]string{}, serveErrs: make(chan error, 16)}
	if servesMailboxes(cfg) {
		// Made before any listener starts, so that filed never races with its creation;
		// startMailboxAccess starts the reader.
		n.indexQueue = make(chan mailbox.IndexItem, 1000)
	}
	n.Queue.OnFiled = n.filed
	n.SignIn.OnSignIn = n.signedIn
	if err := n.CheckBlobs(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return n, nil
}

// CheckBlobs compares the blob store with the store's references and logs what it finds.
// Orphaned blobs, written by a transaction that never committed, are reported and kept. A
// referenced blob that is missing is logged as an error, because a message is lost.
func (n *Node) CheckBlobs(ctx context.Context) error {
	refs, err := n.Store.BlobReferences(ctx)
	if err != nil {
		return fmt.Errorf("blob check: read references: %w", err)
	}
	rep, err := n.Blobs.Check(refs, false)
	if err != nil {
		return err
	}
	n.Log.Info("blob store checked", "blobs", rep.Blobs, "referenced", rep.Referenced,
		"orphans", len(rep.Orphans), "missing", len(rep.Missing), "temp_files_removed", rep.TempFiles)
	for _, k := range rep.Orphans {
		n.Log.Warn("orphaned blob: no row refers to it", "blob", k)
	}
	for _, k := range rep.Missing {
		n.Log.Error("missing blob: a row refers to it but the file is gone", "blob", k)
	}
	return nil
}

// Start opens every configured listener and starts serving. Addresses with port 0 get a free
// port; Addrs reports what was bound.
func (n *Node) Start(ctx context.Context) error {
	// The feed starts first so that it stops last: the queue and the sessions may announce
	// changes until they stop.
	stopFeed, err := n.Mailboxes.StartChangeFeed()
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.stoppers = append(n.stoppers, stopFeed)
	n.mu.Unlock()
	if addr := n.Config.Listen.HTTP; addr != "" {
		h := httpserver.New(n.ready, n.Log.With("listener", "http"))
		l, err := n.listen("http", addr)
		if err != nil {
			return err
		}
		n.serve("http", func() error { return h.Serve(l) }, h.Shutdown)
	}
	for _, starter := range starters {
		if err := starter(ctx, n); err != nil {
			n.Shutdown(context.Background())
			return err
		}
	}
	return nil
}

// starters are the other components' start functions, registered in this package's other
// files, so that Start stays readable as listeners are added.
var starters []func(context.Context, *Node) error

func (n *Node) listen(name, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen.%s %q: %w; choose a free port or turn the listener off with \"\"", name, addr, err)
	}
	n.mu.Lock()
	n.addrs[name] = l.Addr().String()
	n.listeners = append(n.listeners, l)
	n.mu.Unlock()
	n.Log.Info("listening", "listener", name, "addr", l.Addr().String())
	return l, nil
}

// serve runs fn in the background and registers stop for Shutdown.
func (n *Node) serve(name string, fn func() error, stop func(context.Context) error) {
	if stop != nil {
		n.mu.Lock()
		n.stoppers = append(n.stoppers, stop)
		n.mu.Unlock()
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := fn(); err != nil {
			n.mu.Lock()
			stopping := n.stopping
			n.mu.Unlock()
			if stopping {
				// A server started just before Shutdown may find its listener closed.
				return
			}
			n.Log.Error("listener stopped", "listener", name, "err", err)
			n.serveErrs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// Addrs returns the bound address of each listener by name.
func (n *Node) Addrs() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]string, len(n.addrs))
	for k, v := range n.addrs {
		out[k] = v
	}
	return out
}

// Wait blocks until ctx ends or a listener fails.
func (n *Node) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-n.serveErrs:
		return err
	}
}

// Shutdown stops accepting, lets work in progress finish until ctx ends, and closes the
// stores.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	stoppers := n.stoppers
	n.stoppers = nil
	n.stopping = true
	n.mu.Unlock()
	var errs []error
	for i := len(stoppers) - 1; i >= 0; i-- {
		if err := stoppers[i](ctx); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	// A server whose Serve had not started when its Shutdown ran would otherwise accept on
	// its listener forever; closing every listener here ends it. Closing one twice is harmless.
	n.mu.Lock()
	for _, l := range n.listeners {
		l.Close()
	}
	n.listeners = nil
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("shutdown: gave up waiting: %w", ctx.Err()))
	}
	errs = append(errs, n.Store.Close())
	return errors.Join(errs...)
}

// ready is the /readyz check: the store is reachable and its schema is the one this build uses.
func (n *Node) ready(ctx context.Context) error {
	if err := n.Store.Ping(ctx); err != nil {
		return fmt.Errorf("store unreachable: %w", err)
	}
	v, err := n.Store.CurrentVersion(ctx)
	if err != nil {
		return err
	}
	if v != store.SchemaVersion() {
		return fmt.Errorf("store schema is version %d, this build needs %d", v, store.SchemaVersion())
	}
	return nil
}

// NewLogger returns the process logger for cfg.
func NewLogger(cfg config.Config, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// shutdownGrace bounds how long SIGTERM waits for work in progress.
const shutdownGrace = 30 * time.Second

// ShutdownGrace returns how long a stop waits for work in progress.
func ShutdownGrace() time.Duration { return shutdownGrace }

// signedIn is the sign-in hook: it notifies the person of grants of access to their mailbox.
// A failure is logged, and the notice is filed at a later sign-in instead.
func (n *Node) signedIn(ctx context.Context, p store.Person) {
	if _, err := n.Mailboxes.NotifyMailboxGrants(ctx, p, "postmaster@"+n.Config.Hostname); err != nil {
		n.Log.Error("cannot file the mailbox access notice; it is filed at the next sign-in",
			"user", p.AddressKey, "err", err)
	}
}
