package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// MailboxChangeChannel is the PostgreSQL NOTIFY channel on which nodes announce that a
// mailbox folder changed. The payload is the folder's id (mailboxes.id) in decimal.
const MailboxChangeChannel = "cjsm_mailbox_changes"

// mailboxFeedApplication is the application_name of the feed's connection, which shows in
// pg_stat_activity.
const mailboxFeedApplication = "cjsm mailbox changes"

const (
	// feedMinBackoff and feedMaxBackoff bound the wait before reconnecting. The wait doubles
	// after each failure and starts again at feedMinBackoff once a connection has lasted
	// feedMaxBackoff.
	feedMinBackoff = 200 * time.Millisecond
	feedMaxBackoff = 30 * time.Second
	// feedPingInterval is how long the feed waits for a notification before it pings the
	// server, so that a connection that died without a TCP reset is noticed.
	feedPingInterval = 30 * time.Second
	// feedTimeout bounds connecting, LISTEN, one ping and one batch of NOTIFY.
	feedTimeout = 10 * time.Second
	// feedBatch is the maximum number of notifications sent in one statement.
	feedBatch = 1000
	// feedMaxPending bounds the distinct folders waiting to be announced while the
	// connection is down. Changes beyond it are counted and dropped.
	feedMaxPending = 10000
)

// MailboxFeedConfig holds the callbacks of a MailboxFeed.
type MailboxFeedConfig struct {
	// OnChange receives the id of each folder that another node announced. It runs on the
	// feed's goroutine and must not block. Required.
	OnChange func(mailboxID int64)
	// OnResume runs after the feed reconnected, because announcements sent while it was
	// disconnected are lost. It runs on the feed's goroutine and must not block.
	OnResume func()
	// Logger receives connection losses, reconnections and dropped announcements. Nil
	// means slog.Default().
	Logger *slog.Logger
}

// MailboxFeed carries mailbox change notifications between the nodes that share a
// PostgreSQL store, with LISTEN and NOTIFY on one dedicated connection per node.
//
// Publish queues a folder id and returns at once. The feed's goroutine then sends the
// queued ids with pg_notify. Callers publish after their transaction commits, so a node
// woken by the notification reads the change. A NOTIFY inside the committing transaction
// would also survive a crash between commit and announcement, but the callers (the mailbox
// service and the queue) commit in many places and announce through one call without a
// transaction. A node that dies after its commit and before the NOTIFY loses that
// announcement, and other nodes see the change at their next poll.
//
// The feed sends on the connection it listens on, so it recognises its own notifications
// by the server process id and skips them: callers wake their own node's sessions
// themselves. When the connection drops, the feed logs it and reconnects with exponential
// backoff. On SQLite, which has one node, the feed does nothing.
type MailboxFeed struct {
	config *pgx.ConnConfig // nil on SQLite
	cfg    MailboxFeedConfig
	log    *slog.Logger
	cancel context.CancelFunc
	stopCh chan struct{} // closed by Stop
	done   chan struct{} // closed when run returns

	mu        sync.Mutex
	pending   map[int64]struct{}
	dropped   int                // announcements dropped because pending was full
	interrupt context.CancelFunc // cancels the current wait for a notification, if any
	stopping  bool
}

