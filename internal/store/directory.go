package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// rowScanner is what *sql.Row and *sql.Rows share.
type rowScanner interface{ Scan(dest ...any) error }

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Organisations

const orgColumns = `id, COALESCE(parent_id, 0), name, slug, kind, status, sector, postal_address,
	postcode, signatory_name, signatory_email, terms_accepted_at, created_at, updated_at`

func scanOrg(r rowScanner) (Organisation, error) {
	var o Organisation
	var terms, created, updated int64
	err := r.Scan(&o.ID, &o.ParentID, &o.Name, &o.Slug, &o.Kind, &o.Status, &o.Sector,
		&o.PostalAddress, &o.Postcode, &o.SignatoryName, &o.SignatoryEmail, &terms, &created,
		&updated)
	o.TermsAcceptedAt, o.CreatedAt, o.UpdatedAt = fromMicros(terms), fromMicros(created),
		fromMicros(updated)
	return o, err
}

// CreateOrganisation inserts o and sets its ID and times.
func (t *Tx) CreateOrganisation(ctx context.Context, o *Organisation) error {
	now := time.Now().UTC()
	id, err := t.insertID(ctx, `INSERT INTO organisations (parent_id, name, slug, kind, status,
		sector, postal_address, postcode, signatory_name, signatory_email, terms_accepted_at,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nullID(o.ParentID), o.Name, o.Slug, o.Kind, o.Status, o.Sector, o.PostalAddress,
		o.Postcode, o.SignatoryName, o.SignatoryEmail, micros(o.TermsAcceptedAt), micros(now),
		micros(now))
	if err != nil {
		return err
	}
	o.ID, o.CreatedAt, o.UpdatedAt = id, now, now
	return nil
}

// UpdateOrganisation writes every field of o.
func (t *Tx) UpdateOrganisation(ctx context.Context, o *Organisation) error {
	o.UpdatedAt = time.Now().UTC()
	res, err := t.exec(ctx, `UPDATE organisations SET parent_id = ?, name = ?, slug = ?, kind = ?,
		status = ?, sector = ?, postal_address = ?, postcode = ?, signatory_name = ?,
		signatory_email = ?, terms_accepted_at = ?, updated_at = ? WHERE id = ?`,
		nullID(o.ParentID), o.Name, o.Slug, o.Kind, o.Status, o.Sector, o.PostalAddress,
		o.Postcode, o.SignatoryName, o.SignatoryEmail, micros(o.TermsAcceptedAt),
		micros(o.UpdatedAt), o.ID)
	return affectedOne(res, err)
}

// DeleteOrganisation removes an organisation that has no people, domains, groups, lists,
// connectors or sub-organisations left.
func (t *Tx) DeleteOrganisation(ctx context.Context, id int64) error {
	res, err := t.exec(ctx, "DELETE FROM organisations WHERE id = ?", id)
	return affectedOne(res, err)
}

// Organisation returns one organisation by id.
func (t *Tx) Organisation(ctx context.Context, id int64) (Organisation, error) {
	o, err := scanOrg(t.queryRow(ctx, "SELECT "+orgColumns+" FROM organisations WHERE id = ?", id))
	return o, t.s.mapErr(err)
}

// OrganisationBySlug returns one organisation by its slug.
func (t *Tx) OrganisationBySlug(ctx context.Context, slug string) (Organisation, error) {
	o, err := scanOrg(t.queryRow(ctx, "SELECT "+orgColumns+" FROM organisations WHERE slug = ?",
		slug))
	return o, t.s.mapErr(err)
}

// Organisation returns one organisation by id.
func (s *Store) Organisation(ctx context.Context, id int64) (Organisation, error) {
	o, err := scanOrg(s.queryRow(ctx, "SELECT "+orgColumns+" FROM organisations WHERE id = ?", id))
	return o, s.mapErr(err)
}

// OrganisationBySlug returns one organisation by its slug.
func (s *Store) OrganisationBySlug(ctx context.Context, slug string) (Organisation, error) {
	o, err := scanOrg(s.queryRow(ctx, "SELECT "+orgColumns+" FROM organisations WHERE slug = ?",
		slug))
	return o, s.mapErr(err)
}

// Organisations lists organisations ordered by name; parentID > 0 restricts the list to the
// direct children of that organisation.
func (s *Store) Organisations(ctx context.Context, parentID int64) ([]Organisation, error) {
	q := "SELECT " + orgColumns + " FROM organisations"
	var args []any
	if parentID > 0 {
		q += " WHERE parent_id = ?"
		args = append(args, parentID)
	}
	rows, err := s.query(ctx, q+" ORDER BY name, id", args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanOrg)
}

// OrganisationDependents counts what still refers to an organisation, by kind of row.
func (t *Tx) OrganisationDependents(ctx context.Context, id int64) (map[string]int, error) {
	out := map[string]int{}
	for _, table := range []string{"organisations", "domains", "people", "group_mailboxes",
		"distribution_lists", "connectors"} {
		col := "org_id"
		if table == "organisations" {
			col = "parent_id"
		}
		var n int
		err := t.queryRow(ctx, "SELECT COUNT(*) FROM "+table+" WHERE "+col+" = ?", id).Scan(&n)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out[table] = n
		}
	}
	return out, nil
}

// Domains

const domainColumns = `id, org_id, name, kind, verification_token, verification_state,
	verified_at, created_at`

func scanDomain(r rowScanner) (Domain, error) {
	var d Domain
	var verified, created int64
	err := r.Scan(&d.ID, &d.OrgID, &d.Name, &d.Kind, &d.VerificationToken,
		&d.VerificationState, &verified, &created)
	d.VerifiedAt, d.CreatedAt = fromMicros(verified), fromMicros(created)
	return d, err
}

// CreateDomain inserts d and sets its ID.
func (t *Tx) CreateDomain(ctx context.Context, d *Domain) error {
	now := time.Now().UTC()
	id, err := t.insertID(ctx, `INSERT INTO domains (org_id, name, kind, verification_token,
		verification_state, verified_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.OrgID, d.Name, d.Kind, d.VerificationToken, d.VerificationState,
		micros(d.VerifiedAt), micros(now))
	if err != nil {
		return err
	}
	d.ID, d.CreatedAt = id, now
	return nil
}

// UpdateDomain writes the verification fields of d.
func (t *Tx) UpdateDomain(ctx context.Context, d *Domain) error {
	res, err := t.exec(ctx, `UPDATE domains SET org_id = ?, verification_token = ?,
		verification_state = ?, verified_at = ? WHERE id = ?`, d.OrgID, d.VerificationToken,
		d.VerificationState, micros(d.VerifiedAt), d.ID)
	return affectedOne(res, err)
}

// DeleteDomain removes a domain by id.
func (t *Tx) DeleteDomain(ctx context.Context, id int64) error {
	res, err := t.exec(ctx, "DELETE FROM domains WHERE id = ?", id)
	return affectedOne(res, err)
}

// DomainByName returns the domain with that A-label name.
func (s *Store) DomainByName(ctx context.Context, name string) (Domain, error) {
	d, err := scanDomain(s.queryRow(ctx, "SELECT "+domainColumns+" FROM domains WHERE name = ?",
		name))
	return d, s.mapErr(err)
}

// DomainByName returns the domain with that A-label name.
func (t *Tx) DomainByName(ctx context.Context, name string) (Domain, error) {
	d, err := scanDomain(t.queryRow(ctx, "SELECT "+domainColumns+" FROM domains WHERE name = ?",
		name))
	return d, t.s.mapErr(err)
}

// Domains lists domains by name; orgID > 0 restricts them to one organisation.
func (s *Store) Domains(ctx context.Context, orgID int64) ([]Domain, error) {
	q := "SELECT " + domainColumns + " FROM domains"
	var args []any
	if orgID > 0 {
		q += " WHERE org_id = ?"
		args = append(args, orgID)
	}
	rows, err := s.query(ctx, q+" ORDER BY name", args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanDomain)
}

// Trusted domains

const trustedColumns = `id, name, description, tls_policy, pinned_names, pinned_fingerprints,
	source_networks, source_cert_names, route, status, created_at, updated_at`

func scanTrusted(r rowScanner) (TrustedDomain, error) {
	var d TrustedDomain
	var created, updated int64
	err := r.Scan(&d.ID, &d.Name, &d.Description, &d.TLSPolicy, &d.PinnedNames,
		&d.PinnedFingerprints, &d.SourceNetworks, &d.SourceCertNames, &d.Route, &d.Status,
		&created, &updated)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, err
}

// CreateTrustedDomain inserts d and sets its ID.
func (t *Tx) CreateTrustedDomain(ctx context.Context, d *TrustedDomain) error {
	now := time.Now().UTC()
	id, err := t.insertID(ctx, `INSERT INTO trusted_domains (name, description, tls_policy,
		pinned_names, pinned_fingerprints, source_networks, source_cert_names, route, status,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Name, d.Description, d.TLSPolicy, d.PinnedNames, d.PinnedFingerprints,
		d.SourceNetworks, d.SourceCertNames, d.Route, d.Status, micros(now), micros(now))
	if err != nil {
		return err
	}
	d.ID, d.CreatedAt, d.UpdatedAt = id, now, now
	return nil
}

// UpdateTrustedDomain writes every field of d.
func (t *Tx) UpdateTrustedDomain(ctx context.Context, d *TrustedDomain) error {
	d.UpdatedAt = time.Now().UTC()
	res, err := t.exec(ctx, `UPDATE trusted_domains SET description = ?, tls_policy = ?,
		pinned_names = ?, pinned_fingerprints = ?, source_networks = ?, source_cert_names = ?,
		route = ?, status = ?, updated_at = ? WHERE id = ?`, d.Description, d.TLSPolicy,
		d.PinnedNames, d.PinnedFingerprints, d.SourceNetworks, d.SourceCertNames, d.Route,
		d.Status, micros(d.UpdatedAt), d.ID)
	return affectedOne(res, err)
}

// DeleteTrustedDomain removes a trusted domain by id.
func (t *Tx) DeleteTrustedDomain(ctx context.Context, id int64) error {
	res, err := t.exec(ctx, "DELETE FROM trusted_domains WHERE id = ?", id)
	return affectedOne(res, err)
}

// TrustedDomain returns the trusted domain with that A-label name.
func (s *Store) TrustedDomain(ctx context.Context, name string) (TrustedDomain, error) {
	d, err := scanTrusted(s.queryRow(ctx, "SELECT "+trustedColumns+
		" FROM trusted_domains WHERE name = ?", name))
	return d, s.mapErr(err)
}

// TrustedDomain returns the trusted domain with that A-label name.
func (t *Tx) TrustedDomain(ctx context.Context, name string) (TrustedDomain, error) {
	d, err := scanTrusted(t.queryRow(ctx, "SELECT "+trustedColumns+
		" FROM trusted_domains WHERE name = ?", name))
	return d, t.s.mapErr(err)
}

// TrustedDomains lists every trusted domain by name.
func (s *Store) TrustedDomains(ctx context.Context) ([]TrustedDomain, error) {
	rows, err := s.query(ctx, "SELECT "+trustedColumns+" FROM trusted_domains ORDER BY name")
	if err != nil {
		return nil, err
	}
	return collect(rows, scanTrusted)
}

// People

const personColumns = `id, org_id, first_name, last_name, job_title, phone, address,
	address_key, plain_address, contact_address, status, ex_directory, roles, password_hash,
	last_sign_in, created_at, updated_at`

func scanPerson(r rowScanner) (Person, error) {
	var p Person
	var last, created, updated int64
	err := r.Scan(&p.ID, &p.OrgID, &p.FirstName, &p.LastName, &p.JobTitle, &p.Phone,
		&p.Address, &p.AddressKey, &p.PlainAddress, &p.ContactAddress, &p.Status,
		&p.ExDirectory, &p.Roles, &p.PasswordHash, &last, &created, &updated)
	p.LastSignIn, p.CreatedAt, p.UpdatedAt = fromMicros(last), fromMicros(created),
		fromMicros(updated)
	return p, err
}

const insertPerson = `INSERT INTO people (org_id, first_name, last_name, job_title, phone,
	address, address_key, plain_address, contact_address, status, ex_directory, roles,
	password_hash, last_sign_in, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func personArgs(p *Person) []any {
	return []any{p.OrgID, p.FirstName, p.LastName, p.JobTitle, p.Phone, p.Address,
		p.AddressKey, p.PlainAddress, p.ContactAddress, p.Status, p.ExDirectory, p.Roles,
		p.PasswordHash, micros(p.LastSignIn), micros(p.CreatedAt), micros(p.UpdatedAt)}
}

// CreatePerson inserts p and sets its ID and times.
func (t *Tx) CreatePerson(ctx context.Context, p *Person) error {
	now := time.Now().UTC()
	p.CreatedAt, p.UpdatedAt = now, now
	id, err := t.insertID(ctx, insertPerson, personArgs(p)...)
	if err != nil {
		return err
	}
	p.ID = id
	return nil
}

// UpdatePerson writes every field of p.
func (t *Tx) UpdatePerson(ctx context.Context, p *Person) error {
	p.UpdatedAt = time.Now().UTC()
	res, err := t.exec(ctx, `UPDATE people SET org_id = ?, first_name = ?, last_name = ?,
		job_title = ?, phone = ?, address = ?, address_key = ?, plain_address = ?,
		contact_address = ?, status = ?, ex_directory = ?, roles = ?, password_hash = ?,
		last_sign_in = ?, updated_at = ? WHERE id = ?`, p.OrgID, p.FirstName, p.LastName,
		p.JobTitle, p.Phone, p.Address, p.AddressKey, p.PlainAddress, p.ContactAddress,
		p.Status, p.ExDirectory, p.Roles, p.PasswordHash, micros(p.LastSignIn),
		micros(p.UpdatedAt), p.ID)
	return affectedOne(res, err)
}

// DeletePerson removes a person by id.
func (t *Tx) DeletePerson(ctx context.Context, id int64) error {
	res, err := t.exec(ctx, "DELETE FROM people WHERE id = ?", id)
	return affectedOne(res, err)
}

// PersonByAddress returns the person whose community address has that lookup key.
func (s *Store) PersonByAddress(ctx context.Context, key string) (Person, error) {
	p, err := scanPerson(s.queryRow(ctx, "SELECT "+personColumns+
		" FROM people WHERE address_key = ?", key))
	return p, s.mapErr(err)
}

// PersonByAddress returns the person whose community address has that lookup key.
func (t *Tx) PersonByAddress(ctx context.Context, key string) (Person, error) {
	p, err := scanPerson(t.queryRow(ctx, "SELECT "+personColumns+
		" FROM people WHERE address_key = ?", key))
	return p, t.s.mapErr(err)
}

// Person returns a person by id.
func (s *Store) Person(ctx context.Context, id int64) (Person, error) {
	p, err := scanPerson(s.queryRow(ctx, "SELECT "+personColumns+" FROM people WHERE id = ?", id))
	return p, s.mapErr(err)
}

// PersonFilter selects people for People.
type PersonFilter struct {
	OrgID  int64
	Search string // matched against names and address, case-insensitively
	Limit  int    // 0 means 1000
}

// People lists people ordered by last and first name.
func (s *Store) People(ctx context.Context, f PersonFilter) ([]Person, error) {
	var where []string
	var args []any
	if f.OrgID > 0 {
		where = append(where, "org_id = ?")
		args = append(args, f.OrgID)
	}
	if f.Search != "" {
		like := "%" + strings.ToLower(f.Search) + "%"
		where = append(where, "(LOWER(first_name) LIKE ? OR LOWER(last_name) LIKE ? OR address_key LIKE ?)")
		args = append(args, like, like, like)
	}
	q := "SELECT " + personColumns + " FROM people"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += fmt.Sprintf(" ORDER BY last_name, first_name, id LIMIT %d", limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPerson)
}

// AddressTaken reports whether any person, group mailbox or list has that address key.
func (t *Tx) AddressTaken(ctx context.Context, key string) (bool, error) {
	var n int
	err := t.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM people WHERE address_key = ?)
		+ (SELECT COUNT(*) FROM group_mailboxes WHERE address_key = ?)
		+ (SELECT COUNT(*) FROM distribution_lists WHERE address_key = ?)`, key, key, key).Scan(&n)
	return n > 0, err
}

// Group mailboxes

const groupColumns = "id, org_id, name, address, address_key, created_at"

func scanGroup(r rowScanner) (GroupMailbox, error) {
	var g GroupMailbox
	var created int64
	err := r.Scan(&g.ID, &g.OrgID, &g.Name, &g.Address, &g.AddressKey, &created)
	g.CreatedAt = fromMicros(created)
	return g, err
}

// CreateGroupMailbox inserts g and sets its ID.
func (t *Tx) CreateGroupMailbox(ctx context.Context, g *GroupMailbox) error {
	now := time.Now().UTC()
	id, err := t.insertID(ctx, `INSERT INTO group_mailboxes (org_id, name, address, address_key,
		created_at) VALUES (?, ?, ?, ?, ?)`, g.OrgID, g.Name, g.Address, g.AddressKey, micros(now))
	if err != nil {
		return err
	}
	g.ID, g.CreatedAt = id, now
	return nil
}

// UpdateGroupMailbox writes the name of g.
func (t *Tx) UpdateGroupMailbox(ctx context.Context, g *GroupMailbox) error {
	res, err := t.exec(ctx, "UPDATE group_mailboxes SET name = ? WHERE id = ?", g.Name, g.ID)
	return affectedOne(res, err)
}

// DeleteGroupMailbox removes a group mailbox and its memberships.
func (t *Tx) DeleteGroupMailbox(ctx context.Context, id int64) error {
	res, err := t.exec(ctx, "DELETE FROM group_mailboxes WHERE id = ?", id)
	return affectedOne(res, err)
}

// GroupMailboxByAddress returns a group mailbox by address key.
func (s *Store) GroupMailboxByAddress(ctx context.Context, key string) (GroupMailbox, error) {
	g, err := scanGroup(s.queryRow(ctx, "SELECT "+groupColumns+
		" FROM group_mailboxes WHERE address_key = ?", key))
	return g, s.mapErr(err)
}

// GroupMailboxByAddress returns a group mailbox by address key.
func (t *Tx) GroupMailboxByAddress(ctx context.Context, key string) (GroupMailbox, error) {
	g, err := scanGroup(t.queryRow(ctx, "SELECT "+groupColumns+
		" FROM group_mailboxes WHERE address_key = ?", key))
	return g, t.s.mapErr(err)
}

// GroupMailboxes lists group mailboxes; orgID > 0 restricts them to one organisation.
func (s *Store) GroupMailboxes(ctx context.Context, orgID int64) ([]GroupMailbox, error) {
	q := "SELECT " + groupColumns + " FROM group_mailboxes"
	var args []any
	if orgID > 0 {
		q += " WHERE org_id = ?"
		args = append(args, orgID)
	}
	rows, err := s.query(ctx, q+" ORDER BY address_key", args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGroup)
}

// SetGroupMember adds a member or replaces the member's permissions.
func (t *Tx) SetGroupMember(ctx context.Context, m GroupMember) error {
	_, err := t.exec(ctx, `INSERT INTO group_members (group_id, person_id, can_read, can_write,
		can_send) VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, person_id) DO UPDATE SET
		can_read = excluded.can_read, can_write = excluded.can_write, can_send = excluded.can_send`,
		m.GroupID, m.PersonID, m.Read, m.Write, m.Send)
	return err
}

// RemoveGroupMember removes a person from a group mailbox.
func (t *Tx) RemoveGroupMember(ctx context.Context, groupID, personID int64) error {
	res, err := t.exec(ctx, "DELETE FROM group_members WHERE group_id = ? AND person_id = ?",
		groupID, personID)
	return affectedOne(res, err)
}

// GroupMembers lists a group mailbox's members with their addresses.
func (s *Store) GroupMembers(ctx context.Context, groupID int64) ([]GroupMember, error) {
	rows, err := s.query(ctx, `SELECT m.group_id, m.person_id, p.address, m.can_read,
		m.can_write, m.can_send FROM group_members m JOIN people p ON p.id = m.person_id
		WHERE m.group_id = ? ORDER BY p.address_key`, groupID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (GroupMember, error) {
		var m GroupMember
		err := r.Scan(&m.GroupID, &m.PersonID, &m.Address, &m.Read, &m.Write, &m.Send)
		return m, err
	})
}

// GroupMembership returns one person's permissions on a group mailbox, or ErrNotFound.
func (s *Store) GroupMembership(ctx context.Context, groupID, personID int64) (GroupMember, error) {
	var m GroupMember
	err := s.queryRow(ctx, `SELECT group_id, person_id, can_read, can_write, can_send
		FROM group_members WHERE group_id = ? AND person_id = ?`, groupID, personID).
		Scan(&m.GroupID, &m.PersonID, &m.Read, &m.Write, &m.Send)
	return m, s.mapErr(err)
}

// Distribution lists

const listColumns = "id, org_id, name, address, address_key, created_at"

func scanList(r rowScanner) (List, error) {
	var l List
	var created int64
	err := r.Scan(&l.ID, &l.OrgID, &l.Name, &l.Address, &l.AddressKey, &created)
	l.CreatedAt = fromMicros(created)
	return l, err
}

// CreateList inserts l and sets its ID.
func (t *Tx) CreateList(ctx context.Context, l *List) error {
	now := time.Now().UTC()
	id, err := t.insertID(ctx, `INSERT INTO distribution_lists (org_id, name, address,
		address_key, created_at) VALUES (?, ?, ?, ?, ?)`, l.OrgID, l.Name, l.Address,
		l.AddressKey, micros(now))
	if err != nil {
		return err
	}
	l.ID, l.CreatedAt = id, now
	return nil
}

// UpdateList writes the name of l.
func (t *Tx) UpdateList(ctx context.Context, l *List) error {
	res, err := t.exec(ctx, "UPDATE distribution_lists SET name = ? WHERE id = ?", l.Name, l.ID)
	return affectedOne(res, err)
}

// DeleteList removes a distribution list and its memberships.
func (t *Tx) DeleteList(ctx context.Context, id int64) error {
	res, err := t.exec(ctx, "DELETE FROM distribution_lists WHERE id = ?", id)
	return affectedOne(res, err)
}

// ListByAddress returns a distribution list by address key.
func (s *Store) ListByAddress(ctx context.Context, key string) (List, error) {
	l, err := scanList(s.queryRow(ctx, "SELECT "+listColumns+
		" FROM distribution_lists WHERE address_key = ?", key))
	return l, s.mapErr(err)
}

// ListByAddress returns a distribution list by address key.
func (t *Tx) ListByAddress(ctx context.Context, key string) (List, error) {
	l, err := scanList(t.queryRow(ctx, "SELECT "+listColumns+
		" FROM distribution_lists WHERE address_key = ?", key))
	return l, t.s.mapErr(err)
}

// Lists lists distribution lists; orgID > 0 restricts them to one organisation.
func (s *Store) Lists(ctx context.Context, orgID int64) ([]List, error) {
	q := "SELECT " + listColumns + " FROM distribution_lists"
	var args []any
	if orgID > 0 {
		q += " WHERE org_id = ?"
		args = append(args, orgID)
	}
	rows, err := s.query(ctx, q+" ORDER BY address_key", args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanList)
}

// AddListMember adds an address key to a list; adding it twice is not an error.
func (t *Tx) AddListMember(ctx context.Context, listID int64, key string) error {
	_, err := t.exec(ctx, `INSERT INTO list_members (list_id, address_key) VALUES (?, ?)
		ON CONFLICT (list_id, address_key) DO NOTHING`, listID, key)
	return err
}

// RemoveListMember removes an address key from a list.
func (t *Tx) RemoveListMember(ctx context.Context, listID int64, key string) error {
	res, err := t.exec(ctx, "DELETE FROM list_members WHERE list_id = ? AND address_key = ?",
		listID, key)
	return affectedOne(res, err)
}

// ListMembers returns a list's member address keys in order.
func (s *Store) ListMembers(ctx context.Context, listID int64) ([]string, error) {
	rows, err := s.query(ctx, "SELECT address_key FROM list_members WHERE list_id = ? ORDER BY address_key",
		listID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (string, error) {
		var k string
		return k, r.Scan(&k)
	})
}

// Connectors

const connectorColumns = `id, org_id, name, inbound_cert_names, inbound_networks,
	inbound_username, inbound_password_hash, outbound_host, outbound_port, outbound_tls_name,
	outbound_tls_fingerprint, created_at, updated_at`

func scanConnector(r rowScanner) (Connector, error) {
	var c Connector
	var created, updated int64
	err := r.Scan(&c.ID, &c.OrgID, &c.Name, &c.InboundCertNames, &c.InboundNetworks,
		&c.InboundUsername, &c.InboundPasswordHash, &c.OutboundHost, &c.OutboundPort,
		&c.OutboundTLSName, &c.OutboundTLSFingerprint, &created, &updated)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, err
}

// CreateConnector inserts c and sets its ID.
func (t *Tx) CreateConnector(ctx context.Context, c *Connector) error {
	now := time.Now().UTC()
	id, err := t.insertID(ctx, `INSERT INTO connectors (org_id, name, inbound_cert_names,
		inbound_networks, inbound_username, inbound_password_hash, outbound_host, outbound_port,
		outbound_tls_name, outbound_tls_fingerprint, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.OrgID, c.Name, c.InboundCertNames,
		c.InboundNetworks, c.InboundUsername, c.InboundPasswordHash, c.OutboundHost,
		c.OutboundPort, c.OutboundTLSName, c.OutboundTLSFingerprint, micros(now), micros(now))
	if err != nil {
		return err
	}
	c.ID, c.CreatedAt, c.UpdatedAt = id, now, now
	return nil
}

// DeleteConnector removes a connector by id.
func (t *Tx) DeleteConnector(ctx context.Context, id int64) error {
	res, err := t.exec(ctx, "DELETE FROM connectors WHERE id = ?", id)
	return affectedOne(res, err)
}

// Connectors lists connectors; orgID > 0 restricts them to one organisation.
func (s *Store) Connectors(ctx context.Context, orgID int64) ([]Connector, error) {
	q := "SELECT " + connectorColumns + " FROM connectors"
	var args []any
	if orgID > 0 {
		q += " WHERE org_id = ?"
		args = append(args, orgID)
	}
	rows, err := s.query(ctx, q+" ORDER BY name", args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanConnector)
}

// ConnectorByName returns a connector by name.
func (s *Store) ConnectorByName(ctx context.Context, name string) (Connector, error) {
	c, err := scanConnector(s.queryRow(ctx, "SELECT "+connectorColumns+
		" FROM connectors WHERE name = ?", name))
	return c, s.mapErr(err)
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// affectedOne turns "no row changed" into ErrNotFound.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// RecordSignIn sets a person's last sign-in time.
func (s *Store) RecordSignIn(ctx context.Context, personID int64, at time.Time) error {
	_, err := s.exec(ctx, "UPDATE people SET last_sign_in = ? WHERE id = ?", micros(at), personID)
	return err
}

// PersonMessageCount returns how many messages are filed in a person's folders.
func (t *Tx) PersonMessageCount(ctx context.Context, personID int64) (int64, error) {
	var n int64
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM mailbox_messages mm JOIN mailboxes b
		ON b.id = mm.mailbox_id WHERE b.owner_kind = 'person' AND b.owner_id = ?`, personID).Scan(&n)
	return n, err
}

// RemoveFromAllLists takes an address key off every distribution list and returns how many
// lists it was on.
func (t *Tx) RemoveFromAllLists(ctx context.Context, key string) (int64, error) {
	res, err := t.exec(ctx, "DELETE FROM list_members WHERE address_key = ?", key)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
