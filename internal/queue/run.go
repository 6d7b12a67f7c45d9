package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cjsm/cjsm/internal/dsn"
	"github.com/cjsm/cjsm/internal/store"
)

// job is the leased entries of one message for one route: one SMTP transaction.
type job struct {
	route, domain string
	entries       []store.QueueEntry
}

// Run delivers due entries until ctx ends, then waits for deliveries in progress.
func (q *Queue) Run(ctx context.Context) {
	if q.deliverer == nil {
		panic("queue: Run without a deliverer")
	}
	// This node just started, so any lease in its name was left by an earlier run that
	// died: take those entries back now instead of waiting for the leases to expire.
	if n, err := q.st.ReleaseLeases(ctx, q.owner); err != nil {
		q.log.Error("cannot release leases left by an earlier run", "node", q.owner, "err", err)
	} else if n > 0 {
		q.log.Warn("released queue leases left by an earlier run of this node", "node", q.owner, "entries", n)
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for i := 0; i < q.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				q.process(context.WithoutCancel(ctx), j)
			}
		}()
	}
	ticker := time.NewTicker(q.cfg.PollInterval)
	defer ticker.Stop()
	for ctx.Err() == nil {
		q.dispatch(ctx, jobs)
		select {
		case <-ctx.Done():
		case <-ticker.C:
		case <-q.wake:
		}
	}
	close(jobs)
	wg.Wait()
}

// dispatch leases due entries and hands them out, one job per message and route. A job whose
// destination already has PerDestination deliveries in progress waits for a free slot.
func (q *Queue) dispatch(ctx context.Context, jobs chan<- job) {
	now := time.Now()
	entries, err := q.st.LeaseDue(ctx, q.owner, now, now.Add(q.cfg.Lease), q.cfg.Workers*4)
	if err != nil {
		if ctx.Err() == nil {
			q.log.Error("cannot lease queue entries", "err", err)
		}
		return
	}
	var order []string
	grouped := map[string]*job{}
	for _, e := range entries {
		k := fmt.Sprintf("%d|%s", e.MessageID, e.Route)
		j, ok := grouped[k]
		if !ok {
			j = &job{route: e.Route, domain: e.Domain}
			grouped[k] = j
			order = append(order, k)
		}
		j.entries = append(j.entries, e)
	}
	for _, k := range order {
		j := *grouped[k]
		if !q.acquire(ctx, j.domain) {
			return
		}
		select {
		case jobs <- j:
		case <-ctx.Done():
			q.release(j.domain)
			return
		}
	}
	if len(entries) == q.cfg.Workers*4 {
		q.Wake()
	}
}

// acquire waits for a delivery slot to domain; release wakes it when one frees.
func (q *Queue) acquire(ctx context.Context, domain string) bool {
	for {
		q.mu.Lock()
		if q.inFlight[domain] < q.cfg.PerDestination {
			q.inFlight[domain]++
			q.mu.Unlock()
			return true
		}
		freed := q.slotFreed
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-freed:
		}
	}
}

func (q *Queue) release(domain string) {
	q.mu.Lock()
	q.inFlight[domain]--
	// Closing the channel wakes every waiter; each re-checks its own domain.
	close(q.slotFreed)
	q.slotFreed = make(chan struct{})
	q.mu.Unlock()
}

// process delivers one job and records the outcome of each entry.
func (q *Queue) process(ctx context.Context, j job) {
	defer q.release(j.domain)
	first := j.entries[0]
	msg, err := q.st.Message(ctx, first.MessageID)
	if err != nil {
		q.log.Error("queue entry refers to a missing message", "queue_id", first.QueueID, "err", err)
		return
	}
	data, err := q.blobs.Get(msg.Blob)
	if err != nil {
		q.log.Error("cannot read message blob", "queue_id", msg.QueueID, "blob", msg.Blob, "err", err)
		return
	}
	env := Envelope{QueueID: msg.QueueID, From: first.Sender, RequireTLS: msg.RequireTLS,
		DSNRet: msg.DSNRet, DSNEnvID: msg.DSNEnvID}
	for _, e := range j.entries {
		var notify []string
		if e.Notify != "" {
			notify = strings.Split(e.Notify, ",")
		}
		env.Recipients = append(env.Recipients, RemoteRecipient{Address: e.Recipient, ORcpt: e.ORcpt,
			Notify: notify, Domain: e.Domain, Route: e.Route})
	}
	res, err := q.deliverer.Deliver(ctx, j.route, j.domain, env, data)
	if err != nil {
		var f *Failure
		if !errors.As(err, &f) {
			f = &Failure{Temporary: true, Status: "4.0.0", Message: err.Error()}
		}
		res.Failed = map[string]*Failure{}
		for _, e := range j.entries {
			res.Failed[e.Recipient] = f
		}
	}
	q.record(ctx, msg, data, j.entries, res)
}

