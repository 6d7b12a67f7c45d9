package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/imapserver"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/pop3server"
	"github.com/cjsm/cjsm/internal/store"
)

func init() { starters = append(starters, startMailboxAccess) }

// filed is the queue's hook after local copies commit: wake the IMAP sessions that watch
// those folders, and index the text for SEARCH. With the indexer running, indexing happens
// after the SMTP reply, in batches. A message it has not reached, or that does not fit its
// queue, is indexed by the first SEARCH of its folder, so no message goes unsearchable.
func (n *Node) filed(ctx context.Context, messageID int64, mailboxIDs []int64, data []byte) {
	for _, id := range mailboxIDs {
		n.Mailboxes.Changed(id)
	}
	item := mailbox.IndexItem{MessageID: messageID, Raw: data}
	if n.indexQueue != nil {
		if n.indexBytes.Add(int64(len(data))) <= maxIndexBytes {
			select {
			case n.indexQueue <- item:
				return
			default:
			}
		}
		n.indexBytes.Add(-int64(len(data)))
		n.Log.Debug("text index queue full; the message is indexed at the next search",
			"message", messageID)
		return
	}
	if err := n.Mailboxes.IndexMessage(ctx, messageID, data); err != nil {
		n.Log.Warn("cannot index message text; it is indexed at the next search", "message", messageID, "err", err)
	}
}

// indexBatch is the largest number of messages the indexer writes in one transaction. In one
// run each of bench/mailbox.sh, batches of 100 delivered 1.3 to 1.4 times as many messages
// a second as batches of 10, on both stores. maxIndexBytes caps the octets of messages
// waiting for the indexer, so that a burst of large messages cannot hold much memory.
const (
	indexBatch    = 100
	maxIndexBytes = 64 << 20
)

// runIndexer writes the SEARCH text of filed messages in batches until ctx ends.
func (n *Node) runIndexer(ctx context.Context) {
	for {
		var batch []mailbox.IndexItem
		select {
		case <-ctx.Done():
			return
		case it := <-n.indexQueue:
			batch = append(batch, it)
		}
	more:
		for len(batch) < indexBatch {
			select {
			case it := <-n.indexQueue:
				batch = append(batch, it)
			default:
				break more
			}
		}
		for _, it := range batch {
			n.indexBytes.Add(-int64(len(it.Raw)))
		}
		// The index write outlives a shutdown that starts meanwhile, so a batch taken off
		// the queue is written whole.
		if err := n.Mailboxes.IndexMessages(context.WithoutCancel(ctx), batch); err != nil {
			n.Log.Warn("cannot index message text; it is indexed at the next search",
				"messages", len(batch), "err", err)
		}
	}
}

// quotaAfterFiling files the quota notice of a mailbox that a message just filed took to 90%
// or more. warnQuota limits the notices to one a day per mailbox.
func (n *Node) quotaAfterFiling(ctx context.Context, ownerKind string, ownerID int64, address string) {
	o := mailbox.Owner{Kind: ownerKind, ID: ownerID}
	u, err := n.Mailboxes.Usage(ctx, o)
	if err != nil {
		n.Log.Error("reading quota usage after filing failed", "rcpt", address, "err", err)
		return
	}
	if u.NearlyFull() {
		n.warnQuota(ctx, o, u, address)
	}
}

// checkQuota checks a local recipient's quota for a message of size octets, for the relay. A
// mailbox at 90% or more gets a warning in its INBOX, one a day at most (warnQuota). A
// message whose size RCPT did not know can take a mailbox past its limit in one step, and
// quotaAfterFiling warns then.
func (n *Node) checkQuota(ctx context.Context, ownerKind string, ownerID, size int64, address string) (nearlyFull bool, err error) {
	o := mailbox.Owner{Kind: ownerKind, ID: ownerID}
	u, err := n.Mailboxes.CheckQuota(ctx, o, size)
	if err != nil && (!errors.Is(err, mailbox.ErrOverQuota) || errors.Is(err, mailbox.ErrLargerThanQuota)) {
		// A message larger than the whole quota shows nothing about how full the mailbox is.
		return false, err
	}
	// A mailbox under 90% that refuses a message too big for its free space gets no notice:
	// the sender's 452 reply is enough.
	if !u.NearlyFull() {
		return false, err
	}
	n.warnQuota(ctx, o, u, address)
	return true, err
}

