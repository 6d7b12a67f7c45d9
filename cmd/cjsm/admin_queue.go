package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/node"
	"github.com/cjsm/cjsm/internal/queue"
	"github.com/cjsm/cjsm/internal/relay"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/tracking"
)

func init() {
	register("trace", "search", traceSearch)
	register("queue", "list", queueList)
	register("queue", "show", queueShow)
	register("queue", "retry", queueAction(queue.ActionRetry))
	register("queue", "return", queueAction(queue.ActionReturn))
	register("queue", "delete", queueAction(queue.ActionDelete))
}

// parseWhen accepts an RFC 3339 time, a date (2006-01-02), or an age such as 2h or 3d.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, usagef("time %q is invalid: use 2026-12-04, 2026-12-04T09:30:00Z, or an age such as 2h or 3d", s)
}

func traceSearch(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	sender := fs.String("sender", "", "envelope sender address")
	rcpt := fs.String("recipient", "", "recipient address")
	since := fs.String("since", "", "from this time or age (2026-12-04, RFC 3339, or 2h)")
	until := fs.String("until", "", "up to this time or age")
	limit := fs.Int("limit", 200, "most events to print")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *limit <= 0 {
		return usagef("trace: --limit %d must be 1 or more", *limit)
	}
	// Reading one event more than the limit shows whether events were left off.
	q := tracking.Query{Sender: *sender, Recipient: *rcpt, Limit: *limit + 1}
	if len(pos) > 1 {
		return usagef("trace: give at most one queue id or Message-ID")
	}
	if len(pos) == 1 {
		q.ID = pos[0]
	}
	if q.Since, err = parseWhen(*since); err != nil {
		return err
	}
	if q.Until, err = parseWhen(*until); err != nil {
		return err
	}
	if q.ID == "" && q.Sender == "" && q.Recipient == "" && q.Since.IsZero() {
		return usagef("trace: give a queue id or Message-ID, or at least one of --sender, --recipient, --since")
	}
	events, err := tracking.Trace(env.ctx, env.st, q)
	if err != nil {
		return err
	}
	if len(events) > *limit {
		events = events[:*limit]
		fmt.Fprintf(env.stderr, "more events match: these are the oldest %d; narrow the search "+
			"with --since and --until, or raise --limit\n", *limit)
	}
	if *asJSON {
		return printJSON(env.stdout, events)
	}
	if len(events) == 0 {
		fmt.Fprintln(env.stdout, "no events match")
		return nil
	}
	var rows [][]string
	for _, e := range events {
		rows = append(rows, []string{e.At.Format("2006-01-02 15:04:05Z"), e.Kind, e.QueueID,
			e.Sender, e.Recipient, e.Detail})
	}
	table(env.stdout, []string{"TIME", "EVENT", "QUEUE ID", "FROM", "TO", "DETAIL"}, rows)
	return nil
}

func age(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d > 48*time.Hour {
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
	return d.String()
}

func queueList(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("queue list", flag.ContinueOnError)
	state := fs.String("state", "queued", "queued, delivered, bounced or deleted")
	limit := fs.Int("limit", 200, "most entries to print")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch *state {
	case store.QueueQueued, store.QueueDelivered, store.QueueBounced, store.QueueDeleted:
	default:
		return usagef("queue list: --state %q is invalid; use queued, delivered, bounced or deleted", *state)
	}
	entries, err := env.st.QueueEntries(env.ctx, store.QueueFilter{State: *state, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintf(env.stdout, "no %s entries\n", *state)
		return nil
	}
	var rows [][]string
	for _, e := range entries {
		next := e.NextAttempt.Format("15:04:05Z")
		rows = append(rows, []string{e.QueueID, strconv.FormatInt(e.ID, 10), age(e.CreatedAt),
			e.Sender, e.Recipient, strconv.Itoa(e.Attempts), next, e.LastError})
	}
	table(env.stdout, []string{"QUEUE ID", "ENTRY", "AGE", "FROM", "TO", "ATTEMPTS", "NEXT", "LAST ERROR"}, rows)
	return nil
}

func queueShow(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("queue show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := oneArg("queue show", pos, "queue id")
	if err != nil {
		return err
	}
	msg, err := env.st.MessageByQueueID(env.ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return usagef("queue id %q not found; list ids with `cjsm admin queue list`", id)
		}
		return fmt.Errorf("queue id %q: %w", id, err)
	}
	var all []store.QueueEntry
	for _, s := range []string{store.QueueQueued, store.QueueDelivered, store.QueueBounced, store.QueueDeleted} {
		es, err := env.st.QueueEntries(env.ctx, store.QueueFilter{State: s, QueueID: id})
		if err != nil {
			return err
		}
		all = append(all, es...)
	}
	if *asJSON {
		return printJSON(env.stdout, map[string]any{"message": msg, "entries": all})
	}
	w := env.stdout
	fmt.Fprintf(w, "queue id:    %s\nmessage-id:  %s\nsender:      %s\nsize:        %d bytes\nreceived:    %s (%s ago)\n\n",
		msg.QueueID, msg.MessageID, msg.Sender, msg.Size, msg.ReceivedAt.Format(time.RFC3339), age(msg.ReceivedAt))
	var rows [][]string
	for _, e := range all {
		rows = append(rows, []string{strconv.FormatInt(e.ID, 10), e.Recipient, e.State, e.Route,
			strconv.Itoa(e.Attempts), e.NextAttempt.Format(time.RFC3339), e.LastError})
	}
	table(w, []string{"ENTRY", "TO", "STATE", "ROUTE", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"}, rows)
	return nil
}

func queueAction(action string) adminVerb {
	return func(env *adminEnv, args []string) error {
		fs := flag.NewFlagSet("queue "+action, flag.ContinueOnError)
		entry := fs.Int64("entry", 0, "act on this one entry only (see ENTRY in queue show)")
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		id, err := oneArg("queue "+action, pos, "queue id")
		if err != nil {
			return err
		}
		blobs, err := blob.Open(filepath.Join(env.cfg.DataDir, "blobs"))
		if err != nil {
			return err
		}
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		q := queue.New(env.st, blobs, node.QueueConfig(env.cfg), logger)
		q.SetDeliverer(nil, relay.New(env.st, env.cfg.CommunitySuffix, nil, q, logger))
		n, err := q.Act(env.ctx, env.actor.Name, env.actor.Source, action, id, *entry)
		if err != nil {
			return err
		}
		switch action {
		case queue.ActionRetry:
			fmt.Fprintf(env.stdout, "%d entries of %s will be retried at once\n", n, id)
		case queue.ActionReturn:
			fmt.Fprintf(env.stdout, "%d entries of %s returned to the sender\n", n, id)
		default:
			fmt.Fprintf(env.stdout, "%d entries of %s deleted; the sender was not told\n", n, id)
		}
		return nil
	}
}
