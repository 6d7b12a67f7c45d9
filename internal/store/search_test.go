package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

// messageText is the extracted text of one test message, before lowering.
type messageText struct{ header, body string }

// trickyTexts contain the wildcards of LIKE, quotes, FTS5 query syntax, non-ASCII letters
// and emoji. The sixth body contains every trigram of "kestrelmoor" but not the word, so an
// index that returns rows without checking them gives it away.
var trickyTexts = []messageText{
	{"Subject: 100% sure\nFrom: O'Brien <ob@firm.example>",
		"The fee is 100% paid; under_score and a percent % sign"},
	{"Subject: quotes", `She said "hi" and it's done; back\slash C:\Temp`},
	{"Subject: Café", "Résumé of the défense; Straße und Größe"},
	{"Subject: Привет", "Привет мир, ёлка; 日本語のテキスト 🙂🙂 ok"},
	{"Subject: plain", "kestrelmoor hearing adjourned"},
	{"Subject: kestrel", "moor and kestrel and restrelmoor"},
	{"Subject: header only zebracorn", ""},
	{"Subject: syntax", `near(a b) AND OR NOT * ^ {body_text}: -x +y "unclosed`},
}

// trickyWords are searched in trickyTexts, each with and without the header.
var trickyWords = []string{
	"%", "100%", "0%", "%%", "_", "__", "under_score", "r_s", "e_s", "a%b",
	"'", "o'brien", "it's", `"`, `"hi"`, `said "hi"`, `""`, `\`, `back\slash`, `c:\temp`,
	`\t`, "é", "café", "CAFÉ", "résumé", "ß", "straße", "STRASSE", "größe",
	"при", "привет", "ПРИВЕТ", "мир", "ёлка", "日本", "日本語", "テキスト",
	"🙂", "🙂🙂", "🙂🙂🙂", "kestrelmoor", "KestrelMoor", "kestrel", "restrelmoor", "moor",
	"zebracorn", "near(", "and or not", "*", "{body_text}:", "-x +y", `"unclosed`,
	"ab", "a", " ", "", "subject:",
	strings.Repeat("kestrel", 1000),
	"kestrelmoor hearing adjourned and a great deal more than any message contains",
}

// filedText is a message filed by fileTexts.
type filedText struct {
	uid, messageID int64
	header, body   string // lower case, as stored
}

// fileTexts files one message per text into a new folder of a new person, stores its
// text in lower case as mailbox.ExtractText does, and returns the folder and the messages.
func fileTexts(t *testing.T, st *store.Store, texts []messageText) (store.Mailbox,
	[]filedText) {
	t.Helper()
	ctx := t.Context()
	o := createOrg(t, st, "firm", 0)
	p := createPerson(t, st, o.ID, "jane@firm.example")
	var b store.Mailbox
	var filed []filedText
	inTx(t, st, func(tx *store.Tx) error {
		var err error
		if b, err = tx.EnsureMailbox(ctx, store.OwnerPerson, p.ID, "INBOX"); err != nil {
			return err
		}
		for i, text := range texts {
			m := store.Message{QueueID: fmt.Sprintf("T%d", i), Blob: fmt.Sprintf("b%d", i),
				Size: 100}
			if err := tx.CreateMessage(ctx, &m); err != nil {
				return err
			}
			f := filedText{messageID: m.ID, header: strings.ToLower(text.header),
				body: strings.ToLower(text.body)}
			if err := tx.PutMessageText(ctx, m.ID, f.header, f.body); err != nil {
				return err
			}
			if f.uid, _, err = tx.AppendMessage(ctx, b.ID, m.ID, "", time.Now()); err != nil {
				return err
			}
			filed = append(filed, f)
		}
		return nil
	})
	return b, filed
}

// expectedUIDs returns the UIDs whose text contains word, by strings.Contains.
func expectedUIDs(filed []filedText, word string, withHeader bool) []int64 {
	word = strings.ToLower(word)
	var out []int64
	for _, f := range filed {
		if strings.Contains(f.body, word) || (withHeader && strings.Contains(f.header, word)) {
			out = append(out, f.uid)
		}
	}
	return out
}

func sortedUIDs(set map[int64]bool) []int64 {
	return slices.Sorted(maps.Keys(set))
}

// shortWord abbreviates the long test words in failure messages.
func shortWord(word string) string {
	if utf8.RuneCountInString(word) > 40 {
		return string([]rune(word)[:40]) + "…"
	}
	return word
}

