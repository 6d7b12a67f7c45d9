package store_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

func TestMigrateAppliesEveryVersion(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		st := openStore(t, dsn)
		v, err := st.CurrentVersion(t.Context())
		if err != nil {
			t.Fatalf("CurrentVersion: %v", err)
		}
		if v != store.SchemaVersion() {
			t.Errorf("CurrentVersion = %d, want SchemaVersion %d", v, store.SchemaVersion())
		}
		counts, err := st.CountRows(t.Context())
		if err != nil {
			t.Fatalf("CountRows on a new store: %v", err)
		}
		for table, n := range counts {
			if n != 0 {
				t.Errorf("table %s of a new store has %d rows, want 0", table, n)
			}
		}
	})
}

func TestOpenTwiceIsIdempotent(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		first := openStore(t, dsn)
		createOrg(t, first, "kept", 0)
		first.Close()

		second := openStore(t, dsn)
		v, err := second.CurrentVersion(t.Context())
		if err != nil {
			t.Fatalf("CurrentVersion after second Open: %v", err)
		}
		if v != store.SchemaVersion() {
			t.Errorf("CurrentVersion = %d, want %d", v, store.SchemaVersion())
		}
		var applied int
		err = second.DB().QueryRowContext(t.Context(),
			"SELECT COUNT(*) FROM schema_migrations").Scan(&applied)
		if err != nil {
			t.Fatalf("count schema_migrations: %v", err)
		}
		if applied != store.SchemaVersion() {
			t.Errorf("schema_migrations has %d rows, want one per version (%d)", applied,
				store.SchemaVersion())
		}
		if _, err := second.OrganisationBySlug(t.Context(), "kept"); err != nil {
			t.Errorf("organisation written before the second Open: %v", err)
		}
	})
}

// Several nodes start at once against one database; exactly one of them migrates.
func TestOpenConcurrentlyMigratesOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		const nodes = 4
		var wg sync.WaitGroup
		errs := make([]error, nodes)
		for i := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := store.Open(context.Background(), dsn)
				if err == nil {
					st.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("node %d: Open: %v", i, err)
			}
		}
		st := openStore(t, dsn)
		var applied int
		err := st.DB().QueryRowContext(t.Context(),
			"SELECT COUNT(*) FROM schema_migrations").Scan(&applied)
		if err != nil {
			t.Fatalf("count schema_migrations: %v", err)
		}
		if applied != store.SchemaVersion() {
			t.Errorf("schema_migrations has %d rows, want %d", applied, store.SchemaVersion())
		}
	})
}

func TestDialectMatchesDSN(t *testing.T) {
	want := map[string]store.Dialect{"sqlite": store.SQLite, "postgres": store.PostgreSQL}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := openStore(t, b.dsn(t))
			if st.Dialect() != want[b.name] {
				t.Errorf("Dialect = %v, want %v", st.Dialect(), want[b.name])
			}
			if st.Dialect().String() != b.name {
				t.Errorf("Dialect().String() = %q, want %q", st.Dialect().String(), b.name)
			}
			if err := st.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
		})
	}
}

func TestOpenRejectsEmptyDSN(t *testing.T) {
	for _, dsn := range []string{"", "sqlite:"} {
		_, err := store.Open(t.Context(), dsn)
		if err == nil {
			t.Errorf("Open(%q) succeeded, want an error", dsn)
			continue
		}
		if !containsAll(err.Error(), "sqlite:") {
			t.Errorf("Open(%q) error %q does not show the expected form sqlite:PATH", dsn, err)
		}
	}
}

func TestOrganisationCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		parent := createOrg(t, st, "crown-prosecution-service", 0)
		child := store.Organisation{ParentID: parent.ID, Name: "CPS South East",
			Slug: "cps-south-east", Kind: store.KindHosted, Status: store.StatusApplied,
			Sector: "cps", PostalAddress: "Riverside House", Postcode: "ME14 1XN",
			SignatoryName: "Chief Crown Prosecutor", SignatoryEmail: "ccp@cps.example",
			TermsAcceptedAt: time.Date(2025, 4, 1, 9, 30, 0, 123456000, time.UTC)}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateOrganisation(ctx, &child) })
		if child.ID == 0 || child.ID == parent.ID {
			t.Fatalf("child ID = %d (parent %d), want a new id", child.ID, parent.ID)
		}
		if child.CreatedAt.IsZero() || child.UpdatedAt.IsZero() {
			t.Errorf("CreateOrganisation left CreatedAt or UpdatedAt zero")
		}

		got, err := st.Organisation(ctx, child.ID)
		if err != nil {
			t.Fatalf("Organisation(%d): %v", child.ID, err)
		}
		want := child
		want.CreatedAt = got.CreatedAt
		want.UpdatedAt = got.UpdatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Organisation read back\n got %+v\nwant %+v", got, want)
		}
		if !got.CreatedAt.Equal(child.CreatedAt.Truncate(time.Microsecond)) {
			t.Errorf("CreatedAt read back %v, want %v to the microsecond", got.CreatedAt,
				child.CreatedAt)
		}
		bySlug, err := st.OrganisationBySlug(ctx, "cps-south-east")
		if err != nil || bySlug.ID != child.ID {
			t.Errorf("OrganisationBySlug = %d, %v; want id %d", bySlug.ID, err, child.ID)
		}
		if top, _ := st.Organisation(ctx, parent.ID); top.ParentID != 0 {
			t.Errorf("top-level ParentID = %d, want 0", top.ParentID)
		}

		all, err := st.Organisations(ctx, 0)
		if err != nil {
			t.Fatalf("Organisations: %v", err)
		}
		if len(all) != 2 || all[0].Slug != "cps-south-east" || all[1].Slug != parent.Slug {
			t.Errorf("Organisations(0) = %v, want both ordered by name", slugs(all))
		}
		children, err := st.Organisations(ctx, parent.ID)
		if err != nil {
			t.Fatalf("Organisations(parent): %v", err)
		}
		if len(children) != 1 || children[0].ID != child.ID {
			t.Errorf("Organisations(parent) = %v, want [cps-south-east]", slugs(children))
		}

		child.Name, child.Status, child.ParentID = "CPS Kent", store.StatusActive, 0
		inTx(t, st, func(tx *store.Tx) error { return tx.UpdateOrganisation(ctx, &child) })
		got, _ = st.Organisation(ctx, child.ID)
		if got.Name != "CPS Kent" || got.Status != store.StatusActive || got.ParentID != 0 {
			t.Errorf("after update: name %q status %q parent %d", got.Name, got.Status,
				got.ParentID)
		}

		var deps map[string]int
		inTx(t, st, func(tx *store.Tx) error {
			var err error
			deps, err = tx.OrganisationDependents(ctx, child.ID)
			return err
		})
		if len(deps) != 0 {
			t.Errorf("OrganisationDependents of an empty organisation = %v, want none", deps)
		}
		inTx(t, st, func(tx *store.Tx) error { return tx.DeleteOrganisation(ctx, child.ID) })
		if _, err := st.Organisation(ctx, child.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Organisation after delete: err = %v, want ErrNotFound", err)
		}
	})
}

func TestOrganisationDependentsCountsEachKind(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		o := createOrg(t, st, "firm", 0)
		createOrg(t, st, "firm-branch", o.ID)
		createPerson(t, st, o.ID, "a@firm.example.cjsm.net")
		createPerson(t, st, o.ID, "b@firm.example.cjsm.net")
		inTx(t, st, func(tx *store.Tx) error {
			d := store.Domain{OrgID: o.ID, Name: "firm.example", Kind: store.DomainGateway,
				VerificationState: store.VerificationPending}
			if err := tx.CreateDomain(ctx, &d); err != nil {
				return err
			}
			g := store.GroupMailbox{OrgID: o.ID, Name: "G", Address: "g@firm.cjsm.net",
				AddressKey: "g@firm.cjsm.net"}
			if err := tx.CreateGroupMailbox(ctx, &g); err != nil {
				return err
			}
			l := store.List{OrgID: o.ID, Name: "L", Address: "l@firm.cjsm.net",
				AddressKey: "l@firm.cjsm.net"}
			if err := tx.CreateList(ctx, &l); err != nil {
				return err
			}
			c := store.Connector{OrgID: o.ID, Name: "firm-m365", OutboundPort: 25}
			return tx.CreateConnector(ctx, &c)
		})
		var deps map[string]int
		inTx(t, st, func(tx *store.Tx) error {
			var err error
			deps, err = tx.OrganisationDependents(ctx, o.ID)
			return err
		})
		want := map[string]int{"organisations": 1, "domains": 1, "people": 2,
			"group_mailboxes": 1, "distribution_lists": 1, "connectors": 1}
		if !reflect.DeepEqual(deps, want) {
			t.Errorf("OrganisationDependents = %v, want %v", deps, want)
		}
	})
}

