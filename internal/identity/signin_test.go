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

// newSignIn returns a sign-in service over a new SQLite store holding one active person,
// with the password "right password", in an active organisation of the given kind.
func newSignIn(t *testing.T, kind, addr string) *SignIn {
	t.Helper()
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
	err = st.InTx(ctx, func(tx *store.Tx) error {
		o := store.Organisation{Name: "Org", Slug: "org", Kind: kind, Status: store.StatusActive}
		if err := tx.CreateOrganisation(ctx, &o); err != nil {
			return err
		}
		p := store.Person{OrgID: o.ID, FirstName: "Test", LastName: "Person", Address: addr,
			AddressKey: addr, Status: store.StatusActive, Roles: store.RoleUser,
			PasswordHash: hash}
		return tx.CreatePerson(ctx, &p)
	})
	if err != nil {
		t.Fatal(err)
	}
	return NewSignIn(st, "cjsm.test", 5, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestSignInHookRunsOnSuccessOnly(t *testing.T) {
	ctx := context.Background()
	const addr = "tom@org.cjsm.test"
	s := newSignIn(t, store.KindHosted, addr)
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
	const addr = "amelia@firm.example.cjsm.test"
	s := newSignIn(t, store.KindGateway, addr)

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
