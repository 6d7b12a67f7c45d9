package imapserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"

	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// commandTimeout bounds the store work of one command.
const commandTimeout = 2 * time.Minute

// session is one IMAP connection. The library calls its methods from one goroutine, except
// Idle, which runs while the connection goroutine waits for DONE.
type session struct {
	srv      *Server
	conn     *goimapserver.Conn
	remoteIP string
	log      *slog.Logger

	personID int64 // 0 until sign-in
	user     string
	sel      *selected
}

func (s *session) svc() *mailbox.Service { return s.srv.cfg.Mailboxes }

func (s *session) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), commandTimeout)
}

func (s *session) Close() error {
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	s.log.Debug("IMAP connection closed", "user", s.user)
	return nil
}

// Login checks the password through identity.SignIn. AUTHENTICATE PLAIN comes here too:
// the library decodes PLAIN and calls Login.
func (s *session) Login(username, password string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	p, err := s.srv.cfg.SignIn.Check(ctx, username, password, "imap", s.remoteIP)
	switch {
	case errors.Is(err, identity.ErrThrottled):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
			Text: "Too many failed sign-ins; wait 15 minutes and try again"}
	case errors.Is(err, identity.ErrNotHosted):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeContactAdmin,
			Text: "Your organisation keeps its mail on its own mail system, not in cjsm; read it there"}
	case errors.Is(err, identity.ErrDisabled):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeContactAdmin,
			Text: "This account or its organisation is not active; contact your administrator"}
	case errors.Is(err, identity.ErrBadCredentials):
		return goimapserver.ErrAuthFailed
	case err != nil:
		s.log.Error("IMAP sign-in failed", "err", err)
		return serverBug()
	}
	s.personID, s.user = p.ID, p.AddressKey
	s.log = s.log.With("user", p.AddressKey)
	return nil
}

func (s *session) personal() mailbox.Owner {
	return mailbox.Owner{Kind: store.OwnerPerson, ID: s.personID}
}

// mapErr turns a mailbox error into the IMAP reply the client sees (RFC 5530 response
// codes). A person who became inactive is disconnected as well, so that their access ends
// at once.
func (s *session) mapErr(err error) error {
	if err == nil {
		return nil
	}
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		return err
	}
	no := func(code imap.ResponseCode, text string) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	switch {
	case errors.Is(err, mailbox.ErrInactive):
		s.log.Warn("IMAP access ended: account or organisation not active", "err", err)
		go s.conn.Bye("Access ended: this account or its organisation is not active")
		return no(imap.ResponseCodeNoPerm, "This account or its organisation is not active")
	case errors.Is(err, mailbox.ErrNoMailbox):
		return no(imap.ResponseCodeNonExistent, "No such mailbox")
	case errors.Is(err, mailbox.ErrExists):
		return no(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	case errors.Is(err, mailbox.ErrPermission):
		return no(imap.ResponseCodeNoPerm, "You do not have permission for this on this mailbox")
	case errors.Is(err, mailbox.ErrOverQuota):
		return no(imap.ResponseCodeOverQuota, "Mailbox is full: delete messages and try again")
	case errors.Is(err, mailbox.ErrInvalidName):
		return no(imap.ResponseCodeCannot,
			shortenQuoted(strings.TrimPrefix(err.Error(), "mailbox: ")))
	}
	s.log.Error("IMAP command failed", "err", err)
	return serverBug()
}

// maxQuotedEcho is the number of characters of a quoted value, such as a folder name, that
// an error reply repeats to the client.
const maxQuotedEcho = 100

// shortenQuoted cuts every Go-quoted string in text that is longer than maxQuotedEcho
// characters to its first maxQuotedEcho, followed by "...". Mailbox errors quote the folder
// name, which a client can make thousands of bytes long. The ellipsis is three dots because
// RFC 3501 section 9 allows only 7-bit characters in response text.
func shortenQuoted(text string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '"')
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		quoted, err := strconv.QuotedPrefix(text[i:])
		if err != nil {
			b.WriteString(text[i:])
			return b.String()
		}
		text = text[i+len(quoted):]
		value, err := strconv.Unquote(quoted)
		runes := []rune(value)
		if err != nil || len(runes) <= maxQuotedEcho {
			b.WriteString(quoted)
			continue
		}
		b.WriteString(strconv.Quote(string(runes[:maxQuotedEcho]) + "..."))
	}
}

