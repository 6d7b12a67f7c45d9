package mailbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cjsm/cjsm/internal/store"
)

// Delimiter separates the levels of a folder name.
const Delimiter = "/"

// SharedPrefix is the first level of the names under which IMAP shows group mailboxes
// ("Shared/<group address>/INBOX"), so no personal folder may start with it.
const SharedPrefix = "Shared"

// OtherUsersPrefix is the first level of the names under which IMAP shows other people's
// mailboxes that a person may read through a grant (RFC 2342 "Other Users" namespace).
const OtherUsersPrefix = "Other Users"

// maxNameBytes bounds a folder's full name.
const maxNameBytes = 512

// CheckName returns the folder name in its stored form, where "INBOX" in any case becomes
// "INBOX". It returns an error wrapping ErrInvalidName for a name that is empty, longer than
// 512 bytes or not UTF-8. The same holds for a name with an empty level (a leading, trailing
// or doubled "/"), a LIST wildcard ("*" or "%") or a control character, and for one that
// starts with the reserved level "Shared".
func CheckName(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: %q %s", ErrInvalidName, name, why)
	}
	switch {
	case name == "":
		return bad("is empty")
	case len(name) > maxNameBytes:
		return bad(fmt.Sprintf("is longer than %d bytes", maxNameBytes))
	case !utf8.ValidString(name):
		return bad("is not valid UTF-8")
	case strings.ContainsAny(name, "*%"):
		return bad(`contains "*" or "%", which LIST uses as wildcards`)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	levels := strings.Split(name, Delimiter)
	for _, l := range levels {
		if l == "" {
			return bad(`has an empty level; remove the leading, trailing or doubled "/"`)
		}
	}
	if strings.EqualFold(levels[0], "INBOX") {
		levels[0] = "INBOX"
	}
	if strings.EqualFold(levels[0], SharedPrefix) {
		return bad(`starts with "Shared", which names group mailboxes`)
	}
	if strings.EqualFold(levels[0], OtherUsersPrefix) {
		return bad(`starts with "Other Users", which names other people's mailboxes`)
	}
	return strings.Join(levels, Delimiter), nil
}

// Folders returns the owner's folders by name, after checking that the person may read
// them and creating the default folders on first use.
func (s *Service) Folders(ctx context.Context, personID int64, o Owner) ([]store.Mailbox, error) {
	if err := s.Authorize(ctx, personID, o, Read); err != nil {
		return nil, err
	}
	if err := s.EnsureDefaults(ctx, o); err != nil {
		return nil, err
	}
	return s.st.Mailboxes(ctx, o.Kind, o.ID)
}

// Folder returns one folder after checking that the person holds right on its owner.
func (s *Service) Folder(ctx context.Context, personID int64, ref Ref,
	right Right) (store.Mailbox, error) {
	if err := s.Authorize(ctx, personID, ref.Owner, right); err != nil {
		return store.Mailbox{}, err
	}
	if err := s.EnsureDefaults(ctx, ref.Owner); err != nil {
		return store.Mailbox{}, err
	}
	return s.folder(ctx, ref)
}

func (s *Service) folder(ctx context.Context, ref Ref) (store.Mailbox, error) {
	name := ref.Name
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	b, err := s.st.MailboxByName(ctx, ref.Kind, ref.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return b, fmt.Errorf("%w: %q", ErrNoMailbox, ref.Name)
	}
	return b, err
}

// refresh re-reads a folder by id, for a session that holds it selected.
func (s *Service) refresh(ctx context.Context, personID int64, b store.Mailbox,
	right Right) (store.Mailbox, error) {
	if err := s.Authorize(ctx, personID, OwnerOf(b), right); err != nil {
		return b, err
	}
	nb, err := s.st.MailboxByID(ctx, b.ID)
	if errors.Is(err, store.ErrNotFound) {
		return b, fmt.Errorf("%w: %q was deleted", ErrNoMailbox, b.Name)
	}
	return nb, err
}

