package relay

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/queue"
	"github.com/cjsm/cjsm/internal/smtpserver"
	"github.com/cjsm/cjsm/internal/store"
)

// maxListDepth bounds nested distribution lists; deeper nesting is almost certainly a
// mistake, and the bound keeps a malicious structure from costing unbounded lookups.
const maxListDepth = 10

// resolution is where one RCPT TO goes: local mailboxes and remote routes.
type resolution struct {
	local  []queue.LocalRecipient
	remote []queue.RemoteRecipient
	list   bool // the address is a distribution list
}

// resolve finds where mail to addr from sender goes. sender is the address key of the
// sender's community address, or "" for the null sender and senders outside the community.
// Distribution lists are expanded once, without duplicates, and a list that contains itself
// is expanded only the first time.
//
// A moderated list expands to its members only for mail from one of its owners. Mail from
// anyone else goes to the owners' mailboxes instead, unchanged. An owner who approves it
// forwards it to the list, and that mail is expanded. The same rule applies to a moderated
// list reached through another list.
func (r *Relay) resolve(ctx context.Context, addr, sender string) (resolution, error) {
	var res resolution
	seen := map[string]bool{}
	err := r.resolveInto(ctx, addr, sender, &res, seen, 0, true)
	if err != nil && r.isPostmaster(addr) {
		// Nobody in the community has this postmaster address, so the service's own
		// postmaster takes it.
		if r.Postmaster == "" {
			return res, reject(550, [3]int{5, 1, 1}, "No postmaster mailbox is configured on this service; contact the service desk")
		}
		res, seen = resolution{}, map[string]bool{}
		err = r.resolveInto(ctx, r.Postmaster, sender, &res, seen, 0, true)
	}
	return res, err
}

