// Package queue is cjsm's durable mail queue. Accept commits a message and one entry per
// remote recipient, and files local recipients' copies into their mailboxes, in one
// transaction, before the SMTP server replies 250. Run leases due entries and hands them to a
// Deliverer, retrying temporary failures with backoff and returning permanent failures and
// expired entries to the sender as delivery status notifications (RFC 3464).
//
// The queue decides when to try and what to tell the sender. The Deliverer, implemented by
// the relay, decides where and how a route is delivered.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/store"
)

// Config tunes the queue; see the queue.* options of the configuration for meanings.
type Config struct {
	Hostname       string // reporting MTA name in DSNs
	NodeID         string // lease owner; stable across restarts of one node
	Workers        int
	PerDestination int
	RetryInitial   time.Duration
	RetryMax       time.Duration
	DelayNotice    time.Duration
	Expire         time.Duration
	Lease          time.Duration
	PollInterval   time.Duration
}

// LocalRecipient is a recipient whose copy goes into a hosted mailbox at once.
type LocalRecipient struct {
	Address   string
	OwnerKind string // store.OwnerPerson or store.OwnerGroup
	OwnerID   int64
}

// RemoteRecipient is a recipient delivered by the queue over SMTP.
type RemoteRecipient struct {
	Address string // the address given to the receiving server
	ORcpt   string // the original recipient (RFC 3461 section 4.2), when it differs
	Notify  []string
	Domain  string
	Route   string // passed back to the Deliverer
}

// Incoming is a message to accept.
type Incoming struct {
	QueueID    string // chosen by the caller, such as the id in the Received header; generated when empty
	From       string // envelope sender; empty for the null sender
	OrgID      int64  // sender's organisation, for tracking
	MessageID  string // Message-ID header field
	Remote     string // client address, for tracking
	Data       []byte
	Local      []LocalRecipient
	Remotes    []RemoteRecipient
	DSNRet     string
	DSNEnvID   string
	RequireTLS bool
}

// Envelope is the sender and recipients of one delivery attempt on one route.
type Envelope struct {
	QueueID    string
	From       string
	Recipients []RemoteRecipient
	RequireTLS bool
	DSNRet     string
	DSNEnvID   string
}

// Failure is the reason a recipient was not delivered.
type Failure struct {
	Temporary  bool
	Status     string // RFC 3463 enhanced status code, such as 4.4.1 or 5.1.1
	Diagnostic string // the remote reply, "smtp; 550 5.1.1 …", or empty
	Message    string // plain-language reason for people
	RemoteMTA  string
}

func (f *Failure) Error() string { return f.Message }

// Result is the outcome of one delivery attempt for one route.
type Result struct {
	Remote string              // host that answered
	TLS    string              // protocol version and cipher used
	Failed map[string]*Failure // by recipient address; recipients absent here were delivered
}

// Deliverer sends one message to the recipients of one route.
type Deliverer interface {
	// Deliver returns a Result, or an error (ideally a *Failure) that applies to every
	// recipient.
	Deliver(ctx context.Context, route, domain string, env Envelope, msg []byte) (Result, error)
}

// Router finds where to send a notice to an address, for bounces and delay notices.
type Router interface {
	RouteNotice(ctx context.Context, addr string) ([]LocalRecipient, []RemoteRecipient, error)
}

// Queue is the durable mail queue of one node.
type Queue struct {
	st        *store.Store
	blobs     *blob.Store
	cfg       Config
	deliverer Deliverer
	router    Router
	log       *slog.Logger // mail log: one line per event
	owner     string       // lease owner id of this node

	// OnFiled, when set, is called after a message's local copies are committed, with the
	// folders that received it, so that the mailbox service can index the text and wake IDLE
	// sessions. It must not fail the delivery: the copies are already safe.
	OnFiled func(ctx context.Context, messageID int64, mailboxIDs []int64, data []byte)

	wake      chan struct{}
	mu        sync.Mutex
	inFlight  map[string]int // deliveries in progress by domain
	slotFreed chan struct{}  // closed and replaced whenever a delivery slot frees
}

// New returns a queue. The deliverer and router may be set later with SetDeliverer, before
// Run.
func New(st *store.Store, blobs *blob.Store, cfg Config, logger *slog.Logger) *Queue {
	return &Queue{st: st, blobs: blobs, cfg: cfg, log: logger.With("log", "mail"),
		owner: cfg.NodeID, wake: make(chan struct{}, 1),
		inFlight: map[string]int{}, slotFreed: make(chan struct{})}
}

