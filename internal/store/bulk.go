package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// sqliteMaxParams is SQLite's default limit on host parameters in one statement
// (SQLITE_MAX_VARIABLE_NUMBER, 32766 since SQLite 3.32.0).
const sqliteMaxParams = 32766

// bulkRowsPerInsert is the number of rows in one multi-row INSERT on SQLite. At 16
// columns a person row, 500 rows use 8,000 parameters, well under sqliteMaxParams.
const bulkRowsPerInsert = 500

// BulkTx is a transaction for loading many rows at once. It runs on one dedicated
// connection, so that on PostgreSQL the Insert methods can use COPY inside the same
// transaction as the ordinary Tx methods it embeds (AppendAudit, for one).
type BulkTx struct {
	*Tx
	conn *sql.Conn
}

// BulkLoad runs fn in one transaction on a dedicated connection and commits when fn
// returns nil; any error rolls back every row fn wrote.
//
// On PostgreSQL the transaction first locks organisations, domains and people in SHARE
// ROW EXCLUSIVE mode: other sessions can still read them, but their writes to those
// tables wait until the load commits. This keeps the IDs that ReserveOrganisationIDs
// hands out free. On SQLite the transaction is IMMEDIATE, which already excludes every
// other writer.
func (s *Store) BulkLoad(ctx context.Context, fn func(b *BulkTx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: bulk load: get a connection: %w", err)
	}
	defer conn.Close()

	if s.dialect == SQLite {
		restore, err := growSQLiteCache(ctx, conn)
		if err != nil {
			return err
		}
		defer restore()
	}

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: bulk load: begin transaction: %w", err)
	}
	b := &BulkTx{Tx: &Tx{s: s, tx: tx}, conn: conn}
	defer b.Rollback()

	if s.dialect == PostgreSQL {
		_, err := b.exec(ctx, "LOCK TABLE organisations, domains, people IN SHARE ROW EXCLUSIVE MODE")
		if err != nil {
			return fmt.Errorf("store: bulk load: lock directory tables: %w", err)
		}
	}
	if err := fn(b); err != nil {
		return err
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("store: bulk load: commit: %w", err)
	}
	return nil
}

// bulkCacheKiB is the SQLite page cache of a bulk load's connection, in KiB. With
// SQLite's default of 2,000 KiB the load keeps evicting index pages: the 500,000-row
// national dataset took 58 s instead of 18 s on a 2-core test machine.
const bulkCacheKiB = 256 << 10

// growSQLiteCache raises the connection's page cache for the load and returns a function
// that sets it back, because the connection returns to the pool afterwards.
func growSQLiteCache(ctx context.Context, conn *sql.Conn) (func(), error) {
	var previous int64
	if err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&previous); err != nil {
		return nil, fmt.Errorf("store: bulk load: read cache_size: %w", err)
	}
	grow := fmt.Sprintf("PRAGMA cache_size = -%d", bulkCacheKiB)
	if _, err := conn.ExecContext(ctx, grow); err != nil {
		return nil, fmt.Errorf("store: bulk load: set cache_size: %w", err)
	}
	return func() {
		conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA cache_size = %d", previous))
	}, nil
}

// OrganisationSlugs returns the slug of every organisation, in no particular order.
func (t *Tx) OrganisationSlugs(ctx context.Context) ([]string, error) {
	return t.strings(ctx, "SELECT slug FROM organisations")
}

// DomainNames returns the name of every domain, in no particular order.
func (t *Tx) DomainNames(ctx context.Context) ([]string, error) {
	return t.strings(ctx, "SELECT name FROM domains")
}

func (t *Tx) strings(ctx context.Context, q string) ([]string, error) {
	rows, err := t.query(ctx, q)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (string, error) {
		var v string
		return v, r.Scan(&v)
	})
}

