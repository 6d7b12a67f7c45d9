package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Search text: the header and body text extracted from each message for IMAP SEARCH, and
// the queries that find a word in it. Migration 6 indexes it (schema_v6.go).

// PutMessageText stores the text extracted from a message for SEARCH. A message that already
// has text keeps it: the bytes of a message never change.
func (t *Tx) PutMessageText(ctx context.Context, messageID int64, header, body string) error {
	_, err := t.exec(ctx, `INSERT INTO message_text (message_id, header_text, body_text)
		VALUES (?, ?, ?) ON CONFLICT (message_id) DO NOTHING`, messageID, header, body)
	return err
}

// MessagesWithoutText lists a folder's messages that have no extracted text yet.
func (s *Store) MessagesWithoutText(ctx context.Context, mailboxID int64) ([]MailboxMessage,
	error) {
	return s.messagesWhere(ctx, `mm.mailbox_id = ? AND NOT EXISTS
		(SELECT 1 FROM message_text t WHERE t.message_id = mm.message_id)`, mailboxID)
}

// HeaderTexts returns the stored header text of a folder's messages by UID.
func (s *Store) HeaderTexts(ctx context.Context, mailboxID int64) (map[int64]string, error) {
	rows, err := s.query(ctx, `SELECT mm.uid, t.header_text FROM mailbox_messages mm
		JOIN message_text t ON t.message_id = mm.message_id WHERE mm.mailbox_id = ?`, mailboxID)
	if err != nil {
		return nil, err
	}
	type pair struct {
		uid  int64
		text string
	}
	pairs, err := collect(rows, func(r rowScanner) (pair, error) {
		var p pair
		return p, r.Scan(&p.uid, &p.text)
	})
	out := make(map[int64]string, len(pairs))
	for _, p := range pairs {
		out[p.uid] = p.text
	}
	return out, err
}

// ErrTextIndexMissing is wrapped by CheckTextIndex when SearchText has no index to use.
var ErrTextIndexMissing = errors.New("store: search text index missing")

const (
	// minIndexedRunes is the shortest word that a trigram index can look up: one trigram.
	minIndexedRunes = 3
	// maxQueryTrigrams bounds the trigrams of one FTS5 query. A query with fewer trigrams
	// finds more candidate rows, which the exact match then drops, so the bound changes the
	// time of a long word's search and never its result.
	maxQueryTrigrams = 32
)

// SearchText returns the UIDs of a folder's messages whose extracted text contains word,
// ignoring case: in the body text, or also in the header text when withHeader is set. RFC
// 3501 and RFC 9051 (section 6.4.4) define SEARCH BODY and TEXT as "contains the specified
// string", so word matches anywhere, inside other words too. The stored text must be lower
// case already (mailbox.ExtractText stores it so), and SearchText lowers word.
//
// The result is the exact substring match on both back ends, and an index only narrows
// the rows compared:
//   - SQLite looks up a word of 3 or more code points in message_text_fts (migration 6),
//     whose rows contain every trigram of the word, and compares each with instr. Shorter
//     words, and words that are not valid UTF-8 or contain NUL, are compared with every
//     row of the folder.
//   - PostgreSQL matches LIKE '%word%' with the wildcards in word escaped. The planner
//     serves the LIKE from the pg_trgm indexes when they exist (see CheckTextIndex) and it
//     estimates them cheaper than comparing each message of the folder. It needs planner
//     statistics for that: before autovacuum has analyzed a newly filled table, it compares
//     each message.
func (s *Store) SearchText(ctx context.Context, mailboxID int64, word string,
	withHeader bool) (map[int64]bool, error) {
	return s.searchText(ctx, mailboxID, word, withHeader, true)
}

func (s *Store) searchText(ctx context.Context, mailboxID int64, word string, withHeader,
	useIndex bool) (map[int64]bool, error) {
	q, args := s.searchTextQuery(mailboxID, strings.ToLower(word), withHeader, useIndex)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	uids, err := collect(rows, scanInt64)
	out := make(map[int64]bool, len(uids))
	for _, u := range uids {
		out[u] = true
	}
	return out, err
}

