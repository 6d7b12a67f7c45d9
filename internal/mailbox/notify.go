package mailbox

import "sync"

// Notifier wakes the sessions watching a folder when it changes. It carries no detail, so a
// woken session reads the changes since the MODSEQ it last synchronised to.
//
// The notifier is in-process. On PostgreSQL, Service.StartChangeFeed brings it the changes
// that other nodes report with Service.Changed. Sessions also poll (see the IMAP server's
// idle poll interval). The poll covers code that does not call Service.Changed, several
// processes on one SQLite file, and announcements lost while the feed was down.
type Notifier struct {
	mu   sync.Mutex
	subs map[int64]map[chan struct{}]struct{}
}

// NewNotifier returns an empty notifier.
func NewNotifier() *Notifier {
	return &Notifier{subs: map[int64]map[chan struct{}]struct{}{}}
}

// Subscribe returns a channel that receives a value after changes to the folder, and a
// function that ends the subscription. Notifications coalesce: a slow reader sees one.
func (n *Notifier) Subscribe(mailboxID int64) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	if n.subs[mailboxID] == nil {
		n.subs[mailboxID] = map[chan struct{}]struct{}{}
	}
	n.subs[mailboxID][ch] = struct{}{}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		delete(n.subs[mailboxID], ch)
		if len(n.subs[mailboxID]) == 0 {
			delete(n.subs, mailboxID)
		}
		n.mu.Unlock()
	}
}

// Notify wakes every subscriber of the folder without blocking.
func (n *Notifier) Notify(mailboxID int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs[mailboxID] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// NotifyAll wakes every subscriber of every folder without blocking, for when changes may
// have been missed.
func (n *Notifier) NotifyAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, subs := range n.subs {
		for ch := range subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}
