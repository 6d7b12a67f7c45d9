package directory_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/store"
)

func TestGroupMembershipReview(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		var people []store.Person
		for _, first := range []string{"Tom", "Sue", "Ann"} {
			p, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{
				Org: "kent-police", FirstName: first, LastName: "Test"})
			if err != nil {
				t.Fatal(err)
			}
			people = append(people, p)
		}
		tom, sue, ann := people[0], people[1], people[2]
		g, err := d.CreateGroupMailbox(t.Context(), operator, "kent-police", "WCU", "wcu")
		if err != nil {
			t.Fatal(err)
		}
		other, err := d.CreateGroupMailbox(t.Context(), operator, "kent-police", "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for _, p := range []store.Person{tom, sue} {
			if err := d.SetGroupMember(t.Context(), operator, g.Address, p.Address, true,
				false, false); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.SetGroupMember(t.Context(), operator, other.Address, ann.Address, true,
			true, true); err != nil {
			t.Fatal(err)
		}
		// A membership from before schema version 4 has no added time.
		_, err = d.Store().DB().ExecContext(t.Context(),
			"UPDATE group_members SET added_at = 0 WHERE person_id = "+
				strconv.FormatInt(sue.ID, 10))
		if err != nil {
			t.Fatal(err)
		}

		rows, err := d.ReviewGroupMembers(t.Context(), g.Address, 0)
		if err != nil {
			t.Fatalf("ReviewGroupMembers: %v", err)
		}
		if got := reviewPeople(rows); !reflect.DeepEqual(got, []string{sue.Address, tom.Address}) {
			t.Errorf("review of %s = %v, want sue and tom", g.Address, got)
		}
		for _, r := range rows {
			if !r.ConfirmedAt.IsZero() || r.ConfirmedBy != "" || !r.Read || r.Write {
				t.Errorf("unconfirmed membership = %+v", r)
			}
			if r.PersonID == tom.ID && r.AddedAt.Before(start.Truncate(time.Microsecond)) {
				t.Errorf("tom's membership added at %v, before the test started at %v",
					r.AddedAt, start)
			}
		}
		rows, err = d.ReviewGroupMembers(t.Context(), "", 0)
		if err != nil || len(rows) != 3 {
			t.Errorf("review of every group = %d rows, %v; want 3", len(rows), err)
		}

		// Sue's membership is of unknown age and never confirmed, so it is overdue; tom's
		// and ann's were added moments ago.
		rows, err = d.ReviewGroupMembers(t.Context(), "", 90*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if got := reviewPeople(rows); !reflect.DeepEqual(got, []string{sue.Address}) {
			t.Errorf("overdue after 90 days = %v, want only sue", got)
		}
		time.Sleep(20 * time.Millisecond)
		rows, _ = d.ReviewGroupMembers(t.Context(), "", 10*time.Millisecond)
		if len(rows) != 3 {
			t.Errorf("overdue after 10ms = %v, want all 3", reviewPeople(rows))
		}

		before := len(auditActions(t, d))
		if err := d.ConfirmGroupMember(t.Context(), operator, g.Address, sue.Address); err != nil {
			t.Fatalf("ConfirmGroupMember: %v", err)
		}
		err = d.ConfirmGroupMember(t.Context(), operator, g.Address, ann.Address)
		wantInputError(t, err, ann.Address, "is not a member of "+g.Address)
		err = d.ConfirmGroupMember(t.Context(), operator, "nogroup@kent-police."+suffix, sue.Address)
		wantInputError(t, err, "nogroup@kent-police."+suffix, "not found")
		if got := auditActions(t, d)[before:]; !reflect.DeepEqual(got,
			[]string{"group.member.confirm"}) {
			t.Errorf("audit actions = %v, want one group.member.confirm", got)
		}

		rows, _ = d.ReviewGroupMembers(t.Context(), g.Address, 0)
		for _, r := range rows {
			if r.PersonID != sue.ID {
				continue
			}
			if r.ConfirmedAt.IsZero() || r.ConfirmedBy != operator.Name ||
				!r.LastReviewed().Equal(r.ConfirmedAt) {
				t.Errorf("confirmed membership = %+v", r)
			}
		}
		rows, _ = d.ReviewGroupMembers(t.Context(), "", 90*24*time.Hour)
		if len(rows) != 0 {
			t.Errorf("overdue after confirming sue = %v, want none", reviewPeople(rows))
		}

		// Changing a member's permissions keeps the time the membership was added.
		rows, _ = d.ReviewGroupMembers(t.Context(), g.Address, 0)
		added := rows[1].AddedAt
		time.Sleep(5 * time.Millisecond)
		if err := d.SetGroupMember(t.Context(), operator, g.Address, tom.Address, true, true,
			false); err != nil {
			t.Fatal(err)
		}
		rows, _ = d.ReviewGroupMembers(t.Context(), g.Address, 0)
		if !rows[1].AddedAt.Equal(added) || !rows[1].Write {
			t.Errorf("after member-set tom's membership = %+v, want added at %v with write",
				rows[1], added)
		}

		_, err = d.ReviewGroupMembers(t.Context(), "nogroup@kent-police."+suffix, 0)
		wantInputError(t, err, "not found")
		_, err = d.ReviewGroupMembers(t.Context(), "", -time.Hour)
		wantInputError(t, err, "overdue", "is negative")
	})
}

func reviewPeople(rows []store.GroupMembershipReview) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.ToLower(r.PersonAddress))
	}
	return out
}
