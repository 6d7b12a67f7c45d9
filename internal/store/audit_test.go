package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

func TestAuditAppendChainsRows(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		at := time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.UTC)
		first := store.AuditEntry{At: at, Actor: "operator:root", Action: "organisation.create",
			Target: "org:kent-police", Source: "cli", Detail: `name="Kent Police"`}
		inTx(t, st, func(tx *store.Tx) error { return tx.AppendAudit(t.Context(), &first) })
		second := appendAudit(t, st, "jane@x.cjsm.net", "person.update", "person:tom@x",
			"status=suspended")

		if first.Seq != 1 || second.Seq != 2 {
			t.Errorf("Seq = %d, %d; want 1, 2", first.Seq, second.Seq)
		}
		if first.PrevHash != strings.Repeat("0", 64) {
			t.Errorf("first PrevHash = %q, want 64 zeros", first.PrevHash)
		}
		if second.PrevHash != first.Hash {
			t.Errorf("second PrevHash = %q, want the first row's hash %q", second.PrevHash,
				first.Hash)
		}
		if first.Hash != store.HashAuditEntry(first) {
			t.Errorf("Hash does not cover the row as stored")
		}
		if !first.At.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("At = %v, want %v truncated to microseconds", first.At, at)
		}
		if second.At.IsZero() {
			t.Errorf("AppendAudit left a zero At")
		}

		entries, err := st.AuditEntries(t.Context(), store.AuditFilter{})
		if err != nil {
			t.Fatalf("AuditEntries: %v", err)
		}
		if len(entries) != 2 {
			t.Fatalf("AuditEntries returned %d rows, want 2", len(entries))
		}
		if entries[0] != first || entries[1] != second {
			t.Errorf("AuditEntries\n got %+v\nwant %+v", entries, []store.AuditEntry{first, second})
		}

		checked, head, problems, err := st.VerifyAudit(t.Context())
		if err != nil {
			t.Fatalf("VerifyAudit: %v", err)
		}
		if checked != 2 || head != second.Hash || len(problems) != 0 {
			t.Errorf("VerifyAudit = %d rows, head %s, problems %v; want 2, %s, none", checked,
				head, problems, second.Hash)
		}
	})
}

func TestAuditEntriesFilters(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		for i := 1; i <= 5; i++ {
			actor := "operator:alice"
			if i%2 == 0 {
				actor = "operator:bob"
			}
			appendAudit(t, st, actor, "person.update", fmt.Sprintf("person:p%d", i%3), "")
		}
		cases := []struct {
			name string
			f    store.AuditFilter
			want []int64
		}{
			{"all", store.AuditFilter{}, []int64{1, 2, 3, 4, 5}},
			{"actor", store.AuditFilter{Actor: "operator:bob"}, []int64{2, 4}},
			{"target", store.AuditFilter{Target: "person:p1"}, []int64{1, 4}},
			{"after", store.AuditFilter{After: 3}, []int64{4, 5}},
			{"limit", store.AuditFilter{Limit: 2}, []int64{1, 2}},
			{"actor and after", store.AuditFilter{Actor: "operator:alice", After: 1},
				[]int64{3, 5}},
		}
		for _, c := range cases {
			entries, err := st.AuditEntries(t.Context(), c.f)
			if err != nil {
				t.Fatalf("%s: AuditEntries: %v", c.name, err)
			}
			var got []int64
			for _, e := range entries {
				got = append(got, e.Seq)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: rows %v, want %v", c.name, got, c.want)
			}
		}
	})
}

func TestVerifyAuditEmptyTrail(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		checked, head, problems, err := st.VerifyAudit(t.Context())
		if err != nil {
			t.Fatalf("VerifyAudit: %v", err)
		}
		if checked != 0 || head != strings.Repeat("0", 64) || len(problems) != 0 {
			t.Errorf("empty trail: %d rows, head %q, problems %v", checked, head, problems)
		}
	})
}

// Writers on several goroutines (and so several connections) must each chain from the head
// they saw last, never from a head another writer has already used.
func TestAuditConcurrentAppendsKeepChain(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		const writers, each = 6, 15
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := st.InTx(t.Context(), func(tx *store.Tx) error {
						return tx.AppendAudit(t.Context(), &store.AuditEntry{
							Actor: fmt.Sprintf("writer%d", w), Action: "test.append",
							Target: fmt.Sprintf("n:%d", i), Source: "test"})
					})
					if err != nil {
						errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		checked, _, problems, err := st.VerifyAudit(t.Context())
		if err != nil {
			t.Fatalf("VerifyAudit: %v", err)
		}
		if checked != writers*each {
			t.Errorf("VerifyAudit checked %d rows, want %d", checked, writers*each)
		}
		for _, p := range problems {
			t.Errorf("chain broken at row %d: %s", p.Seq, p.Reason)
		}
	})
}