// CreateFolder creates a folder and any missing parent levels (RFC 3501 section 6.3.3).
// It needs Write on the owner.
func (s *Service) CreateFolder(ctx context.Context, personID int64, ref Ref) (store.Mailbox,
	error) {
	name, err := CheckName(ref.Name)
	if err != nil {
		return store.Mailbox{}, err
	}
	if err := s.Authorize(ctx, personID, ref.Owner, Write); err != nil {
		return store.Mailbox{}, err
	}
	if err := s.EnsureDefaults(ctx, ref.Owner); err != nil {
		return store.Mailbox{}, err
	}
	var created store.Mailbox
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		levels := strings.Split(name, Delimiter)
		for i := 1; i < len(levels); i++ {
			parent := strings.Join(levels[:i], Delimiter)
			if _, err := tx.EnsureMailbox(ctx, ref.Kind, ref.ID, parent); err != nil {
				return err
			}
		}
		var err error
		created, err = tx.CreateMailbox(ctx, ref.Kind, ref.ID, name, "")
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return created, fmt.Errorf("%w: %q", ErrExists, name)
	}
	return created, err
}

// RenameFolder renames a folder and every folder below it (RFC 3501 section 6.3.5). It
// needs Write. Renaming INBOX, which moves its messages in RFC 3501, is not supported.
func (s *Service) RenameFolder(ctx context.Context, personID int64, from Ref,
	newName string) error {
	newName, err := CheckName(newName)
	if err != nil {
		return err
	}
	if strings.EqualFold(from.Name, "INBOX") || newName == "INBOX" {
		return fmt.Errorf("%w: INBOX cannot be renamed; create a folder and move the messages",
			ErrInvalidName)
	}
	if err := s.Authorize(ctx, personID, from.Owner, Write); err != nil {
		return err
	}
	old, err := s.folder(ctx, from)
	if err != nil {
		return err
	}
	if newName == old.Name || strings.HasPrefix(newName, old.Name+Delimiter) {
		return fmt.Errorf("%w: cannot rename %q into itself", ErrInvalidName, old.Name)
	}
	all, err := s.st.Mailboxes(ctx, from.Kind, from.ID)
	if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		levels := strings.Split(newName, Delimiter)
		for i := 1; i < len(levels); i++ {
			parent := strings.Join(levels[:i], Delimiter)
			if parent == old.Name {
				continue
			}
			if _, err := tx.EnsureMailbox(ctx, from.Kind, from.ID, parent); err != nil {
				return err
			}
		}
		for _, b := range all {
			switch {
			case b.ID == old.ID:
				if err := tx.RenameMailbox(ctx, b.ID, newName); err != nil {
					return err
				}
			case strings.HasPrefix(b.Name, old.Name+Delimiter):
				child := newName + strings.TrimPrefix(b.Name, old.Name)
				if err := tx.RenameMailbox(ctx, b.ID, child); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: %q", ErrExists, newName)
	}
	return err
}

// DeleteFolder removes an empty-of-children folder and its messages (RFC 3501 section
// 6.3.4). It needs Write. INBOX cannot be deleted, and a folder with subfolders is kept
// until they are deleted, so that no subfolder loses its parent.
func (s *Service) DeleteFolder(ctx context.Context, personID int64, ref Ref) error {
	if strings.EqualFold(ref.Name, "INBOX") {
		return fmt.Errorf("%w: INBOX cannot be deleted", ErrInvalidName)
	}
	if err := s.Authorize(ctx, personID, ref.Owner, Write); err != nil {
		return err
	}
	b, err := s.folder(ctx, ref)
	if err != nil {
		return err
	}
	all, err := s.st.Mailboxes(ctx, ref.Kind, ref.ID)
	if err != nil {
		return err
	}
	for _, other := range all {
		if strings.HasPrefix(other.Name, b.Name+Delimiter) {
			return fmt.Errorf("%w: %q has subfolders such as %q; delete them first",
				ErrInvalidName, b.Name, other.Name)
		}
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteMailbox(ctx, b.ID) })
	if err == nil {
		s.Changed(b.ID)
	}
	return err
}

// Subscribe sets a folder's subscription mark. The mark is kept per folder, not per
// person, so on a group mailbox it needs Write, and on another person's mailbox, opened
// through a grant, it is not allowed.
//
// NOTE: members of a group mailbox share its subscriptions, where RFC 3501 section 6.3.6
// keeps them per user. So a member with the read right only cannot change them.
func (s *Service) Subscribe(ctx context.Context, personID int64, ref Ref, subscribed bool) error {
	right := Read
	if ref.Owner.Kind == store.OwnerGroup {
		right = Write
	}
	if ref.Owner.Kind == store.OwnerPerson && ref.Owner.ID != personID {
		return fmt.Errorf("%w: access to %s through a grant is read-only", ErrPermission,
			ref.Owner)
	}
	b, err := s.Folder(ctx, personID, ref, right)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetSubscribed(ctx, b.ID, subscribed)
	})
}
