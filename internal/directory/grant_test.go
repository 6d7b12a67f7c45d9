package directory_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/store"
)

func TestGrantMailboxAccessRules(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		mk := func(org, first, addr string) store.Person {
			p, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: org,
				FirstName: first, LastName: "Test", Address: addr})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		tom := mk("kent-police", "Tom", "")
		sue := mk("kent-police", "Sue", "")
		amelia := mk("firm", "Amelia", "amelia@firm.example")
		later := time.Now().Add(24 * time.Hour)
		before := len(auditActions(t, d))

		cases := []struct {
			name, to, of, reason string
			until                time.Time
			want                 []string
		}{
			{"no reason", sue.Address, tom.Address, "  ", later,
				[]string{"reason", "is missing"}},
			{"reason on two lines", sue.Address, tom.Address, "a\nb", later,
				[]string{"reason", "control character"}},
			{"reason too long", sue.Address, tom.Address, strings.Repeat("x", 501), later,
				[]string{"reason", "501 characters", "limit is 500"}},
			{"expiry in the past", sue.Address, tom.Address, "leave",
				time.Now().Add(-time.Minute), []string{"expiry", "is not in the future"}},
			{"grant to the owner", tom.Address, tom.Address, "leave", later,
				[]string{"grantee", "is the mailbox's owner"}},
			{"unknown owner", sue.Address, "ghost@kent-police." + suffix, "leave", later,
				[]string{"ghost@kent-police." + suffix, "not found"}},
			{"unknown grantee", "ghost@kent-police." + suffix, tom.Address, "leave", later,
				[]string{"ghost@kent-police." + suffix, "not found"}},
			{"gateway owner", sue.Address, "amelia@firm.example", "leave", later,
				[]string{"amelia@firm.example", "own mail system"}},
			{"grantee in another organisation", amelia.Address, tom.Address, "leave", later,
				[]string{"grantee", amelia.Address, "outside kent-police"}},
		}
		for _, c := range cases {
			_, err := d.GrantMailboxAccess(t.Context(), operator, c.to, c.of, c.reason, c.until)
			t.Run(c.name, func(t *testing.T) { wantInputError(t, err, c.want...) })
		}
		if n := len(auditActions(t, d)); n != before {
			t.Errorf("rejected grants wrote %d audit rows, want 0", n-before)
		}

		g, err := d.GrantMailboxAccess(t.Context(), operator, sue.Address, tom.Address,
			" long-term sick leave ", later)
		if err != nil {
			t.Fatalf("GrantMailboxAccess: %v", err)
		}
		stored, err := d.Store().MailboxGrant(t.Context(), g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.OwnerID != tom.ID || stored.GranteeID != sue.ID ||
			stored.Reason != "long-term sick leave" || stored.GrantedBy != operator.Name ||
			!stored.ExpiresAt.Equal(later.UTC().Truncate(time.Microsecond)) ||
			!stored.NotifiedAt.IsZero() || !stored.ActiveAt(time.Now()) {
			t.Errorf("stored grant = %+v", stored)
		}
		if err := d.RevokeMailboxAccess(t.Context(), operator, g.ID); err != nil {
			t.Fatalf("RevokeMailboxAccess: %v", err)
		}
		wantInputError(t, d.RevokeMailboxAccess(t.Context(), operator, g.ID), "revoked already")
		wantInputError(t, d.RevokeMailboxAccess(t.Context(), operator, 9999), "not found")
		if g, _ := d.Store().MailboxGrant(t.Context(), g.ID); g.ActiveAt(time.Now()) {
			t.Errorf("revoked grant is still active: %+v", g)
		}

		entries, err := d.Store().AuditEntries(t.Context(), store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		entries = entries[before:]
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		if want := []string{"mailbox.grant", "mailbox.revoke"}; !reflect.DeepEqual(actions, want) {
			t.Fatalf("audit actions = %v, want %v", actions, want)
		}
		if e := entries[0]; e.Target != "person:"+tom.AddressKey ||
			!strings.Contains(e.Detail, "grantee="+sue.AddressKey) ||
			!strings.Contains(e.Detail, "right=read") ||
			!strings.Contains(e.Detail, `reason="long-term sick leave"`) {
			t.Errorf("grant audit row = %+v", e)
		}
		if e := entries[1]; e.Target != "person:"+tom.AddressKey ||
			!strings.Contains(e.Detail, "grantee="+sue.AddressKey) {
			t.Errorf("revoke audit row = %+v", e)
		}
	})
}