func TestSearchTextIndexMatchesScan(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		b, filed := fileTexts(t, st, trickyTexts)
		for _, word := range trickyWords {
			for _, withHeader := range []bool{false, true} {
				want := expectedUIDs(filed, word, withHeader)
				got, err := st.SearchText(ctx, b.ID, word, withHeader)
				if err != nil {
					t.Fatalf("SearchText(%q, header %t): %v", shortWord(word), withHeader, err)
				}
				if !slices.Equal(sortedUIDs(got), want) {
					t.Errorf("SearchText(%q, header %t) = %v, want %v", shortWord(word),
						withHeader, sortedUIDs(got), want)
				}
				scanned, err := st.SearchTextScan(ctx, b.ID, word, withHeader)
				if err != nil {
					t.Fatalf("SearchTextScan(%q, header %t): %v", shortWord(word), withHeader,
						err)
				}
				if !slices.Equal(sortedUIDs(scanned), want) {
					t.Errorf("SearchTextScan(%q, header %t) = %v, want %v", shortWord(word),
						withHeader, sortedUIDs(scanned), want)
				}
			}
		}
	})
}

// The index returns the rows that contain every trigram of a word. Message 6 has all
// trigrams of "kestrelmoor" in another order, and only the exact comparison drops it.
func TestSearchTextDropsTrigramOnlyMatches(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		b, filed := fileTexts(t, st, trickyTexts)
		if st.Dialect() == store.SQLite {
			ids, err := st.TextIndexRowIDs(t.Context(), "kestrelmoor")
			if err != nil {
				t.Fatalf("TextIndexRowIDs: %v", err)
			}
			slices.Sort(ids)
			want := []int64{filed[4].messageID, filed[5].messageID}
			if !slices.Equal(ids, want) {
				t.Errorf("FTS5 rows with the trigrams of kestrelmoor = %v, want %v", ids, want)
			}
		}
		got, err := st.SearchText(t.Context(), b.ID, "kestrelmoor", false)
		if err != nil {
			t.Fatalf("SearchText: %v", err)
		}
		if !slices.Equal(sortedUIDs(got), []int64{filed[4].uid}) {
			t.Errorf("SearchText(kestrelmoor) = %v, want [%d]", sortedUIDs(got), filed[4].uid)
		}
	})
}

// planUsesIndex fails the test unless the plan of SearchText's query for word reads the
// index: the FTS5 table on SQLite, the trigram indexes on PostgreSQL.
func planUsesIndex(t *testing.T, st *store.Store, mailboxID int64, word string) {
	t.Helper()
	for _, withHeader := range []bool{false, true} {
		plan, err := st.ExplainSearchText(t.Context(), mailboxID, word, withHeader)
		if err != nil {
			t.Fatalf("ExplainSearchText(%q, header %t): %v", word, withHeader, err)
		}
		var want []string
		switch {
		case st.Dialect() == store.SQLite:
			want = []string{"SCAN message_text_fts VIRTUAL TABLE"}
		case withHeader:
			want = []string{"Bitmap Index Scan on message_text_body_trgm",
				"Bitmap Index Scan on message_text_header_trgm"}
		default:
			want = []string{"Bitmap Index Scan on message_text_body_trgm"}
		}
		for _, w := range want {
			if !strings.Contains(plan, w) {
				t.Errorf("plan of SearchText(%q, header %t) lacks %q:\n%s", word, withHeader, w,
					plan)
			}
		}
	}
}

func TestSearchTextPlanUsesIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		b, _ := fileTexts(t, st, trickyTexts)
		for _, word := range []string{"kestrelmoor", "100%", `said "hi"`, "привет"} {
			planUsesIndex(t, st, b.ID, word)
		}
	})
}

// Words of fewer than 3 characters have no trigram: SQLite compares every row of the
// folder instead of asking the FTS5 table, which would find nothing.
func TestSearchTextShortWordsScan(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		b, filed := fileTexts(t, st, trickyTexts)
		for _, word := range []string{"ab", "ok", "é", "ß", "🙂", "%", "_", "日本", ""} {
			want := expectedUIDs(filed, word, false)
			got, err := st.SearchText(ctx, b.ID, word, false)
			if err != nil {
				t.Fatalf("SearchText(%q): %v", word, err)
			}
			if !slices.Equal(sortedUIDs(got), want) {
				t.Errorf("SearchText(%q) = %v, want %v", word, sortedUIDs(got), want)
			}
			if st.Dialect() != store.SQLite {
				continue
			}
			plan, err := st.ExplainSearchText(ctx, b.ID, word, false)
			if err != nil {
				t.Fatalf("ExplainSearchText(%q): %v", word, err)
			}
			if strings.Contains(plan, "message_text_fts") {
				t.Errorf("plan of SearchText(%q) asks the FTS5 table:\n%s", word, plan)
			}
		}
	})
}

