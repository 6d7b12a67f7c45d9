package mailbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestMain(m *testing.M) {
	defer testenv.Cleanup()
	m.Run()
}

// env is one migrated store with a blob store, a hosted organisation, and the mailbox
// service over them.
type env struct {
	dsn   string
	st    *store.Store
	blobs *blob.Store
	svc   *mailbox.Service
	org   store.Organisation
}

// eachBackend runs fn as the subtests "sqlite" and "postgres", each with a fresh env. The
// PostgreSQL subtest skips when PostgreSQL is not installed, unless CJSM_REQUIRE_PEERS=1.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	backends := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string {
			return "sqlite:" + filepath.Join(t.TempDir(), "cjsm.db")
		}},
		{"postgres", func(t *testing.T) string { return testenv.PostgreSQL(t) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, newEnv(t, b.dsn(t))) })
	}
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("store.Open(%s): %v", dsn, err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatalf("blob.Open: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{dsn: dsn, st: st, blobs: blobs, svc: mailbox.New(st, blobs, mailbox.Config{}, logger)}
	e.org = e.createOrg(t, "org1")
	return e
}

func (e *env) inTx(t *testing.T, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := e.st.InTx(context.Background(), fn); err != nil {
		t.Fatalf("transaction: %v", err)
	}
}

func (e *env) createOrg(t *testing.T, slug string) store.Organisation {
	t.Helper()
	o := store.Organisation{Name: "Org " + slug, Slug: slug, Kind: store.KindHosted,
		Status: store.StatusActive}
	e.inTx(t, func(tx *store.Tx) error { return tx.CreateOrganisation(context.Background(), &o) })
	return o
}

func (e *env) createPerson(t *testing.T, local string) store.Person {
	t.Helper()
	key := local + "@" + e.org.Slug + ".cjsm.test"
	p := store.Person{OrgID: e.org.ID, FirstName: "Test", LastName: local, Address: key,
		AddressKey: key, Status: store.StatusActive, Roles: store.RoleUser}
	e.inTx(t, func(tx *store.Tx) error { return tx.CreatePerson(context.Background(), &p) })
	return p
}

func (e *env) setStatus(t *testing.T, p store.Person, status string) {
	t.Helper()
	p.Status = status
	e.inTx(t, func(tx *store.Tx) error { return tx.UpdatePerson(context.Background(), &p) })
}

// createGroup creates a group mailbox and adds each member with the given rights.
func (e *env) createGroup(t *testing.T, local string, members ...store.GroupMember) store.GroupMailbox {
	t.Helper()
	key := local + "@" + e.org.Slug + ".cjsm.test"
	g := store.GroupMailbox{OrgID: e.org.ID, Name: local, Address: key, AddressKey: key}
	e.inTx(t, func(tx *store.Tx) error {
		if err := tx.CreateGroupMailbox(context.Background(), &g); err != nil {
			return err
		}
		for _, m := range members {
			m.GroupID = g.ID
			if err := tx.SetGroupMember(context.Background(), m); err != nil {
				return err
			}
		}
		return nil
	})
	return g
}

// deliver files raw into the owner's INBOX the way the queue does: blob first, then the
// message row and Tx.AppendToMailbox in one transaction. It returns the UID.
func (e *env) deliver(t *testing.T, o mailbox.Owner, raw string) int64 {
	t.Helper()
	key, err := e.blobs.Put([]byte(raw))
	if err != nil {
		t.Fatalf("blob.Put: %v", err)
	}
	var uid int64
	e.inTx(t, func(tx *store.Tx) error {
		msg := store.Message{QueueID: fmt.Sprintf("q%d-%s", o.ID, key[:12]+randSuffix()),
			Blob: key, Size: int64(len(raw))}
		// The relay records the Message-ID field with the message; so does this helper.
		if m, err := mail.ReadMessage(strings.NewReader(raw)); err == nil {
			msg.MessageID = m.Header.Get("Message-Id")
		}
		if err := tx.CreateMessage(context.Background(), &msg); err != nil {
			return err
		}
		_, uid, err = tx.AppendToMailbox(context.Background(), o.Kind, o.ID, "INBOX", msg.ID, "")
		return err
	})
	return uid
}

var suffixCounter atomic.Int64

func randSuffix() string { return fmt.Sprint(suffixCounter.Add(1)) }

func personOwner(p store.Person) mailbox.Owner {
	return mailbox.Owner{Kind: store.OwnerPerson, ID: p.ID}
}

func groupOwner(g store.GroupMailbox) mailbox.Owner {
	return mailbox.Owner{Kind: store.OwnerGroup, ID: g.ID}
}

func sampleMessage(subject, body string) string {
	return "From: Alice <alice@police.cjsm.test>\r\nTo: bob@cps.cjsm.test\r\n" +
		"Subject: " + subject + "\r\nDate: Mon, 02 Jun 2025 10:00:00 +0100\r\n" +
		"Message-ID: <" + subject + "@cjsm.test>\r\n\r\n" + body + "\r\n"
}

func uidsOf(msgs []mailbox.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
	}
	return out
}
