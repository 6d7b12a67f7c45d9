package demo_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/demo"
	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/store"
)

func setup(t *testing.T, dir string) *demo.Demo {
	t.Helper()
	d, err := demo.Setup(context.Background(), dir)
	if err != nil {
		t.Fatalf("demo.Setup(%s): %v", dir, err)
	}
	return d
}

func openStore(t *testing.T, d *demo.Demo) *store.Store {
	t.Helper()
	cfg, err := config.Load(d.ConfigPath)
	if err != nil {
		t.Fatalf("config.Load(%s): %v", d.ConfigPath, err)
	}
	st, err := store.Open(context.Background(), cfg.Store.DSN)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Running Setup again on the same directory reuses everything: the same accounts, the same
// certificate authority and no second copy of any organisation.
func TestSetupTwiceReusesDirectory(t *testing.T) {
	t.Setenv("CJSM_STORE_DSN", "")
	dir := filepath.Join(t.TempDir(), "demo")
	first := setup(t, dir)
	ca, err := os.ReadFile(first.CACert)
	if err != nil {
		t.Fatalf("read CA certificate: %v", err)
	}
	second := setup(t, dir)

	if len(first.Accounts) == 0 {
		t.Fatal("Setup made no accounts")
	}
	if !reflect.DeepEqual(first.Accounts, second.Accounts) {
		t.Errorf("accounts differ between runs:\n first %+v\nsecond %+v", first.Accounts,
			second.Accounts)
	}
	if caAgain, _ := os.ReadFile(second.CACert); string(caAgain) != string(ca) {
		t.Errorf("second Setup replaced the CA certificate")
	}

	st := openStore(t, second)
	orgs, err := st.Organisations(t.Context(), 0)
	if err != nil {
		t.Fatalf("Organisations: %v", err)
	}
	seen := map[string]bool{}
	for _, o := range orgs {
		if seen[o.Name] {
			t.Errorf("organisation %q exists twice", o.Name)
		}
		seen[o.Name] = true
	}
	if len(orgs) != 5 {
		t.Errorf("demo has %d organisations, want 5", len(orgs))
	}
	if _, err := st.OrganisationBySlug(t.Context(), "kent-police"); err != nil {
		t.Errorf("kent-police: %v", err)
	}
	_, _, problems, err := st.VerifyAudit(t.Context())
	if err != nil || len(problems) != 0 {
		t.Errorf("demo audit trail: %v, %v", problems, err)
	}
}

// Every account that Setup lists can sign in with its password.
func TestSetupAccountsMatchStoredPasswords(t *testing.T) {
	t.Setenv("CJSM_STORE_DSN", "")
	d := setup(t, filepath.Join(t.TempDir(), "demo"))
	st := openStore(t, d)
	for _, a := range d.Accounts {
		p, err := st.PersonByAddress(t.Context(), strings.ToLower(a.Address))
		if err != nil {
			t.Errorf("account %s has no person: %v", a.Address, err)
			continue
		}
		if err := identity.VerifyPassword(p.PasswordHash, a.Password); err != nil {
			t.Errorf("account %s: password does not verify: %v", a.Address, err)
		}
		if !strings.Contains(p.Roles, a.Role) {
			t.Errorf("account %s: roles %q lack %q", a.Address, p.Roles, a.Role)
		}
		if err := identity.CheckNewPassword(a.Password); err != nil {
			t.Errorf("account %s: demo password breaks the password rules: %v", a.Address, err)
		}
	}
	info, err := os.Stat(filepath.Join(d.Dir, "accounts.json"))
	if err != nil {
		t.Fatalf("accounts.json: %v", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		t.Errorf("accounts.json holds passwords but has mode %v", info.Mode().Perm())
	}
}

func TestSetupConfigLoads(t *testing.T) {
	t.Setenv("CJSM_STORE_DSN", "")
	d := setup(t, filepath.Join(t.TempDir(), "demo"))
	cfg, err := config.Load(d.ConfigPath)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	if cfg.CommunitySuffix != demo.Suffix {
		t.Errorf("community_suffix = %q, want %q", cfg.CommunitySuffix, demo.Suffix)
	}
	if !strings.HasPrefix(cfg.Store.DSN, "sqlite:"+d.Dir) {
		t.Errorf("store.dsn = %q, want SQLite inside %s", cfg.Store.DSN, d.Dir)
	}
	for name, addr := range map[string]string{"smtp": cfg.Listen.SMTP,
		"submission": cfg.Listen.Submission, "submissions": cfg.Listen.Submissions,
		"http": cfg.Listen.HTTP} {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("listen.%s = %q, want loopback only", name, addr)
		}
	}
}
