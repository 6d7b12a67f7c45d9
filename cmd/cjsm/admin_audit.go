package main

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/store"
)

func auditVerify(env *adminEnv, args []string) error {
	if err := parseNoArgs(flag.NewFlagSet("audit verify", flag.ContinueOnError), args); err != nil {
		return err
	}
	checked, head, problems, err := env.st.VerifyAudit(env.ctx)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(env.stdout, "audit row %d: %s\n", p.Seq, p.Reason)
	}
	if len(problems) > 0 {
		return fmt.Errorf("audit trail is broken: %d problem(s) in %d rows; restore the rows from a backup and investigate who changed them", len(problems), checked)
	}
	fmt.Fprintf(env.stdout, "audit trail intact: %d rows, head hash %s\n", checked, head)
	return nil
}

func auditList(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("audit list", flag.ContinueOnError)
	actor := fs.String("actor", "", "only rows by this actor")
	target := fs.String("target", "", "only rows about this target, such as person:jane@x.cjsm.net")
	after := fs.Int64("after", 0, "only rows after this sequence number")
	limit := fs.Int("limit", 100, "most rows to print")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *limit <= 0 {
		return usagef("audit list: --limit %d must be 1 or more", *limit)
	}
	// Reading one row more than the limit shows whether rows were left off.
	rows, err := env.st.AuditEntries(env.ctx, store.AuditFilter{Actor: *actor, Target: *target,
		After: *after, Limit: *limit + 1})
	if err != nil {
		return err
	}
	more := len(rows) > *limit
	if more {
		rows = rows[:*limit]
		fmt.Fprintf(env.stderr, "more rows match: these are the oldest %d; see the next with "+
			"--after %d\n", *limit, rows[len(rows)-1].Seq)
	}
	if *asJSON {
		return printJSON(env.stdout, rows)
	}
	var out [][]string
	for _, e := range rows {
		out = append(out, []string{fmt.Sprint(e.Seq), e.At.Format("2006-01-02 15:04:05Z"), e.Actor,
			e.Source, e.Action, e.Target, e.Detail})
	}
	table(env.stdout, []string{"SEQ", "TIME", "ACTOR", "SOURCE", "ACTION", "TARGET", "DETAIL"}, out)
	return nil
}

func blobsCheck(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("blobs check", flag.ContinueOnError)
	verify := fs.Bool("verify", false, "also rehash every blob to find corrupt ones (reads all of them)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	bs, err := blob.Open(filepath.Join(env.cfg.DataDir, "blobs"))
	if err != nil {
		return err
	}
	refs, err := env.st.BlobReferences(env.ctx)
	if err != nil {
		return err
	}
	rep, err := bs.Check(refs, *verify)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "blobs: %d on disk, %d referenced, %d orphaned, %d missing, %d corrupt, %d temporary files removed\n",
		rep.Blobs, rep.Referenced, len(rep.Orphans), len(rep.Missing), len(rep.Corrupt), rep.TempFiles)
	for _, k := range rep.Orphans {
		fmt.Fprintf(env.stdout, "orphaned: %s (no row refers to it)\n", k)
	}
	for _, k := range rep.Missing {
		fmt.Fprintf(env.stdout, "missing:  %s (a row refers to it)\n", k)
	}
	for _, k := range rep.Corrupt {
		fmt.Fprintf(env.stdout, "corrupt:  %s\n", k)
	}
	if len(rep.Missing) > 0 || len(rep.Corrupt) > 0 {
		return errors.New("blob store is damaged: restore the listed blobs from a backup")
	}
	return nil
}
