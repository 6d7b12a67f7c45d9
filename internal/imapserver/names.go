package imapserver

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// sharedPrefix starts every name in the shared namespace (RFC 2342).
const sharedPrefix = mailbox.SharedPrefix + "/"

// otherUsersRoot is the root of the "Other Users" namespace (RFC 2342 section 5), where a
// person finds the mailboxes of other people that an operator granted them for a time:
// "Other Users/<address>/<folder>".
const (
	otherUsersRoot   = mailbox.OtherUsersPrefix
	otherUsersPrefix = otherUsersRoot + "/"
)

// splitNamespace splits "<root>/<address>/<folder>" into the address and the folder. ok is
// false for a name outside the namespace. folder is "" for "<root>" and "<root>/<address>",
// which are not selectable. The root matches without regard to case.
func splitNamespace(name, root string) (address, folder string, ok bool) {
	if strings.EqualFold(name, root) {
		return "", "", true
	}
	prefix := root + "/"
	if len(name) < len(prefix) || !strings.EqualFold(name[:len(prefix)], prefix) {
		return "", "", false
	}
	address, folder, _ = strings.Cut(name[len(prefix):], "/")
	return address, folder, true
}

// splitShared splits "Shared/<address>/<folder>" as splitNamespace does.
func splitShared(name string) (address, folder string, ok bool) {
	return splitNamespace(name, mailbox.SharedPrefix)
}

// otherUser is another person's mailbox the session's person may read through a grant.
type otherUser struct {
	owner   mailbox.Owner
	address string
}

func (s *session) otherUsers(ctx context.Context) ([]otherUser, error) {
	granted, err := s.svc().GrantedMailboxes(ctx, s.personID)
	if err != nil {
		return nil, err
	}
	out := make([]otherUser, len(granted))
	for i, g := range granted {
		out[i] = otherUser{owner: g.Owner, address: g.Address}
	}
	return out, nil
}

// resolve turns an IMAP mailbox name into a folder reference. A group mailbox the person
// cannot read, or another person's mailbox without an active grant, resolves to
// mailbox.ErrNoMailbox, the same as one that does not exist.
func (s *session) resolve(ctx context.Context, name string) (mailbox.Ref, error) {
	if address, folder, ok := splitNamespace(name, otherUsersRoot); ok {
		if folder == "" {
			return mailbox.Ref{}, fmt.Errorf("%w: %q names the other users namespace, not a folder",
				mailbox.ErrNoMailbox, name)
		}
		others, err := s.otherUsers(ctx)
		if err != nil {
			return mailbox.Ref{}, err
		}
		for _, o := range others {
			if strings.EqualFold(o.address, address) {
				return mailbox.Ref{Owner: o.owner, Name: folder}, nil
			}
		}
		return mailbox.Ref{}, fmt.Errorf("%w: %q", mailbox.ErrNoMailbox, name)
	}
	address, folder, shared := splitShared(name)
	if !shared {
		return mailbox.Ref{Owner: s.personal(), Name: name}, nil
	}
	if folder == "" {
		return mailbox.Ref{}, fmt.Errorf("%w: %q names the shared namespace, not a folder",
			mailbox.ErrNoMailbox, name)
	}
	groups, err := s.svc().SharedMailboxes(ctx, s.personID)
	if err != nil {
		return mailbox.Ref{}, err
	}
	for _, g := range groups {
		if strings.EqualFold(g.Group.Address, address) || strings.EqualFold(g.Group.AddressKey, address) {
			return mailbox.Ref{Owner: mailbox.Owner{Kind: store.OwnerGroup, ID: g.Group.ID},
				Name: folder}, nil
		}
	}
	return mailbox.Ref{}, fmt.Errorf("%w: %q", mailbox.ErrNoMailbox, name)
}

// listEntry is one name LIST may return.
type listEntry struct {
	name     string
	folder   *store.Mailbox // nil for the \Noselect levels of the shared namespace
	children bool
}