// tamperedTrail writes five audit rows and returns them.
func tamperedTrail(t *testing.T, st *store.Store) []store.AuditEntry {
	t.Helper()
	var rows []store.AuditEntry
	for i := 1; i <= 5; i++ {
		rows = append(rows, appendAudit(t, st, "operator:root", "person.update",
			fmt.Sprintf("person:p%d", i), fmt.Sprintf("status=active n=%d", i)))
	}
	return rows
}

func execSQL(t *testing.T, st *store.Store, q string) {
	t.Helper()
	res, err := st.DB().ExecContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", q, n)
	}
}

func verifyProblems(t *testing.T, st *store.Store) map[int64][]string {
	t.Helper()
	_, _, problems, err := st.VerifyAudit(t.Context())
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	out := map[int64][]string{}
	for _, p := range problems {
		out[p.Seq] = append(out[p.Seq], p.Reason)
	}
	return out
}

func TestVerifyAuditFindsEditedDetail(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		tamperedTrail(t, st)
		execSQL(t, st, "UPDATE audit_log SET detail = 'status=closed' WHERE seq = 3")
		problems := verifyProblems(t, st)
		if len(problems) != 1 || len(problems[3]) != 1 {
			t.Fatalf("problems = %v, want one, on row 3", problems)
		}
		if !strings.Contains(problems[3][0], "edited") {
			t.Errorf("row 3 reason %q does not say the row was edited", problems[3][0])
		}
	})
}

func TestVerifyAuditFindsEditedActorAndTime(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		tamperedTrail(t, st)
		execSQL(t, st, "UPDATE audit_log SET actor = 'operator:mallory' WHERE seq = 1")
		execSQL(t, st, "UPDATE audit_log SET at = at + 1 WHERE seq = 4")
		problems := verifyProblems(t, st)
		if len(problems) != 2 || problems[1] == nil || problems[4] == nil {
			t.Errorf("problems = %v, want rows 1 and 4", problems)
		}
	})
}

// Recomputing the edited row's own hash hides the edit in that row, but not from the next.
func TestVerifyAuditFindsRehashedEdit(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		rows := tamperedTrail(t, st)
		forged := rows[1]
		forged.Detail = "status=closed"
		forged.Hash = store.HashAuditEntry(forged)
		execSQL(t, st, fmt.Sprintf("UPDATE audit_log SET detail = '%s', hash = '%s' WHERE seq = 2",
			forged.Detail, forged.Hash))
		problems := verifyProblems(t, st)
		if len(problems) != 1 || problems[3] == nil {
			t.Fatalf("problems = %v, want one, on row 3", problems)
		}
		if !strings.Contains(problems[3][0], "previous-hash") {
			t.Errorf("row 3 reason %q does not name the broken previous-hash link", problems[3][0])
		}
	})
}

func TestVerifyAuditFindsDeletedRow(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		tamperedTrail(t, st)
		execSQL(t, st, "DELETE FROM audit_log WHERE seq = 3")
		checked, _, problems, err := st.VerifyAudit(t.Context())
		if err != nil {
			t.Fatalf("VerifyAudit: %v", err)
		}
		if checked != 4 {
			t.Errorf("checked %d rows, want 4", checked)
		}
		var reasons []string
		for _, p := range problems {
			if p.Seq != 4 {
				t.Errorf("problem reported on row %d (%s), want only row 4", p.Seq, p.Reason)
			}
			reasons = append(reasons, p.Reason)
		}
		all := strings.Join(reasons, "; ")
		if !strings.Contains(all, "rows 3 to 3 are missing") {
			t.Errorf("reasons %q do not name the missing row 3", all)
		}
		if !strings.Contains(all, "previous-hash") {
			t.Errorf("reasons %q do not name the broken previous-hash link", all)
		}
	})
}

// AppendAudit after a tampering chains from the stored head, so the break stays visible.
func TestVerifyAuditBreakSurvivesLaterAppends(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		tamperedTrail(t, st)
		execSQL(t, st, "UPDATE audit_log SET target = 'person:other' WHERE seq = 2")
		appendAudit(t, st, "operator:root", "person.create", "person:p6", "")
		problems := verifyProblems(t, st)
		if len(problems) != 1 || problems[2] == nil {
			t.Errorf("problems = %v, want row 2 only", problems)
		}
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