// ReserveOrganisationIDs returns the first of n consecutive organisation IDs that no row
// uses, for InsertOrganisations. On PostgreSQL it also moves the id column's identity
// sequence past the range, so that CreateOrganisation never picks one of them. A rollback
// leaves a harmless gap in the sequence.
func (b *BulkTx) ReserveOrganisationIDs(ctx context.Context, n int) (int64, error) {
	if n < 0 {
		return 0, fmt.Errorf("store: reserve %d organisation IDs: the count must not be negative", n)
	}
	var maxID int64
	err := b.queryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM organisations").Scan(&maxID)
	if err != nil {
		return 0, fmt.Errorf("store: read the largest organisation ID: %w", err)
	}
	if b.s.dialect != PostgreSQL {
		// SQLite picks MAX(rowid)+1 for a new row, so rows above the range are enough.
		return maxID + 1, nil
	}

	// nextval, unlike MAX(id), also counts values that rolled-back inserts consumed.
	var next int64
	err = b.queryRow(ctx, "SELECT nextval(pg_get_serial_sequence('organisations', 'id'))").
		Scan(&next)
	if err != nil {
		return 0, fmt.Errorf("store: read the organisation ID sequence: %w", err)
	}
	first := max(next, maxID+1)
	last := first + int64(n) - 1
	if n == 0 {
		last = first
	}
	_, err = b.exec(ctx, "SELECT setval(pg_get_serial_sequence('organisations', 'id'), ?)", last)
	if err != nil {
		return 0, fmt.Errorf("store: move the organisation ID sequence to %d: %w", last, err)
	}
	return first, nil
}

var orgBulkColumns = []string{"id", "parent_id", "name", "slug", "kind", "status", "sector",
	"postal_address", "postcode", "signatory_name", "signatory_email", "terms_accepted_at",
	"created_at", "updated_at"}

// InsertOrganisations inserts orgs with the IDs they carry, which must come from
// ReserveOrganisationIDs. A ParentID must name an existing organisation or one earlier in
// orgs. CreatedAt and UpdatedAt are written as given, and a zero one becomes the time of
// the call.
func (b *BulkTx) InsertOrganisations(ctx context.Context, orgs []Organisation) error {
	now := time.Now().UTC()
	for i := range orgs {
		if orgs[i].ID <= 0 {
			return fmt.Errorf("store: organisation %q has no ID; reserve IDs with "+
				"ReserveOrganisationIDs first", orgs[i].Slug)
		}
		defaultTimes(&orgs[i].CreatedAt, &orgs[i].UpdatedAt, now)
	}
	return b.insertRows(ctx, "organisations", orgBulkColumns, len(orgs),
		func(dst []any, i int) []any {
			o := &orgs[i]
			return append(dst, o.ID, nullID(o.ParentID), o.Name, o.Slug, o.Kind, o.Status,
				o.Sector, o.PostalAddress, o.Postcode, o.SignatoryName, o.SignatoryEmail,
				micros(o.TermsAcceptedAt), micros(o.CreatedAt), micros(o.UpdatedAt))
		})
}

var domainBulkColumns = []string{"org_id", "name", "kind", "verification_token",
	"verification_state", "verified_at", "created_at"}

// InsertDomains inserts domains; the store numbers them, and their ID fields are not
// set. A zero CreatedAt becomes the time of the call.
func (b *BulkTx) InsertDomains(ctx context.Context, domains []Domain) error {
	now := time.Now().UTC()
	for i := range domains {
		if domains[i].CreatedAt.IsZero() {
			domains[i].CreatedAt = now
		}
	}
	return b.insertRows(ctx, "domains", domainBulkColumns, len(domains),
		func(dst []any, i int) []any {
			d := &domains[i]
			return append(dst, d.OrgID, d.Name, d.Kind, d.VerificationToken,
				d.VerificationState, micros(d.VerifiedAt), micros(d.CreatedAt))
		})
}

