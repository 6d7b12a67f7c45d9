package mailbox_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

// fromBody is a body with lines that mbox must quote and unquote.
const fromBody = "From the court: listed for Monday.\r\n>From earlier:\r\n>>From older\r\n" +
	"From\r\nnot From here\r\n"

// fillMailbox gives the person messages in INBOX, Sent and "Cases/R v. Smith/2025", some
// with flags, and returns the folder names that hold messages.
func fillMailbox(t *testing.T, e *env, p store.Person) {
	t.Helper()
	ctx := t.Context()
	o := personOwner(p)
	e.deliver(t, o, sampleMessage("one", "first"))
	e.deliver(t, o, sampleMessage("two", fromBody))
	if _, err := e.svc.CreateFolder(ctx, p.ID, mailbox.Ref{Owner: o,
		Name: "Cases/R v. Smith/2025"}); err != nil {
		t.Fatalf("CreateFolder: %v", err)
	}
	date := time.Date(2024, 3, 5, 9, 30, 15, 0, time.UTC)
	appends := []struct {
		folder string
		raw    string
		flags  []string
	}{
		{"Sent", sampleMessage("sent", "reply"), []string{mailbox.FlagSeen, mailbox.FlagAnswered}},
		{"Cases/R v. Smith/2025", sampleMessage("case", fromBody),
			[]string{mailbox.FlagFlagged, mailbox.FlagDraft, mailbox.FlagDeleted}},
		{"Cases/R v. Smith/2025", sampleMessage("second", "two"), nil},
	}
	for _, a := range appends {
		if _, _, err := e.svc.Append(ctx, p.ID, mailbox.Ref{Owner: o, Name: a.folder},
			[]byte(a.raw), a.flags, date); err != nil {
			t.Fatalf("Append to %s: %v", a.folder, err)
		}
	}
}

// folderState maps each folder name to "hash flags date" strings, sorted.
func folderState(t *testing.T, e *env, p store.Person, withFlags bool) map[string][]string {
	t.Helper()
	folders, err := e.svc.Folders(t.Context(), p.ID, personOwner(p))
	if err != nil {
		t.Fatalf("Folders: %v", err)
	}
	out := map[string][]string{}
	for _, b := range folders {
		_, msgs, err := e.svc.Messages(t.Context(), p.ID, b)
		if err != nil {
			t.Fatalf("Messages of %s: %v", b.Name, err)
		}
		out[b.Name] = []string{}
		for _, m := range msgs {
			s := m.Blob
			if withFlags {
				s += " [" + m.Flags.String() + "] " + m.InternalDate.UTC().Format(time.RFC3339)
			}
			out[b.Name] = append(out[b.Name], s)
		}
		slices.Sort(out[b.Name])
	}
	return out
}