// record writes each entry's outcome and sends the notices it calls for.
func (q *Queue) record(ctx context.Context, msg store.Message, data []byte, entries []store.QueueEntry, res Result) {
	now := time.Now().UTC()
	var bounced, delayed []dsn.Recipient
	for _, e := range entries {
		f := res.Failed[e.Recipient]
		out := store.QueueOutcome{State: store.QueueDelivered, DelayNotified: e.DelayNotified}
		ev := q.event(store.EventDelivered, msg, e.Recipient, res.Remote, "delivered to "+res.Remote+" over "+res.TLS)
		switch {
		case f == nil:
		case !f.Temporary || !now.Before(e.ExpiresAt):
			out.State = store.QueueBounced
			out.LastError = f.Message
			reason := f.Message
			if f.Temporary {
				reason = fmt.Sprintf("gave up after %s: %s", q.cfg.Expire, f.Message)
			}
			ev = q.event(store.EventBounced, msg, e.Recipient, f.RemoteMTA, reason)
			bounced = append(bounced, q.dsnRecipient(e, f, "failed", reason))
		default:
			out.State = store.QueueQueued
			out.LastError = f.Message
			out.NextAttempt = now.Add(q.backoff(e.Attempts + 1))
			ev = q.event(store.EventDeferred, msg, e.Recipient, f.RemoteMTA,
				fmt.Sprintf("%s; next attempt at %s", f.Message, out.NextAttempt.Format(time.RFC3339)))
			if !e.DelayNotified && now.Sub(e.CreatedAt) >= q.cfg.DelayNotice {
				out.DelayNotified = true
				delayed = append(delayed, q.dsnRecipient(e, f, "delayed", f.Message))
			}
		}
		// The outcome and its tracking event commit together: one sync, not two.
		ok, err := q.st.FinishLeasedWithEvent(ctx, e.ID, q.owner, out, &ev)
		if err != nil {
			q.log.Error("cannot record delivery outcome", "queue_id", msg.QueueID, "rcpt", e.Recipient, "err", err)
			continue
		}
		if !ok {
			q.log.Warn("lease lost before the outcome was recorded; another node owns the entry",
				"queue_id", msg.QueueID, "rcpt", e.Recipient)
			continue
		}
		q.logEvent(ev)
	}
	// TODO: send "delivered" and "relayed" notices to recipients that asked for
	// NOTIFY=SUCCESS (RFC 3461 section 5.2.2); only failures and delays are reported now.
	q.notify(ctx, msg, data, entries[0].Sender, bounced, "failed")
	q.notify(ctx, msg, data, entries[0].Sender, delayed, "delayed")
}

func (q *Queue) dsnRecipient(e store.QueueEntry, f *Failure, action, reason string) dsn.Recipient {
	status := f.Status
	if status == "" {
		status = "5.0.0"
		if action == "delayed" {
			status = "4.0.0"
		}
	}
	if action == "failed" && strings.HasPrefix(status, "4") {
		// RFC 3464 section 2.3.4: a failed action carries a permanent (5.x.x) status.
		status = "5" + status[1:]
	}
	return dsn.Recipient{Address: e.Recipient, ORcpt: e.ORcpt, Action: action, Status: status,
		Diagnostic: f.Diagnostic, RemoteMTA: f.RemoteMTA, Reason: reason, Notify: e.Notify,
		LastAttempt: time.Now().UTC(), WillRetryUntil: e.ExpiresAt}
}

// backoff returns the wait before attempt n (1 for the first retry): RetryInitial doubled
// for each earlier attempt, capped at RetryMax, with up to 10% jitter so that entries deferred
// together do not retry in lockstep.
func (q *Queue) backoff(n int) time.Duration {
	d := q.cfg.RetryInitial
	for i := 1; i < n && d < q.cfg.RetryMax; i++ {
		d *= 2
	}
	if d > q.cfg.RetryMax {
		d = q.cfg.RetryMax
	}
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// notify sends one notice to the sender about rcpts. No notice goes to the null sender
// (RFC 5321 section 4.5.5), nor for recipients whose NOTIFY excludes it (RFC 3461 section 4.1).
func (q *Queue) notify(ctx context.Context, msg store.Message, data []byte, sender string, rcpts []dsn.Recipient, action string) {
	if sender == "" || len(rcpts) == 0 {
		return
	}
	var wanted []dsn.Recipient
	for _, r := range rcpts {
		if dsn.Wants(r.Notify, action) {
			wanted = append(wanted, r)
		}
	}
	if len(wanted) == 0 {
		return
	}
	sort.Slice(wanted, func(i, k int) bool { return wanted[i].Address < wanted[k].Address })
	report := dsn.Build(dsn.Report{ReportingMTA: q.cfg.Hostname, EnvelopeID: msg.DSNEnvID,
		QueueID: msg.QueueID, Arrival: msg.ReceivedAt, Sender: sender, Recipients: wanted,
		ReturnFull: msg.DSNRet == "FULL"}, data)
	local, remote, err := q.router.RouteNotice(ctx, sender)
	if err != nil {
		q.log.Error("cannot route delivery status notification to sender", "queue_id", msg.QueueID,
			"from", sender, "err", err)
		return
	}
	id, err := q.Accept(ctx, Incoming{From: "", OrgID: msg.OrgID, MessageID: dsn.MessageID(report),
		Remote: "local", Data: report, Local: local, Remotes: remote})
	if err != nil {
		q.log.Error("cannot queue delivery status notification", "queue_id", msg.QueueID, "err", err)
		return
	}
	kind := store.EventBounced
	if action == "delayed" {
		kind = store.EventDelayed
	}
	q.log.Info("notice sent to sender", "kind", kind, "queue_id", msg.QueueID, "notice_queue_id", id,
		"from", sender, "recipients", len(wanted))
}

func (q *Queue) noticeRecipients(entries []store.QueueEntry, reason string) []dsn.Recipient {
	var out []dsn.Recipient
	for _, e := range entries {
		out = append(out, q.dsnRecipient(e, &Failure{Status: "5.0.0", Message: reason}, "failed", reason))
	}
	return out
}
