package relay

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"strings"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/smtpserver"
	"github.com/cjsm/cjsm/internal/store"
)

// Mail implements smtpserver.Backend: the sender address must be one the principal may use.
// A person may use their own address (either form, for a gateway person) or a group mailbox
// they may send as; a connector may use its organisation's people's addresses; a trusted
// domain's server may use addresses in that domain. Gateway addresses are rewritten to their
// community form.
func (r *Relay) Mail(ctx context.Context, c *smtpserver.Conn, sp smtpserver.Principal, from string, opts smtpserver.MailOptions) (string, error) {
	p := sp.(*Principal)
	p.mailSize, p.from = opts.Size, from
	var accepted string
	var err error
	if p.Person != nil {
		accepted, err = r.personSender(ctx, c, p, from, from)
	} else {
		accepted, err = r.serverSender(ctx, c, p, from)
	}
	if err == nil {
		p.from = accepted
	}
	return accepted, err
}

// checkHeaderFrom rejects a person's message whose From header field names an address they
// may not send as, so that nobody can put a colleague's name on a message. The addresses
// allowed are the same as for MAIL FROM.
func (r *Relay) checkHeaderFrom(ctx context.Context, c *smtpserver.Conn, p *Principal, envFrom string, msg []byte) error {
	m, err := mail.ReadMessage(bytes.NewReader(headerBytes(msg)))
	if err != nil {
		return reject(554, [3]int{5, 6, 0}, "The message header cannot be parsed: %v", err)
	}
	field := m.Header.Get("From")
	if field == "" {
		return reject(554, [3]int{5, 6, 0}, "The message has no From header field; RFC 5322 section 3.6 requires one")
	}
	list, err := mail.ParseAddressList(field)
	if err != nil {
		return reject(554, [3]int{5, 6, 0}, "The From header field %q cannot be parsed: %v", field, err)
	}
	for _, a := range list {
		if _, err := r.personSender(ctx, c, p, a.Address, envFrom); err != nil {
			return reject(550, [3]int{5, 7, 1}, "The From header field names <%s>, which you may not send as: use your own address %s or a group mailbox you have send permission on", a.Address, p.Person.Address)
		}
	}
	return nil
}

// personSender returns the address a signed-in person may send as, from, or rejects it.
// envFrom is the envelope sender under which a rejection is traced: from itself at MAIL
// FROM, the envelope's when from is an address of the header From field.
func (r *Relay) personSender(ctx context.Context, c *smtpserver.Conn, p *Principal, from, envFrom string) (string, error) {
	if from == "" {
		return "", reject(550, [3]int{5, 7, 1}, "People may not send with the null sender <>; use your own address %s", p.Person.Address)
	}
	a, err := address.Parse(from)
	if err != nil {
		return "", reject(553, [3]int{5, 1, 7}, "Sender address <%s> is invalid: %v", from, err)
	}
	key := r.communityKey(a)
	if key == p.Person.AddressKey {
		return p.Person.Address, nil
	}
	g, err := r.st.GroupMailboxByAddress(ctx, key)
	if err == nil {
		m, err := r.st.GroupMembership(ctx, g.ID, p.Person.ID)
		if err == nil && m.Send {
			return g.Address, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	reason := "sender address not allowed for " + p.Person.AddressKey
	if from != envFrom {
		reason = "header From <" + from + "> not allowed for " + p.Person.AddressKey
	}
	r.recordRejection(ctx, envFrom, "", remoteIP(c.Remote), reason)
	return "", reject(550, [3]int{5, 7, 1}, "You may not send as <%s>: use your own address %s or a group mailbox you have send permission on", from, p.Person.Address)
}

func (r *Relay) serverSender(ctx context.Context, c *smtpserver.Conn, p *Principal, from string) (string, error) {
	if from == "" {
		// Bounces from a recognised server are accepted; the first match is recorded.
		if len(p.Connectors) > 0 {
			p.Chosen, p.chosenOrg = "connector:"+p.Connectors[0].Name, p.Connectors[0].OrgID
		} else {
			p.Chosen = "trusted:" + p.Trusted[0].Name
		}
		return "", nil
	}
	a, err := address.Parse(from)
	if err != nil {
		return "", reject(553, [3]int{5, 1, 7}, "Sender address <%s> is invalid: %v", from, err)
	}
	plain := a
	if pl, ok := address.PlainForm(a, r.suffix); ok {
		plain = pl
	}
	for _, cn := range p.Connectors {
		d, err := r.st.DomainByName(ctx, plain.Domain)
		if err != nil || d.OrgID != cn.OrgID || d.Kind != store.DomainGateway ||
			d.VerificationState != store.VerificationVerified {
			continue
		}
		person, err := r.st.PersonByAddress(ctx, r.communityKey(a))
		if errors.Is(err, store.ErrNotFound) {
			r.recordRejection(ctx, from, "", remoteIP(c.Remote), "sender is not a registered person of the connector's organisation")
			return "", reject(550, [3]int{5, 7, 1}, "Sender <%s> is not a registered person of this organisation; ask your organisation administrator to add them", from)
		} else if err != nil {
			return "", err
		}
		if person.Status != store.StatusActive {
			return "", reject(550, [3]int{5, 7, 1}, "Sender <%s> is %s and may not send mail", from, person.Status)
		}
		p.Chosen, p.chosenOrg = "connector:"+cn.Name, cn.OrgID
		return person.Address, nil
	}
	for _, td := range p.Trusted {
		if a.Domain == td.Name || strings.HasSuffix(a.Domain, "."+td.Name) {
			p.Chosen = "trusted:" + td.Name
			return a.String(), nil
		}
	}
	r.recordRejection(ctx, from, "", remoteIP(c.Remote), "sender domain not allowed for "+p.String())
	return "", reject(550, [3]int{5, 7, 1}, "Your server may not send mail from <%s>: that domain is not one it is registered to send for", from)
}

// communityKey returns the lookup key of an address's community form.
func (r *Relay) communityKey(a address.Address) string {
	if !address.IsUnderSuffix(a.Domain, r.suffix) {
		if c, err := address.CommunityForm(a, r.suffix); err == nil {
			return address.Key(c)
		}
	}
	return address.Key(a)
}
