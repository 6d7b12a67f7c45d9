// Command bigmailbox measures IMAP on one very large INBOX. It runs a cjsm node in-process
// from a configuration file, as `cjsm serve` does, fills one hosted person's INBOX with
// -messages generated messages, and then times over IMAP (implicit TLS, go-imap v2's client)
// SELECT INBOX, UID FETCH of the newest -newest envelopes, and UID SEARCH BODY for a word
// that every -every-th body contains.
//
//	BENCH_PASSWORD=... bigmailbox -config cjsm.toml -ca ca.pem -messages 100000 -runs 5 \
//	    [-cpuprofile-dir DIR]
//
// The configuration must turn listen.imaps on (port 0 picks a free port) and may leave the
// other listeners off. The store must be new: the program creates the organisation
// bench-bigbox and the person Bea Bigbox in it, with the password in $BENCH_PASSWORD.
//
// The INBOX is filled through the store in this process, not through SMTP or APPEND. Blobs
// go through the blob store (written and fsynced, several at once). The rows go through the
// store calls that mailbox.Service.Append makes, with many messages to a transaction. Each
// message gets its search text at once, as Append gives it.
//
// With -cpuprofile-dir, it then writes two CPU profiles of the node and client together:
// select.pprof (new connection, SELECT and UID FETCH, -profile-repeat times) and
// search.pprof (UID SEARCH BODY on one selected connection, -profile-repeat times).
//
// After the fill it measures the search text index in octets (text_index_bytes): the pages
// of the FTS5 table message_text_fts on SQLite, the two pg_trgm indexes on PostgreSQL. On
// PostgreSQL it then runs ANALYZE, because a live store has the planner statistics that
// autovacuum gathers, and autovacuum has had no time to run on tables filled a moment ago.
//
// The last line of output is one summary line of key=value pairs starting with
// "RESULT bigmailbox"; times are in milliseconds and are medians over -runs runs.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/node"
	"github.com/cjsm/cjsm/internal/store"
)

// options are the command-line settings.
type options struct {
	configPath    string
	caFile        string
	messages      int
	size          int
	every         int
	word          string
	newest        int
	runs          int
	batch         int
	writers       int
	profileDir    string
	profileRepeat int
	label         string
}

func main() {
	o, err := parseOptions(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bigmailbox: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Getenv("BENCH_PASSWORD")); err != nil {
		fmt.Fprintf(os.Stderr, "bigmailbox: %v\n", err)
		os.Exit(1)
	}
}

func parseOptions(args []string) (options, error) {
	fs := flag.NewFlagSet("bigmailbox", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.configPath, "config", "", "cjsm configuration file (TOML) with listen.imaps "+
		"on; required")
	fs.StringVar(&o.caFile, "ca", "", "PEM file of the authority that signed tls.cert_file; "+
		"required")
	fs.IntVar(&o.messages, "messages", 100000, "messages to put in the INBOX")
	fs.IntVar(&o.size, "size", 4096, "approximate size of each message in octets")
	fs.IntVar(&o.every, "every", 100, "put the search word in the body of every n-th message "+
		"(100: 1% of them)")
	fs.StringVar(&o.word, "word", "kestrelmoor", "search word; must not occur in the filler text")
	fs.IntVar(&o.newest, "newest", 50, "newest messages whose envelopes UID FETCH asks for")
	fs.IntVar(&o.runs, "runs", 5, "timed IMAP runs, each on a new connection")
	fs.IntVar(&o.batch, "batch", 1000, "messages per store transaction while filling")
	fs.IntVar(&o.writers, "writers", 16, "blobs written at once while filling")
	fs.StringVar(&o.profileDir, "cpuprofile-dir", "", "directory to write select.pprof and "+
		"search.pprof to (default: no profiles)")
	fs.IntVar(&o.profileRepeat, "profile-repeat", 10, "operations in each CPU profile")
	fs.StringVar(&o.label, "label", "", "store label put in the summary line (default: the "+
		"store's dialect)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}

	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; every setting is a flag", fs.Arg(0))
	}
	if o.configPath == "" || o.caFile == "" {
		return o, errors.New("-config and -ca are required")
	}
	if o.messages < 1 || o.runs < 1 || o.batch < 1 || o.writers < 1 || o.newest < 1 {
		return o, errors.New("-messages, -runs, -batch, -writers and -newest must be at least 1")
	}
	if o.word == "" || strings.ContainsAny(o.word, " \t\r\n") {
		return o, fmt.Errorf("-word %q must be one word", o.word)
	}
	for _, w := range vocabulary {
		if strings.Contains(w, strings.ToLower(o.word)) {
			return o, fmt.Errorf("-word %q occurs inside the filler word %q; choose another", o.word,
				w)
		}
	}
	return o, nil
}

