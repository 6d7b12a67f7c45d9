package store_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

// feedTimeout bounds how long a test waits for a notification to cross between nodes.
const feedTimeout = 5 * time.Second

// feedNode is one node's change feed with what it received.
type feedNode struct {
	st   *store.Store
	feed *store.MailboxFeed

	mu       sync.Mutex
	received []int64
	resumes  int
	changed  chan struct{} // receives a value after each callback
}

func startFeedNode(t *testing.T, dsn string) *feedNode {
	t.Helper()
	n := &feedNode{st: openStore(t, dsn), changed: make(chan struct{}, 100)}
	feed, err := n.st.StartMailboxFeed(store.MailboxFeedConfig{
		OnChange: func(id int64) {
			n.mu.Lock()
			n.received = append(n.received, id)
			n.mu.Unlock()
			n.changed <- struct{}{}
		},
		OnResume: func() {
			n.mu.Lock()
			n.resumes++
			n.mu.Unlock()
			n.changed <- struct{}{}
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("StartMailboxFeed: %v", err)
	}
	n.feed = feed
	t.Cleanup(func() { feed.Stop(context.Background()) })
	return n
}

// has reports whether the node received the folder id.
func (n *feedNode) has(id int64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, got := range n.received {
		if got == id {
			return true
		}
	}
	return false
}

// resumed returns how often the node's feed reconnected.
func (n *feedNode) resumed() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.resumes
}

// waitFor waits until cond holds or feedTimeout passes, and returns cond's last result.
func (n *feedNode) waitFor(cond func() bool) bool {
	deadline := time.After(feedTimeout)
	for !cond() {
		select {
		case <-n.changed:
		case <-deadline:
			return cond()
		}
	}
	return true
}

// feedBackends returns the process ids of the feed connections in the test's database that
// have run LISTEN and wait for notifications.
func feedBackends(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'cjsm mailbox changes'
		AND state = 'idle' AND query LIKE 'LISTEN%' ORDER BY pid`)
	if err != nil {
		t.Fatalf("read pg_stat_activity: %v", err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatalf("scan pg_stat_activity: %v", err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// waitListening waits until n feed connections listen, and returns their process ids.
func waitListening(t *testing.T, db *sql.DB, n int) []int {
	t.Helper()
	deadline := time.Now().Add(feedTimeout)
	for {
		pids := feedBackends(t, db)
		if len(pids) == n {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mailbox change feeds listen after %v, want %d", len(pids), feedTimeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMailboxFeedCarriesChangesBetweenNodes(t *testing.T) {
	dsn := testenv.PostgreSQL(t)
	a, b := startFeedNode(t, dsn), startFeedNode(t, dsn)
	waitListening(t, a.st.DB(), 2)

	a.feed.Publish(42)
	if !b.waitFor(func() bool { return b.has(42) }) {
		t.Errorf("node b did not receive node a's change of folder 42 within %v", feedTimeout)
	}
	b.feed.Publish(7)
	if !a.waitFor(func() bool { return a.has(7) }) {
		t.Errorf("node a did not receive node b's change of folder 7 within %v", feedTimeout)
	}
	// b's announcement reached a after a's own announcement went out, so by now a would have
	// received its own as well, had the feed not skipped it.
	if a.has(42) {
		t.Errorf("node a received its own change of folder 42; the feed should skip it")
	}

	// The channel and the payload are a contract: any client may announce a change.
	if _, err := a.st.DB().ExecContext(t.Context(), "SELECT pg_notify($1, $2)",
		store.MailboxChangeChannel, "not a folder id"); err != nil {
		t.Fatalf("pg_notify: %v", err)
	}
	if _, err := a.st.DB().ExecContext(t.Context(), "SELECT pg_notify($1, $2)",
		store.MailboxChangeChannel, "99"); err != nil {
		t.Fatalf("pg_notify: %v", err)
	}
	if !b.waitFor(func() bool { return b.has(99) }) {
		t.Errorf("node b did not receive folder 99 announced with plain pg_notify")
	}
	b.mu.Lock()
	received := append([]int64(nil), b.received...)
	b.mu.Unlock()
	if len(received) != 2 {
		t.Errorf("node b received %v, want [42 99]: node a's change and the plain "+
			"pg_notify, without its own change or the invalid payload", received)
	}
}

func TestMailboxFeedReconnectsAfterConnectionLoss(t *testing.T) {
	dsn := testenv.PostgreSQL(t)
	a, b := startFeedNode(t, dsn), startFeedNode(t, dsn)
	pids := waitListening(t, a.st.DB(), 2)

	// Terminate both feed connections, as a PostgreSQL restart or failover would.
	for _, pid := range pids {
		if _, err := a.st.DB().ExecContext(t.Context(), "SELECT pg_terminate_backend($1)",
			pid); err != nil {
			t.Fatalf("pg_terminate_backend(%d): %v", pid, err)
		}
	}
	for _, n := range []*feedNode{a, b} {
		if !n.waitFor(func() bool { return n.resumed() == 1 }) {
			t.Fatalf("a feed did not report a reconnection within %v", feedTimeout)
		}
	}
	after := waitListening(t, a.st.DB(), 2)
	for _, pid := range after {
		for _, old := range pids {
			if pid == old {
				t.Errorf("feed connection %d still listens after pg_terminate_backend", pid)
			}
		}
	}

	a.feed.Publish(5)
	if !b.waitFor(func() bool { return b.has(5) }) {
		t.Errorf("node b did not receive node a's change after reconnecting")
	}
}

func TestMailboxFeedStopSendsQueuedChanges(t *testing.T) {
	dsn := testenv.PostgreSQL(t)
	a, b := startFeedNode(t, dsn), startFeedNode(t, dsn)
	waitListening(t, a.st.DB(), 2)

	for id := int64(1); id <= 3; id++ {
		a.feed.Publish(id)
	}
	ctx, cancel := context.WithTimeout(t.Context(), feedTimeout)
	defer cancel()
	if err := a.feed.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for id := int64(1); id <= 3; id++ {
		if !b.waitFor(func() bool { return b.has(id) }) {
			t.Errorf("folder %d was queued before Stop but never reached node b", id)
		}
	}
	if pids := waitListening(t, b.st.DB(), 1); len(pids) != 1 {
		t.Errorf("%d feed connections after Stop, want only node b's", len(pids))
	}
	a.feed.Publish(4) // after Stop: dropped without blocking
}

func TestMailboxFeedOnSQLiteDoesNothing(t *testing.T) {
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "cjsm.db"))
	feed, err := st.StartMailboxFeed(store.MailboxFeedConfig{OnChange: func(int64) {
		t.Error("OnChange called on SQLite")
	}})
	if err != nil {
		t.Fatalf("StartMailboxFeed: %v", err)
	}
	feed.Publish(1)
	if err := feed.Stop(t.Context()); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func TestMailboxFeedNeedsOnChange(t *testing.T) {
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "cjsm.db"))
	if _, err := st.StartMailboxFeed(store.MailboxFeedConfig{}); err == nil {
		t.Error("StartMailboxFeed without OnChange returned no error")
	}
}
