package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

func TestPOP3LockExcludesUntilExpiry(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		org := createOrg(t, st, "org", 0)
		p := createPerson(t, st, org.ID, "jane@org.cjsm.test")
		now := time.Now().UTC().Truncate(time.Microsecond)
		a := store.POP3Lock{PersonID: p.ID, NodeID: "node-a", SessionID: "session-a",
			AcquiredAt: now, ExpiresAt: now.Add(time.Minute)}
		b := store.POP3Lock{PersonID: p.ID, NodeID: "node-b", SessionID: "session-b",
			AcquiredAt: now, ExpiresAt: now.Add(time.Minute)}

		if ok, err := st.AcquirePOP3Lock(ctx, a, now); err != nil || !ok {
			t.Fatalf("AcquirePOP3Lock on a free maildrop = %v, %v; want true", ok, err)
		}
		got, err := st.POP3Lock(ctx, p.ID)
		if err != nil {
			t.Fatalf("POP3Lock: %v", err)
		}
		if !sameLock(got, a) {
			t.Errorf("POP3Lock = %+v, want %+v", got, a)
		}
		if ok, err := st.AcquirePOP3Lock(ctx, b, now.Add(59*time.Second)); err != nil || ok {
			t.Errorf("AcquirePOP3Lock before the lock expires = %v, %v; want false", ok, err)
		}
		if got, _ := st.POP3Lock(ctx, p.ID); got.SessionID != "session-a" {
			t.Errorf("a refused acquisition changed the lock to session %q", got.SessionID)
		}

		// Node a dies: its lock expires and node b takes it.
		later := now.Add(time.Minute)
		b.AcquiredAt, b.ExpiresAt = later, later.Add(time.Minute)
		if ok, err := st.AcquirePOP3Lock(ctx, b, later); err != nil || !ok {
			t.Fatalf("AcquirePOP3Lock at expiry = %v, %v; want true", ok, err)
		}
		if got, _ := st.POP3Lock(ctx, p.ID); !sameLock(got, b) {
			t.Errorf("POP3Lock after takeover = %+v, want %+v", got, b)
		}
		ok, err := st.RenewPOP3Lock(ctx, p.ID, "session-a", later.Add(time.Hour))
		if err != nil || ok {
			t.Errorf("RenewPOP3Lock by the session that lost the lock = %v, %v; want false",
				ok, err)
		}
		if err := st.ReleasePOP3Lock(ctx, p.ID, "session-a"); err != nil {
			t.Errorf("ReleasePOP3Lock by the session that lost the lock: %v", err)
		}
		if got, _ := st.POP3Lock(ctx, p.ID); !sameLock(got, b) {
			t.Errorf("the former holder's release changed the lock to %+v", got)
		}

		renewed := later.Add(2 * time.Minute)
		if ok, err := st.RenewPOP3Lock(ctx, p.ID, "session-b", renewed); err != nil || !ok {
			t.Errorf("RenewPOP3Lock by the holder = %v, %v; want true", ok, err)
		}
		if got, _ := st.POP3Lock(ctx, p.ID); !got.ExpiresAt.Equal(renewed) {
			t.Errorf("ExpiresAt after renewal = %v, want %v", got.ExpiresAt, renewed)
		}
		if err := st.ReleasePOP3Lock(ctx, p.ID, "session-b"); err != nil {
			t.Fatalf("ReleasePOP3Lock by the holder: %v", err)
		}
		if _, err := st.POP3Lock(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("POP3Lock after release: err = %v, want ErrNotFound", err)
		}
	})
}

func TestReleaseNodePOP3LocksKeepsOtherNodes(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		org := createOrg(t, st, "org", 0)
		now := time.Now()
		nodes := []string{"node-a", "node-a", "node-b"}
		people := make([]store.Person, len(nodes))
		for i, node := range nodes {
			people[i] = createPerson(t, st, org.ID, fmt.Sprintf("p%d@org.cjsm.test", i))
			l := store.POP3Lock{PersonID: people[i].ID, NodeID: node,
				SessionID: fmt.Sprint("session-", i), AcquiredAt: now,
				ExpiresAt: now.Add(time.Hour)}
			if ok, err := st.AcquirePOP3Lock(ctx, l, now); err != nil || !ok {
				t.Fatalf("AcquirePOP3Lock %d = %v, %v", i, ok, err)
			}
		}
		n, err := st.ReleaseNodePOP3Locks(ctx, "node-a")
		if err != nil {
			t.Fatalf("ReleaseNodePOP3Locks: %v", err)
		}
		if n != 2 {
			t.Errorf("ReleaseNodePOP3Locks released %d locks, want 2", n)
		}
		for i := range 2 {
			if _, err := st.POP3Lock(ctx, people[i].ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("lock %d of node-a: err = %v, want ErrNotFound", i, err)
			}
		}
		if got, err := st.POP3Lock(ctx, people[2].ID); err != nil || got.NodeID != "node-b" {
			t.Errorf("lock of node-b = %+v, %v; want it kept", got, err)
		}
	})
}

// Nodes race for a free lock, and then for an expired one. Each node has its own store
// handle and so its own connection pool. Exactly one node wins each race.
func TestPOP3LockRaceHasOneWinner(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		const nodes = 8
		handles := make([]*store.Store, nodes)
		for i := range handles {
			handles[i] = openStore(t, dsn)
		}
		org := createOrg(t, handles[0], "org", 0)
		p := createPerson(t, handles[0], org.ID, "jane@org.cjsm.test")

		race := func(now time.Time) []string {
			var mu sync.Mutex
			var winners []string
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, st := range handles {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := store.POP3Lock{PersonID: p.ID, NodeID: fmt.Sprint("node-", i),
						SessionID:  fmt.Sprintf("session-%d-%d", i, now.UnixNano()),
						AcquiredAt: now, ExpiresAt: now.Add(time.Minute)}
					<-start
					ok, err := st.AcquirePOP3Lock(t.Context(), l, now)
					if err != nil {
						t.Errorf("node %d: AcquirePOP3Lock: %v", i, err)
					}
					if ok {
						mu.Lock()
						winners = append(winners, l.SessionID)
						mu.Unlock()
					}
				}()
			}
			close(start)
			wg.Wait()
			return winners
		}

		now := time.Now()
		for _, round := range []struct {
			name string
			at   time.Time
		}{{"free", now}, {"expired", now.Add(time.Minute)}} {
			winners := race(round.at)
			if len(winners) != 1 {
				t.Fatalf("race for a %s lock: %d winners %v, want exactly 1", round.name,
					len(winners), winners)
			}
			got, err := handles[0].POP3Lock(t.Context(), p.ID)
			if err != nil || got.SessionID != winners[0] {
				t.Errorf("race for a %s lock: stored holder %q (%v), want winner %q",
					round.name, got.SessionID, err, winners[0])
			}
		}
	})
}

func sameLock(a, b store.POP3Lock) bool {
	return a.PersonID == b.PersonID && a.NodeID == b.NodeID && a.SessionID == b.SessionID &&
		a.AcquiredAt.Equal(b.AcquiredAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}