func TestExportImportRoundTrip(t *testing.T) {
	for _, format := range []mailbox.Format{mailbox.FormatMbox, mailbox.FormatMaildir} {
		t.Run(string(format), func(t *testing.T) {
			eachBackend(t, func(t *testing.T, e *env) {
				ctx := t.Context()
				jane, bob := e.createPerson(t, "jane"), e.createPerson(t, "bob")
				fillMailbox(t, e, jane)
				dir := filepath.Join(t.TempDir(), "export")

				var last [2]int
				res, err := e.svc.Export(ctx, jane.ID, personOwner(jane), format, dir,
					func(done, total int) { last = [2]int{done, total} })
				if err != nil {
					t.Fatalf("Export: %v", err)
				}
				if res.Messages != 5 {
					t.Errorf("Export wrote %d messages, want 5", res.Messages)
				}
				if last != [2]int{5, 5} {
					t.Errorf("last progress = %v, want [5 5]", last)
				}

				imp, err := e.svc.Import(ctx, bob.ID, personOwner(bob), format, dir, nil)
				if err != nil {
					t.Fatalf("Import: %v", err)
				}
				if imp.Imported != 5 || imp.Skipped != 0 {
					t.Errorf("first Import = %+v, want 5 imported, 0 skipped", imp)
				}
				if imp.Folders != res.Folders {
					t.Errorf("Import read %d folders, Export wrote %d", imp.Folders, res.Folders)
				}

				want, got := folderState(t, e, jane, false), folderState(t, e, bob, false)
				for name, hashes := range want {
					if !slices.Equal(got[name], hashes) {
						t.Errorf("folder %q: imported hashes %v, exported %v", name,
							got[name], hashes)
					}
				}
				if len(got) != len(want) {
					t.Errorf("bob has folders %v, jane has %v", keys(got), keys(want))
				}

				again, err := e.svc.Import(ctx, bob.ID, personOwner(bob), format, dir, nil)
				if err != nil {
					t.Fatalf("second Import: %v", err)
				}
				if again.Imported != 0 || again.Skipped != 5 {
					t.Errorf("second Import = %+v, want 0 imported, 5 skipped", again)
				}
			})
		})
	}
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestMaildirKeepsFlagsAndDate(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		jane, bob := e.createPerson(t, "jane"), e.createPerson(t, "bob")
		fillMailbox(t, e, jane)
		dir := filepath.Join(t.TempDir(), "maildir")
		if _, err := e.svc.Export(ctx, jane.ID, personOwner(jane), mailbox.FormatMaildir, dir,
			nil); err != nil {
			t.Fatalf("Export: %v", err)
		}

		cases, err := filepath.Glob(filepath.Join(dir, ".Cases.R v%2E Smith.2025", "cur", "*"))
		if err != nil || len(cases) != 2 {
			t.Fatalf("Maildir++ folder files = %v (%v), want 2", cases, err)
		}
		suffixes := []string{}
		for _, c := range cases {
			_, info, _ := strings.Cut(filepath.Base(c), ":2,")
			suffixes = append(suffixes, info)
		}
		slices.Sort(suffixes)
		if !slices.Equal(suffixes, []string{"", "DFT"}) {
			t.Errorf("info suffixes = %q, want \"\" and \"DFT\"", suffixes)
		}
		sent, _ := filepath.Glob(filepath.Join(dir, ".Sent", "cur", "*:2,RS"))
		if len(sent) != 1 {
			t.Errorf("Sent files with :2,RS = %v, want 1", sent)
		}

		if _, err := e.svc.Import(ctx, bob.ID, personOwner(bob), mailbox.FormatMaildir, dir,
			nil); err != nil {
			t.Fatalf("Import: %v", err)
		}
		want, got := folderState(t, e, jane, true), folderState(t, e, bob, true)
		for name, msgs := range want {
			if !slices.Equal(got[name], msgs) {
				t.Errorf("folder %q: imported %v, exported %v", name, got[name], msgs)
			}
		}
	})
}

func TestMboxKeepsInternalDate(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		jane, bob := e.createPerson(t, "jane"), e.createPerson(t, "bob")
		fillMailbox(t, e, jane)
		dir := filepath.Join(t.TempDir(), "mbox")
		if _, err := e.svc.Export(ctx, jane.ID, personOwner(jane), mailbox.FormatMbox, dir,
			nil); err != nil {
			t.Fatalf("Export: %v", err)
		}
		if _, err := e.svc.Import(ctx, bob.ID, personOwner(bob), mailbox.FormatMbox,
			filepath.Join(dir, "Sent.mbox"), nil); err != nil {
			t.Fatalf("Import of one file: %v", err)
		}
		b, err := e.svc.Folder(ctx, bob.ID, mailbox.Ref{Owner: personOwner(bob), Name: "Sent"},
			mailbox.Read)
		if err != nil {
			t.Fatal(err)
		}
		_, msgs, err := e.svc.Messages(ctx, bob.ID, b)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("Sent after import: %d messages (%v), want 1", len(msgs), err)
		}
		want := time.Date(2024, 3, 5, 9, 30, 15, 0, time.UTC)
		if !msgs[0].InternalDate.Equal(want) {
			t.Errorf("internal date = %v, want %v", msgs[0].InternalDate, want)
		}
	})
}