func serverBug() error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
		Text: "Internal server error; try again later"}
}

// tryCreate turns "no such mailbox" into TRYCREATE for APPEND, COPY and MOVE targets
// (RFC 3501 section 6.3.11).
func (s *session) tryCreate(err error) error {
	if errors.Is(err, mailbox.ErrNoMailbox) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate,
			Text: "No such mailbox; create it first"}
	}
	return s.mapErr(err)
}

func (s *session) Namespace() (*imap.NamespaceData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	data := &imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}},
	}
	shared, err := s.svc().SharedMailboxes(ctx, s.personID)
	if err != nil {
		return nil, s.mapErr(err)
	}
	if len(shared) > 0 {
		data.Shared = []imap.NamespaceDescriptor{{Prefix: sharedPrefix, Delim: '/'}}
	}
	others, err := s.otherUsers(ctx)
	if err != nil {
		return nil, s.mapErr(err)
	}
	if len(others) > 0 {
		data.Other = []imap.NamespaceDescriptor{{Prefix: otherUsersPrefix, Delim: '/'}}
	}
	return data, nil
}

func (s *session) Create(name string, _ *imap.CreateOptions) error {
	ctx, cancel := s.ctx()
	defer cancel()
	name = strings.TrimSuffix(name, "/")
	_, otherFolder, other := splitNamespace(name, otherUsersRoot)
	_, sharedFolder, shared := splitShared(name)
	if (other && otherFolder == "") || (shared && sharedFolder == "") {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
			Text: `"Shared" and "Other Users" hold other mailboxes and cannot be created; ` +
				"choose another name"}
	}
	ref, err := s.resolve(ctx, name)
	if err != nil {
		return s.mapErr(err)
	}
	_, err = s.svc().CreateFolder(ctx, s.personID, ref)
	return s.mapErr(err)
}

// Delete handles DELETE (RFC 3501 section 6.3.4). INBOX and the default folders with a
// SPECIAL-USE attribute (Sent, Drafts, Trash, Archive) cannot be deleted, in a person's
// mailbox or a group's. Mail clients file into them by attribute, and mailbox.EnsureDefaults
// creates them again, empty, after the next restart, so deleting one would only lose its
// messages.
func (s *session) Delete(name string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	ref, err := s.resolve(ctx, name)
	if err != nil {
		return s.mapErr(err)
	}
	if err := s.checkNotGranted(ref); err != nil {
		return err
	}
	if err := checkDeletable(ref.Name); err != nil {
		return err
	}
	return s.mapErr(s.svc().DeleteFolder(ctx, s.personID, ref))
}

// checkNotGranted returns a NO reply when ref is in another person's mailbox, which the
// person reads through a grant and may not change.
func (s *session) checkNotGranted(ref mailbox.Ref) error {
	if ref.Owner.Kind == store.OwnerPerson && ref.Owner.ID != s.personID {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm,
			Text: "Access to another person's mailbox is read-only"}
	}
	return nil
}

// checkDeletable returns a NO reply for INBOX and the default special-use folders.
func checkDeletable(folder string) error {
	if strings.EqualFold(folder, "INBOX") {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
			Text: "INBOX cannot be deleted; delete the messages in it instead"}
	}
	for _, f := range store.DefaultFolders {
		if f.SpecialUse != "" && f.Name == folder {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
				Text: fmt.Sprintf("%s is a default folder (%s) and cannot be deleted; "+
					"delete the messages in it instead", f.Name, f.SpecialUse)}
		}
	}
	return nil
}

func (s *session) Rename(name, newName string, _ *imap.RenameOptions) error {
	ctx, cancel := s.ctx()
	defer cancel()
	from, err := s.resolve(ctx, name)
	if err != nil {
		return s.mapErr(err)
	}
	to, err := s.resolve(ctx, newName)
	if err != nil {
		return s.mapErr(err)
	}
	if err := s.checkNotGranted(from); err != nil {
		return err
	}
	if to.Owner != from.Owner {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
			Text: "Folders cannot be moved between mailboxes: rename within one mailbox"}
	}
	return s.mapErr(s.svc().RenameFolder(ctx, s.personID, from, to.Name))
}