// SetDeliverer sets the deliverer and the router for notices.
func (q *Queue) SetDeliverer(d Deliverer, r Router) { q.deliverer, q.router = d, r }

// Owner returns the lease owner id of this node.
func (q *Queue) Owner() string { return q.owner }

// NewID returns a new queue id: 16 lower-case hex digits from a random source.
func NewID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic("queue: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Accept stores in durably and returns its queue id. When it returns nil, the blob is on
// disk and synced, the message row, every queue entry and every local mailbox copy are
// committed, and the accepted event is recorded.
func (q *Queue) Accept(ctx context.Context, in Incoming) (string, error) {
	if len(in.Local)+len(in.Remotes) == 0 {
		return "", errors.New("queue: message has no recipients")
	}
	if in.QueueID == "" {
		in.QueueID = NewID()
	}
	key, err := q.blobs.Put(in.Data)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	msg := store.Message{QueueID: in.QueueID, Blob: key, Size: int64(len(in.Data)),
		MessageID: in.MessageID, Sender: in.From, OrgID: in.OrgID, ReceivedAt: now,
		DSNRet: in.DSNRet, DSNEnvID: in.DSNEnvID, RequireTLS: in.RequireTLS}
	var events []store.Event
	var filed []int64
	err = q.st.InTx(ctx, func(tx *store.Tx) error {
		events, filed = events[:0], filed[:0]
		if err := tx.CreateMessage(ctx, &msg); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, r := range in.Local {
			k := r.OwnerKind + ":" + fmt.Sprint(r.OwnerID)
			if seen[k] {
				continue
			}
			seen[k] = true
			mbox, _, err := tx.AppendToMailbox(ctx, r.OwnerKind, r.OwnerID, "INBOX", msg.ID, "")
			if err != nil {
				return fmt.Errorf("queue: file into mailbox of %s: %w", r.Address, err)
			}
			filed = append(filed, mbox)
			events = append(events, q.event(store.EventDelivered, msg, r.Address, "local", "filed in the INBOX of "+r.Address))
		}
		for _, r := range in.Remotes {
			if seen["remote:"+strings.ToLower(r.Address)] {
				continue
			}
			seen["remote:"+strings.ToLower(r.Address)] = true
			e := store.QueueEntry{MessageID: msg.ID, Sender: in.From, Recipient: r.Address,
				ORcpt: r.ORcpt, Notify: strings.Join(r.Notify, ","), Domain: r.Domain,
				Route: r.Route, NextAttempt: now, ExpiresAt: now.Add(q.cfg.Expire)}
			if err := tx.CreateQueueEntry(ctx, &e); err != nil {
				return err
			}
		}
		accepted := q.event(store.EventAccepted, msg, "", in.Remote,
			fmt.Sprintf("accepted from %s for %d local and %d remote recipients", in.Remote, len(in.Local), len(in.Remotes)))
		events = append([]store.Event{accepted}, events...)
		for i := range events {
			if err := tx.AddEvent(ctx, &events[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, e := range events {
		q.logEvent(e)
	}
	if len(filed) > 0 && q.OnFiled != nil {
		q.OnFiled(ctx, msg.ID, filed, in.Data)
	}
	if len(in.Remotes) > 0 {
		q.Wake()
	}
	return in.QueueID, nil
}

func (q *Queue) event(kind string, m store.Message, rcpt, remote, detail string) store.Event {
	return store.Event{Kind: kind, QueueID: m.QueueID, MessageID: m.MessageID, Sender: m.Sender,
		Recipient: rcpt, OrgID: m.OrgID, Remote: remote, Detail: detail}
}

// logEvent writes the mail log line of an event.
func (q *Queue) logEvent(e store.Event) {
	level := slog.LevelInfo
	if e.Kind == store.EventBounced || e.Kind == store.EventDeferred {
		level = slog.LevelWarn
	}
	q.log.Log(context.Background(), level, e.Kind, "queue_id", e.QueueID, "msg_id", e.MessageID,
		"from", e.Sender, "rcpt", e.Recipient, "org", e.OrgID, "remote", e.Remote, "detail", e.Detail)
}

// RecordEvent stores an event that happened outside the queue, such as a rejection, and
// writes its mail log line.
func (q *Queue) RecordEvent(ctx context.Context, e store.Event) {
	if err := q.st.AddEvent(ctx, &e); err != nil {
		q.log.Error("cannot record tracking event", "kind", e.Kind, "queue_id", e.QueueID, "err", err)
	}
	q.logEvent(e)
}

// Wake makes Run look for due entries now instead of at the next poll.
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