// bench is the node and the person whose INBOX is measured.
type bench struct {
	o        options
	n        *node.Node
	person   store.Person
	password string
	inbox    store.Mailbox
	tls      *tls.Config
}

func run(ctx context.Context, o options, password string) error {
	if password == "" {
		return errors.New("set BENCH_PASSWORD to the password to give the bench person")
	}
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return err
	}
	if cfg.Listen.IMAPS == "" {
		return fmt.Errorf("%s: listen.imaps is off; give it an address such as "+
			"\"127.0.0.1:0\"", o.configPath)
	}
	tc, err := clientTLS(o.caFile)
	if err != nil {
		return err
	}

	logger := node.NewLogger(cfg, os.Stderr)
	n, err := node.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	b := &bench{o: o, n: n, password: password, tls: tc}
	if o.label == "" {
		b.o.label = n.Store.Dialect().String()
	}
	if err := b.createPerson(ctx); err != nil {
		n.Shutdown(context.Background())
		return err
	}

	if err := n.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), node.ShutdownGrace())
		defer cancel()
		if err := n.Shutdown(sctx); err != nil {
			logger.Warn("node shutdown failed", "err", err)
		}
	}()
	return b.measure(ctx)
}

// createPerson makes the organisation and the person, and their default folders.
func (b *bench) createPerson(ctx context.Context) error {
	actor := directory.Actor{Name: "system:bench", Source: "cli"}
	if _, err := b.n.Directory.CreateOrganisation(ctx, actor, directory.OrgInput{
		Name: "Bench Bigbox", Slug: "bench-bigbox", Kind: "hosted", Status: "active"}); err != nil {
		return fmt.Errorf("create organisation bench-bigbox (the store must be new): %w", err)
	}
	p, err := b.n.Directory.CreatePerson(ctx, actor, directory.PersonInput{Org: "bench-bigbox",
		FirstName: "Bea", LastName: "Bigbox", Password: b.password})
	if err != nil {
		return fmt.Errorf("create person in bench-bigbox: %w", err)
	}
	b.person = p
	ref := mailbox.Ref{Owner: mailbox.Owner{Kind: store.OwnerPerson, ID: p.ID}, Name: "INBOX"}
	b.inbox, err = b.n.Mailboxes.Folder(ctx, p.ID, ref, mailbox.Write)
	return err
}

