package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

func init() {
	register("mailbox", "export", mailboxExport)
	register("mailbox", "import", mailboxImport)
}

// mailboxFlags are the flags that export and import share.
type mailboxFlags struct {
	person string
	group  string
	format string
}

func (f *mailboxFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.person, "person", "", "address of the person whose folders are copied; "+
		"required")
	fs.StringVar(&f.group, "group", "", "address of a group mailbox to copy instead, through "+
		"the access of --person, who must be a member")
	fs.StringVar(&f.format, "format", "", "mbox or maildir; required")
}

// mailboxTarget is the resolved owner of the folders and the person acting on them.
type mailboxTarget struct {
	svc      *mailbox.Service
	personID int64
	owner    mailbox.Owner
	address  string // the owner's address, for the audit row
	format   mailbox.Format
}

// resolve checks the flags and looks up the person, the group and the blob store.
func (f *mailboxFlags) resolve(env *adminEnv, verb string) (mailboxTarget, error) {
	var t mailboxTarget
	if f.person == "" {
		return t, usagef("mailbox %s: --person is required", verb)
	}
	format, err := mailbox.ParseFormat(f.format)
	if err != nil {
		return t, usagef("mailbox %s: --format %q is invalid; use mbox or maildir", verb,
			f.format)
	}
	t.format = format
	p, err := env.dir.Person(env.ctx, f.person)
	if err != nil {
		return t, err
	}
	t.personID = p.ID
	t.owner = mailbox.Owner{Kind: store.OwnerPerson, ID: p.ID}
	t.address = p.Address
	if f.group != "" {
		g, err := env.dir.GroupMailbox(env.ctx, f.group)
		if err != nil {
			return t, err
		}
		t.owner = mailbox.Owner{Kind: store.OwnerGroup, ID: g.ID}
		t.address = g.Address
	}
	blobs, err := blob.Open(filepath.Join(env.cfg.DataDir, "blobs"))
	if err != nil {
		return t, err
	}
	t.svc = mailbox.New(env.st, blobs,
		mailbox.Config{MaxMessageBytes: env.cfg.Limits.MaxMessageSize},
		slog.New(slog.NewTextHandler(env.stderr, nil)))
	return t, nil
}

// progressPrinter writes "messages DONE/TOTAL" to w, redrawn in place on a terminal and
// at most every tenth of the total (and at the end) otherwise.
func progressPrinter(w io.Writer, verb string) (update func(done, total int), finish func()) {
	tty := isTerminal(w)
	lastTenth := -1
	printed := false
	update = func(done, total int) {
		if total == 0 {
			return
		}
		if tty {
			fmt.Fprintf(w, "\r%s: messages %d/%d", verb, done, total)
			printed = true
			return
		}
		if tenth := done * 10 / total; tenth != lastTenth || done == total {
			lastTenth = tenth
			fmt.Fprintf(w, "%s: messages %d/%d\n", verb, done, total)
		}
	}
	finish = func() {
		if tty && printed {
			fmt.Fprintln(w)
		}
	}
	return update, finish
}

// auditMailbox writes one audit row for an export or import.
func auditMailbox(env *adminEnv, action, target, detail string) error {
	return env.st.InTx(env.ctx, func(tx *store.Tx) error {
		return tx.AppendAudit(env.ctx, &store.AuditEntry{Actor: env.actor.Name,
			Action: action, Target: target, Source: env.actor.Source, Detail: detail})
	})
}

func mailboxExport(env *adminEnv, args []string) error {
	flags := flag.NewFlagSet("mailbox export", flag.ContinueOnError)
	var mf mailboxFlags
	mf.define(flags)
	out := flags.String("out", "", "directory to write, which must be missing or empty; required")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("mailbox export: unexpected argument %q; it takes flags only", pos[0])
	}
	if *out == "" {
		return usagef("mailbox export: --out is required; give a new or empty directory")
	}
	t, err := mf.resolve(env, "export")
	if err != nil {
		return err
	}

	update, finish := progressPrinter(env.stderr, "export")
	res, err := t.svc.Export(env.ctx, t.personID, t.owner, t.format, *out, update)
	finish()
	if err != nil {
		return mailboxError("export", err)
	}
	detail := fmt.Sprintf("format=%s messages=%d folders=%d dir=%s", t.format, res.Messages,
		res.Folders, *out)
	if err := auditMailbox(env, "mailbox.export", t.address, detail); err != nil {
		return fmt.Errorf("mailbox export: the export is complete in %s but the audit row "+
			"failed: %w", *out, err)
	}
	fmt.Fprintf(env.stdout, "exported %d messages in %d folders of %s to %s (%s)\n",
		res.Messages, res.Folders, t.address, *out, t.format)
	return nil
}

func mailboxImport(env *adminEnv, args []string) error {
	flags := flag.NewFlagSet("mailbox import", flag.ContinueOnError)
	var mf mailboxFlags
	mf.define(flags)
	in := flags.String("in", "", "mbox file, directory of *.mbox files, or Maildir++ directory "+
		"to read; required")
	pos, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("mailbox import: unexpected argument %q; it takes flags only", pos[0])
	}
	if *in == "" {
		return usagef("mailbox import: --in is required")
	}
	t, err := mf.resolve(env, "import")
	if err != nil {
		return err
	}

	update, finish := progressPrinter(env.stderr, "import")
	res, err := t.svc.Import(env.ctx, t.personID, t.owner, t.format, *in, update)
	finish()
	detail := fmt.Sprintf("format=%s imported=%d skipped=%d folders=%d path=%s", t.format,
		res.Imported, res.Skipped, res.Folders, *in)
	if err != nil {
		if res.Imported > 0 {
			// Part of the mail is in; the row records it, and a second run skips it.
			detail += " failed=true"
			if aerr := auditMailbox(env, "mailbox.import", t.address, detail); aerr != nil {
				fmt.Fprintf(env.stderr, "cjsm: the audit row of this partial import "+
					"failed: %v\n", aerr)
			}
		}
		return mailboxError("import", fmt.Errorf("%w (imported %d before the error; run again "+
			"to continue, messages already in are skipped)", err, res.Imported))
	}
	if err := auditMailbox(env, "mailbox.import", t.address, detail); err != nil {
		return fmt.Errorf("mailbox import: the import is complete but the audit row failed: %w",
			err)
	}
	fmt.Fprintf(env.stdout, "imported %d messages, skipped %d duplicates, in %d folders of %s\n",
		res.Imported, res.Skipped, res.Folders, t.address)
	return nil
}

// mailboxError turns the errors an operator can fix, such as a missing path or a person who
// is not active, into usage errors (exit 2).
func mailboxError(verb string, err error) error {
	switch {
	case errors.Is(err, mailbox.ErrInactive), errors.Is(err, mailbox.ErrNoMailbox),
		errors.Is(err, mailbox.ErrPermission), errors.Is(err, mailbox.ErrNotMbox),
		errors.Is(err, fs.ErrNotExist):
		return usagef("mailbox %s: %v", verb, err)
	}
	return fmt.Errorf("mailbox %s: %w", verb, err)
}