// searchTextQuery returns SearchText's query for a lower-case word. useIndex false makes
// the SQLite query scan the folder for every word, as tests compare both.
func (s *Store) searchTextQuery(mailboxID int64, word string, withHeader,
	useIndex bool) (string, []any) {
	if s.dialect == PostgreSQL {
		pattern := "%" + escapeLike(word) + "%"
		q := `SELECT mm.uid FROM mailbox_messages mm
			JOIN message_text t ON t.message_id = mm.message_id
			WHERE mm.mailbox_id = ? AND (t.body_text LIKE ? ESCAPE '\'`
		args := []any{mailboxID, pattern}
		if withHeader {
			q += ` OR t.header_text LIKE ? ESCAPE '\'`
			args = append(args, pattern)
		}
		return q + ")", args
	}

	// instr finds word as an exact substring, with no wildcard to escape and no limit on
	// its length (SQLite limits a LIKE pattern to 50,000 bytes).
	match := "instr(t.body_text, ?) > 0"
	matchArgs := []any{word}
	if withHeader {
		match = "(instr(t.body_text, ?) > 0 OR instr(t.header_text, ?) > 0)"
		matchArgs = append(matchArgs, word)
	}
	if expr := trigramQuery(word); useIndex && expr != "" {
		q := `SELECT mm.uid FROM message_text_fts
			JOIN mailbox_messages mm ON mm.message_id = message_text_fts.rowid
			JOIN message_text t ON t.message_id = mm.message_id
			WHERE message_text_fts MATCH ? AND mm.mailbox_id = ? AND ` + match
		return q, append([]any{expr, mailboxID}, matchArgs...)
	}
	q := `SELECT mm.uid FROM mailbox_messages mm
		JOIN message_text t ON t.message_id = mm.message_id
		WHERE mm.mailbox_id = ? AND ` + match
	return q, append([]any{mailboxID}, matchArgs...)
}

// trigramQuery returns the FTS5 query that finds the rows of message_text_fts containing
// every trigram of word, such as `"kes" AND "est" AND "str"`, or "" when the index cannot
// serve word. Each trigram is an FTS5 string, in double quotes with inner quotes doubled,
// so no character of word acts as FTS5 query syntax. At most maxQueryTrigrams distinct
// trigrams are used.
func trigramQuery(word string) string {
	if !utf8.ValidString(word) || strings.ContainsRune(word, 0) {
		return ""
	}
	runes := []rune(word)
	if len(runes) < minIndexedRunes {
		return ""
	}
	seen := map[string]bool{}
	var terms []string
	for i := 0; i+minIndexedRunes <= len(runes) && len(terms) < maxQueryTrigrams; i++ {
		trigram := string(runes[i : i+minIndexedRunes])
		if seen[trigram] {
			continue
		}
		seen[trigram] = true
		terms = append(terms, `"`+strings.ReplaceAll(trigram, `"`, `""`)+`"`)
	}
	return strings.Join(terms, " AND ")
}

// escapeLike escapes LIKE's wildcards so that word matches literally.
func escapeLike(word string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(word)
}

// CheckTextIndex returns nil when SearchText can use an index, and otherwise an error that
// wraps ErrTextIndexMissing and names the fix. Without the index, SEARCH BODY and TEXT
// still return the same messages but read every message text of the folder.
func (s *Store) CheckTextIndex(ctx context.Context) error {
	if s.dialect != PostgreSQL {
		var n int
		err := s.queryRow(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = ?",
			ftsTable).Scan(&n)
		if err != nil {
			return fmt.Errorf("store: look up the search text index: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("%w: SQLite table %s not found; apply migration %d "+
				"(delete its row from schema_migrations if it is there) and restart cjsm",
				ErrTextIndexMissing, ftsTable, textIndexVersion)
		}
		return nil
	}

	var present bool
	var database string
	err := s.queryRow(ctx, trigramIndexesQuery+", current_database()", trigramBodyIndex,
		trigramHeaderIndex).Scan(&present, &database)
	if err != nil {
		return fmt.Errorf("store: look up the search text indexes: %w", err)
	}
	if present {
		return nil
	}
	cause := ""
	if err := s.trigramError(); err != nil {
		cause = fmt.Sprintf(" (%v)", err)
	}
	return fmt.Errorf("%w: PostgreSQL indexes %s and %s not found%s; have a superuser run "+
		"CREATE EXTENSION pg_trgm in database %q (Debian's postgresql-15 package ships "+
		"it), or grant CREATE on that database to cjsm's role, then restart cjsm, which "+
		"builds the indexes as it starts", ErrTextIndexMissing, trigramBodyIndex,
		trigramHeaderIndex, cause, database)
}

// setTrigramError records why the last attempt to create the trigram indexes failed, nil
// when it succeeded.
func (s *Store) setTrigramError(err error) {
	s.trigramMu.Lock()
	defer s.trigramMu.Unlock()
	s.trigramErr = err
}

func (s *Store) trigramError() error {
	s.trigramMu.Lock()
	defer s.trigramMu.Unlock()
	return s.trigramErr
}
