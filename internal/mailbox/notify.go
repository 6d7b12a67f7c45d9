package mailbox

import "sync"

// Notifier wakes the sessions watching a folder when it changes. It carries no detail, so a
// woken session reads the changes since the MODSEQ it last synchronised to.
//
// NOTE: the notifier is in-process, so it reaches only sessions of this node. Sessions
// also poll (see the IMAP server's idle poll interval), which covers changes made by other
// nodes and by code that does not call Service.Changed; PostgreSQL LISTEN/NOTIFY would make
// that immediate across nodes.
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
