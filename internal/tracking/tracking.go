// Package tracking answers "what happened to this message?" from the tracking events that
// the relay and the queue record: accepted, rejected, delivered, deferred, bounced. Events
// hold metadata only, never content.
package tracking

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// Query selects events. ID matches a queue id or a Message-ID header field.
type Query struct {
	ID        string
	Sender    string
	Recipient string
	Since     time.Time
	Until     time.Time
	Limit     int
}

// Trace returns the events that match q, in time order, for operators and the service desk.
func Trace(ctx context.Context, st *store.Store, q Query) ([]store.Event, error) {
	base := store.EventFilter{Sender: q.Sender, Recipient: q.Recipient, Since: q.Since,
		Until: q.Until, Limit: q.Limit}
	if q.ID == "" {
		return st.Events(ctx, base)
	}
	byQueue := base
	byQueue.QueueID = q.ID
	events, err := st.Events(ctx, byQueue)
	if err != nil {
		return nil, err
	}
	byHeader := base
	byHeader.MessageID = q.ID
	if len(q.ID) > 0 && q.ID[0] != '<' {
		byHeader.MessageID = "<" + q.ID + ">"
	}
	more, err := st.Events(ctx, byHeader)
	if err != nil {
		return nil, err
	}
	// A Message-ID names every copy a sender's client sent; pull in the events of each
	// queue id it led to, such as deliveries that record no Message-ID of their own.
	seen := map[int64]bool{}
	for _, e := range events {
		seen[e.ID] = true
	}
	queueIDs := map[string]bool{}
	for _, e := range more {
		if !seen[e.ID] {
			seen[e.ID] = true
			events = append(events, e)
		}
		if e.QueueID != "" && e.QueueID != q.ID {
			queueIDs[e.QueueID] = true
		}
	}
	for id := range queueIDs {
		f := base
		f.QueueID = id
		extra, err := st.Events(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range extra {
			if !seen[e.ID] {
				seen[e.ID] = true
				events = append(events, e)
			}
		}
	}
	sort.Slice(events, func(i, k int) bool {
		if !events[i].At.Equal(events[k].At) {
			return events[i].At.Before(events[k].At)
		}
		return events[i].ID < events[k].ID
	})
	return events, nil
}

// ErrNotYours is returned when a person asks for the trace of a message they did not send.
var ErrNotYours = errors.New("tracking: no message with that id was sent by you")

// TraceForSender returns the events of one message for the person who sent it: the events
// are shown only when the message's sender is that person's address.
func TraceForSender(ctx context.Context, st *store.Store, sender store.Person, id string) ([]store.Event, error) {
	events, err := Trace(ctx, st, Query{ID: id})
	if err != nil {
		return nil, err
	}
	var out []store.Event
	owned := map[string]bool{}
	for _, e := range events {
		if e.Kind == store.EventAccepted && e.Sender == sender.Address {
			owned[e.QueueID] = true
		}
	}
	for _, e := range events {
		if owned[e.QueueID] {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, ErrNotYours
	}
	return out, nil
}