// entries returns every name the person can see. These are their own folders, then
// "Shared", "Shared/<address>" and the folders of each group mailbox they may read, then
// "Other Users", "Other Users/<address>" and the folders of each mailbox granted to them.
func (s *session) entries(ctx context.Context) ([]listEntry, error) {
	own, err := s.svc().Folders(ctx, s.personID, s.personal())
	if err != nil {
		return nil, err
	}
	var out []listEntry
	for i := range own {
		out = append(out, listEntry{name: own[i].Name, folder: &own[i]})
	}
	groups, err := s.svc().SharedMailboxes(ctx, s.personID)
	if err != nil {
		return nil, err
	}
	if len(groups) > 0 {
		out = append(out, listEntry{name: mailbox.SharedPrefix})
	}
	for _, g := range groups {
		o := mailbox.Owner{Kind: store.OwnerGroup, ID: g.Group.ID}
		folders, err := s.svc().Folders(ctx, s.personID, o)
		if err != nil {
			return nil, err
		}
		root := sharedPrefix + g.Group.Address
		out = append(out, listEntry{name: root})
		for i := range folders {
			out = append(out, listEntry{name: root + "/" + folders[i].Name, folder: &folders[i]})
		}
	}
	others, err := s.otherUsers(ctx)
	if err != nil {
		return nil, err
	}
	if len(others) > 0 {
		out = append(out, listEntry{name: otherUsersRoot})
	}
	for _, u := range others {
		folders, err := s.svc().Folders(ctx, s.personID, u.owner)
		if err != nil {
			return nil, err
		}
		root := otherUsersPrefix + u.address
		out = append(out, listEntry{name: root})
		for i := range folders {
			out = append(out, listEntry{name: root + "/" + folders[i].Name, folder: &folders[i]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	for i := range out {
		prefix := out[i].name + "/"
		for j := range out {
			if strings.HasPrefix(out[j].name, prefix) {
				out[i].children = true
				break
			}
		}
	}
	return out, nil
}

// List handles LIST and LSUB (RFC 3501 section 6.3.8, RFC 5258 LIST-EXTENDED, RFC 6154
// SPECIAL-USE, RFC 5819 LIST-STATUS).
func (s *session) List(w *goimapserver.ListWriter, ref string, patterns []string,
	options *imap.ListOptions) error {
	if len(patterns) == 0 || (len(patterns) == 1 && patterns[0] == "") {
		// RFC 3501 section 6.3.8: an empty pattern requests the delimiter and root.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect},
			Delim: '/', Mailbox: ""})
	}
	ctx, cancel := s.ctx()
	defer cancel()
	all, err := s.entries(ctx)
	if err != nil {
		return s.mapErr(err)
	}
	for _, e := range all {
		if !matchAny(e.name, ref, patterns) {
			continue
		}
		data := &imap.ListData{Delim: '/', Mailbox: e.name}
		if e.folder == nil {
			if options.SelectSubscribed || options.SelectSpecialUse {
				continue
			}
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		} else {
			if options.SelectSubscribed && !e.folder.Subscribed {
				continue
			}
			if options.SelectSpecialUse && e.folder.SpecialUse == "" {
				continue
			}
			if e.folder.SpecialUse != "" {
				data.Attrs = append(data.Attrs, imap.MailboxAttr(e.folder.SpecialUse))
			}
			if e.folder.Subscribed && (options.ReturnSubscribed || options.SelectSubscribed) {
				data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
			}
			if options.ReturnStatus != nil {
				st, err := s.status(ctx, *e.folder, options.ReturnStatus)
				if err != nil {
					return s.mapErr(err)
				}
				st.Mailbox = e.name
				data.Status = st
			}
		}
		if e.children {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if strings.EqualFold(name, "INBOX") && strings.EqualFold(ref+p, "INBOX") {
			return true
		}
		if goimapserver.MatchList(name, '/', ref, p) {
			return true
		}
	}
	return false
}
