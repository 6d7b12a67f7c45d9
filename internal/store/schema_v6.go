package store

import (
	"context"
	"fmt"
)

// textIndexVersion is the migration that indexes message_text for SEARCH.
const textIndexVersion = 6

// Names of the search text indexes. SearchText and CheckTextIndex refer to them.
const (
	ftsTable           = "message_text_fts"
	trigramBodyIndex   = "message_text_body_trgm"
	trigramHeaderIndex = "message_text_header_trgm"
)

// sqliteTextIndex creates message_text_fts, an FTS5 table over message_text with the
// trigram tokenizer (SQLite 3.34 or later), and the triggers that keep it in step.
//
//   - content='message_text' makes it an external-content table: it stores the index and
//     no copy of the text. content_rowid names the message id as its rowid.
//   - detail='none' stores, per trigram, only the rowids that contain it, without positions.
//     A query can then only ask for rows that contain every trigram of a word, not the
//     trigrams in sequence, so SearchText checks each such row with instr. On the mailbox
//     benchmark's text it took 666 octets a message, against 9,060 with positions
//     (docs/benchmarks.md, "Search index").
//   - case_sensitive 1 keeps code points as they are, because the text and the word are lower
//     case already. columnsize=0 drops the token counts per row, which only ranking reads.
//   - The delete trigger also runs when a messages row is deleted, through ON DELETE
//     CASCADE. FTS5's 'delete' command needs the old values, which the triggers pass.
//   - 'rebuild' indexes the rows that exist before the migration.
var sqliteTextIndex = []string{
	`CREATE VIRTUAL TABLE IF NOT EXISTS message_text_fts USING fts5(header_text, body_text,
		content='message_text', content_rowid='message_id',
		tokenize='trigram case_sensitive 1', detail='none', columnsize=0)`,
	`CREATE TRIGGER IF NOT EXISTS message_text_fts_insert AFTER INSERT ON message_text BEGIN
		INSERT INTO message_text_fts (rowid, header_text, body_text)
		VALUES (new.message_id, new.header_text, new.body_text);
	END`,
	`CREATE TRIGGER IF NOT EXISTS message_text_fts_delete AFTER DELETE ON message_text BEGIN
		INSERT INTO message_text_fts (message_text_fts, rowid, header_text, body_text)
		VALUES ('delete', old.message_id, old.header_text, old.body_text);
	END`,
	`CREATE TRIGGER IF NOT EXISTS message_text_fts_update AFTER UPDATE ON message_text BEGIN
		INSERT INTO message_text_fts (message_text_fts, rowid, header_text, body_text)
		VALUES ('delete', old.message_id, old.header_text, old.body_text);
		INSERT INTO message_text_fts (rowid, header_text, body_text)
		VALUES (new.message_id, new.header_text, new.body_text);
	END`,
	`INSERT INTO message_text_fts (message_text_fts) VALUES ('rebuild')`,
}

// migrateTextIndex is migration 6: it indexes the text that IMAP SEARCH BODY and TEXT
// match. SQLite gets sqliteTextIndex. PostgreSQL gets GIN trigram indexes (pg_trgm) that
// serve SearchText's LIKE query, and CREATE INDEX indexes the existing rows. Without the
// privilege to create the extension, the migration still applies and search scans instead.
func migrateTextIndex(ctx context.Context, tx *Tx) error {
	if tx.s.dialect == PostgreSQL {
		return tx.createTrigramIndexes(ctx)
	}
	for _, stmt := range sqliteTextIndex {
		if _, err := tx.exec(ctx, stmt); err != nil {
			return fmt.Errorf("create the SQLite FTS5 search index: %w\nstatement: %s", err, stmt)
		}
	}
	return nil
}

// createTrigramIndexes creates the pg_trgm extension and the trigram indexes of
// message_text in a savepoint. When that fails, as it does for a role without the CREATE
// privilege on the database, it rolls back to the savepoint, records the error for
// CheckTextIndex and returns nil, so that the transaction can go on. It returns an error
// only when the savepoint itself fails.
func (t *Tx) createTrigramIndexes(ctx context.Context) error {
	if _, err := t.exec(ctx, "SAVEPOINT text_index"); err != nil {
		return err
	}
	// pg_trgm is a contrib extension, in Debian's postgresql-15 package. It is trusted since
	// PostgreSQL 13, so a role with CREATE on the database may create it.
	steps := []string{
		"CREATE EXTENSION IF NOT EXISTS pg_trgm",
		"CREATE INDEX IF NOT EXISTS " + trigramBodyIndex +
			" ON message_text USING gin (body_text gin_trgm_ops)",
		"CREATE INDEX IF NOT EXISTS " + trigramHeaderIndex +
			" ON message_text USING gin (header_text gin_trgm_ops)",
	}
	for _, stmt := range steps {
		if _, err := t.exec(ctx, stmt); err != nil {
			if _, rbErr := t.exec(ctx, "ROLLBACK TO SAVEPOINT text_index"); rbErr != nil {
				return fmt.Errorf("roll back to the savepoint after %q failed: %w", stmt, rbErr)
			}
			t.s.setTrigramError(fmt.Errorf("%s: %w", stmt, err))
			return nil
		}
	}
	if _, err := t.exec(ctx, "RELEASE SAVEPOINT text_index"); err != nil {
		return err
	}
	t.s.setTrigramError(nil)
	return nil
}

// ensureTrigramIndexes creates the trigram indexes of a migrated PostgreSQL store when
// they are missing, under the migration lock. It records a failure for CheckTextIndex and
// returns an error only when the transaction fails.
func (s *Store) ensureTrigramIndexes(ctx context.Context) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.lockMigrations(ctx); err != nil {
			return err
		}
		var present bool
		err := tx.queryRow(ctx, trigramIndexesQuery, trigramBodyIndex, trigramHeaderIndex).
			Scan(&present)
		if err != nil || present {
			return err
		}
		return tx.createTrigramIndexes(ctx)
	})
	if err != nil {
		return fmt.Errorf("store: create the search text indexes: %w", err)
	}
	return nil
}

// trigramIndexesQuery selects true when both trigram indexes exist in the search path.
const trigramIndexesQuery = "SELECT to_regclass(?) IS NOT NULL AND to_regclass(?) IS NOT NULL"
