package mailbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// Errors of maildrop locks.
var (
	// ErrMaildropLocked means that another POP3 session, on this node or another, holds the
	// person's maildrop lock.
	ErrMaildropLocked = errors.New("mailbox: maildrop is locked by another POP3 session")
	// ErrMaildropLockLost means that the session's lock expired and another session took
	// it, so the session must not change the maildrop any more.
	ErrMaildropLockLost = errors.New(
		"mailbox: maildrop lock expired and another POP3 session took it")
)

// Defaults of MaildropLockConfig.
const (
	DefaultMaildropLease = 5 * time.Minute
	DefaultMaildropRenew = time.Minute
)

// MaildropLockConfig holds the settings of MaildropLocks.
type MaildropLockConfig struct {
	// NodeID names this node in the locks it takes: the node_id option. Required.
	NodeID string
	// Lease is how long a lock lasts unless its session renews it, and so how long a node
	// that died keeps people locked out. 0 means DefaultMaildropLease.
	Lease time.Duration
	// Renew is how often a session renews its lock. It must be shorter than Lease, and a
	// third of Lease or less leaves room for slow renewals. 0 means DefaultMaildropRenew.
	Renew time.Duration
}

// MaildropLocks hands out the POP3 maildrop locks of one node. RFC 1939 section 8 locks a
// maildrop for one session from authentication until QUIT, so that two sessions cannot
// delete each other's view of it. The locks are rows in the store, so nodes sharing one
// store exclude each other. Each lock is a lease that its session renews every Renew, so a
// lock left by a node that died lapses after Lease.
type MaildropLocks struct {
	st  *store.Store
	cfg MaildropLockConfig
	log *slog.Logger
}

// NewMaildropLocks returns the lock service of the node cfg.NodeID.
func NewMaildropLocks(st *store.Store, cfg MaildropLockConfig,
	logger *slog.Logger) (*MaildropLocks, error) {
	if cfg.NodeID == "" {
		return nil, errors.New("mailbox: maildrop locks need the node id; set node_id")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultMaildropLease
	}
	if cfg.Renew <= 0 {
		cfg.Renew = DefaultMaildropRenew
	}
	if cfg.Renew >= cfg.Lease {
		return nil, fmt.Errorf("mailbox: maildrop lock renewal interval %v is not shorter than "+
			"the lease %v; set it to a third of the lease or less", cfg.Renew, cfg.Lease)
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &MaildropLocks{st: st, cfg: cfg, log: logger}, nil
}

// ReleaseEarlierRun deletes the locks held under this node's id and returns how many there
// were. A node calls it as it starts, before it serves POP3: any lock in its name was left
// by an earlier run that died, whose sessions are gone.
func (l *MaildropLocks) ReleaseEarlierRun(ctx context.Context) (int64, error) {
	n, err := l.st.ReleaseNodePOP3Locks(ctx, l.cfg.NodeID)
	if err != nil {
		return 0, fmt.Errorf("mailbox: release maildrop locks of node %q: %w", l.cfg.NodeID, err)
	}
	return n, nil
}

// Acquire locks the person's maildrop for a new session and starts renewing the lock. It
// returns ErrMaildropLocked when another session holds an unexpired lock. The caller must
// call Release when the session ends, however it ends.
func (l *MaildropLocks) Acquire(ctx context.Context, personID int64) (*MaildropLock, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("mailbox: maildrop lock session id: %w", err)
	}
	now := time.Now()
	lock := store.POP3Lock{PersonID: personID, NodeID: l.cfg.NodeID,
		SessionID: hex.EncodeToString(b), AcquiredAt: now, ExpiresAt: now.Add(l.cfg.Lease)}
	ok, err := l.st.AcquirePOP3Lock(ctx, lock, now)
	if err != nil {
		return nil, fmt.Errorf("mailbox: lock the maildrop of person %d: %w", personID, err)
	}
	if !ok {
		return nil, ErrMaildropLocked
	}
	k := &MaildropLock{locks: l, personID: personID, sessionID: lock.SessionID,
		stop: make(chan struct{}), done: make(chan struct{})}
	go k.renewEvery(l.cfg.Renew)
	return k, nil
}

// MaildropLock is one session's lock on one maildrop. Its methods are safe for concurrent
// use.
type MaildropLock struct {
	locks     *MaildropLocks
	personID  int64
	sessionID string
	stop      chan struct{} // closed by Release
	done      chan struct{} // closed when renewEvery returns

	mu      sync.Mutex
	lost    bool
	release sync.Once
}

// renewEvery renews the lock every interval until Release or until the lock is lost. A
// failed renewal is logged and retried at the next tick, because the lease still runs.
func (k *MaildropLock) renewEvery(interval time.Duration) {
	defer close(k.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		err := k.renew(ctx)
		cancel()
		switch {
		case errors.Is(err, ErrMaildropLockLost):
			k.locks.log.Warn("maildrop lock lost: it expired before renewal and another "+
				"POP3 session took it; this session may not delete messages",
				"person_id", k.personID, "node", k.locks.cfg.NodeID)
			return
		case err != nil:
			k.locks.log.Warn("maildrop lock renewal failed; retrying at the next renewal",
				"person_id", k.personID, "node", k.locks.cfg.NodeID, "err", err)
		}
	}
}

// renew extends the lock by a whole lease from now.
func (k *MaildropLock) renew(ctx context.Context) error {
	k.mu.Lock()
	lost := k.lost
	k.mu.Unlock()
	if lost {
		return ErrMaildropLockLost
	}
	ok, err := k.locks.st.RenewPOP3Lock(ctx, k.personID, k.sessionID,
		time.Now().Add(k.locks.cfg.Lease))
	if err != nil {
		return fmt.Errorf("mailbox: renew the maildrop lock of person %d: %w", k.personID, err)
	}
	if !ok {
		k.mu.Lock()
		k.lost = true
		k.mu.Unlock()
		return ErrMaildropLockLost
	}
	return nil
}

// Check renews the lock at once and returns ErrMaildropLockLost when the session no longer
// holds it. Call it before changing the maildrop: after a successful Check the lock is held
// for a whole lease.
func (k *MaildropLock) Check(ctx context.Context) error { return k.renew(ctx) }

// Release stops the renewal and deletes the lock. Calls after the first do nothing and
// return nil. When the deletion fails, the lock lapses at the end of its lease.
func (k *MaildropLock) Release() error {
	var err error
	k.release.Do(func() {
		close(k.stop)
		<-k.done
		// The session's context may have ended already, so the deletion gets its own.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if rerr := k.locks.st.ReleasePOP3Lock(ctx, k.personID, k.sessionID); rerr != nil {
			err = fmt.Errorf("mailbox: release the maildrop lock of person %d; it lapses "+
				"within %v: %w", k.personID, k.locks.cfg.Lease, rerr)
		}
	})
	return err
}
