package identity

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/cjsm/cjsm/internal/store"
)

func TestSignInHookRunsOnSuccessOnly(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "cjsm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := HashPassword("right password")
	if err != nil {
		t.Fatal(err)
	}
	const addr = "tom@org.cjsm.test"
	err = st.InTx(ctx, func(tx *store.Tx) error {
		o := store.Organisation{Name: "Org", Slug: "org", Kind: store.KindHosted,
			Status: store.StatusActive}
		if err := tx.CreateOrganisation(ctx, &o); err != nil {
			return err
		}
		p := store.Person{OrgID: o.ID, FirstName: "Tom", LastName: "Test", Address: addr,
			AddressKey: addr, Status: store.StatusActive, Roles: store.RoleUser,
			PasswordHash: hash}
		return tx.CreatePerson(ctx, &p)
	})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSignIn(st, "cjsm.test", 5, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var calls []string
	s.OnSignIn = func(ctx context.Context, p store.Person) { calls = append(calls, p.AddressKey) }

	if _, err := s.Check(ctx, addr, "wrong password", "imap", "192.0.2.1"); !errors.Is(err,
		ErrBadCredentials) {
		t.Fatalf("Check with a wrong password: err = %v, want ErrBadCredentials", err)
	}
	if len(calls) != 0 {
		t.Errorf("hook ran %d times after a failed sign-in, want 0", len(calls))
	}
	if _, err := s.Check(ctx, addr, "right password", "imap", "192.0.2.1"); err != nil {
		t.Fatalf("Check with the right password: %v", err)
	}
	if len(calls) != 1 || calls[0] != addr {
		t.Errorf("hook calls after a successful sign-in = %v, want [%s]", calls, addr)
	}
}

func TestGatewayPeopleCannotReadMailboxes(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "cjsm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := HashPassword("right password")
	if err != nil {
		t.Fatal(err)
	}
	const addr = "amelia@firm.example.cjsm.test"
	err = st.InTx(ctx, func(tx *store.Tx) error {
		o := store.Organisation{Name: "Firm", Slug: "firm", Kind: store.KindGateway,
			Status: store.StatusActive}
		if err := tx.CreateOrganisation(ctx, &o); err != nil {
			return err
		}
		p := store.Person{OrgID: o.ID, FirstName: "Amelia", LastName: "Test", Address: addr,
			AddressKey: addr, Status: store.StatusActive, Roles: store.RoleUser,
			PasswordHash: hash}
		return tx.CreatePerson(ctx, &p)
	})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSignIn(st, "cjsm.test", 5, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, protocol := range []string{"imap", "pop3"} {
		if _, err := s.Check(ctx, addr, "right password", protocol, "192.0.2.1"); !errors.Is(err, ErrNotHosted) {
			t.Errorf("%s sign-in of a gateway person: err = %v, want ErrNotHosted", protocol, err)
		}
	}
	if _, err := s.Check(ctx, addr, "wrong password", "imap", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a wrong password must fail as such before the organisation is looked at: %v", err)
	}
	if _, err := s.Check(ctx, addr, "right password", "smtp", "192.0.2.1"); err != nil {
		t.Errorf("submission sign-in of a gateway person: %v", err)
	}
}
