package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

const (
	sarah = "sarah.okafor@kent-police.cjsm.test"
	tom   = "tom.hughes@kent-police.cjsm.test"
)

// mailboxCLI creates two people and gives Sarah three messages in INBOX and Cases/2025.
func mailboxCLI(t *testing.T, dsn string) (*cli, *mailbox.Service, *store.Store) {
	t.Helper()
	c := newCLI(t, dsn)
	c.ok("org", "create", "--kind", "hosted", "--status", "active", "--slug", "kent-police",
		"Kent Police")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Sarah", "--last-name",
		"Okafor")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Tom", "--last-name",
		"Hughes")
	st := c.store()
	blobs, err := blob.Open(filepath.Join(c.dir, "data", "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	svc := mailbox.New(st, blobs, mailbox.Config{}, slog.New(slog.NewTextHandler(io.Discard,
		nil)))
	p, err := st.PersonByAddress(context.Background(), sarah)
	if err != nil {
		t.Fatal(err)
	}
	o := mailbox.Owner{Kind: store.OwnerPerson, ID: p.ID}
	if _, err := svc.CreateFolder(t.Context(), p.ID, mailbox.Ref{Owner: o,
		Name: "Cases/2025"}); err != nil {
		t.Fatal(err)
	}
	for i, folder := range []string{"INBOX", "INBOX", "Cases/2025"} {
		raw := fmt.Sprintf("From: a@kent-police.cjsm.test\r\nSubject: %d\r\n\r\n"+
			"From the desk of %d\r\n>From here\r\n", i, i)
		if _, _, err := svc.Append(t.Context(), p.ID, mailbox.Ref{Owner: o, Name: folder},
			[]byte(raw), []string{mailbox.FlagSeen}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return c, svc, st
}

// hashes returns "folder sha256" for each message of the person, sorted.
func hashes(t *testing.T, svc *mailbox.Service, st *store.Store, addr string) []string {
	t.Helper()
	p, err := st.PersonByAddress(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	o := mailbox.Owner{Kind: store.OwnerPerson, ID: p.ID}
	folders, err := svc.Folders(t.Context(), p.ID, o)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range folders {
		_, msgs, err := svc.Messages(t.Context(), p.ID, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			out = append(out, b.Name+" "+m.Blob)
		}
	}
	slices.Sort(out)
	return out
}

func TestAdminMailboxExportImport(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(*testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return testenv.PostgreSQL(t) },
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, format := range []string{"mbox", "maildir"} {
			t.Run(backend+"/"+format, func(t *testing.T) {
				c, svc, st := mailboxCLI(t, backends[backend](t))
				out := filepath.Join(t.TempDir(), "export")

				stdout, stderr, code := c.run("mailbox", "export", "--person", sarah,
					"--format", format, "--out", out)
				if code != 0 {
					t.Fatalf("export: exit %d\n%s%s", code, stdout, stderr)
				}
				contains(t, "export", stdout, "exported 3 messages in 7 folders of "+sarah)
				contains(t, "export stderr", stderr, "export: messages 3/3")

				stdout = c.ok("mailbox", "import", "--person", tom, "--format", format,
					"--in", out)
				contains(t, "import", stdout, "imported 3 messages, skipped 0 duplicates")
				stdout = c.ok("mailbox", "import", "--person", tom, "--format", format,
					"--in", out)
				contains(t, "second import", stdout, "imported 0 messages, skipped 3 duplicates")

				want, got := hashes(t, svc, st, sarah), hashes(t, svc, st, tom)
				if !slices.Equal(got, want) {
					t.Errorf("Tom's messages after import:\n%v\nwant Sarah's:\n%v", got, want)
				}

				var actions []string
				for _, e := range c.audit() {
					if strings.HasPrefix(e.Action, "mailbox.") {
						actions = append(actions, e.Action+" "+e.Target)
						if e.Actor == "" || e.Source != "cli" {
							t.Errorf("audit row %d: actor %q source %q", e.Seq, e.Actor, e.Source)
						}
					}
				}
				wantActions := []string{"mailbox.export " + sarah, "mailbox.import " + tom,
					"mailbox.import " + tom}
				if !slices.Equal(actions, wantActions) {
					t.Errorf("audit rows = %q, want %q", actions, wantActions)
				}
			})
		}
	}
}

func TestAdminMailboxRejectsBadInput(t *testing.T) {
	c, _, _ := mailboxCLI(t, "")
	used := t.TempDir()
	if err := os.WriteFile(filepath.Join(used, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	c.rejects([]string{"mailbox", "export", "--person", sarah, "--format", "pst", "--out",
		missing}, `--format "pst" is invalid; use mbox or maildir`)
	c.rejects([]string{"mailbox", "export", "--format", "mbox", "--out", missing},
		"--person is required")
	c.rejects([]string{"mailbox", "export", "--person", sarah, "--format", "mbox"},
		"--out is required")
	c.rejects([]string{"mailbox", "export", "--person", "nobody@kent-police.cjsm.test",
		"--format", "mbox", "--out", missing}, "not found")
	c.rejects([]string{"mailbox", "import", "--person", tom, "--format", "maildir", "--in",
		missing}, "no such file or directory")

	_, stderr, code := c.run("mailbox", "export", "--person", sarah, "--format", "mbox",
		"--out", used)
	if code == 0 || !strings.Contains(stderr, "is not empty") {
		t.Errorf("export into a used directory: exit %d, stderr %q; want \"is not empty\"",
			code, stderr)
	}
	_, stderr, code = c.run("mailbox", "import", "--person", tom, "--format", "maildir",
		"--in", used)
	if code == 0 || !strings.Contains(stderr, "is not a Maildir") {
		t.Errorf("import of a non-Maildir: exit %d, stderr %q; want \"is not a Maildir\"",
			code, stderr)
	}
}
