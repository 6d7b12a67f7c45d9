package store

import (
	"context"
	"strings"
)

// MigrateTo applies the migrations up to and including version, so that a test can write
// rows before a later migration runs.
func (s *Store) MigrateTo(ctx context.Context, version int) error {
	return s.migrateTo(ctx, version)
}

// CreateCounters creates the counters table of migration 7 early, so that a test can file
// messages into a store migrated only to an earlier version.
func (s *Store) CreateCounters(ctx context.Context) error {
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY,
			value BIGINT NOT NULL)`)
		if err == nil {
			_, err = tx.exec(ctx, `INSERT INTO counters (name, value) VALUES ('uidvalidity', 0)
				ON CONFLICT (name) DO NOTHING`)
		}
		return err
	})
}

// SearchTextScan is SearchText with the SQLite FTS5 index left out: it compares word with
// every row of the folder. On PostgreSQL it is SearchText.
func (s *Store) SearchTextScan(ctx context.Context, mailboxID int64, word string,
	withHeader bool) (map[int64]bool, error) {
	return s.searchText(ctx, mailboxID, word, withHeader, false)
}

// ExplainSearchText returns the plan of SearchText's query, one line per plan node: EXPLAIN
// QUERY PLAN on SQLite, and on PostgreSQL EXPLAIN with sequential scans, plain index scans
// and nested loops turned off. On tables as small as a test's, PostgreSQL's planner rightly
// prefers to look up each message of the folder. Without those plans it reads message_text
// with a bitmap scan of an index whose condition is the LIKE, if an index can serve it, and
// otherwise with one of the plans turned off.
func (s *Store) ExplainSearchText(ctx context.Context, mailboxID int64, word string,
	withHeader bool) (string, error) {
	q, args := s.searchTextQuery(mailboxID, strings.ToLower(word), withHeader, true)
	var lines []string
	err := s.InTx(ctx, func(tx *Tx) error {
		explain := "EXPLAIN QUERY PLAN "
		if s.dialect == PostgreSQL {
			explain = "EXPLAIN "
			for _, setting := range []string{"enable_seqscan", "enable_indexscan",
				"enable_indexonlyscan", "enable_nestloop"} {
				if _, err := tx.exec(ctx, "SET LOCAL "+setting+" = off"); err != nil {
					return err
				}
			}
		}
		rows, err := tx.query(ctx, explain+q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		columns, err := rows.Columns()
		if err != nil {
			return err
		}
		for rows.Next() {
			// SQLite returns id, parent, notused and detail; PostgreSQL one text column.
			values := make([]any, len(columns))
			for i := range values {
				values[i] = new(any)
			}
			if err := rows.Scan(values...); err != nil {
				return err
			}
			detail := *(values[len(values)-1].(*any))
			lines = append(lines, toString(detail))
		}
		return rows.Err()
	})
	return strings.Join(lines, "\n"), err
}

func toString(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// TextIndexRowIDs returns the message ids whose row of the SQLite FTS5 table contains every
// trigram of word, without comparing the text.
func (s *Store) TextIndexRowIDs(ctx context.Context, word string) ([]int64, error) {
	rows, err := s.query(ctx, "SELECT rowid FROM message_text_fts WHERE message_text_fts MATCH ?",
		trigramQuery(strings.ToLower(word)))
	if err != nil {
		return nil, err
	}
	return collect(rows, scanInt64)
}

// Rebind rewrites a query's "?" placeholders for the store's back end.
func (s *Store) Rebind(query string) string { return s.rebind(query) }
