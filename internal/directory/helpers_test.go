package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/store"
	"github.com/cjsm/cjsm/internal/testenv"
)

const suffix = "cjsm.test"

var operator = directory.Actor{Name: "operator:test", Source: "cli"}

func TestMain(m *testing.M) {
	defer testenv.Cleanup()
	m.Run()
}

// eachService runs fn as the subtests "sqlite" and "postgres", each with a directory service
// over its own new store. The PostgreSQL subtest skips when PostgreSQL is not installed,
// unless CJSM_REQUIRE_PEERS=1.
func eachService(t *testing.T, fn func(t *testing.T, d *directory.Service)) {
	t.Helper()
	backends := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string {
			return "sqlite:" + filepath.Join(t.TempDir(), "cjsm.db")
		}},
		{"postgres", func(t *testing.T) string { return testenv.PostgreSQL(t) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st, err := store.Open(context.Background(), b.dsn(t))
			if err != nil {
				t.Fatalf("store.Open: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, directory.New(st, suffix))
		})
	}
}

// wantInputError checks that err is an InputError whose message contains every part.
func wantInputError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error, want an input error containing %q", parts)
		return
	}
	var ie *directory.InputError
	if !errors.As(err, &ie) {
		t.Errorf("error %v (%T) is not an InputError", err, err)
		return
	}
	if !directory.IsInputError(err) {
		t.Errorf("IsInputError(%v) = false", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func mustOrg(t *testing.T, d *directory.Service, in directory.OrgInput) {
	t.Helper()
	if in.Status == "" {
		in.Status = store.StatusActive
	}
	if _, err := d.CreateOrganisation(t.Context(), operator, in); err != nil {
		t.Fatalf("CreateOrganisation(%s): %v", in.Slug, err)
	}
}

// community builds a small community: hosted kent-police, gateway firm with the verified
// domain firm.example, and gateway other with other.example.
func community(t *testing.T, d *directory.Service) {
	t.Helper()
	mustOrg(t, d, directory.OrgInput{Name: "Kent Police", Slug: "kent-police", Kind: "hosted"})
	mustOrg(t, d, directory.OrgInput{Name: "Harbour & Reed", Slug: "firm", Kind: "gateway"})
	mustOrg(t, d, directory.OrgInput{Name: "Other Firm", Slug: "other", Kind: "gateway"})
	for org, domain := range map[string]string{"firm": "firm.example", "other": "other.example"} {
		if _, err := d.AddDomain(t.Context(), operator, org, domain); err != nil {
			t.Fatalf("AddDomain(%s): %v", domain, err)
		}
	}
}

// auditActions returns the action of every audit row, in order.
func auditActions(t *testing.T, d *directory.Service) []string {
	t.Helper()
	entries, err := d.Store().AuditEntries(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatalf("AuditEntries: %v", err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
