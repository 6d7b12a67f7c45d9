package queue

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

// backends yields a fresh SQLite and a fresh PostgreSQL store.
func backends(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "q.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := store.Open(context.Background(), testenv.PostgreSQL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		fn(t, st)
	})
}

func newTestQueue(t *testing.T, st *store.Store, node string) *Queue {
	blobs, err := blob.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return New(st, blobs, Config{Hostname: "mail.test", NodeID: node, Workers: 2, PerDestination: 2,
		RetryInitial: time.Second, RetryMax: time.Minute, DelayNotice: time.Hour,
		Expire: 24 * time.Hour, Lease: time.Second, PollInterval: time.Second},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestDeadNodeLeaseTakenOverAfterExpiry(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		q := newTestQueue(t, st, "dead")
		id, err := q.Accept(ctx, Incoming{From: "a@x.test", Data: []byte("Subject: x\r\n\r\nbody\r\n"),
			Remotes: []RemoteRecipient{{Address: "b@police.test", Domain: "police.test", Route: "trusted:police.test"}}})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		held, err := st.LeaseDue(ctx, "dead", now, now.Add(time.Second), 10)
		if err != nil || len(held) != 1 || held[0].QueueID != id {
			t.Fatalf("first lease: %v %+v", err, held)
		}
		if got, err := st.LeaseDue(ctx, "live", time.Now(), time.Now().Add(time.Minute), 10); err != nil || len(got) != 0 {
			t.Fatalf("another node leased an entry whose lease is still valid: %v %+v", err, got)
		}
		time.Sleep(1100 * time.Millisecond)
		got, err := st.LeaseDue(ctx, "live", time.Now(), time.Now().Add(time.Minute), 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("after the dead node's lease expired: %v %+v, want the entry", err, got)
		}
		ok, err := st.FinishLeased(ctx, held[0].ID, "dead", store.QueueOutcome{State: store.QueueDelivered})
		if err != nil || ok {
			t.Errorf("dead node recorded an outcome after losing its lease: ok=%v err=%v", ok, err)
		}
		ok, err = st.FinishLeased(ctx, got[0].ID, "live", store.QueueOutcome{State: store.QueueDelivered})
		if err != nil || !ok {
			t.Errorf("live node could not record its outcome: ok=%v err=%v", ok, err)
		}
	})
}

func TestRestartedNodeReleasesOwnLeases(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		q := newTestQueue(t, st, "node-1")
		if _, err := q.Accept(ctx, Incoming{From: "a@x.test", Data: []byte("Subject: x\r\n\r\nb\r\n"),
			Remotes: []RemoteRecipient{{Address: "b@police.test", Domain: "police.test", Route: "trusted:police.test"}}}); err != nil {
			t.Fatal(err)
		}
		if held, _ := st.LeaseDue(ctx, "node-1", time.Now(), time.Now().Add(time.Hour), 10); len(held) != 1 {
			t.Fatalf("lease: %+v", held)
		}
		n, err := st.ReleaseLeases(ctx, "node-1")
		if err != nil || n != 1 {
			t.Fatalf("ReleaseLeases: %d, %v; want 1", n, err)
		}
		if got, _ := st.LeaseDue(ctx, "node-1", time.Now(), time.Now().Add(time.Hour), 10); len(got) != 1 {
			t.Errorf("entry not due again after its owner restarted: %+v", got)
		}
	})
}

func TestBackoffDoublesUpToMaximum(t *testing.T) {
	q := &Queue{cfg: Config{RetryInitial: time.Minute, RetryMax: 10 * time.Minute}}
	for _, c := range []struct {
		attempt int
		min     time.Duration
	}{{1, time.Minute}, {2, 2 * time.Minute}, {3, 4 * time.Minute}, {4, 8 * time.Minute}, {5, 10 * time.Minute}, {9, 10 * time.Minute}} {
		got := q.backoff(c.attempt)
		if got < c.min || got > c.min+c.min/10 {
			t.Errorf("backoff(%d) = %s, want %s plus at most 10%% jitter", c.attempt, got, c.min)
		}
	}
}
