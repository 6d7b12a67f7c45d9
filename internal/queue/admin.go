package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// Operator actions on queue entries.
const (
	ActionRetry  = "retry"  // try again now
	ActionReturn = "return" // give up now and tell the sender
	ActionDelete = "delete" // give up now without telling the sender
)

// Act applies an operator action to every queued entry of the message with queueID (or to one
// entry when entryID is not 0), writes an audit row for it, and returns the number of entries
// changed.
func (q *Queue) Act(ctx context.Context, actor, source, action, queueID string, entryID int64) (int, error) {
	entries, err := q.st.QueueEntries(ctx, store.QueueFilter{QueueID: queueID})
	if err != nil {
		return 0, err
	}
	var chosen []store.QueueEntry
	for _, e := range entries {
		if entryID == 0 || e.ID == entryID {
			chosen = append(chosen, e)
		}
	}
	if len(chosen) == 0 {
		return 0, fmt.Errorf("queue id %q has no waiting entries; list them with `cjsm admin queue list`", queueID)
	}
	now := time.Now().UTC()
	state, kind := store.QueueQueued, ""
	reason := ""
	switch action {
	case ActionRetry:
	case ActionReturn:
		state, kind, reason = store.QueueBounced, store.EventBounced, "returned to the sender by the service operator"
	case ActionDelete:
		state, kind, reason = store.QueueDeleted, store.EventDeleted, "deleted by the service operator; the sender was not told"
	default:
		return 0, fmt.Errorf("unknown queue action %q: use retry, return or delete", action)
	}
	err = q.st.InTx(ctx, func(tx *store.Tx) error {
		for _, e := range chosen {
			lastErr := e.LastError
			if reason != "" {
				lastErr = reason
			}
			if err := tx.SetQueueEntry(ctx, e.ID, state, now, lastErr); err != nil {
				return err
			}
		}
		return tx.AppendAudit(ctx, &store.AuditEntry{Actor: actor, Source: source,
			Action: "queue." + action, Target: "queue:" + queueID,
			Detail: fmt.Sprintf("entries=%d", len(chosen))})
	})
	if err != nil {
		return 0, err
	}
	msg, err := q.st.MessageByQueueID(ctx, queueID)
	if err != nil {
		return len(chosen), err
	}
	if kind != "" {
		var rcpts = chosen[:0:0]
		for _, e := range chosen {
			q.RecordEvent(ctx, q.event(kind, msg, e.Recipient, "", reason))
			rcpts = append(rcpts, e)
		}
		if action == ActionReturn {
			data, err := q.blobs.Get(msg.Blob)
			if err != nil {
				return len(chosen), err
			}
			var notices = q.noticeRecipients(rcpts, reason)
			q.notify(ctx, msg, data, chosen[0].Sender, notices, "failed")
		}
	} else {
		q.Wake()
	}
	return len(chosen), nil
}
