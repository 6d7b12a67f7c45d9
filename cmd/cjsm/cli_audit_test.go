package main

import (
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/testenv"
)

// eachCLI runs fn with a CLI over SQLite and over PostgreSQL, as subtests. The PostgreSQL
// subtest skips when PostgreSQL is not installed, unless CJSM_REQUIRE_PEERS=1.
func eachCLI(t *testing.T, fn func(t *testing.T, c *cli)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newCLI(t, "")) })
	t.Run("postgres", func(t *testing.T) { fn(t, newCLI(t, testenv.PostgreSQL(t))) })
}

// auditedCLI returns a CLI whose audit trail has four rows.
func auditedCLI(t *testing.T, c *cli) *cli {
	t.Helper()
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	c.ok("org", "update", "kent-police", "--status", "active")
	c.ok("org", "update", "kent-police", "--postcode", "ME15 9BZ")
	c.ok("org", "update", "kent-police", "--sector", "police")
	out := c.ok("audit", "verify")
	contains(t, "audit verify", out, "audit trail intact: 4 rows")
	return c
}

func TestAuditVerifyReportsEditedRow(t *testing.T) {
	eachCLI(t, func(t *testing.T, c *cli) {
		auditedCLI(t, c)
		st := c.store()
		if _, err := st.DB().ExecContext(t.Context(),
			"UPDATE audit_log SET detail = 'status=closed' WHERE seq = 2"); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := c.run("audit", "verify")
		if code == 0 {
			t.Fatalf("audit verify exited 0 after an edit:\n%s", out)
		}
		contains(t, "audit verify", out, "audit row 2: contents do not match the row's hash")
		if strings.Contains(out, "audit row 1:") || strings.Contains(out, "audit row 3:") {
			t.Errorf("audit verify blames rows that were not touched:\n%s", out)
		}
		contains(t, "audit verify stderr", errOut, "audit trail is broken", "in 4 rows")
	})
}

func TestAuditVerifyReportsDeletedRow(t *testing.T) {
	eachCLI(t, func(t *testing.T, c *cli) {
		auditedCLI(t, c)
		st := c.store()
		if _, err := st.DB().ExecContext(t.Context(), "DELETE FROM audit_log WHERE seq = 2"); err != nil {
			t.Fatal(err)
		}
		out, _, code := c.run("audit", "verify")
		if code == 0 {
			t.Fatalf("audit verify exited 0 after a deletion:\n%s", out)
		}
		contains(t, "audit verify", out, "audit row 3: rows 2 to 2 are missing",
			"audit row 3: previous-hash link does not match")
	})
}
