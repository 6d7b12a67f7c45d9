package dataset

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

// backends opens an empty store of each kind for a test.
var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string {
		return "sqlite:" + filepath.Join(t.TempDir(), "cjsm.db")
	}},
	{"postgres", func(t *testing.T) string { return testenv.PostgreSQL(t) }},
}

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func count(t *testing.T, st *store.Store, query string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// maxDepthQuery walks the organisation tree from the top-level organisations down.
const maxDepthQuery = `WITH RECURSIVE tree (id, depth) AS (
		SELECT id, 1 FROM organisations WHERE parent_id IS NULL
		UNION ALL
		SELECT o.id, t.depth + 1 FROM organisations o JOIN tree t ON o.parent_id = t.id
	) SELECT MAX(depth) FROM tree`

func TestLoadWritesDataset(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := openStore(t, b.dsn(t))
			ctx := context.Background()
			opts := Options{Scale: 0.01, Seed: 1, Suffix: testSuffix}
			want, _ := ScaledCounts(opts.Scale)

			var lastDone, lastTotal int64
			res, err := Load(ctx, st, opts, LoadOptions{Actor: "operator:test", Source: "cli",
				Progress: func(phase string, done, total int64) {
					if done < lastDone {
						t.Errorf("progress went back from %d to %d in %s", lastDone, done, phase)
					}
					lastDone, lastTotal = done, total
				}})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}

			if res.Counts != want {
				t.Errorf("Load reports %+v, want %+v", res.Counts, want)
			}
			if lastDone != int64(want.Total()) || lastTotal != int64(want.Total()) {
				t.Errorf("last progress %d of %d, want %d of %d", lastDone, lastTotal,
					want.Total(), want.Total())
			}
			checkStoreCounts(t, st, want, 1)
			if got := count(t, st, maxDepthQuery); got != 3 {
				t.Errorf("organisation tree is %d levels deep, want 3", got)
			}
			subs := count(t, st,
				"SELECT COUNT(*) FROM organisations WHERE parent_id IS NOT NULL")
			if subs != res.SubOrganisations {
				t.Errorf("%d sub-organisations in the store, Load reports %d", subs,
					res.SubOrganisations)
			}
			if subs == 0 {
				t.Error("no sub-organisations in the store")
			}
			checkAudit(t, st, 1)
		})
	}
}

// checkStoreCounts checks the row counts of loads loads of the same size, and that every
// address key is unique.
func checkStoreCounts(t *testing.T, st *store.Store, want Counts, loads int) {
	t.Helper()
	if got := count(t, st, "SELECT COUNT(*) FROM organisations"); got != loads*want.Organisations {
		t.Errorf("%d organisations in the store, want %d", got, loads*want.Organisations)
	}
	if got := count(t, st, "SELECT COUNT(*) FROM domains"); got != loads*want.Domains {
		t.Errorf("%d domains in the store, want %d", got, loads*want.Domains)
	}
	if got := count(t, st, "SELECT COUNT(*) FROM people"); got != loads*want.People {
		t.Errorf("%d people in the store, want %d", got, loads*want.People)
	}
	distinct := "SELECT COUNT(DISTINCT address_key) FROM people"
	if got := count(t, st, distinct); got != loads*want.People {
		t.Errorf("%d distinct address keys for %d people", got, loads*want.People)
	}
	orphans := count(t, st, `SELECT COUNT(*) FROM people p
		LEFT JOIN organisations o ON o.id = p.org_id WHERE o.id IS NULL`)
	if orphans != 0 {
		t.Errorf("%d people belong to no organisation", orphans)
	}
}

// checkAudit checks that the trail holds loads dataset.load rows and nothing else, and
// that its hash chain is intact.
func checkAudit(t *testing.T, st *store.Store, loads int) {
	t.Helper()
	entries, err := st.AuditEntries(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != loads {
		t.Fatalf("%d audit rows, want %d (one per load)", len(entries), loads)
	}
	for _, e := range entries {
		if e.Action != "dataset.load" || e.Actor != "operator:test" {
			t.Errorf("audit row %d is %s by %s, want dataset.load by operator:test", e.Seq,
				e.Action, e.Actor)
		}
	}
	_, _, problems, err := st.VerifyAudit(context.Background())
	if err != nil || len(problems) > 0 {
		t.Errorf("audit trail does not verify: %v %v", err, problems)
	}
}

func TestLoadRefusesStoreWithOrganisations(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := openStore(t, b.dsn(t))
			ctx := context.Background()
			opts := Options{Scale: 0.01, Seed: 1, Suffix: testSuffix}
			lo := LoadOptions{Actor: "operator:test"}
			if _, err := Load(ctx, st, opts, lo); err != nil {
				t.Fatalf("first Load: %v", err)
			}

			_, err := Load(ctx, st, opts, lo)
			if !errors.Is(err, ErrStoreNotEmpty) {
				t.Fatalf("second Load without Force: %v, want ErrStoreNotEmpty", err)
			}
			want, _ := ScaledCounts(opts.Scale)
			checkStoreCounts(t, st, want, 1)

			lo.Force = true
			res, err := Load(ctx, st, opts, lo)
			if err != nil {
				t.Fatalf("second Load with Force: %v", err)
			}
			if res.FirstOrgID != int64(want.Organisations)+1 {
				t.Errorf("forced load starts at organisation ID %d, want %d", res.FirstOrgID,
					want.Organisations+1)
			}
			checkStoreCounts(t, st, want, 2)
			checkAudit(t, st, 2)
		})
	}
}

// TestLoadLeavesIDsForDirectory checks that organisations created through the directory
// after a load get new IDs: on PostgreSQL the identity sequence must have moved past the
// IDs the load chose itself.
func TestLoadLeavesIDsForDirectory(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := openStore(t, b.dsn(t))
			ctx := context.Background()
			res, err := Load(ctx, st, Options{Scale: 0.001, Seed: 1, Suffix: testSuffix},
				LoadOptions{})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}

			dir := directory.New(st, testSuffix)
			o, err := dir.CreateOrganisation(ctx, directory.Actor{Name: "operator:test"},
				directory.OrgInput{Name: "Created After Load", Kind: store.KindHosted})
			if err != nil {
				t.Fatalf("CreateOrganisation after Load: %v", err)
			}
			if last := res.FirstOrgID + int64(res.Organisations) - 1; o.ID <= last {
				t.Errorf("new organisation has ID %d, inside the loaded range up to %d", o.ID,
					last)
			}
		})
	}
}

func TestLoadRollsBackWhenCancelled(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := openStore(t, b.dsn(t))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			_, err := Load(ctx, st, Options{Scale: 0.01, Seed: 1, Suffix: testSuffix},
				LoadOptions{Progress: func(phase string, done, total int64) {
					if phase == PhasePeople {
						cancel()
					}
				}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Load cancelled during the people phase: %v, want context.Canceled",
					err)
			}
			for _, table := range []string{"organisations", "domains", "people", "audit_log"} {
				if n := count(t, st, "SELECT COUNT(*) FROM "+table); n != 0 {
					t.Errorf("%d rows left in %s after the cancelled load", n, table)
				}
			}
		})
	}
}

func TestLoadRejectsInvalidScale(t *testing.T) {
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "cjsm.db"))
	_, err := Load(context.Background(), st, Options{Scale: 0, Suffix: testSuffix},
		LoadOptions{})
	if err == nil {
		t.Fatal("Load accepted scale 0")
	}
	if n := count(t, st, "SELECT COUNT(*) FROM audit_log"); n != 0 {
		t.Errorf("%d audit rows after a rejected load", n)
	}
}