// searchUIDs returns SearchText's UIDs in order and fails the test on an error.
func searchUIDs(t *testing.T, st *store.Store, mailboxID int64, word string) []int64 {
	t.Helper()
	got, err := st.SearchText(t.Context(), mailboxID, word, true)
	if err != nil {
		t.Fatalf("SearchText(%q): %v", word, err)
	}
	return sortedUIDs(got)
}

// checkIndexIntegrity runs FTS5's integrity-check on SQLite, which fails when the index
// differs from message_text.
func checkIndexIntegrity(t *testing.T, st *store.Store) {
	t.Helper()
	if st.Dialect() != store.SQLite {
		return
	}
	_, err := st.DB().ExecContext(t.Context(),
		"INSERT INTO message_text_fts (message_text_fts) VALUES ('integrity-check')")
	if err != nil {
		t.Errorf("FTS5 integrity-check: %v", err)
	}
}

func TestSearchTextForgetsExpungedMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		texts := []messageText{{"subject: a", "kestrelmoor one"},
			{"subject: b", "kestrelmoor two"}, {"subject: c", "kestrelmoor three"}}
		b, filed := fileTexts(t, st, texts)
		inTx(t, st, func(tx *store.Tx) error {
			modseq, err := tx.NextModSeq(ctx, b.ID)
			if err != nil {
				return err
			}
			_, err = tx.ExpungeMessages(ctx, b.ID, []int64{filed[0].uid}, modseq)
			return err
		})
		want := []int64{filed[1].uid, filed[2].uid}
		if got := searchUIDs(t, st, b.ID, "kestrelmoor"); !slices.Equal(got, want) {
			t.Errorf("SearchText after expunging UID %d = %v, want %v", filed[0].uid, got, want)
		}
		checkIndexIntegrity(t, st)
	})
}

func TestSearchTextForgetsDeletedFolder(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		b, filed := fileTexts(t, st, []messageText{{"subject: a", "kestrelmoor one"}})
		var archive store.Mailbox
		inTx(t, st, func(tx *store.Tx) error {
			var err error
			archive, err = tx.EnsureMailbox(ctx, b.OwnerKind, b.OwnerID, "Archive")
			if err != nil {
				return err
			}
			_, _, err = tx.AppendMessage(ctx, archive.ID, filed[0].messageID, "", time.Now())
			return err
		})
		if got := searchUIDs(t, st, archive.ID, "kestrelmoor"); !slices.Equal(got, []int64{1}) {
			t.Fatalf("SearchText in the copy's folder = %v, want [1]", got)
		}
		inTx(t, st, func(tx *store.Tx) error { return tx.DeleteMailbox(ctx, archive.ID) })
		if got := searchUIDs(t, st, archive.ID, "kestrelmoor"); len(got) != 0 {
			t.Errorf("SearchText in the deleted folder = %v, want none", got)
		}
		want := []int64{filed[0].uid}
		if got := searchUIDs(t, st, b.ID, "kestrelmoor"); !slices.Equal(got, want) {
			t.Errorf("SearchText in the original folder = %v, want %v", got, want)
		}
		checkIndexIntegrity(t, st)
	})
}

// Retention expunges what Store.MessagesOlderThan lists, as mailbox.Service.ApplyRetention
// does.
func TestSearchTextForgetsExpiredMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		b, filed := fileTexts(t, st, []messageText{{"subject: new", "kestrelmoor new"}})
		p, err := st.Person(ctx, b.OwnerID)
		if err != nil {
			t.Fatalf("Person(%d): %v", b.OwnerID, err)
		}

		var oldUID int64
		inTx(t, st, func(tx *store.Tx) error {
			m := store.Message{QueueID: "old", Blob: "old", Size: 10}
			if err := tx.CreateMessage(ctx, &m); err != nil {
				return err
			}
			if err := tx.PutMessageText(ctx, m.ID, "subject: old", "kestrelmoor old"); err != nil {
				return err
			}
			oldUID, _, err = tx.AppendMessage(ctx, b.ID, m.ID, "",
				time.Now().AddDate(0, 0, -40))
			return err
		})

		old, err := st.MessagesOlderThan(ctx, p.OrgID, time.Now().AddDate(0, 0, -30), 100)
		if err != nil {
			t.Fatalf("MessagesOlderThan: %v", err)
		}
		if len(old) != 1 || old[0].UID != oldUID {
			t.Fatalf("MessagesOlderThan = %+v, want UID %d only", old, oldUID)
		}

		inTx(t, st, func(tx *store.Tx) error {
			modseq, err := tx.NextModSeq(ctx, b.ID)
			if err != nil {
				return err
			}
			_, err = tx.ExpungeMessages(ctx, b.ID, []int64{oldUID}, modseq)
			return err
		})
		want := []int64{filed[0].uid}
		if got := searchUIDs(t, st, b.ID, "kestrelmoor"); !slices.Equal(got, want) {
			t.Errorf("SearchText after retention = %v, want %v", got, want)
		}
		checkIndexIntegrity(t, st)
	})
}