func TestDuplicateSlugIsConflict(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		createOrg(t, st, "kent-police", 0)
		dup := store.Organisation{Name: "Other", Slug: "kent-police", Kind: store.KindHosted,
			Status: store.StatusActive}
		err := st.InTx(t.Context(), func(tx *store.Tx) error {
			return tx.CreateOrganisation(t.Context(), &dup)
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("second kent-police: err = %v, want ErrConflict", err)
		}
	})
}

func TestMissingRowsAreNotFound(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		lookups := map[string]func() error{
			"Organisation": func() error { _, err := st.Organisation(ctx, 999); return err },
			"OrganisationBySlug": func() error {
				_, err := st.OrganisationBySlug(ctx, "nobody")
				return err
			},
			"DomainByName": func() error {
				_, err := st.DomainByName(ctx, "none.example")
				return err
			},
			"TrustedDomain": func() error {
				_, err := st.TrustedDomain(ctx, "none.example")
				return err
			},
			"Person":          func() error { _, err := st.Person(ctx, 999); return err },
			"PersonByAddress": func() error { _, err := st.PersonByAddress(ctx, "x@y"); return err },
			"GroupMailboxByAddress": func() error {
				_, err := st.GroupMailboxByAddress(ctx, "x@y")
				return err
			},
			"GroupMembership": func() error {
				_, err := st.GroupMembership(ctx, 1, 1)
				return err
			},
			"ListByAddress": func() error { _, err := st.ListByAddress(ctx, "x@y"); return err },
			"ConnectorByName": func() error {
				_, err := st.ConnectorByName(ctx, "none")
				return err
			},
			"Message":          func() error { _, err := st.Message(ctx, 999); return err },
			"MessageByQueueID": func() error { _, err := st.MessageByQueueID(ctx, "Q1"); return err },
		}
		changes := map[string]func(tx *store.Tx) error{
			"UpdateOrganisation": func(tx *store.Tx) error {
				return tx.UpdateOrganisation(ctx, &store.Organisation{ID: 999, Name: "x",
					Slug: "x", Kind: store.KindHosted, Status: store.StatusActive})
			},
			"DeleteOrganisation": func(tx *store.Tx) error { return tx.DeleteOrganisation(ctx, 999) },
			"UpdateDomain": func(tx *store.Tx) error {
				return tx.UpdateDomain(ctx, &store.Domain{ID: 999})
			},
			"DeleteDomain": func(tx *store.Tx) error { return tx.DeleteDomain(ctx, 999) },
			"UpdateTrustedDomain": func(tx *store.Tx) error {
				return tx.UpdateTrustedDomain(ctx, &store.TrustedDomain{ID: 999})
			},
			"DeleteTrustedDomain": func(tx *store.Tx) error { return tx.DeleteTrustedDomain(ctx, 999) },
			"UpdatePerson": func(tx *store.Tx) error {
				return tx.UpdatePerson(ctx, &store.Person{ID: 999})
			},
			"DeletePerson": func(tx *store.Tx) error { return tx.DeletePerson(ctx, 999) },
			"UpdateGroupMailbox": func(tx *store.Tx) error {
				return tx.UpdateGroupMailbox(ctx, &store.GroupMailbox{ID: 999})
			},
			"DeleteGroupMailbox": func(tx *store.Tx) error { return tx.DeleteGroupMailbox(ctx, 999) },
			"RemoveGroupMember":  func(tx *store.Tx) error { return tx.RemoveGroupMember(ctx, 1, 1) },
			"UpdateList": func(tx *store.Tx) error {
				return tx.UpdateList(ctx, &store.List{ID: 999})
			},
			"DeleteList":       func(tx *store.Tx) error { return tx.DeleteList(ctx, 999) },
			"RemoveListMember": func(tx *store.Tx) error { return tx.RemoveListMember(ctx, 1, "x@y") },
			"DeleteConnector":  func(tx *store.Tx) error { return tx.DeleteConnector(ctx, 999) },
		}
		for name, f := range lookups {
			if err := f(); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s of a missing row: err = %v, want ErrNotFound", name, err)
			}
		}
		for name, f := range changes {
			err := st.InTx(ctx, f)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s of a missing row: err = %v, want ErrNotFound", name, err)
			}
		}
	})
}

func TestDomainCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		o := createOrg(t, st, "firm", 0)
		other := createOrg(t, st, "other", 0)
		d := store.Domain{OrgID: o.ID, Name: "firm.example", Kind: store.DomainGateway,
			VerificationToken: "cjsm-verify=abc", VerificationState: store.VerificationPending}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateDomain(ctx, &d) })
		second := store.Domain{OrgID: o.ID, Name: "a-firm.example", Kind: store.DomainGateway,
			VerificationState: store.VerificationPending}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateDomain(ctx, &second) })

		got, err := st.DomainByName(ctx, "firm.example")
		if err != nil {
			t.Fatalf("DomainByName: %v", err)
		}
		if got.ID != d.ID || got.OrgID != o.ID || got.VerificationToken != "cjsm-verify=abc" ||
			got.VerificationState != store.VerificationPending || !got.VerifiedAt.IsZero() {
			t.Errorf("DomainByName = %+v, want %+v", got, d)
		}

		list, err := st.Domains(ctx, o.ID)
		if err != nil {
			t.Fatalf("Domains: %v", err)
		}
		if len(list) != 2 || list[0].Name != "a-firm.example" || list[1].Name != "firm.example" {
			t.Errorf("Domains(org) = %+v, want a-firm.example, firm.example", list)
		}
		if none, _ := st.Domains(ctx, other.ID); len(none) != 0 {
			t.Errorf("Domains(other) = %+v, want none", none)
		}

		verifiedAt := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
		d.VerificationState, d.VerifiedAt = store.VerificationVerified, verifiedAt
		inTx(t, st, func(tx *store.Tx) error { return tx.UpdateDomain(ctx, &d) })
		inTx(t, st, func(tx *store.Tx) error {
			got, err = tx.DomainByName(ctx, "firm.example")
			return err
		})
		if got.VerificationState != store.VerificationVerified || !got.VerifiedAt.Equal(verifiedAt) {
			t.Errorf("after UpdateDomain: state %q verified %v", got.VerificationState,
				got.VerifiedAt)
		}

		dup := store.Domain{OrgID: other.ID, Name: "firm.example", Kind: store.DomainGateway,
			VerificationState: store.VerificationPending}
		err = st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateDomain(ctx, &dup) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate domain: err = %v, want ErrConflict", err)
		}

		inTx(t, st, func(tx *store.Tx) error { return tx.DeleteDomain(ctx, d.ID) })
		if _, err := st.DomainByName(ctx, "firm.example"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DomainByName after delete: %v, want ErrNotFound", err)
		}
	})
}

// Both back ends enforce foreign keys, so a row cannot point at a missing organisation.
func TestForeignKeysAreEnforced(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		// Several connections, because SQLite sets foreign_keys per connection.
		for i := range 3 {
			d := store.Domain{OrgID: 4242, Name: "orphan.example", Kind: store.DomainGateway,
				VerificationState: store.VerificationPending}
			err := st.InTx(t.Context(), func(tx *store.Tx) error {
				return tx.CreateDomain(t.Context(), &d)
			})
			if err == nil {
				t.Fatalf("attempt %d: domain of missing organisation 4242 was stored", i)
			}
		}
	})
}

func TestTrustedDomainCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		d := store.TrustedDomain{Name: "kent.police.uk", Description: "Kent Police",
			TLSPolicy: store.PolicyPinned, PinnedNames: "mx1.kent.police.uk *.kent.police.uk",
			PinnedFingerprints: "ab12", SourceNetworks: "192.0.2.0/24",
			SourceCertNames: "mx1.kent.police.uk", Route: "192.0.2.10:25",
			Status: store.StatusActive}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateTrustedDomain(ctx, &d) })
		other := store.TrustedDomain{Name: "cps.gov.uk", TLSPolicy: store.PolicyMTASTS,
			Status: store.StatusActive}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateTrustedDomain(ctx, &other) })

		got, err := st.TrustedDomain(ctx, "kent.police.uk")
		if err != nil {
			t.Fatalf("TrustedDomain: %v", err)
		}
		want := d
		want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("TrustedDomain\n got %+v\nwant %+v", got, want)
		}
		all, err := st.TrustedDomains(ctx)
		if err != nil {
			t.Fatalf("TrustedDomains: %v", err)
		}
		if len(all) != 2 || all[0].Name != "cps.gov.uk" || all[1].Name != "kent.police.uk" {
			t.Errorf("TrustedDomains = %+v, want cps.gov.uk then kent.police.uk", all)
		}

		d.Status, d.TLSPolicy, d.Route = store.StatusSuspended, store.PolicyDANE, ""
		inTx(t, st, func(tx *store.Tx) error { return tx.UpdateTrustedDomain(ctx, &d) })
		inTx(t, st, func(tx *store.Tx) error {
			got, err = tx.TrustedDomain(ctx, "kent.police.uk")
			return err
		})
		if got.Status != store.StatusSuspended || got.TLSPolicy != store.PolicyDANE ||
			got.Route != "" {
			t.Errorf("after update: %+v", got)
		}

		dup := store.TrustedDomain{Name: "cps.gov.uk", TLSPolicy: store.PolicyMX,
			Status: store.StatusActive}
		err = st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateTrustedDomain(ctx, &dup) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate trusted domain: err = %v, want ErrConflict", err)
		}
		inTx(t, st, func(tx *store.Tx) error { return tx.DeleteTrustedDomain(ctx, d.ID) })
		if _, err := st.TrustedDomain(ctx, "kent.police.uk"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: %v, want ErrNotFound", err)
		}
	})
}

func TestPersonCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		o := createOrg(t, st, "kent-police", 0)
		other := createOrg(t, st, "cps", 0)
		p := store.Person{OrgID: o.ID, FirstName: "Sarah", LastName: "Okafor",
			JobTitle: "Detective Sergeant", Phone: "01622 690690",
			Address: "Sarah.Okafor@kent-police.cjsm.net", AddressKey: "sarah.okafor@kent-police.cjsm.net",
			ContactAddress: "sarah@home.example", Status: store.StatusActive, ExDirectory: true,
			Roles: "user org-admin", PasswordHash: "$argon2id$x",
			LastSignIn: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreatePerson(ctx, &p) })
		if p.ID == 0 {
			t.Fatal("CreatePerson left ID 0")
		}
		createPerson(t, st, o.ID, "tom.hughes@kent-police.cjsm.net")
		createPerson(t, st, other.ID, "daniel.price@cps.cjsm.net")

		got, err := st.PersonByAddress(ctx, p.AddressKey)
		if err != nil {
			t.Fatalf("PersonByAddress: %v", err)
		}
		want := p
		want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("PersonByAddress\n got %+v\nwant %+v", got, want)
		}
		if byID, err := st.Person(ctx, p.ID); err != nil || byID.AddressKey != p.AddressKey {
			t.Errorf("Person(%d) = %q, %v", p.ID, byID.AddressKey, err)
		}

		inOrg, err := st.People(ctx, store.PersonFilter{OrgID: o.ID})
		if err != nil {
			t.Fatalf("People(org): %v", err)
		}
		if len(inOrg) != 2 {
			t.Errorf("People(org) returned %d people, want 2", len(inOrg))
		}
		found, _ := st.People(ctx, store.PersonFilter{Search: "OKAF"})
		if len(found) != 1 || found[0].ID != p.ID {
			t.Errorf("People(search OKAF) = %d people, want Sarah Okafor only", len(found))
		}
		byAddr, _ := st.People(ctx, store.PersonFilter{Search: "@cps."})
		if len(byAddr) != 1 || byAddr[0].AddressKey != "daniel.price@cps.cjsm.net" {
			t.Errorf("People(search @cps.) = %d people, want daniel.price", len(byAddr))
		}
		limited, _ := st.People(ctx, store.PersonFilter{Limit: 2})
		if len(limited) != 2 {
			t.Errorf("People(limit 2) returned %d", len(limited))
		}

		p.Status, p.ExDirectory, p.Roles = store.StatusSuspended, false, "user"
		inTx(t, st, func(tx *store.Tx) error { return tx.UpdatePerson(ctx, &p) })
		inTx(t, st, func(tx *store.Tx) error {
			got, err = tx.PersonByAddress(ctx, p.AddressKey)
			return err
		})
		if got.Status != store.StatusSuspended || got.ExDirectory || got.Roles != "user" {
			t.Errorf("after UpdatePerson: status %q ex-directory %t roles %q", got.Status,
				got.ExDirectory, got.Roles)
		}

		var taken, free bool
		inTx(t, st, func(tx *store.Tx) error {
			var err error
			if taken, err = tx.AddressTaken(ctx, p.AddressKey); err != nil {
				return err
			}
			free, err = tx.AddressTaken(ctx, "nobody@kent-police.cjsm.net")
			return err
		})
		if !taken || free {
			t.Errorf("AddressTaken: existing %t (want true), unused %t (want false)", taken, free)
		}

		inTx(t, st, func(tx *store.Tx) error { return tx.DeletePerson(ctx, p.ID) })
		if _, err := st.Person(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Person after delete: %v, want ErrNotFound", err)
		}
	})
}

