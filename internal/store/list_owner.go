package store

import (
	"context"
	"database/sql"
)

// ListOwner is a person who owns a distribution list. Owners receive the mail that others
// send to a moderated list, and their own mail to it is expanded to the members.
type ListOwner struct {
	ListID     int64
	PersonID   int64
	Address    string // the owner's address, filled in from people
	AddressKey string
}

// querier is the query method that Store and Tx share, so that one read serves both.
type querier interface {
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// AddListOwner makes a person an owner of a list; adding an owner twice is not an error.
func (t *Tx) AddListOwner(ctx context.Context, listID, personID int64) error {
	_, err := t.exec(ctx, `INSERT INTO list_owners (list_id, person_id) VALUES (?, ?)
		ON CONFLICT (list_id, person_id) DO NOTHING`, listID, personID)
	return err
}

// RemoveListOwner takes a person off a list's owners, or returns ErrNotFound.
func (t *Tx) RemoveListOwner(ctx context.Context, listID, personID int64) error {
	res, err := t.exec(ctx, "DELETE FROM list_owners WHERE list_id = ? AND person_id = ?",
		listID, personID)
	return affectedOne(res, err)
}

// ListOwners returns a list's owners ordered by address key.
func (s *Store) ListOwners(ctx context.Context, listID int64) ([]ListOwner, error) {
	return listOwners(ctx, s, listID)
}

// ListOwners returns a list's owners ordered by address key.
func (t *Tx) ListOwners(ctx context.Context, listID int64) ([]ListOwner, error) {
	return listOwners(ctx, t, listID)
}

func listOwners(ctx context.Context, q querier, listID int64) ([]ListOwner, error) {
	rows, err := q.query(ctx, `SELECT o.list_id, o.person_id, p.address, p.address_key
		FROM list_owners o JOIN people p ON p.id = o.person_id
		WHERE o.list_id = ? ORDER BY p.address_key`, listID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (ListOwner, error) {
		var o ListOwner
		err := r.Scan(&o.ListID, &o.PersonID, &o.Address, &o.AddressKey)
		return o, err
	})
}

// SetListModerated sets or clears a list's moderated mark, or returns ErrNotFound.
func (t *Tx) SetListModerated(ctx context.Context, listID int64, moderated bool) error {
	res, err := t.exec(ctx, "UPDATE distribution_lists SET moderated = ? WHERE id = ?",
		moderated, listID)
	return affectedOne(res, err)
}

// ListModerated reports whether a list is moderated, or returns ErrNotFound.
func (s *Store) ListModerated(ctx context.Context, listID int64) (bool, error) {
	var m bool
	err := s.queryRow(ctx, "SELECT moderated FROM distribution_lists WHERE id = ?", listID).
		Scan(&m)
	return m, s.mapErr(err)
}

// ListModerated reports whether a list is moderated, or returns ErrNotFound.
func (t *Tx) ListModerated(ctx context.Context, listID int64) (bool, error) {
	var m bool
	err := t.queryRow(ctx, "SELECT moderated FROM distribution_lists WHERE id = ?", listID).
		Scan(&m)
	return m, t.s.mapErr(err)
}
