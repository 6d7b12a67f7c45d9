package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestMain(m *testing.M) {
	defer testenv.Cleanup()
	m.Run()
}

// backend names a store back end and makes the DSN of a fresh, empty database for one test.
type backend struct {
	name string
	dsn  func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string {
		return "sqlite:" + filepath.Join(t.TempDir(), "cjsm.db")
	}},
	{"postgres", func(t *testing.T) string { return testenv.PostgreSQL(t) }},
}

// eachBackend runs fn once per back end, as the subtests "sqlite" and "postgres", each with the
// DSN of its own empty database. The PostgreSQL subtest skips when PostgreSQL is not installed,
// unless CJSM_REQUIRE_PEERS=1.
func eachBackend(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.dsn(t)) })
	}
}

// eachStore runs fn once per back end with a migrated store that closes when the test ends.
func eachStore(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	eachBackend(t, func(t *testing.T, dsn string) { fn(t, openStore(t, dsn)) })
}

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("store.Open(%s): %v", dsn, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// inTx runs fn in a transaction and fails the test when it returns an error.
func inTx(t *testing.T, st *store.Store, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := st.InTx(t.Context(), fn); err != nil {
		t.Fatalf("transaction: %v", err)
	}
}

func createOrg(t *testing.T, st *store.Store, slug string, parentID int64) store.Organisation {
	t.Helper()
	o := store.Organisation{ParentID: parentID, Name: "Org " + slug, Slug: slug,
		Kind: store.KindGateway, Status: store.StatusActive}
	inTx(t, st, func(tx *store.Tx) error { return tx.CreateOrganisation(t.Context(), &o) })
	return o
}

func createPerson(t *testing.T, st *store.Store, orgID int64, key string) store.Person {
	t.Helper()
	p := store.Person{OrgID: orgID, FirstName: "Jane", LastName: "Smith", Address: key,
		AddressKey: key, Status: store.StatusActive, Roles: store.RoleUser}
	inTx(t, st, func(tx *store.Tx) error { return tx.CreatePerson(t.Context(), &p) })
	return p
}

// appendAudit appends one audit row in its own transaction.
func appendAudit(t *testing.T, st *store.Store, actor, action, target, detail string) store.AuditEntry {
	t.Helper()
	e := store.AuditEntry{Actor: actor, Action: action, Target: target, Source: "cli",
		Detail: detail}
	inTx(t, st, func(tx *store.Tx) error { return tx.AppendAudit(t.Context(), &e) })
	return e
}