func (r *Relay) resolveInto(ctx context.Context, addr, sender string, res *resolution, seen map[string]bool, depth int, top bool) error {
	a, err := address.Parse(addr)
	if err != nil {
		return reject(553, [3]int{5, 1, 3}, "Recipient address <%s> is invalid: %v", addr, err)
	}
	key := r.communityKey(a)
	if seen[key] {
		return nil
	}
	seen[key] = true

	person, err := r.st.PersonByAddress(ctx, key)
	if err == nil {
		return r.resolvePerson(ctx, person, res, top)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if g, err := r.st.GroupMailboxByAddress(ctx, key); err == nil {
		res.local = append(res.local, queue.LocalRecipient{Address: g.Address, OwnerKind: store.OwnerGroup, OwnerID: g.ID})
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if l, err := r.st.ListByAddress(ctx, key); err == nil {
		if depth >= maxListDepth {
			return reject(554, [3]int{5, 4, 6}, "Distribution list <%s> is nested more than %d deep; ask its owner to flatten it", addr, maxListDepth)
		}
		members, err := r.listTargets(ctx, l, sender)
		if err != nil {
			return err
		}
		res.list = true
		for _, m := range members {
			if err := r.resolveInto(ctx, m, sender, res, seen, depth+1, false); err != nil {
				// One unusable member must not stop mail to the rest of the list.
				r.log.Warn("distribution list member skipped", "list", l.Address, "member", m, "err", err)
			}
		}
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if address.IsUnderSuffix(a.Domain, r.suffix) {
		return reject(550, [3]int{5, 1, 1}, "<%s> does not exist in the secure community: check the address in the directory", addr)
	}
	td, ok, err := r.trustedDomainFor(ctx, a.Domain)
	if err != nil {
		return err
	}
	if ok {
		if td.Status != store.StatusActive {
			return reject(550, [3]int{5, 7, 1}, "Mail to <%s> is suspended: the trusted domain %s is not active", addr, td.Name)
		}
		res.remote = append(res.remote, queue.RemoteRecipient{Address: a.String(), Domain: a.Domain,
			Route: "trusted:" + td.Name})
		return nil
	}
	return reject(550, [3]int{5, 7, 1}, "<%s> is outside the secure community: cjsm carries mail only between community members and trusted secure domains", addr)
}

func (r *Relay) resolvePerson(ctx context.Context, p store.Person, res *resolution, top bool) error {
	if p.Status != store.StatusActive {
		return reject(550, [3]int{5, 2, 1}, "Mailbox <%s> is %s and does not accept mail", p.Address, p.Status)
	}
	o, err := r.st.Organisation(ctx, p.OrgID)
	if err != nil {
		return err
	}
	if o.Status != store.StatusActive {
		return reject(550, [3]int{5, 2, 1}, "<%s> belongs to %s, which is %s and does not accept mail", p.Address, o.Name, o.Status)
	}
	if o.Kind == store.KindHosted {
		res.local = append(res.local, queue.LocalRecipient{Address: p.Address, OwnerKind: store.OwnerPerson, OwnerID: p.ID})
		return nil
	}
	cs, err := r.st.Connectors(ctx, o.ID)
	if err != nil {
		return err
	}
	if len(cs) == 0 || cs[0].OutboundHost == "" {
		return reject(451, [3]int{4, 4, 0}, "No delivery route is set for %s; the service desk has been told", o.Name)
	}
	plain, err := address.Parse(p.PlainAddress)
	if err != nil {
		return fmt.Errorf("relay: stored plain address %q of %s: %w", p.PlainAddress, p.AddressKey, err)
	}
	if d, err := r.st.DomainByName(ctx, plain.Domain); err != nil || d.VerificationState != store.VerificationVerified {
		return reject(550, [3]int{5, 1, 2}, "<%s> is in the domain %s, which %s has not yet proved it controls; mail to it starts once the domain is verified", p.Address, plain.Domain, o.Name)
	}
	res.remote = append(res.remote, queue.RemoteRecipient{Address: plain.String(), ORcpt: p.Address,
		Domain: plain.Domain, Route: "connector:" + cs[0].Name})
	return nil
}

// listTargets returns the address keys that mail from sender to the list goes to: the
// members, or the owners when the list is moderated and sender is not one of them.
func (r *Relay) listTargets(ctx context.Context, l store.List, sender string) ([]string, error) {
	moderated, err := r.st.ListModerated(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	if !moderated {
		return r.st.ListMembers(ctx, l.ID)
	}
	owners, err := r.st.ListOwners(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(owners))
	for _, o := range owners {
		if sender != "" && o.AddressKey == sender {
			return r.st.ListMembers(ctx, l.ID)
		}
		keys = append(keys, o.AddressKey)
	}
	if len(keys) == 0 {
		return nil, reject(550, [3]int{5, 7, 1}, "Distribution list <%s> is moderated but has no owners; ask its organisation administrator to add one", l.Address)
	}
	r.log.Info("moderated list: mail goes to the owners", "list", l.Address, "sender", sender)
	return keys, nil
}

// senderKey returns the address key of the community form of an envelope sender, or "" for
// the null sender and an address that does not parse.
func (r *Relay) senderKey(from string) string {
	if from == "" {
		return ""
	}
	a, err := address.Parse(from)
	if err != nil {
		return ""
	}
	return r.communityKey(a)
}

// trustedDomainFor returns the trusted domain that domain is, or is a subdomain of.
func (r *Relay) trustedDomainFor(ctx context.Context, domain string) (store.TrustedDomain, bool, error) {
	for d := domain; strings.Contains(d, "."); d = d[strings.Index(d, ".")+1:] {
		td, err := r.st.TrustedDomain(ctx, d)
		if err == nil {
			return td, true, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return td, false, err
		}
	}
	return store.TrustedDomain{}, false, nil
}

// Rcpt implements smtpserver.Backend.
func (r *Relay) Rcpt(ctx context.Context, c *smtpserver.Conn, sp smtpserver.Principal, to string, opts smtpserver.RcptOptions) error {
	p := sp.(*Principal)
	// Rcpt does not see MAIL FROM, so a signed-in person counts as the sender here. Deliver
	// decides again with the envelope sender, which differs when a person sends as a group
	// mailbox. Either way a moderated list with owners accepts the recipient.
	sender := ""
	if p.Person != nil {
		sender = p.Person.AddressKey
	}
	res, err := r.resolve(ctx, to, sender)
	if err != nil {
		r.recordRejection(ctx, p.from, to, remoteIP(c.Remote), err.Error())
		return err
	}
	if p.Person == nil && strings.HasPrefix(p.Chosen, "trusted:") {
		for _, rr := range res.remote {
			if strings.HasPrefix(rr.Route, "trusted:") {
				r.recordRejection(ctx, p.from, to, remoteIP(c.Remote), "relaying between trusted domains")
				return reject(550, [3]int{5, 7, 1}, "<%s> is not in the secure community: cjsm does not relay mail between trusted domains", to)
			}
		}
	}
	if len(res.local)+len(res.remote) == 0 {
		return reject(550, [3]int{5, 1, 1}, "<%s> is an empty distribution list", to)
	}
	if r.CheckQuota != nil && len(res.local) == 1 && res.local[0].Address != "" {
		// A single mailbox that is full refuses the message; a list goes on to its other
		// members, because one member's full mailbox must not stop the rest.
		l := res.local[0]
		nearly, err := r.CheckQuota(ctx, l.OwnerKind, l.OwnerID, max(p.mailSize, 1), l.Address)
		if errors.Is(err, mailbox.ErrLargerThanQuota) {
			r.recordRejection(ctx, p.from, to, remoteIP(c.Remote), "message larger than the mailbox's quota")
			return reject(552, [3]int{5, 2, 2}, "The message, %d bytes, is larger than the whole storage limit of <%s>; it can never be delivered there", p.mailSize, to)
		} else if errors.Is(err, mailbox.ErrOverQuota) {
			r.recordRejection(ctx, p.from, to, remoteIP(c.Remote), "mailbox full")
			return reject(452, [3]int{4, 2, 2}, "Mailbox <%s> is full; try again later, or ask the recipient to make room", to)
		} else if err != nil {
			return err
		}
		if nearly {
			r.log.Warn("mailbox is over 90% of its quota", "rcpt", l.Address)
		}
	}
	return nil
}

// Deliver implements smtpserver.Backend: it resolves every recipient again (the directory
// may have changed since RCPT, and resolution is cheap) and hands the message to the queue.
func (r *Relay) Deliver(ctx context.Context, c *smtpserver.Conn, sp smtpserver.Principal, env smtpserver.Envelope, msg []byte) (string, error) {
	p := sp.(*Principal)
	if p.Person != nil {
		if err := r.checkHeaderFrom(ctx, c, p, env.From, msg); err != nil {
			return "", err
		}
	}
	in := queue.Incoming{QueueID: env.ID, From: env.From, OrgID: p.orgID(), MessageID: messageID(msg),
		Remote: remoteIP(c.Remote), Data: msg, DSNRet: env.Options.Return,
		DSNEnvID: env.Options.EnvelopeID, RequireTLS: env.Options.RequireTLS}
	seenLocal := map[string]bool{}
	seenRemote := map[string]bool{}
	sender := r.senderKey(env.From)
	for _, rc := range env.Recipients {
		res, err := r.resolve(ctx, rc.Address, sender)
		if err != nil {
			// The recipient was valid at RCPT; accept the rest rather than lose them.
			r.log.Warn("recipient no longer resolves at DATA", "queue_id", env.ID, "rcpt", rc.Address, "err", err)
			continue
		}
		for _, l := range res.local {
			k := fmt.Sprintf("%s:%d", l.OwnerKind, l.OwnerID)
			if seenLocal[k] {
				continue
			}
			seenLocal[k] = true
			if res.list && r.listMemberFull(ctx, c, env, rc.Address, l, int64(len(msg))) {
				continue
			}

			in.Local = append(in.Local, l)
		}
		for _, rr := range res.remote {
			k := strings.ToLower(rr.Address)
			if seenRemote[k] {
				continue
			}
			seenRemote[k] = true
			rr.Notify = rc.Options.Notify
			if rc.Options.OriginalRecipient != "" {
				rr.ORcpt = rc.Options.OriginalRecipientType + ";" + rc.Options.OriginalRecipient
			}
			in.Remotes = append(in.Remotes, rr)
		}
	}
	if len(in.Local)+len(in.Remotes) == 0 {
		return "", reject(550, [3]int{5, 1, 1}, "None of the recipients can receive mail any more")
	}
	id, err := r.queue.Accept(ctx, in)
	if err == nil && p.mailSize == 0 && r.AfterFiling != nil {
		// RCPT did not know the size, so this message may have filled a mailbox. It is
		// delivered, as RCPT accepted it, and the owner hears of it now rather than when
		// the next message is refused.
		for _, l := range in.Local {
			r.AfterFiling(ctx, l.OwnerKind, l.OwnerID, l.Address)
		}
	}
	return id, err
}

// listMemberFull reports whether a list member's mailbox is too full for the message, which
// is then not filed for that member. RCPT checked the quota only of a single mailbox: a list
// goes on to its other members, because one member's full mailbox must not stop the rest.
// The member is warned through the quota check, and the trace shows the skip.
func (r *Relay) listMemberFull(ctx context.Context, c *smtpserver.Conn, env smtpserver.Envelope,
	list string, l queue.LocalRecipient, size int64) bool {
	if r.CheckQuota == nil || l.Address == "" {
		return false
	}
	_, err := r.CheckQuota(ctx, l.OwnerKind, l.OwnerID, size, l.Address)
	if !errors.Is(err, mailbox.ErrOverQuota) {
		return false
	}
	r.log.Warn("list member's mailbox is full; message not filed for them", "queue_id", env.ID,
		"list", list, "rcpt", l.Address)
	r.recordRejection(ctx, env.From, l.Address, remoteIP(c.Remote),
		"mailbox full; not filed from list "+list)
	return true
}

// RouteNotice implements queue.Router: a notice goes wherever mail to addr from the null
// sender would go, so a notice to a moderated list reaches its owners.
func (r *Relay) RouteNotice(ctx context.Context, addr string) ([]queue.LocalRecipient, []queue.RemoteRecipient, error) {
	res, err := r.resolve(ctx, addr, "")
	return res.local, res.remote, err
}

// isPostmaster reports whether addr is the reserved postmaster mailbox: the bare local part,
// or postmaster at the community suffix or any domain under it (RFC 5321 section 4.5.1; the
// local part is case-insensitive).
func (r *Relay) isPostmaster(addr string) bool {
	local, domain, found := strings.Cut(addr, "@")
	if !strings.EqualFold(local, "postmaster") {
		return false
	}
	if !found {
		return true
	}
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	return d == r.suffix || address.IsUnderSuffix(d, r.suffix)
}