var personBulkColumns = []string{"org_id", "first_name", "last_name", "job_title", "phone",
	"address", "address_key", "plain_address", "contact_address", "status", "ex_directory",
	"roles", "password_hash", "last_sign_in", "created_at", "updated_at"}

// InsertPeople inserts people; the store numbers them, and their ID fields are not set.
// A zero CreatedAt or UpdatedAt becomes the time of the call. An address key that is
// already taken fails the whole call with ErrConflict.
func (b *BulkTx) InsertPeople(ctx context.Context, people []Person) error {
	now := time.Now().UTC()
	for i := range people {
		defaultTimes(&people[i].CreatedAt, &people[i].UpdatedAt, now)
	}
	return b.insertRows(ctx, "people", personBulkColumns, len(people),
		func(dst []any, i int) []any {
			return append(dst, personArgs(&people[i])...)
		})
}

func defaultTimes(created, updated *time.Time, now time.Time) {
	if created.IsZero() {
		*created = now
	}
	if updated.IsZero() {
		*updated = *created
	}
}

// insertRows writes n rows into table. appendRow appends the values of row i, in the
// order of columns, to dst and returns the result.
func (b *BulkTx) insertRows(ctx context.Context, table string, columns []string, n int,
	appendRow func(dst []any, i int) []any) error {
	if n == 0 {
		return nil
	}
	if b.s.dialect == PostgreSQL {
		return b.copyRows(ctx, table, columns, n, appendRow)
	}
	return b.insertBatches(ctx, table, columns, n, appendRow)
}

// copyRows sends the rows with PostgreSQL's COPY FROM STDIN through the pgx connection
// under the transaction's database/sql connection, so they join the open transaction.
func (b *BulkTx) copyRows(ctx context.Context, table string, columns []string, n int,
	appendRow func(dst []any, i int) []any) error {
	row := make([]any, 0, len(columns))
	source := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		row = appendRow(row[:0], i)
		return row, nil
	})
	err := b.conn.Raw(func(driverConn any) error {
		sc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the PostgreSQL driver connection is a %T, not a pgx "+
				"*stdlib.Conn, so COPY is not available", driverConn)
		}
		_, err := sc.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, source)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: copy %d rows into %s: %w", n, table, b.s.mapErr(err))
	}
	return nil
}

// insertBatches writes the rows with multi-row INSERT statements of up to
// bulkRowsPerInsert rows. The statement for a full batch is prepared once and reused.
func (b *BulkTx) insertBatches(ctx context.Context, table string, columns []string, n int,
	appendRow func(dst []any, i int) []any) error {
	perInsert := min(bulkRowsPerInsert, sqliteMaxParams/len(columns))
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()

	args := make([]any, 0, perInsert*len(columns))
	for start := 0; start < n; start += perInsert {
		rows := min(perInsert, n-start)
		args = args[:0]
		for i := start; i < start+rows; i++ {
			args = appendRow(args, i)
		}

		var err error
		if rows == perInsert {
			if full == nil {
				full, err = b.tx.PrepareContext(ctx, b.s.rebind(insertSQL(table, columns, rows)))
				if err != nil {
					return fmt.Errorf("store: prepare insert into %s: %w", table, err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = b.tx.ExecContext(ctx, b.s.rebind(insertSQL(table, columns, rows)), args...)
		}
		if err != nil {
			return fmt.Errorf("store: insert rows %d to %d of %d into %s: %w",
				start+1, start+rows, n, table, b.s.mapErr(err))
		}
	}
	return nil
}

// insertSQL returns "INSERT INTO table (columns) VALUES (?, …), …" for rows rows.
func insertSQL(table string, columns []string, rows int) string {
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	var q strings.Builder
	q.Grow(len(table) + 40 + rows*(len(tuple)+2))
	q.WriteString("INSERT INTO ")
	q.WriteString(table)
	q.WriteString(" (")
	q.WriteString(strings.Join(columns, ", "))
	q.WriteString(") VALUES ")
	for i := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(tuple)
	}
	return q.String()
}
