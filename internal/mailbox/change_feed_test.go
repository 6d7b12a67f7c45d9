package mailbox_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

// Two mailbox services on one PostgreSQL store stand for two nodes: a change through node
// a wakes a session of node b that watches the folder.
func TestChangeFeedWakesOtherNodesSessions(t *testing.T) {
	e := newEnv(t, testenv.PostgreSQL(t))
	second, err := store.Open(context.Background(), e.dsn)
	if err != nil {
		t.Fatalf("store.Open for node b: %v", err)
	}
	t.Cleanup(func() { second.Close() })
	nodeB := mailbox.New(second, e.blobs, mailbox.Config{},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, svc := range []*mailbox.Service{e.svc, nodeB} {
		stop, err := svc.StartChangeFeed()
		if err != nil {
			t.Fatalf("StartChangeFeed: %v", err)
		}
		t.Cleanup(func() { stop(context.Background()) })
	}
	if _, err := e.svc.StartChangeFeed(); err == nil {
		t.Errorf("a second StartChangeFeed on one service returned no error")
	}
	waitFeeds(t, e.st, 2)

	jane := e.createPerson(t, "jane")
	uid := e.deliver(t, personOwner(jane), sampleMessage("first", "x"))
	inbox, err := e.svc.Folder(t.Context(), jane.ID,
		mailbox.Ref{Owner: personOwner(jane), Name: "INBOX"}, mailbox.Read)
	if err != nil {
		t.Fatalf("Folder: %v", err)
	}
	woken, unsubscribe := nodeB.Notifier().Subscribe(inbox.ID)
	defer unsubscribe()

	if _, err := e.svc.StoreFlags(t.Context(), jane.ID, inbox, []int64{uid},
		mailbox.FlagsAdd, []string{`\Flagged`}, 0); err != nil {
		t.Fatalf("StoreFlags on node a: %v", err)
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Errorf("node b's session was not woken within 5 s of a flag change on node a")
	}
}

// waitFeeds waits until n change feeds listen on st's database.
func waitFeeds(t *testing.T, st *store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var listening int
		err := st.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'cjsm mailbox changes'
			AND state = 'idle' AND query LIKE 'LISTEN%'`).Scan(&listening)
		if err != nil {
			t.Fatalf("read pg_stat_activity: %v", err)
		}
		if listening == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d change feeds listen after 5 s, want %d", listening, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
