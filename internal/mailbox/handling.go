package mailbox

import (
	"context"
	"strings"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// Actions recorded when a member handles a message of a group mailbox.
const (
	HandlingRead      = "read"      // the member's own \Seen was set
	HandlingAnswered  = "answered"  // \Answered was set
	HandlingForwarded = "forwarded" // the $Forwarded keyword was set
	HandlingFlagged   = "flagged"   // \Flagged was set
	HandlingDeleted   = "deleted"   // \Deleted was set
	HandlingMoved     = "moved"     // the message was moved out of the folder
)

// FlagForwarded is the keyword that mail clients set on a message they forwarded.
const FlagForwarded = "$Forwarded"

// HandledKeywordPrefix starts the keyword that a group message gets when a member answers,
// forwards, flags, deletes or files it: "$HandledBy." and the member's address. IMAP clients
// that display keywords display it, so members can tell who dealt with a message.
const HandledKeywordPrefix = "$HandledBy."

// HandledKeyword returns the keyword naming the member with that address. Characters that an
// IMAP atom cannot contain (RFC 3501 section 9, atom-specials) become "_".
func HandledKeyword(address string) string {
	var b strings.Builder
	b.WriteString(HandledKeywordPrefix)
	for _, r := range strings.ToLower(address) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', strings.ContainsRune("@.-_+=", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// handlingActions returns the actions that turning the flags old into next amounts to.
func handlingActions(old, next FlagSet) []string {
	var out []string
	for _, a := range []struct{ flag, action string }{
		{FlagSeen, HandlingRead},
		{FlagAnswered, HandlingAnswered},
		{FlagForwarded, HandlingForwarded},
		{FlagFlagged, HandlingFlagged},
		{FlagDeleted, HandlingDeleted},
	} {
		if next.Has(a.flag) && !old.Has(a.flag) {
			out = append(out, a.action)
		}
	}
	return out
}

// marksHandled reports whether any of the actions, unlike reading, deals with the message
// for the group.
func marksHandled(actions []string) bool {
	for _, a := range actions {
		if a != HandlingRead {
			return true
		}
	}
	return false
}

// Handling returns who dealt with the messages of a group mailbox, oldest first: every
// message when messageIDs is empty, and only actions at or after since when it is not zero.
// It needs Read on the group mailbox, so every member can see it. Reads are left out,
// so members learn what colleagues did with a message, not when they opened it.
//
// NOTE: reading a group message still raises its MODSEQ, so a member using CONDSTORE can
// tell that a message changed when a colleague read it, though not who read it.
func (s *Service) Handling(ctx context.Context, personID int64, o Owner, messageIDs []int64,
	since time.Time) ([]store.GroupHandling, error) {
	if err := s.Authorize(ctx, personID, o, Read); err != nil {
		return nil, err
	}
	all, err := s.GroupHandling(ctx, o.ID, messageIDs, since)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, h := range all {
		if h.Action != HandlingRead {
			out = append(out, h)
		}
	}
	return out, nil
}

// GroupHandling returns every recorded action, reads included, without a permission check,
// for operators' tools.
func (s *Service) GroupHandling(ctx context.Context, groupID int64, messageIDs []int64,
	since time.Time) ([]store.GroupHandling, error) {
	return s.st.GroupHandlings(ctx, store.GroupHandlingFilter{GroupID: groupID,
		MessageIDs: messageIDs, Since: since})
}
