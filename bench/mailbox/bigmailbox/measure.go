package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/cjsm/cjsm/internal/store"
)

// timing is one IMAP run against the big mailbox.
type timing struct {
	login, selectT, fetch, search time.Duration
	exists                        uint32
	fetched, hits                 int
}

// session is one signed-in IMAP connection.
type session struct {
	c *imapclient.Client
}

// dial connects over implicit TLS and signs in with LOGIN.
func dial(addr string, tc *tls.Config, user, password string) (*session, error) {
	c, err := imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: tc})
	if err != nil {
		return nil, fmt.Errorf("connect to IMAP %s: %w", addr, err)
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("IMAP LOGIN as %s: %w", user, err)
	}
	return &session{c: c}, nil
}

func (s *session) close() error {
	err := s.c.Logout().Wait()
	s.c.Close()
	return err
}

// selectFetch runs SELECT INBOX, then UID FETCH of the envelopes, flags, sizes and dates of
// the newest messages, and records both times in t.
func (s *session) selectFetch(t *timing, newest int) error {
	t0 := time.Now()
	sel, err := s.c.Select("INBOX", nil).Wait()
	if err != nil {
		return fmt.Errorf("SELECT INBOX: %w", err)
	}
	t.selectT = time.Since(t0)
	t.exists = sel.NumMessages

	t1 := time.Now()
	var set imap.UIDSet
	last := imap.UID(sel.UIDNext - 1)
	first := imap.UID(1)
	if int(last) > newest {
		first = last - imap.UID(newest) + 1
	}
	set.AddRange(first, last)
	msgs, err := s.c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, Envelope: true,
		RFC822Size: true, InternalDate: true}).Collect()
	if err != nil {
		return fmt.Errorf("UID FETCH %v ENVELOPE: %w", set, err)
	}
	t.fetch = time.Since(t1)
	t.fetched = len(msgs)
	for _, m := range msgs {
		if m.Envelope == nil || m.Envelope.Subject == "" {
			return fmt.Errorf("UID FETCH: message UID %d came without an envelope subject",
				m.UID)
		}
	}
	return nil
}

// searchBody runs UID SEARCH BODY word in the selected folder and records the time in t.
func (s *session) searchBody(t *timing, word string) error {
	t0 := time.Now()
	res, err := s.c.UIDSearch(&imap.SearchCriteria{Body: []string{word}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("UID SEARCH BODY %s: %w", word, err)
	}
	t.search = time.Since(t0)
	t.hits = len(res.AllUIDs())
	return nil
}

// imapRun signs in on a new connection, then times SELECT INBOX with UID FETCH of the
// newest envelopes, and UID SEARCH BODY word.
func imapRun(addr string, tc *tls.Config, user, password string, newest int,
	word string) (timing, error) {
	var t timing
	began := time.Now()
	s, err := dial(addr, tc, user, password)
	if err != nil {
		return t, err
	}
	t.login = time.Since(began)
	if err := s.selectFetch(&t, newest); err != nil {
		s.c.Close()
		return t, err
	}
	if err := s.searchBody(&t, word); err != nil {
		s.c.Close()
		return t, err
	}
	return t, s.close()
}

// storeTiming is the time of the store queries behind SELECT, SEARCH BODY and SEARCH TEXT,
// called directly, to separate the database's share from the IMAP server's.
type storeTiming struct {
	messagesIn, searchText, searchTextHeader time.Duration
	rows, hits                               int
}

func timeStore(ctx context.Context, st *store.Store, inbox store.Mailbox,
	word string) (storeTiming, error) {
	var s storeTiming
	t0 := time.Now()
	rows, err := st.MessagesIn(ctx, inbox.ID)
	if err != nil {
		return s, fmt.Errorf("store MessagesIn: %w", err)
	}
	s.messagesIn = time.Since(t0)
	s.rows = len(rows)

	t1 := time.Now()
	hits, err := st.SearchText(ctx, inbox.ID, word, false)
	if err != nil {
		return s, fmt.Errorf("store SearchText: %w", err)
	}
	s.searchText = time.Since(t1)
	s.hits = len(hits)

	t2 := time.Now()
	withHeader, err := st.SearchText(ctx, inbox.ID, word, true)
	if err != nil {
		return s, fmt.Errorf("store SearchText with the header: %w", err)
	}
	s.searchTextHeader = time.Since(t2)
	if len(withHeader) < len(hits) {
		return s, fmt.Errorf("store SearchText found %q in %d messages with the header, "+
			"fewer than the %d it found in the bodies alone", word, len(withHeader), len(hits))
	}
	return s, nil
}

// analyze gathers PostgreSQL's planner statistics. cjsm runs no ANALYZE on SQLite, so the
// bench runs none there either.
func analyze(ctx context.Context, st *store.Store) error {
	if st.Dialect() != store.PostgreSQL {
		return nil
	}
	if _, err := st.DB().ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("ANALYZE: %w", err)
	}
	return nil
}

// textIndexBytes returns the octets that the search text index takes, 0 when the store
// has none: the pages of the FTS5 table's shadow tables on SQLite (the dbstat table), and
// the two trigram indexes on PostgreSQL.
func textIndexBytes(ctx context.Context, st *store.Store) (int64, error) {
	q := "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name GLOB 'message_text_fts*'"
	if st.Dialect() == store.PostgreSQL {
		q = `SELECT COALESCE(SUM(pg_relation_size(oid)), 0) FROM pg_class
			WHERE relname IN ('message_text_body_trgm', 'message_text_header_trgm')`
	}
	var n int64
	err := st.DB().QueryRowContext(ctx, q).Scan(&n)
	return n, err
}

// profile writes a CPU profile of fn called repeat times to path.
func profile(path string, repeat int, fn func() error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create CPU profile: %w", err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	for range repeat {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// median returns the middle value of ds, the mean of the two middle ones for an even count.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