// The triggers keep the FTS5 table in step when a text row changes or goes, also through
// ON DELETE CASCADE from messages.
func TestSearchTextFollowsChangedAndDeletedText(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		b, filed := fileTexts(t, st, []messageText{{"subject: a", "kestrelmoor one"},
			{"subject: b", "kestrelmoor two"}})
		changed, deleted := filed[0], filed[1]

		_, err := st.DB().ExecContext(ctx, st.Rebind(
			"UPDATE message_text SET body_text = ? WHERE message_id = ?"),
			"falconridge now", changed.messageID)
		if err != nil {
			t.Fatalf("update message_text: %v", err)
		}
		if got := searchUIDs(t, st, b.ID, "falconridge"); !slices.Equal(got, []int64{changed.uid}) {
			t.Errorf("SearchText(falconridge) after the update = %v, want [%d]", got, changed.uid)
		}
		if got := searchUIDs(t, st, b.ID, "kestrelmoor"); !slices.Equal(got, []int64{deleted.uid}) {
			t.Errorf("SearchText(kestrelmoor) after the update = %v, want [%d]", got, deleted.uid)
		}

		inTx(t, st, func(tx *store.Tx) error {
			modseq, err := tx.NextModSeq(ctx, b.ID)
			if err != nil {
				return err
			}
			_, err = tx.ExpungeMessages(ctx, b.ID, []int64{deleted.uid}, modseq)
			return err
		})
		_, err = st.DB().ExecContext(ctx, st.Rebind("DELETE FROM messages WHERE id = ?"),
			deleted.messageID)
		if err != nil {
			t.Fatalf("delete the message row: %v", err)
		}
		var texts int
		err = st.DB().QueryRowContext(ctx, st.Rebind(
			"SELECT COUNT(*) FROM message_text WHERE message_id = ?"), deleted.messageID).Scan(&texts)
		if err != nil || texts != 0 {
			t.Fatalf("text rows of the deleted message = %d (%v), want 0 by ON DELETE CASCADE",
				texts, err)
		}
		if st.Dialect() == store.SQLite {
			for _, word := range []string{"kestrelmoor", "falconridge"} {
				ids, err := st.TextIndexRowIDs(ctx, word)
				if err != nil {
					t.Fatalf("TextIndexRowIDs(%q): %v", word, err)
				}
				want := []int64(nil)
				if word == "falconridge" {
					want = []int64{changed.messageID}
				}
				if !slices.Equal(ids, want) {
					t.Errorf("FTS5 rows with the trigrams of %q = %v, want %v", word, ids, want)
				}
			}
		}
		checkIndexIntegrity(t, st)
	})
}

// Migration 6 indexes the text rows written before it.
func TestTextIndexMigrationIndexesExistingRows(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		st, err := store.OpenNoMigrate(ctx, dsn)
		if err != nil {
			t.Fatalf("OpenNoMigrate: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.MigrateTo(ctx, 5); err != nil {
			t.Fatalf("MigrateTo(5): %v", err)
		}
		if err := st.CheckTextIndex(ctx); !errors.Is(err, store.ErrTextIndexMissing) {
			t.Errorf("CheckTextIndex at version 5 = %v, want ErrTextIndexMissing", err)
		}
		// Filing a message creates a folder, which takes its UIDVALIDITY from the
		// counters table of a later migration.
		if err := st.CreateCounters(ctx); err != nil {
			t.Fatal(err)
		}
		b, filed := fileTexts(t, st, trickyTexts)

		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("Migrate from version 5: %v", err)
		}
		if err := st.CheckTextIndex(ctx); err != nil {
			t.Errorf("CheckTextIndex after Migrate: %v", err)
		}
		for _, word := range []string{"kestrelmoor", "привет", "100%", "zebracorn"} {
			want := expectedUIDs(filed, word, true)
			if got := searchUIDs(t, st, b.ID, word); !slices.Equal(got, want) {
				t.Errorf("SearchText(%q) after the migration = %v, want %v", word, got, want)
			}
		}
		planUsesIndex(t, st, b.ID, "kestrelmoor")
		checkIndexIntegrity(t, st)
	})
}