// StartMailboxFeed starts the store's mailbox change feed and returns it. The feed runs until
// Stop. On SQLite it starts nothing.
func (s *Store) StartMailboxFeed(cfg MailboxFeedConfig) (*MailboxFeed, error) {
	if cfg.OnChange == nil {
		return nil, errors.New("store: MailboxFeedConfig.OnChange is nil; " +
			"pass the function that wakes the sessions of a folder")
	}
	if cfg.OnResume == nil {
		cfg.OnResume = func() {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	f := &MailboxFeed{cfg: cfg, log: cfg.Logger, stopCh: make(chan struct{}),
		done: make(chan struct{}), pending: map[int64]struct{}{}}
	if s.dialect != PostgreSQL {
		close(f.done)
		return f, nil
	}
	config, err := pgx.ParseConfig(s.dsn)
	if err != nil {
		return nil, fmt.Errorf("store: mailbox change feed: parse DSN %s: %w",
			redactDSN(s.dsn), err)
	}
	config.RuntimeParams["application_name"] = mailboxFeedApplication
	f.config = config
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go f.run(ctx)
	return f, nil
}

// Publish announces to the other nodes that the folder changed. It never blocks on the
// database. Announcements of one folder that are still queued merge into one.
func (f *MailboxFeed) Publish(mailboxID int64) {
	if f.config == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return
	}
	if _, queued := f.pending[mailboxID]; !queued {
		if len(f.pending) >= feedMaxPending {
			f.dropped++
			return
		}
		f.pending[mailboxID] = struct{}{}
	}
	if f.interrupt != nil {
		f.interrupt()
		f.interrupt = nil
	}
}

// Stop sends the announcements still queued, closes the connection and waits for the feed's
// goroutine. When ctx ends first, it drops what is queued and returns ctx's error.
func (f *MailboxFeed) Stop(ctx context.Context) error {
	if f.config == nil {
		return nil
	}
	f.mu.Lock()
	if !f.stopping {
		f.stopping = true
		close(f.stopCh)
		if f.interrupt != nil {
			f.interrupt()
			f.interrupt = nil
		}
	}
	f.mu.Unlock()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		f.cancel()
		<-f.done
		return fmt.Errorf("store: stop mailbox change feed: %w", ctx.Err())
	}
}

func (f *MailboxFeed) isStopping() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopping
}

// run connects, serves the connection until it fails, and reconnects, until Stop.
func (f *MailboxFeed) run(ctx context.Context) {
	defer close(f.done)
	defer f.cancel()
	defer f.logUnsent()
	backoff := feedMinBackoff
	connectedBefore := false
	for ctx.Err() == nil && !f.isStopping() {
		conn, err := f.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			f.log.Error("mailbox change feed cannot connect; retrying", "backoff", backoff,
				"err", err)
			backoff = f.sleep(ctx, backoff)
			continue
		}
		if connectedBefore {
			f.log.Info("mailbox change feed reconnected; waking every IDLE session")
			f.cfg.OnResume()
		} else {
			f.log.Info("mailbox change feed listening", "channel", MailboxChangeChannel)
		}
		connectedBefore = true
		began := time.Now()
		err = f.serve(ctx, conn)
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(closeCtx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		if f.isStopping() {
			f.log.Warn("mailbox change feed lost its connection while stopping", "err", err)
			return
		}
		if time.Since(began) >= feedMaxBackoff {
			backoff = feedMinBackoff
		}
		f.log.Error("mailbox change feed lost its connection; reconnecting", "backoff", backoff,
			"err", err)
		backoff = f.sleep(ctx, backoff)
	}
}

// logUnsent logs the announcements that the feed drops as it stops.
func (f *MailboxFeed) logUnsent() {
	f.mu.Lock()
	unsent := len(f.pending) + f.dropped
	f.mu.Unlock()
	if unsent > 0 {
		f.log.Warn("mailbox change feed stopped before it sent every announcement; "+
			"other nodes see those changes at their next poll", "unsent", unsent)
	}
}

// sleep waits for a random time between d/2 and d, so that nodes cut off together do not
// reconnect in step, or until Stop. It returns the next backoff.
func (f *MailboxFeed) sleep(ctx context.Context, d time.Duration) time.Duration {
	wait := d/2 + rand.N(d/2+1)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-f.stopCh:
	case <-t.C:
	}
	return min(2*d, feedMaxBackoff)
}

func (f *MailboxFeed) connect(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, feedTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, f.config)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(cctx, "LISTEN "+MailboxChangeChannel); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("LISTEN %s: %w", MailboxChangeChannel, err)
	}
	return conn, nil
}

