// Package mailbox is the mailbox store seen by the protocols: folders of people and group
// mailboxes, UIDs, flags and keywords, MODSEQ (RFC 7162), per-member \Seen state on group
// mail, quotas, retention and text search.
//
// IMAP, POP3, submission and webmail call this package and never the mailbox tables
// directly, so that every access passes Authorize. The package calls the store and the blob
// store and imports no protocol package.
//
// A message delivered to many mailboxes is stored once: one row in messages and one blob,
// referred to by a mailbox_messages row per folder.
package mailbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/store"
)

// Errors of the mailbox service. Protocol servers map them to their replies.
var (
	// ErrNoMailbox means the folder does not exist, or the person may not know that it does.
	ErrNoMailbox = errors.New("mailbox: no such folder")
	// ErrExists means a folder of that name exists already.
	ErrExists = errors.New("mailbox: folder exists already")
	// ErrPermission means the person lacks the right the operation needs.
	ErrPermission = errors.New("mailbox: permission denied")
	// ErrInactive means the person or their organisation is suspended, locked or closed.
	ErrInactive = errors.New("mailbox: account or organisation is not active")
	// ErrOverQuota means the owner's or the organisation's storage limit would be exceeded.
	ErrOverQuota = errors.New("mailbox: storage quota exceeded")
	// ErrLargerThanQuota wraps ErrOverQuota for a message larger than the whole limit,
	// which no amount of deleting would make room for.
	ErrLargerThanQuota = fmt.Errorf("%w: the message is larger than the whole quota", ErrOverQuota)
	// ErrInvalidName means a folder name breaks the naming rules.
	ErrInvalidName = errors.New("mailbox: invalid folder name")
)

// Owner is whose folders these are: a person or a group mailbox.
type Owner struct {
	Kind string // store.OwnerPerson or store.OwnerGroup
	ID   int64
}

// Ref names one folder of one owner. Name is the full path with "/" between levels.
type Ref struct {
	Owner
	Name string
}

func (o Owner) String() string { return fmt.Sprintf("%s %d", o.Kind, o.ID) }

// OwnerOf returns the owner of a stored folder.
func OwnerOf(b store.Mailbox) Owner { return Owner{Kind: b.OwnerKind, ID: b.OwnerID} }

// Config holds the service's settings.
type Config struct {
	// MaxMessageBytes bounds APPEND; 0 means 50 MiB.
	MaxMessageBytes int64
}

// Service is the mailbox store of one node.
type Service struct {
	st     *store.Store
	blobs  *blob.Store
	cfg    Config
	log    *slog.Logger
	notify *Notifier

	feed atomic.Pointer[store.MailboxFeed] // set by StartChangeFeed

	mu          sync.Mutex
	defaults    map[Owner]bool // owners whose default folders exist
	feedStarted bool
}

// New returns the mailbox service over the metadata store and the blob store.
func New(st *store.Store, blobs *blob.Store, cfg Config, logger *slog.Logger) *Service {
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 50 << 20
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{st: st, blobs: blobs, cfg: cfg, log: logger, notify: NewNotifier(),
		defaults: map[Owner]bool{}}
}

// MaxMessageBytes returns the largest message APPEND accepts.
func (s *Service) MaxMessageBytes() int64 { return s.cfg.MaxMessageBytes }

// Notifier returns the in-process change notifier that sessions subscribe to.
func (s *Service) Notifier() *Notifier { return s.notify }

// Changed notifies the sessions watching the folder that it changed, on this node at once
// and on the other nodes through the change feed once StartChangeFeed has run. The service
// calls it after every change it commits. Code that files messages with
// store.Tx.AppendToMailbox (the queue) should call it after its commit, so that IDLE
// sessions report the message at once.
func (s *Service) Changed(mailboxID int64) {
	s.notify.Notify(mailboxID)
	if feed := s.feed.Load(); feed != nil {
		feed.Publish(mailboxID)
	}
}

// StartChangeFeed starts the store's mailbox change feed (store.MailboxFeed): from now on
// Changed also announces changes to the other nodes sharing a PostgreSQL store, and their
// announcements wake this node's sessions. It returns the function that stops the feed,
// for node shutdown. On SQLite it starts nothing. Calling it twice is an error.
func (s *Service) StartChangeFeed() (stop func(context.Context) error, err error) {
	s.mu.Lock()
	started := s.feedStarted
	s.feedStarted = true
	s.mu.Unlock()
	if started {
		return nil, errors.New("mailbox: the change feed was started already; " +
			"call StartChangeFeed once")
	}
	feed, err := s.st.StartMailboxFeed(store.MailboxFeedConfig{
		OnChange: s.notify.Notify,
		OnResume: s.notify.NotifyAll,
		Logger:   s.log,
	})
	if err != nil {
		s.mu.Lock()
		s.feedStarted = false
		s.mu.Unlock()
		return nil, err
	}
	s.feed.Store(feed)
	return feed.Stop, nil
}

// EnsureDefaults creates the owner's default folders (INBOX, Sent, Drafts, Trash, Archive
// with their SPECIAL-USE attributes) unless this process has done so already.
func (s *Service) EnsureDefaults(ctx context.Context, o Owner) error {
	s.mu.Lock()
	done := s.defaults[o]
	s.mu.Unlock()
	if done {
		return nil
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		for _, f := range store.DefaultFolders {
			if _, err := tx.EnsureMailbox(ctx, o.Kind, o.ID, f.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mailbox: create default folders of %s: %w", o, err)
	}
	s.mu.Lock()
	s.defaults[o] = true
	s.mu.Unlock()
	return nil
}

// newQueueID returns an id for a message that enters through APPEND rather than the queue.
// The "append-" prefix keeps it apart from the queue's 16-hex-digit ids.
func newQueueID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic("mailbox: no randomness: " + err.Error())
	}
	return "append-" + hex.EncodeToString(b)
}