func TestCheckTextIndexOnNewStore(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		if err := st.CheckTextIndex(t.Context()); err != nil {
			t.Errorf("CheckTextIndex on a new store: %v", err)
		}
	})
}

// A role that may not create pg_trgm still migrates and searches, unindexed. A start after
// a superuser created the extension builds the indexes.
func TestTrigramIndexesWithoutExtensionPrivilege(t *testing.T) {
	adminDSN := testenv.PostgreSQL(t)
	dsn := testenv.PostgreSQLRestrictedRole(t, adminDSN)
	ctx := t.Context()

	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open as a role without CREATE on the database: %v", err)
	}
	defer st.Close()
	v, err := st.CurrentVersion(ctx)
	if err != nil || v != store.SchemaVersion() {
		t.Fatalf("CurrentVersion = %d, %v; want %d", v, err, store.SchemaVersion())
	}
	err = st.CheckTextIndex(ctx)
	if !errors.Is(err, store.ErrTextIndexMissing) {
		t.Fatalf("CheckTextIndex = %v, want ErrTextIndexMissing", err)
	}
	// SQLSTATE 42501 is insufficient_privilege.
	for _, want := range []string{"CREATE EXTENSION pg_trgm", "SQLSTATE 42501"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckTextIndex error %q lacks %q", err, want)
		}
	}
	b, filed := fileTexts(t, st, trickyTexts)
	for _, word := range []string{"kestrelmoor", "100%", "ab"} {
		want := expectedUIDs(filed, word, true)
		if got := searchUIDs(t, st, b.ID, word); !slices.Equal(got, want) {
			t.Errorf("SearchText(%q) without the indexes = %v, want %v", word, got, want)
		}
	}
	st.Close()

	admin, err := sql.Open("pgx", adminDSN)
	if err != nil {
		t.Fatalf("open %s: %v", adminDSN, err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE EXTENSION pg_trgm"); err != nil {
		t.Fatalf("CREATE EXTENSION pg_trgm as the superuser: %v", err)
	}
	again := openStore(t, dsn)
	if err := again.CheckTextIndex(ctx); err != nil {
		t.Errorf("CheckTextIndex after the extension was created: %v", err)
	}
	planUsesIndex(t, again, b.ID, "kestrelmoor")
	want := expectedUIDs(filed, "kestrelmoor", true)
	if got := searchUIDs(t, again, b.ID, "kestrelmoor"); !slices.Equal(got, want) {
		t.Errorf("SearchText(kestrelmoor) with the indexes = %v, want %v", got, want)
	}
}

// FuzzSearchTextIndexMatchesScan searches trickyTexts on SQLite for any word: the FTS5
// path must return what the scan returns, and for valid UTF-8 what strings.Contains finds.
func FuzzSearchTextIndexMatchesScan(f *testing.F) {
	for _, w := range trickyWords {
		f.Add(w, false)
	}
	f.Add("\xff\xfekes", true)
	f.Add("kes\x00trel", false)
	st, err := store.Open(context.Background(), "sqlite:"+f.TempDir()+"/cjsm.db")
	if err != nil {
		f.Fatalf("store.Open: %v", err)
	}
	defer st.Close()
	var fill sync.Once
	var b store.Mailbox
	var filed []filedText
	f.Fuzz(func(t *testing.T, word string, withHeader bool) {
		fill.Do(func() { b, filed = fileTexts(t, st, trickyTexts) })
		got, err := st.SearchText(t.Context(), b.ID, word, withHeader)
		if err != nil {
			t.Fatalf("SearchText(%q): %v", word, err)
		}
		scanned, err := st.SearchTextScan(t.Context(), b.ID, word, withHeader)
		if err != nil {
			t.Fatalf("SearchTextScan(%q): %v", word, err)
		}
		if !maps.Equal(got, scanned) {
			t.Fatalf("SearchText(%q, header %t) = %v, scan = %v", word, withHeader,
				sortedUIDs(got), sortedUIDs(scanned))
		}
		if !utf8.ValidString(word) {
			return
		}
		if want := expectedUIDs(filed, word, withHeader); !slices.Equal(sortedUIDs(got), want) {
			t.Fatalf("SearchText(%q, header %t) = %v, strings.Contains finds %v", word,
				withHeader, sortedUIDs(got), want)
		}
	})
}
