package mailbox_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/testenv"
)

func TestExtractText(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		wantHeader []string
		wantBody   []string
		notBody    []string
	}{
		{"plain", "Subject: Bail hearing\r\n\r\nListed for Monday.\r\n",
			[]string{"subject: bail hearing"}, []string{"listed for monday."}, nil},
		{"encoded word", "Subject: =?iso-8859-1?q?R=E9sum=E9?=\r\n\r\nx\r\n",
			[]string{"subject: résumé"}, nil, nil},
		{"html without tags and scripts",
			"Content-Type: text/html\r\n\r\n<style>p{}</style><p>Custody&nbsp;<i>record</i></p><script>evil()</script>\r\n",
			nil, []string{"custody", "record"}, []string{"evil", "<p>", "p{}"}},
		{"multipart skips attachments",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" +
				"covering note\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\n" +
				"secret attachment\r\n--b--\r\n",
			nil, []string{"covering note"}, []string{"secret attachment"}},
		{"base64", "Content-Transfer-Encoding: base64\r\n\r\nV2FycmFudCBpc3N1ZWQ=\r\n",
			nil, []string{"warrant issued"}, nil},
		{"latin-1 charset", "Content-Type: text/plain; charset=iso-8859-1\r\n" +
			"Content-Transfer-Encoding: quoted-printable\r\n\r\nd=E9fense\r\n",
			nil, []string{"défense"}, nil},
		{"no header", "just text", nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			header, body := mailbox.ExtractText([]byte(tc.raw))
			for _, w := range tc.wantHeader {
				if !strings.Contains(header, w) {
					t.Errorf("header text %q lacks %q", header, w)
				}
			}
			for _, w := range tc.wantBody {
				if !strings.Contains(body, w) {
					t.Errorf("body text %q lacks %q", body, w)
				}
			}
			for _, w := range tc.notBody {
				if strings.Contains(body, w) {
					t.Errorf("body text %q contains %q", body, w)
				}
			}
		})
	}
}

func FuzzExtractText(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: text/html\r\n\r\n<p>a<script>b"))
	f.Add([]byte("Subject: =?utf-8?b?w6k=?=\r\nContent-Transfer-Encoding: base64\r\n\r\n!!"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		header, body := mailbox.ExtractText(raw)
		if len(header) > 64<<10 || len(body) > 256<<10 {
			t.Fatalf("text over its limit: header %d, body %d bytes", len(header), len(body))
		}
		if strings.ToLower(body) != body {
			t.Fatalf("body text not lower case: %q", body)
		}
		if utf8.ValidString(string(raw)) && !utf8.ValidString(body) {
			t.Fatalf("body text of UTF-8 input is not UTF-8: %q", body)
		}
	})
}

func TestFlagSetOperations(t *testing.T) {
	fs := mailbox.ParseFlags(`\seen $Label \Recent \Seen $label`)
	if got := fs.String(); got != `\Seen $Label` {
		t.Errorf("ParseFlags = %q, want %q", got, `\Seen $Label`)
	}
	if !fs.Has(`\SEEN`) || !fs.Has("$LABEL") {
		t.Error("Has is not case-insensitive")
	}
	for _, bad := range []string{"", "a b", `\Recent`, `\Unknown`, "x(y"} {
		if _, ok := mailbox.CanonicalFlag(bad); ok {
			t.Errorf("CanonicalFlag(%q) accepted", bad)
		}
	}
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"INBOX", "Cases/2025", "/x", "Shared/x", "a*b", "été"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := mailbox.CheckName(name)
		if err != nil {
			return
		}
		if !utf8.ValidString(got) || strings.ContainsAny(got, "*%") || got == "" {
			t.Fatalf("CheckName(%q) accepted %q", name, got)
		}
		for _, level := range strings.Split(got, "/") {
			if level == "" {
				t.Fatalf("CheckName(%q) accepted an empty level: %q", name, got)
			}
		}
		again, err := mailbox.CheckName(got)
		if err != nil || again != got {
			t.Fatalf("CheckName is not stable: %q -> %q -> %q, %v", name, got, again, err)
		}
	})
}

// missingIndexWarnings counts the log lines that report a search without an index.
func missingIndexWarnings(log string) int {
	return strings.Count(log, "SEARCH BODY and TEXT read every message of the folder")
}

// A store whose role may not create pg_trgm has no trigram indexes: the first search logs
// that once, naming the fix, and every search still finds the messages.
func TestSearchTextWarnsOnceWithoutIndex(t *testing.T) {
	e := newEnv(t, testenv.PostgreSQLRestrictedRole(t, testenv.PostgreSQL(t)))
	var log bytes.Buffer
	e.svc = mailbox.New(e.st, e.blobs, mailbox.Config{}, slog.New(slog.NewTextHandler(&log, nil)))
	ctx := t.Context()
	p := e.createPerson(t, "jane")
	o := personOwner(p)
	uid := e.deliver(t, o, sampleMessage("hearing", "The hearing is adjourned."))
	inbox, err := e.svc.Folder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "INBOX"}, mailbox.Read)
	if err != nil {
		t.Fatalf("Folder(INBOX): %v", err)
	}

	for _, word := range []string{"adjourned", "hearing", "adjourned"} {
		got, err := e.svc.SearchText(ctx, p.ID, inbox, word, false)
		if err != nil {
			t.Fatalf("SearchText(%q): %v", word, err)
		}
		if len(got) != 1 || !got[uid] {
			t.Errorf("SearchText(%q) = %v, want UID %d", word, got, uid)
		}
	}
	if n := missingIndexWarnings(log.String()); n != 1 {
		t.Errorf("%d missing-index warnings after three searches, want 1; log:\n%s", n, &log)
	}
	if !strings.Contains(log.String(), "CREATE EXTENSION pg_trgm") {
		t.Errorf("the warning does not name the fix; log:\n%s", &log)
	}
}

func TestSearchTextWarnsNothingWithIndex(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		var log bytes.Buffer
		e.svc = mailbox.New(e.st, e.blobs, mailbox.Config{},
			slog.New(slog.NewTextHandler(&log, nil)))
		ctx := t.Context()
		p := e.createPerson(t, "jane")
		o := personOwner(p)
		e.deliver(t, o, sampleMessage("hearing", "The hearing is adjourned."))
		inbox, err := e.svc.Folder(ctx, p.ID, mailbox.Ref{Owner: o, Name: "INBOX"},
			mailbox.Read)
		if err != nil {
			t.Fatalf("Folder(INBOX): %v", err)
		}
		if _, err := e.svc.SearchText(ctx, p.ID, inbox, "adjourned", true); err != nil {
			t.Fatalf("SearchText: %v", err)
		}
		if log.Len() != 0 {
			t.Errorf("SearchText logged on a store with its index:\n%s", &log)
		}
	})
}
