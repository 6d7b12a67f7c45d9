package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/store"
)

const adminUsage = `Usage: cjsm admin [--config FILE] NOUN VERB [flags] [arguments]

Operator commands. Each change is written to the audit trail as operator:<your user name>.

  org        create | list | show | update | remove      organisations
  domain     add | list | verify | remove                 an organisation's gateway domains
  person     create | list | show | update | remove      people
  group      create | list | show | update | remove | member-set | member-remove
             review | confirm | handling                 membership review, who handled mail
  list       create | list | show | update | remove | member-add | member-remove
             owner-add | owner-remove                    owners of moderated lists
  trusted    create | list | show | update | remove      trusted secure domains
  connector  create | list                               gateway connectors
  audit      verify | list                               the audit trail
  blobs      check                                       blob store against the rows that refer to it
  mailbox    export | import                             hosted mailboxes as mbox or Maildir
             grant | grants | revoke                     time-limited access to another's mailbox
  quota      set | show                                  storage limits of people, groups, organisations
  queue      list | show | retry | return | delete        the delivery queue
  trace      [ID] [--sender A] [--recipient A] [--since T]  tracking events of messages
  dataset    load                                        generate and load the national dataset

Run cjsm admin NOUN VERB --help for a verb's flags.
`

// adminEnv holds the store, directory service, actor and output streams of one admin verb.
type adminEnv struct {
	ctx    context.Context
	cfg    config.Config
	st     *store.Store
	dir    *directory.Service
	actor  directory.Actor
	stdout io.Writer
	stderr io.Writer
}

type adminVerb func(env *adminEnv, args []string) error

var adminCommands = map[string]map[string]adminVerb{}

func register(noun, verb string, fn adminVerb) {
	if adminCommands[noun] == nil {
		adminCommands[noun] = map[string]adminVerb{}
	}
	adminCommands[noun][verb] = fn
}

func cmdAdmin(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	path := fs.String("config", os.Getenv("CJSM_CONFIG"), "configuration file (default $CJSM_CONFIG)")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, adminUsage)
			return nil
		}
		return usagef("admin: %v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] == "help" {
		fmt.Fprint(stdout, adminUsage)
		return nil
	}
	if rest[0] == "trace" && (len(rest) == 1 || rest[1] != "search") {
		// `cjsm admin trace ID` reads better than `trace search ID`; both work.
		rest = append([]string{"trace", "search"}, rest[1:]...)
	}
	verbs, ok := adminCommands[rest[0]]
	if !ok {
		return usagef("admin: unknown noun %q; run cjsm admin --help for the list", rest[0])
	}
	if len(rest) < 2 {
		return usagef("admin %s: give a verb: %s", rest[0], verbList(verbs))
	}
	if h := rest[1]; h == "-h" || h == "-help" || h == "--help" {
		fmt.Fprintf(stdout, "Usage: cjsm admin %s VERB [flags]\n\nVerbs: %s\n\n"+
			"Run cjsm admin %s VERB --help for a verb's flags.\n", rest[0], verbList(verbs), rest[0])
		return nil
	}
	fn, ok := verbs[rest[1]]
	if !ok {
		return usagef("admin %s: unknown verb %q; use one of %s", rest[0], rest[1], verbList(verbs))
	}
	for _, a := range rest[2:] {
		if a == "-h" || a == "-help" || a == "--help" {
			// Every verb parses its flags before it touches the store.
			return fn(&adminEnv{ctx: context.Background(), stdout: stdout, stderr: stderr}, rest[2:])
		}
	}
	if *path == "" {
		return usagef("admin: no configuration given; use --config FILE (the node's cjsm.toml) or set CJSM_CONFIG")
	}
	cfg, err := config.LoadForAdmin(*path)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := store.Open(ctx, cfg.Store.DSN)
	if err != nil {
		return err
	}
	defer st.Close()
	env := &adminEnv{ctx: ctx, cfg: cfg, st: st, dir: directory.New(st, cfg.CommunitySuffix),
		actor:  directory.Actor{Name: "operator:" + currentUser(), Source: "cli"},
		stdout: stdout, stderr: stderr}
	return fn(env, rest[2:])
}

// verbSynopsis gives the arguments of the verbs that take more than flags, for --help.
var verbSynopsis = map[string]string{
	"group show":     "GROUP-ADDRESS",
	"group review":   "[GROUP-ADDRESS]",
	"group confirm":  "GROUP-ADDRESS PERSON-ADDRESS",
	"group handling": "GROUP-ADDRESS",
	"mailbox revoke": "GRANT-ID",
	"trace":          "[QUEUE-ID | MESSAGE-ID]",
	"quota set":      "--max SIZE, and one of --person ADDRESS, --group ADDRESS, --org SLUG",
	"quota show":     "one of --person ADDRESS, --group ADDRESS, --org SLUG",
}

func verbList(verbs map[string]adminVerb) string {
	var names []string
	for _, v := range []string{"create", "add", "list", "show", "update", "verify", "remove",
		"member-set", "member-add", "member-remove", "check", "load", "search", "retry",
		"return", "delete", "export", "import", "owner-add", "owner-remove", "review", "confirm",
		"handling", "grant", "grants", "revoke", "set"} {
		if verbs[v] != nil {
			names = append(names, v)
		}
	}
	return strings.Join(names, ", ")
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// table writes rows aligned in columns.
func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// stringFlag is a string flag that records whether it was given, so that update commands
// can tell "set to empty" from "leave alone".
type stringFlag struct {
	value string
	set   bool
}

func (f *stringFlag) String() string     { return f.value }
func (f *stringFlag) Set(v string) error { f.value, f.set = v, true; return nil }

func (f *stringFlag) ptr() *string {
	if !f.set {
		return nil
	}
	v := f.value
	return &v
}

// oneArg checks that exactly one positional argument was given.
func oneArg(verb string, args []string, what string) (string, error) {
	if len(args) != 1 {
		return "", usagef("%s: give exactly one %s (got %d arguments)", verb, what, len(args))
	}
	return args[0], nil
}