func TestDuplicateAddressIsConflict(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		o := createOrg(t, st, "kent-police", 0)
		const key = "sarah.okafor@kent-police.cjsm.net"
		createPerson(t, st, o.ID, key)
		dup := store.Person{OrgID: o.ID, FirstName: "S", LastName: "O", Address: key,
			AddressKey: key, Status: store.StatusActive}
		err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CreatePerson(ctx, &dup) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("second person %s: err = %v, want ErrConflict", key, err)
		}
		g := store.GroupMailbox{OrgID: o.ID, Name: "G", Address: "g@k", AddressKey: "g@k"}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateGroupMailbox(ctx, &g) })
		g2 := g
		err = st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateGroupMailbox(ctx, &g2) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("second group mailbox g@k: err = %v, want ErrConflict", err)
		}
		l := store.List{OrgID: o.ID, Name: "L", Address: "l@k", AddressKey: "l@k"}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateList(ctx, &l) })
		l2 := l
		err = st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateList(ctx, &l2) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("second list l@k: err = %v, want ErrConflict", err)
		}
	})
}

func TestGroupMailboxAndMembers(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		o := createOrg(t, st, "kent-police", 0)
		tom := createPerson(t, st, o.ID, "tom@kent-police.cjsm.net")
		amy := createPerson(t, st, o.ID, "amy@kent-police.cjsm.net")
		g := store.GroupMailbox{OrgID: o.ID, Name: "Witness Care Unit",
			Address: "witness-care@kent-police.cjsm.net", AddressKey: "witness-care@kent-police.cjsm.net"}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateGroupMailbox(ctx, &g) })

		got, err := st.GroupMailboxByAddress(ctx, g.AddressKey)
		if err != nil || got.ID != g.ID || got.Name != g.Name || got.OrgID != o.ID {
			t.Fatalf("GroupMailboxByAddress = %+v, %v", got, err)
		}
		inTx(t, st, func(tx *store.Tx) error {
			if err := tx.SetGroupMember(ctx, store.GroupMember{GroupID: g.ID, PersonID: tom.ID,
				Read: true, Write: true, Send: true}); err != nil {
				return err
			}
			return tx.SetGroupMember(ctx, store.GroupMember{GroupID: g.ID, PersonID: amy.ID,
				Read: true})
		})
		members, err := st.GroupMembers(ctx, g.ID)
		if err != nil {
			t.Fatalf("GroupMembers: %v", err)
		}
		want := []store.GroupMember{
			{GroupID: g.ID, PersonID: amy.ID, Address: amy.Address, Read: true},
			{GroupID: g.ID, PersonID: tom.ID, Address: tom.Address, Read: true, Write: true,
				Send: true},
		}
		if !reflect.DeepEqual(members, want) {
			t.Errorf("GroupMembers\n got %+v\nwant %+v", members, want)
		}

		// Setting a member again replaces the permissions.
		inTx(t, st, func(tx *store.Tx) error {
			return tx.SetGroupMember(ctx, store.GroupMember{GroupID: g.ID, PersonID: tom.ID,
				Send: true})
		})
		m, err := st.GroupMembership(ctx, g.ID, tom.ID)
		if err != nil {
			t.Fatalf("GroupMembership: %v", err)
		}
		if m.Read || m.Write || !m.Send {
			t.Errorf("after replacing: read %t write %t send %t, want send only", m.Read,
				m.Write, m.Send)
		}

		g.Name = "Witness Care"
		inTx(t, st, func(tx *store.Tx) error { return tx.UpdateGroupMailbox(ctx, &g) })
		if got, _ := st.GroupMailboxByAddress(ctx, g.AddressKey); got.Name != "Witness Care" {
			t.Errorf("after rename: name %q", got.Name)
		}
		if all, _ := st.GroupMailboxes(ctx, o.ID); len(all) != 1 {
			t.Errorf("GroupMailboxes(org) = %d, want 1", len(all))
		}

		inTx(t, st, func(tx *store.Tx) error { return tx.RemoveGroupMember(ctx, g.ID, amy.ID) })
		if _, err := st.GroupMembership(ctx, g.ID, amy.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("membership after removal: %v, want ErrNotFound", err)
		}

		// Removing a person removes their memberships.
		inTx(t, st, func(tx *store.Tx) error { return tx.DeletePerson(ctx, tom.ID) })
		if members, _ := st.GroupMembers(ctx, g.ID); len(members) != 0 {
			t.Errorf("members after deleting the person: %+v, want none", members)
		}

		inTx(t, st, func(tx *store.Tx) error {
			return tx.SetGroupMember(ctx, store.GroupMember{GroupID: g.ID, PersonID: amy.ID,
				Read: true})
		})
		inTx(t, st, func(tx *store.Tx) error { return tx.DeleteGroupMailbox(ctx, g.ID) })
		var left int
		err = st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM group_members").Scan(&left)
		if err != nil || left != 0 {
			t.Errorf("group_members rows after deleting the group: %d (%v), want 0", left, err)
		}
	})
}