func (b *bench) measure(ctx context.Context) error {
	o := b.o
	c := corpus{to: b.person.Address, size: o.size, every: o.every, searchWord: o.word,
		newest: time.Now().Truncate(time.Minute), seed: 1}
	lastReport := time.Now()
	stats, err := fill(ctx, b.n.Store, b.n.Blobs, b.inbox, c, o.messages, o.batch, o.writers,
		func(done int) {
			if time.Since(lastReport) >= 10*time.Second || done == o.messages {
				lastReport = time.Now()
				fmt.Fprintf(os.Stderr, "bigmailbox: %s: filled %d of %d messages\n", o.label,
					done, o.messages)
			}
		})
	if err != nil {
		return err
	}
	fillRate := float64(stats.messages) / stats.elapsed.Seconds()
	indexBytes, err := textIndexBytes(ctx, b.n.Store)
	if err != nil {
		return fmt.Errorf("measure the search text index: %w", err)
	}
	if err := analyze(ctx, b.n.Store); err != nil {
		return err
	}
	fmt.Printf("fill store=%s messages=%d bytes=%d fill_s=%.1f fill_rate=%.0f "+
		"text_index_bytes=%d\n", o.label, stats.messages, stats.bytes, stats.elapsed.Seconds(),
		fillRate, indexBytes)

	addr := b.n.Addrs()["imaps"]
	want := c.expectedHits(o.messages)
	var logins, selects, fetches, searches, totals, dbRows, dbSearch,
		dbSearchHeader []time.Duration
	for r := 1; r <= o.runs; r++ {
		t, err := imapRun(addr, b.tls, b.person.Address, b.password, o.newest, o.word)
		if err != nil {
			return fmt.Errorf("run %d: %w", r, err)
		}
		if int(t.exists) != o.messages || t.fetched != min(o.newest, o.messages) || t.hits != want {
			return fmt.Errorf("run %d: SELECT reported %d messages (want %d), FETCH returned %d "+
				"(want %d), SEARCH found %d (want %d)", r, t.exists, o.messages, t.fetched,
				min(o.newest, o.messages), t.hits, want)
		}
		s, err := timeStore(ctx, b.n.Store, b.inbox, o.word)
		if err != nil {
			return err
		}
		fmt.Printf("run store=%s run=%d login_ms=%s select_ms=%s fetch_ms=%s select_fetch_ms=%s "+
			"search_ms=%s hits=%d db_messages_in_ms=%s db_search_text_ms=%s "+
			"db_search_text_header_ms=%s\n", o.label, r,
			ms(t.login), ms(t.selectT), ms(t.fetch), ms(t.selectT+t.fetch), ms(t.search), t.hits,
			ms(s.messagesIn), ms(s.searchText), ms(s.searchTextHeader))
		logins = append(logins, t.login)
		selects = append(selects, t.selectT)
		fetches = append(fetches, t.fetch)
		totals = append(totals, t.selectT+t.fetch)
		searches = append(searches, t.search)
		dbRows = append(dbRows, s.messagesIn)
		dbSearch = append(dbSearch, s.searchText)
		dbSearchHeader = append(dbSearchHeader, s.searchTextHeader)
	}

	if o.profileDir != "" {
		if err := b.profiles(addr); err != nil {
			return err
		}
	}
	fmt.Printf("RESULT bigmailbox store=%s messages=%d size=%d fill_rate=%.0f runs=%d "+
		"login_ms=%s select_ms=%s fetch_ms=%s select_fetch_ms=%s search_ms=%s hits=%d "+
		"db_messages_in_ms=%s db_search_text_ms=%s db_search_text_header_ms=%s "+
		"goal_select_fetch_100ms=%t text_index_bytes=%d\n", o.label,
		o.messages, o.size, fillRate, o.runs, ms(median(logins)), ms(median(selects)),
		ms(median(fetches)), ms(median(totals)), ms(median(searches)), want,
		ms(median(dbRows)), ms(median(dbSearch)), ms(median(dbSearchHeader)),
		median(totals) < 100*time.Millisecond, indexBytes)
	return nil
}

// profiles writes the two CPU profiles: SELECT with UID FETCH, and UID SEARCH BODY.
func (b *bench) profiles(addr string) error {
	o := b.o
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return err
	}
	selectPath := filepath.Join(o.profileDir, "select.pprof")
	err := profile(selectPath, o.profileRepeat, func() error {
		s, err := dial(addr, b.tls, b.person.Address, b.password)
		if err != nil {
			return err
		}
		var t timing
		if err := s.selectFetch(&t, o.newest); err != nil {
			return err
		}
		return s.close()
	})
	if err != nil {
		return fmt.Errorf("profile SELECT: %w", err)
	}

	s, err := dial(addr, b.tls, b.person.Address, b.password)
	if err != nil {
		return err
	}
	var t timing
	if err := s.selectFetch(&t, o.newest); err != nil {
		return err
	}
	searchPath := filepath.Join(o.profileDir, "search.pprof")
	err = profile(searchPath, o.profileRepeat, func() error { return s.searchBody(&t, o.word) })
	if err != nil {
		return fmt.Errorf("profile SEARCH: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bigmailbox: CPU profiles written to %s and %s\n", selectPath,
		searchPath)
	return s.close()
}

// clientTLS returns a TLS configuration that verifies the server against caFile.
func clientTLS(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-ca %s contains no PEM certificate", caFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}, nil
}