// serve sends queued announcements and delivers received ones until the connection fails,
// ctx ends or Stop. It returns nil after Stop.
func (f *MailboxFeed) serve(ctx context.Context, conn *pgx.Conn) error {
	ownPID := conn.PgConn().PID()
	for {
		if err := f.send(ctx, conn); err != nil {
			return err
		}
		waitCtx, cancel := context.WithTimeout(ctx, feedPingInterval)
		if !f.armInterrupt(cancel) {
			cancel()
			if f.isStopping() {
				return nil
			}
			continue // more to send
		}
		n, err := conn.WaitForNotification(waitCtx)
		f.disarmInterrupt()
		waitErr := waitCtx.Err()
		cancel()
		switch {
		case err == nil && n != nil:
			f.deliver(n.PID == ownPID, n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(waitErr, context.DeadlineExceeded):
			pctx, pcancel := context.WithTimeout(ctx, feedTimeout)
			err = conn.Ping(pctx)
			pcancel()
			if err != nil {
				return fmt.Errorf("ping after %v without notifications: %w", feedPingInterval, err)
			}
		case errors.Is(waitErr, context.Canceled):
			// Publish or Stop interrupted the wait; the loop sends and checks Stop.
		case err != nil:
			return err
		}
	}
}

// armInterrupt lets Publish and Stop end the coming wait with cancel. It returns false, and
// arms nothing, when there is something to send or the feed is stopping.
func (f *MailboxFeed) armInterrupt(cancel context.CancelFunc) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pending) > 0 || f.stopping {
		return false
	}
	f.interrupt = cancel
	return true
}

func (f *MailboxFeed) disarmInterrupt() {
	f.mu.Lock()
	f.interrupt = nil
	f.mu.Unlock()
}

// deliver passes another node's announcement to OnChange.
func (f *MailboxFeed) deliver(own bool, payload string) {
	if own {
		return
	}
	id, err := strconv.ParseInt(payload, 10, 64)
	if err != nil {
		// A payload can be long, and its start is enough to tell where it came from.
		f.log.Warn("mailbox change feed ignored a notification whose payload is not a folder id",
			"channel", MailboxChangeChannel, "payload", payload[:min(len(payload), 64)])
		return
	}
	f.cfg.OnChange(id)
}

// send announces the queued folders in batches. On failure it queues the batch again, so
// that it goes out after the reconnection.
func (f *MailboxFeed) send(ctx context.Context, conn *pgx.Conn) error {
	for {
		ids, dropped := f.takePending()
		if dropped > 0 {
			f.log.Warn("mailbox change feed dropped announcements while it could not send; "+
				"other nodes see those changes at their next poll", "dropped", dropped)
		}
		if len(ids) == 0 {
			return nil
		}
		sctx, cancel := context.WithTimeout(ctx, feedTimeout)
		_, err := conn.Exec(sctx, "SELECT pg_notify($1, id::text) FROM unnest($2::bigint[]) AS id",
			MailboxChangeChannel, ids)
		cancel()
		if err != nil {
			f.requeue(ids)
			return fmt.Errorf("NOTIFY %s: %w", MailboxChangeChannel, err)
		}
	}
}

// takePending removes up to feedBatch queued ids, and returns them with the count of
// dropped announcements since the last call.
func (f *MailboxFeed) takePending() ([]int64, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]int64, 0, min(len(f.pending), feedBatch))
	for id := range f.pending {
		if len(ids) == feedBatch {
			break
		}
		ids = append(ids, id)
		delete(f.pending, id)
	}
	dropped := f.dropped
	f.dropped = 0
	return ids, dropped
}

func (f *MailboxFeed) requeue(ids []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if len(f.pending) >= feedMaxPending {
			f.dropped++
			continue
		}
		f.pending[id] = struct{}{}
	}
}