func TestListAndMembers(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		o := createOrg(t, st, "cps-south-east", 0)
		l := store.List{OrgID: o.ID, Name: "Youth court", Address: "youth-court@cps.cjsm.net",
			AddressKey: "youth-court@cps.cjsm.net"}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateList(ctx, &l) })
		inTx(t, st, func(tx *store.Tx) error {
			for _, k := range []string{"z@x.cjsm.net", "a@x.cjsm.net", "a@x.cjsm.net"} {
				if err := tx.AddListMember(ctx, l.ID, k); err != nil {
					return err
				}
			}
			return nil
		})
		members, err := st.ListMembers(ctx, l.ID)
		if err != nil {
			t.Fatalf("ListMembers: %v", err)
		}
		if !reflect.DeepEqual(members, []string{"a@x.cjsm.net", "z@x.cjsm.net"}) {
			t.Errorf("ListMembers = %v, want a@ and z@ once each, in order", members)
		}
		got, err := st.ListByAddress(ctx, l.AddressKey)
		if err != nil || got.ID != l.ID || got.Name != "Youth court" {
			t.Errorf("ListByAddress = %+v, %v", got, err)
		}
		l.Name = "Youth court listings"
		inTx(t, st, func(tx *store.Tx) error { return tx.UpdateList(ctx, &l) })
		inTx(t, st, func(tx *store.Tx) error {
			got, err = tx.ListByAddress(ctx, l.AddressKey)
			return err
		})
		if got.Name != "Youth court listings" {
			t.Errorf("after rename: %q", got.Name)
		}
		if all, _ := st.Lists(ctx, o.ID); len(all) != 1 {
			t.Errorf("Lists(org) = %d, want 1", len(all))
		}
		inTx(t, st, func(tx *store.Tx) error { return tx.RemoveListMember(ctx, l.ID, "z@x.cjsm.net") })
		if members, _ := st.ListMembers(ctx, l.ID); len(members) != 1 {
			t.Errorf("after removing z@: %v", members)
		}
		inTx(t, st, func(tx *store.Tx) error { return tx.DeleteList(ctx, l.ID) })
		var left int
		err = st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM list_members").Scan(&left)
		if err != nil || left != 0 {
			t.Errorf("list_members rows after deleting the list: %d (%v), want 0", left, err)
		}
	})
}

func TestConnectorCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		o := createOrg(t, st, "firm", 0)
		c := store.Connector{OrgID: o.ID, Name: "firm-m365",
			InboundCertNames: "mail.firm.example", InboundNetworks: "192.0.2.0/24",
			InboundUsername: "firm", InboundPasswordHash: "$argon2id$x",
			OutboundHost: "mail.firm.example", OutboundPort: 2525,
			OutboundTLSName: "mail.firm.example", OutboundTLSFingerprint: "ab"}
		inTx(t, st, func(tx *store.Tx) error { return tx.CreateConnector(ctx, &c) })
		got, err := st.ConnectorByName(ctx, "firm-m365")
		if err != nil {
			t.Fatalf("ConnectorByName: %v", err)
		}
		want := c
		want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ConnectorByName\n got %+v\nwant %+v", got, want)
		}
		if all, _ := st.Connectors(ctx, o.ID); len(all) != 1 {
			t.Errorf("Connectors(org) = %d, want 1", len(all))
		}
		dup := store.Connector{OrgID: o.ID, Name: "firm-m365", OutboundPort: 25}
		err = st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateConnector(ctx, &dup) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate connector name: %v, want ErrConflict", err)
		}
		inTx(t, st, func(tx *store.Tx) error { return tx.DeleteConnector(ctx, c.ID) })
		if all, _ := st.Connectors(ctx, 0); len(all) != 0 {
			t.Errorf("Connectors after delete = %d, want 0", len(all))
		}
	})
}

func TestMessageCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		o := createOrg(t, st, "firm", 0)
		const blobKey = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		m := store.Message{QueueID: "Q1", Blob: blobKey, Size: 1234,
			MessageID: "<1@firm.example>", Sender: "jane@firm.example.cjsm.net", OrgID: o.ID,
			ReceivedAt: time.Date(2025, 6, 1, 12, 0, 0, 1000, time.UTC)}
		anon := store.Message{QueueID: "Q2", Blob: blobKey, Size: 1234}
		inTx(t, st, func(tx *store.Tx) error {
			if err := tx.CreateMessage(ctx, &m); err != nil {
				return err
			}
			return tx.CreateMessage(ctx, &anon)
		})
		got, err := st.Message(ctx, m.ID)
		if err != nil {
			t.Fatalf("Message: %v", err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("Message\n got %+v\nwant %+v", got, m)
		}
		got, err = st.MessageByQueueID(ctx, "Q2")
		if err != nil {
			t.Fatalf("MessageByQueueID: %v", err)
		}
		if got.ID != anon.ID || got.OrgID != 0 || got.ReceivedAt.IsZero() {
			t.Errorf("message without organisation read back as %+v", got)
		}
		refs, err := st.BlobReferences(ctx)
		if err != nil {
			t.Fatalf("BlobReferences: %v", err)
		}
		if !reflect.DeepEqual(refs, map[string]bool{blobKey: true}) {
			t.Errorf("BlobReferences = %v, want the one key", refs)
		}
		dup := store.Message{QueueID: "Q1", Blob: blobKey, Size: 1}
		err = st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateMessage(ctx, &dup) })
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate queue id: %v, want ErrConflict", err)
		}
		counts, err := st.CountRows(ctx)
		if err != nil {
			t.Fatalf("CountRows: %v", err)
		}
		if counts["messages"] != 2 || counts["organisations"] != 1 {
			t.Errorf("CountRows = %v, want 2 messages and 1 organisation", counts)
		}
	})
}

// A change rolled back leaves no row behind, and neither does its audit row.
func TestInTxRollsBackOnError(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		boom := errors.New("boom")
		err := st.InTx(ctx, func(tx *store.Tx) error {
			o := store.Organisation{Name: "Gone", Slug: "gone", Kind: store.KindHosted,
				Status: store.StatusActive}
			if err := tx.CreateOrganisation(ctx, &o); err != nil {
				return err
			}
			if err := tx.AppendAudit(ctx, &store.AuditEntry{Actor: "system",
				Action: "organisation.create", Target: "org:gone"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx returned %v, want the function's error", err)
		}
		if _, err := st.OrganisationBySlug(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("organisation after rollback: %v, want ErrNotFound", err)
		}
		entries, err := st.AuditEntries(ctx, store.AuditFilter{})
		if err != nil || len(entries) != 0 {
			t.Errorf("audit rows after rollback: %d (%v), want 0", len(entries), err)
		}
	})
}

func slugs(orgs []store.Organisation) []string {
	var out []string
	for _, o := range orgs {
		out = append(out, o.Slug)
	}
	return out
}