func (s *session) Subscribe(name string) error   { return s.subscribe(name, true) }
func (s *session) Unsubscribe(name string) error { return s.subscribe(name, false) }

func (s *session) subscribe(name string, on bool) error {
	ctx, cancel := s.ctx()
	defer cancel()
	ref, err := s.resolve(ctx, name)
	if err != nil {
		return s.mapErr(err)
	}
	return s.mapErr(s.svc().Subscribe(ctx, s.personID, ref, on))
}

func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	ref, err := s.resolve(ctx, name)
	if err != nil {
		return nil, s.mapErr(err)
	}
	b, err := s.svc().Folder(ctx, s.personID, ref, mailbox.Read)
	if err != nil {
		return nil, s.mapErr(err)
	}
	data, err := s.status(ctx, b, options)
	if err != nil {
		return nil, s.mapErr(err)
	}
	data.Mailbox = name
	return data, nil
}

// status fills the STATUS items of a folder (RFC 9051 section 6.3.11).
func (s *session) status(ctx context.Context, b store.Mailbox,
	options *imap.StatusOptions) (*imap.StatusData, error) {
	folder, err := s.svc().MessageFlags(ctx, s.personID, b)
	if err != nil {
		return nil, err
	}
	b = folder.Mailbox
	var unseen, deleted uint32
	for _, flags := range folder.Flags {
		if !flags.Has(mailbox.FlagSeen) {
			unseen++
		}
		if flags.Has(mailbox.FlagDeleted) {
			deleted++
		}
	}
	num := uint32(len(folder.UIDs))
	var recent uint32
	size := b.SizeBytes
	limit := uint32(s.svc().MaxMessageBytes())
	// DELETED-STORAGE is what EXPUNGE would free, in units of 1024 octets (RFC 9208
	// section 4.2). Only this item needs the message sizes.
	var deletedStorage int64
	if options.DeletedStorage && deleted > 0 {
		_, msgs, err := s.svc().Messages(ctx, s.personID, b)
		if err != nil {
			return nil, err
		}
		var bytes int64
		for _, m := range msgs {
			if m.Flags.Has(mailbox.FlagDeleted) {
				bytes += m.Size
			}
		}
		deletedStorage = (bytes + 1023) / 1024
	}
	return &imap.StatusData{
		NumMessages:    &num,
		NumRecent:      &recent,
		UIDNext:        imap.UID(b.UIDNext),
		UIDValidity:    uint32(b.UIDValidity),
		NumUnseen:      &unseen,
		NumDeleted:     &deleted,
		Size:           &size,
		AppendLimit:    &limit,
		DeletedStorage: &deletedStorage,
		HighestModSeq:  uint64(b.HighestModSeq),
	}, nil
}

// Append stores a message (RFC 3501 section 6.3.11) and returns APPENDUID data (RFC 4315).
func (s *session) Append(name string, r imap.LiteralReader,
	options *imap.AppendOptions) (*imap.AppendData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	limit := s.svc().MaxMessageBytes()
	if r.Size() > limit {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig,
			Text: fmt.Sprintf("Message is %d bytes; the limit is %d", r.Size(), limit)}
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	ref, err := s.resolve(ctx, name)
	if err != nil {
		return nil, s.tryCreate(err)
	}
	flags := make([]string, len(options.Flags))
	for i, f := range options.Flags {
		flags[i] = string(f)
	}
	b, uid, err := s.svc().Append(ctx, s.personID, ref, raw, flags, options.Time)
	if err != nil {
		return nil, s.tryCreate(err)
	}
	s.log.Info("IMAP APPEND stored a message", "mailbox_id", b.ID, "uid", uid, "size", len(raw))
	return &imap.AppendData{UID: imap.UID(uid), UIDValidity: uint32(b.UIDValidity)}, nil
}

// AppendLimit is the APPENDLIMIT (RFC 7889) the server advertises.
func (s *session) AppendLimit() uint32 { return uint32(s.svc().MaxMessageBytes()) }