// warnQuota files a quota notice into the owner's INBOX unless one was filed in the last
// day, by this node or another sharing the store.
func (n *Node) warnQuota(ctx context.Context, o mailbox.Owner, u mailbox.Usage, address string) {
	now := time.Now()
	due, err := n.Store.ClaimNotice(ctx, "quota", fmt.Sprintf("%s:%d", o.Kind, o.ID), now,
		now.Add(-24*time.Hour))
	if err != nil {
		n.Log.Error("quota warning not filed: recording it in the store failed", "rcpt", address, "err", err)
		return
	}
	if !due {
		return
	}
	if err := n.Mailboxes.NotifyQuota(ctx, o, u, address, "postmaster@"+n.Config.Hostname); err != nil {
		n.Log.Error("filing the quota warning failed", "rcpt", address, "err", err)
	}
}

// startMailboxAccess starts the IMAP and POP3 listeners and the daily retention run.
func startMailboxAccess(ctx context.Context, n *Node) error {
	cfg := n.Config
	if !servesMailboxes(cfg) {
		return nil
	}
	tc, err := ServerTLS(cfg)
	if err != nil {
		return err
	}
	// Without the text index SEARCH still works, but reads every message of a folder.
	if err := n.Store.CheckTextIndex(ctx); err != nil {
		n.Log.Warn("IMAP SEARCH runs without its text index", "err", err)
	}
	if cfg.Listen.IMAP != "" || cfg.Listen.IMAPS != "" {
		srv := imapserver.New(imapserver.Config{TLS: tc, SignIn: n.SignIn, Mailboxes: n.Mailboxes,
			Logger: n.Log.With("component", "imap"), IdlePoll: n.IMAPIdlePoll})
		if err := n.listenEach(srv.Shutdown, []listenSpec{
			{"imap", cfg.Listen.IMAP, srv.Serve}, {"imaps", cfg.Listen.IMAPS, srv.ServeTLS}}); err != nil {
			return err
		}
	}
	if cfg.Listen.POP3 != "" || cfg.Listen.POP3S != "" {
		locks, err := n.maildropLocks(ctx)
		if err != nil {
			return err
		}
		srv := pop3server.New(pop3server.Config{Hostname: cfg.Hostname, TLSConfig: tc},
			&pop3Backend{n: n, locks: locks}, n.Log.With("component", "pop3"))
		if err := n.listenEach(srv.Shutdown, []listenSpec{
			{"pop3", cfg.Listen.POP3, srv.ServeSTLS}, {"pop3s", cfg.Listen.POP3S, srv.ServeTLS}}); err != nil {
			return err
		}
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.serve("retention", func() error { n.runRetention(rctx); return nil }, func(context.Context) error {
		cancel()
		return nil
	})
	ictx, stopIndexer := context.WithCancel(context.WithoutCancel(ctx))
	n.serve("text-index", func() error { n.runIndexer(ictx); return nil }, func(context.Context) error {
		stopIndexer()
		return nil
	})
	return nil
}

type listenSpec struct {
	name, addr string
	serve      func(net.Listener) error
}

// listenEach binds each configured listener and registers stop once for all of them.
func (n *Node) listenEach(stop func(context.Context) error, specs []listenSpec) error {
	for _, s := range specs {
		if s.addr == "" {
			continue
		}
		l, err := n.listen(s.name, s.addr)
		if err != nil {
			return err
		}
		serve := s.serve
		n.serve(s.name, func() error { return serve(l) }, nil)
	}
	n.mu.Lock()
	n.stoppers = append(n.stoppers, stop)
	n.mu.Unlock()
	return nil
}

// runRetention applies the organisations' retention rules and sends due group membership
// review reminders once an hour until ctx ends.
func (n *Node) runRetention(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if removed, err := n.Mailboxes.ApplyRetention(ctx, time.Now()); err != nil {
			if ctx.Err() == nil {
				n.Log.Error("retention run failed", "err", err)
			}
		} else if removed > 0 {
			n.Log.Info("retention removed old messages", "messages", removed)
		}
		_, err := n.Mailboxes.RemindGroupReviews(ctx, n.Config.Groups.ReviewInterval.Duration,
			"postmaster@"+n.Config.Hostname, time.Now())
		if err != nil && ctx.Err() == nil {
			n.Log.Error("group membership review reminders failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maildropLocks returns the POP3 maildrop locks of this node, after deleting those that an
// earlier run of the node left in the store.
func (n *Node) maildropLocks(ctx context.Context) (*mailbox.MaildropLocks, error) {
	locks, err := mailbox.NewMaildropLocks(n.Store, mailbox.MaildropLockConfig{
		NodeID: n.Config.NodeID, Lease: orDefault(n.POP3LockLease, n.Config.POP3.LockLease.Duration),
		Renew: orDefault(n.POP3LockRenew, n.Config.POP3.LockRenew.Duration)},
		n.Log.With("component", "pop3"))
	if err != nil {
		return nil, err
	}
	released, err := locks.ReleaseEarlierRun(ctx)
	if err != nil {
		return nil, err
	}
	if released > 0 {
		n.Log.Warn("released POP3 maildrop locks left by an earlier run of this node",
			"node", n.Config.NodeID, "locks", released)
	}
	return locks, nil
}

// pop3Backend serves a person's INBOX over POP3 through the mailbox service, so that the
// same permission and status checks apply as for IMAP. A maildrop is locked per person in
// the store, across every node that shares it (RFC 1939 section 8).
type pop3Backend struct {
	n     *Node
	locks *mailbox.MaildropLocks
}

func (b *pop3Backend) Authenticate(ctx context.Context, username, password, remoteIP string) (pop3server.Maildrop, error) {
	p, err := b.n.SignIn.Check(ctx, username, password, "pop3", remoteIP)
	switch {
	case errors.Is(err, identity.ErrBadCredentials):
		return nil, pop3server.ErrBadCredentials
	case errors.Is(err, identity.ErrThrottled):
		return nil, pop3server.ErrThrottled
	case errors.Is(err, identity.ErrDisabled):
		return nil, pop3server.ErrDisabled
	case errors.Is(err, identity.ErrNotHosted):
		return nil, pop3server.ErrNoMaildrop
	case err != nil:
		return nil, err
	}
	ref := mailbox.Ref{Owner: mailbox.Owner{Kind: store.OwnerPerson, ID: p.ID}, Name: "INBOX"}
	folder, err := b.n.Mailboxes.Folder(ctx, p.ID, ref, mailbox.Read)
	if err != nil {
		return nil, err
	}
	lock, err := b.locks.Acquire(ctx, p.ID)
	if errors.Is(err, mailbox.ErrMaildropLocked) {
		return nil, fmt.Errorf("%w: %w", pop3server.ErrLocked, err)
	}
	if err != nil {
		return nil, err
	}
	return &maildrop{b: b, person: p.ID, folder: folder, lock: lock}, nil
}

type maildrop struct {
	b      *pop3Backend
	person int64
	folder store.Mailbox
	lock   *mailbox.MaildropLock
	msgs   map[string]mailbox.Message
}

// uidl is the POP3 unique id of a message: UIDVALIDITY and UID, which never repeat for a
// folder.
func (m *maildrop) uidl(uid int64) string { return fmt.Sprintf("%d.%d", m.folder.UIDValidity, uid) }

func (m *maildrop) Messages(ctx context.Context) ([]pop3server.Message, error) {
	folder, msgs, err := m.b.n.Mailboxes.Messages(ctx, m.person, m.folder)
	if err != nil {
		return nil, err
	}
	m.folder = folder
	m.msgs = map[string]mailbox.Message{}
	out := make([]pop3server.Message, 0, len(msgs))
	for _, msg := range msgs {
		if msg.Flags.Has(mailbox.FlagDeleted) {
			continue
		}
		id := m.uidl(msg.UID)
		m.msgs[id] = msg
		out = append(out, pop3server.Message{UID: id, Size: msg.Size})
	}
	return out, nil
}

func (m *maildrop) Open(ctx context.Context, uid string) (io.ReadCloser, error) {
	msg, ok := m.msgs[uid]
	if !ok {
		return nil, fmt.Errorf("pop3: no message with unique id %q", uid)
	}
	var data []byte
	err := m.b.n.Mailboxes.ReadContent(ctx, m.person, m.folder, []mailbox.Message{msg},
		func(_ mailbox.Message, b []byte) error { data = b; return nil })
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (m *maildrop) Delete(ctx context.Context, uids []string) error {
	var nums []int64
	for _, u := range uids {
		if msg, ok := m.msgs[u]; ok {
			nums = append(nums, msg.UID)
		}
	}
	if len(nums) == 0 {
		return nil
	}
	// A session whose lock lapsed, for example while the store was unreachable, may share
	// the maildrop with another session by now, so it must not delete.
	if err := m.lock.Check(ctx); err != nil {
		return err
	}
	if _, err := m.b.n.Mailboxes.StoreFlags(ctx, m.person, m.folder, nums, mailbox.FlagsAdd,
		[]string{mailbox.FlagDeleted}, 0); err != nil {
		return err
	}
	_, err := m.b.n.Mailboxes.Expunge(ctx, m.person, m.folder, nums)
	return err
}

func (m *maildrop) Close() error { return m.lock.Release() }

// orDefault returns d, or def when d is 0.
func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// servesMailboxes reports whether the node has an IMAP or POP3 listener.
func servesMailboxes(cfg config.Config) bool {
	return cfg.Listen.IMAP != "" || cfg.Listen.IMAPS != "" || cfg.Listen.POP3 != "" ||
		cfg.Listen.POP3S != ""
}
