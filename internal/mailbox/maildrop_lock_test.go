package mailbox_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// Short leases keep these tests quick, and the renewal still runs several times within each.
const (
	testLease = 600 * time.Millisecond
	testRenew = 100 * time.Millisecond
)

func newLocks(t *testing.T, st *store.Store, node string) *mailbox.MaildropLocks {
	t.Helper()
	l, err := mailbox.NewMaildropLocks(st, mailbox.MaildropLockConfig{NodeID: node,
		Lease: testLease, Renew: testRenew}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("NewMaildropLocks: %v", err)
	}
	return l
}

func TestMaildropLockRenewalOutlivesLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		jane := e.createPerson(t, "jane")
		a, b := newLocks(t, e.st, "node-a"), newLocks(t, e.st, "node-b")
		lock, err := a.Acquire(t.Context(), jane.ID)
		if err != nil {
			t.Fatalf("Acquire on node a: %v", err)
		}
		time.Sleep(3 * testLease)
		if _, err := b.Acquire(t.Context(), jane.ID); !errors.Is(err, mailbox.ErrMaildropLocked) {
			t.Errorf("Acquire on node b after three leases of renewal: err = %v, "+
				"want ErrMaildropLocked", err)
		}
		if err := lock.Check(t.Context()); err != nil {
			t.Errorf("Check by the holder: %v", err)
		}
		if err := lock.Release(); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if err := lock.Release(); err != nil {
			t.Errorf("second Release: %v", err)
		}
		other, err := b.Acquire(t.Context(), jane.ID)
		if err != nil {
			t.Fatalf("Acquire on node b after release: %v", err)
		}
		other.Release()
	})
}

// A lock whose node died is never renewed, and lapses after its lease.
func TestMaildropLockOfDeadNodeLapses(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		jane := e.createPerson(t, "jane")
		now := time.Now()
		dead := store.POP3Lock{PersonID: jane.ID, NodeID: "node-dead", SessionID: "gone",
			AcquiredAt: now, ExpiresAt: now.Add(testLease)}
		if ok, err := e.st.AcquirePOP3Lock(t.Context(), dead, now); err != nil || !ok {
			t.Fatalf("AcquirePOP3Lock = %v, %v", ok, err)
		}
		b := newLocks(t, e.st, "node-b")
		if _, err := b.Acquire(t.Context(), jane.ID); !errors.Is(err, mailbox.ErrMaildropLocked) {
			t.Errorf("Acquire within the dead node's lease: err = %v, want ErrMaildropLocked", err)
		}
		time.Sleep(time.Until(dead.ExpiresAt))
		lock, err := b.Acquire(t.Context(), jane.ID)
		if err != nil {
			t.Fatalf("Acquire after the dead node's lease: %v", err)
		}
		defer lock.Release()
		got, err := e.st.POP3Lock(t.Context(), jane.ID)
		if err != nil || got.NodeID != "node-b" {
			t.Errorf("stored lock = %+v, %v; want node-b's", got, err)
		}
	})
}

// A session whose lock lapsed, for example while the store was unreachable, and was takeover
// by another session learns so at Check and must not release the new holder's lock.
func TestMaildropLockLostToAnotherSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		jane := e.createPerson(t, "jane")
		a, b := newLocks(t, e.st, "node-a"), newLocks(t, e.st, "node-b")
		lost, err := a.Acquire(t.Context(), jane.ID)
		if err != nil {
			t.Fatalf("Acquire on node a: %v", err)
		}
		if _, err := e.st.DB().ExecContext(t.Context(),
			"UPDATE pop3_locks SET expires_at = 1"); err != nil {
			t.Fatalf("expire the lock: %v", err)
		}
		takeover, err := b.Acquire(t.Context(), jane.ID)
		if err != nil {
			t.Fatalf("Acquire on node b of the lapsed lock: %v", err)
		}
		if err := lost.Check(t.Context()); !errors.Is(err, mailbox.ErrMaildropLockLost) {
			t.Errorf("Check by the former holder: err = %v, want ErrMaildropLockLost", err)
		}
		if err := lost.Release(); err != nil {
			t.Errorf("Release by the former holder: %v", err)
		}
		if err := takeover.Check(t.Context()); err != nil {
			t.Errorf("Check by the new holder after the former holder's Release: %v", err)
		}
		takeover.Release()
	})
}

func TestReleaseEarlierRunDropsOnlyOwnLocks(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		jane, john := e.createPerson(t, "jane"), e.createPerson(t, "john")
		earlier, other := newLocks(t, e.st, "node-a"), newLocks(t, e.st, "node-b")
		// The earlier run died, which the test stands for by never releasing its lock.
		abandoned, err := earlier.Acquire(t.Context(), jane.ID)
		if err != nil {
			t.Fatalf("Acquire on node a: %v", err)
		}
		defer abandoned.Release()
		otherNodeLock, err := other.Acquire(t.Context(), john.ID)
		if err != nil {
			t.Fatalf("Acquire on node b: %v", err)
		}
		defer otherNodeLock.Release()

		restarted := newLocks(t, e.st, "node-a")
		n, err := restarted.ReleaseEarlierRun(t.Context())
		if err != nil {
			t.Fatalf("ReleaseEarlierRun: %v", err)
		}
		if n != 1 {
			t.Errorf("ReleaseEarlierRun released %d locks, want 1", n)
		}
		lock, err := restarted.Acquire(t.Context(), jane.ID)
		if err != nil {
			t.Fatalf("Acquire after restart: %v", err)
		}
		lock.Release()
		if err := otherNodeLock.Check(t.Context()); err != nil {
			t.Errorf("node b's lock after node a restarted: %v", err)
		}
	})
}

func TestNewMaildropLocksRejectsInvalidConfig(t *testing.T) {
	e := newEnv(t, "sqlite:"+t.TempDir()+"/cjsm.db")
	for _, tc := range []struct {
		name string
		cfg  mailbox.MaildropLockConfig
	}{
		{"no node id", mailbox.MaildropLockConfig{}},
		{"renewal as long as the lease", mailbox.MaildropLockConfig{NodeID: "n",
			Lease: time.Minute, Renew: time.Minute}},
		{"renewal default above the lease", mailbox.MaildropLockConfig{NodeID: "n",
			Lease: time.Second}},
	} {
		if _, err := mailbox.NewMaildropLocks(e.st, tc.cfg, nil); err == nil {
			t.Errorf("%s: NewMaildropLocks returned no error", tc.name)
		}
	}
}