func TestExportRejectsNonEmptyDirectory(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "cjsm.db"))
	jane := e.createPerson(t, "jane")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old.mbox"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Export(t.Context(), jane.ID, personOwner(jane), mailbox.FormatMbox, dir, nil)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Export into a non-empty directory: err = %v, want \"not empty\"", err)
	}
}

func TestImportRejectsBadInput(t *testing.T) {
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "cjsm.db"))
	jane := e.createPerson(t, "jane")
	o := personOwner(jane)
	empty := t.TempDir()
	notMbox := filepath.Join(t.TempDir(), "x.mbox")
	if err := os.WriteFile(notMbox, []byte("Subject: hi\n\nbody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		format mailbox.Format
		path   string
		want   string
	}{
		{"missing path", mailbox.FormatMbox, filepath.Join(empty, "nope"), "no such file"},
		{"no mbox files", mailbox.FormatMbox, empty, "no *.mbox files"},
		{"not a Maildir", mailbox.FormatMaildir, empty, "is not a Maildir"},
		{"not an mbox", mailbox.FormatMbox, notMbox, "not an mbox file"},
		{"unknown format", "pst", empty, `format "pst" is not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.Import(t.Context(), jane.ID, o, c.format, c.path, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Import: err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestMboxrdQuotingRoundTrip(t *testing.T) {
	bodies := []struct {
		name string
		raw  string
	}{
		{"from lines LF", "Subject: x\n\nFrom me\n>From you\n>>From them\n"},
		{"from lines CRLF", "Subject: x\r\n\r\n" + fromBody},
		{"ends in empty line", "Subject: x\r\n\r\nbody\r\n\r\n"},
		{"from at start of header", "From: a@b.test\n\nFrom \n"},
		{"not quoted", "Subject: x\n\nFrom\n>From\n>Fromage\n"},
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			var buf bytes.Buffer
			date := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
			if err := mailbox.WriteMboxMessage(&buf, "a@b.test", date, []byte(b.raw)); err != nil {
				t.Fatal(err)
			}
			if err := mailbox.WriteMboxMessage(&buf, "", date, []byte(b.raw)); err != nil {
				t.Fatal(err)
			}
			separators := 0
			for _, line := range strings.SplitAfter(buf.String(), "\n") {
				if strings.HasPrefix(line, "From ") {
					separators++
				}
			}
			if separators != 2 {
				t.Errorf("file has %d unquoted \"From \" lines, want 2:\n%s", separators, buf.String())
			}
			mr := mailbox.NewMboxReader(&buf, 1<<20)
			for i := range 2 {
				m, err := mr.Next()
				if err != nil {
					t.Fatalf("Next %d: %v", i, err)
				}
				if string(m.Raw) != b.raw {
					t.Errorf("message %d = %q, want %q", i, m.Raw, b.raw)
				}
				if !m.Date.Equal(date) {
					t.Errorf("message %d date = %v, want %v", i, m.Date, date)
				}
			}
			if _, err := mr.Next(); err != io.EOF {
				t.Errorf("Next after the last message: err = %v, want io.EOF", err)
			}
		})
	}
}

func TestReadMbox(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"blank lines only", "\n\r\n", nil, ""},
		{"two messages", "From a Mon Jun  2 09:00:00 2025\nA: 1\n\nx\n\nFrom b Tue Jun  3 09:00:00 2025\nB: 2\n\ny\n\n",
			[]string{"A: 1\n\nx\n", "B: 2\n\ny\n"}, ""},
		{"CRLF file", "From a Mon Jun  2 09:00:00 2025\r\nA: 1\r\n\r\nx\r\n\r\nFrom b Tue Jun  3 09:00:00 2025\r\nB: 2\r\n\r\n",
			[]string{"A: 1\r\n\r\nx\r\n", "B: 2\r\n"}, ""},
		{"leading blank line", "\nFrom a\nA: 1\n\n", []string{"A: 1\n"}, ""},
		{"no final newline", "From a\nA: 1", []string{"A: 1"}, ""},
		{"unquotes", "From a\n>From x\n>>From y\n>Fromage\n\n", []string{"From x\n>From y\n>Fromage\n"}, ""},
		{"not mbox", "Subject: x\n", nil, "not an mbox file"},
		{"too large", "From a\n" + strings.Repeat("x", 100) + "\n", nil, "larger than 64 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mr := mailbox.NewMboxReader(strings.NewReader(c.in), 64)
			var got []string
			var err error
			for {
				var m mailbox.MboxMessage
				if m, err = mr.Next(); err != nil {
					break
				}
				got = append(got, string(m.Raw))
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != io.EOF {
				t.Errorf("err = %v, want io.EOF", err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("messages = %q, want %q", got, c.want)
			}
		})
	}
}

func TestMboxAddsMissingFinalLineBreak(t *testing.T) {
	var buf bytes.Buffer
	if err := mailbox.WriteMboxMessage(&buf, "", time.Now(), []byte("A: 1\r\n\r\ntail")); err != nil {
		t.Fatal(err)
	}
	m, err := mailbox.NewMboxReader(&buf, 1<<20).Next()
	if err != nil {
		t.Fatal(err)
	}
	if want := "A: 1\r\n\r\ntail\n"; string(m.Raw) != want {
		t.Errorf("message = %q, want %q", m.Raw, want)
	}
}

func TestReadMboxFromLineDate(t *testing.T) {
	cases := []struct{ line, want string }{
		{"From a@b.test Mon Jun  2 09:00:00 2025", "2025-06-02T09:00:00Z"},
		{"From a@b.test Mon Jun 02 09:00:00 2025 +0100", "2025-06-02T08:00:00Z"},
		{"From MAILER-DAEMON Mon Jun  2 09:00:00 -0700 2025", "2025-06-02T16:00:00Z"},
		{"From a@b.test yesterday", "0001-01-01T00:00:00Z"},
	}
	for _, c := range cases {
		mr := mailbox.NewMboxReader(strings.NewReader(c.line+"\nA: 1\n\n"), 1<<20)
		m, err := mr.Next()
		if err != nil {
			t.Fatalf("%q: %v", c.line, err)
		}
		if got := m.Date.UTC().Format(time.RFC3339); got != c.want {
			t.Errorf("%q: date = %s, want %s", c.line, got, c.want)
		}
	}
}

// FuzzReadMbox checks that the reader never panics and that every message it returns
// survives a write and a second read unchanged.
func FuzzReadMbox(f *testing.F) {
	f.Add([]byte("From a Mon Jun  2 09:00:00 2025\nA: 1\n\n>From x\n\nFrom b\nB\n"))
	f.Add([]byte("From a\r\nA: 1\r\n\r\n>>From x\r\n\r\n"))
	f.Add([]byte("\n\nFrom \n\n\n"))
	f.Add([]byte("Subject: no mbox\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mr := mailbox.NewMboxReader(bytes.NewReader(data), 1<<16)
		for range 1000 {
			m, err := mr.Next()
			if err != nil {
				return
			}
			if len(m.Raw) == 0 || m.Raw[len(m.Raw)-1] != '\n' {
				continue // WriteMboxMessage adds a final line break to these
			}
			var buf bytes.Buffer
			if err := mailbox.WriteMboxMessage(&buf, m.Sender, time.Unix(0, 0), m.Raw); err != nil {
				t.Fatal(err)
			}
			again, err := mailbox.NewMboxReader(&buf, 1<<20).Next()
			if err != nil {
				t.Fatalf("re-read of %q: %v", m.Raw, err)
			}
			if !bytes.Equal(again.Raw, m.Raw) {
				t.Fatalf("re-read = %q, want %q", again.Raw, m.Raw)
			}
		}
	})
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]mailbox.Format{"mbox": mailbox.FormatMbox,
		"Maildir": mailbox.FormatMaildir} {
		if got, err := mailbox.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := mailbox.ParseFormat("eml"); err == nil {
		t.Error("ParseFormat(\"eml\") succeeded, want an error")
	}
}

// TestMbsyncReadsExportedMaildir copies an exported Maildir++ tree with isync's mbsync into
// a fresh one and checks that every folder, message and flag arrived.
func TestMbsyncReadsExportedMaildir(t *testing.T) {
	mbsync, err := exec.LookPath("mbsync")
	if err != nil {
		if os.Getenv(testenv.RequirePeersEnv) == "1" {
			t.Fatalf("mbsync not found (%s=1 makes this a failure)", testenv.RequirePeersEnv)
		}
		t.Skip("mbsync (isync) is not installed")
	}
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "cjsm.db"))
	jane := e.createPerson(t, "jane")
	fillMailbox(t, e, jane)
	work := t.TempDir()
	src, dst := filepath.Join(work, "export"), filepath.Join(work, "copy")
	if _, err := e.svc.Export(t.Context(), jane.ID, personOwner(jane), mailbox.FormatMaildir,
		src, nil); err != nil {
		t.Fatalf("Export: %v", err)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	rc := fmt.Sprintf(`MaildirStore exported
Inbox %[1]s
SubFolders Maildir++

MaildirStore copy
Inbox %[2]s
SubFolders Maildir++

Channel transfer
Far :exported:
Near :copy:
Patterns *
Create Near
Sync Pull
SyncState *
`, src, dst)
	rcPath := filepath.Join(work, "mbsyncrc")
	if err := os.WriteFile(rcPath, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), mbsync, "-c", rcPath, "-a")
	cmd.Env = append(os.Environ(), "HOME="+work)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mbsync: %v\n%s", err, out)
	}

	want := maildirContents(t, src)
	got := maildirContents(t, dst)
	for folder, msgs := range want {
		if !slices.Equal(got[folder], msgs) {
			t.Errorf("folder %s after mbsync: %v, want %v", folder, got[folder], msgs)
		}
	}
	if len(want) < 6 {
		t.Errorf("export has %d Maildir folders, want at least 6: %v", len(want), want)
	}
}

// xTUID matches the header line that mbsync adds to each message it copies, to find the
// copy again in a store that does not return UIDs.
var xTUID = regexp.MustCompile(`(?m)^X-TUID: [^\n]*\n`)

// maildirContents maps each Maildir folder directory name ("" for INBOX) to its messages as
// "sha256 flags", sorted, with mbsync's X-TUID header line removed. Letters other than DFRST, which mbsync adds, are ignored.
func maildirContents(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	dirs, _ := filepath.Glob(filepath.Join(root, ".*"))
	dirs = append(dirs, root)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "cur")); err != nil {
			continue
		}
		name := strings.TrimPrefix(d, root)
		out[name] = []string{}
		for _, sub := range []string{"cur", "new"} {
			files, _ := os.ReadDir(filepath.Join(d, sub))
			for _, f := range files {
				raw, err := os.ReadFile(filepath.Join(d, sub, f.Name()))
				if err != nil {
					t.Fatal(err)
				}
				_, info, _ := strings.Cut(f.Name(), ":2,")
				flags := strings.Map(func(r rune) rune {
					if strings.ContainsRune("DFRST", r) {
						return r
					}
					return -1
				}, info)
				raw = xTUID.ReplaceAll(raw, nil)
				out[name] = append(out[name], blob.Key(raw)+" "+flags)
			}
		}
		slices.Sort(out[name])
	}
	return out
}
