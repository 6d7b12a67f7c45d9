package directory_test

import (
	"reflect"
	"testing"

	"github.com/cjsm/cjsm/internal/directory"
)

func TestListOwnersAndModeration(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		tom, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{
			Org: "kent-police", FirstName: "Tom", LastName: "Hughes"})
		if err != nil {
			t.Fatal(err)
		}
		amelia, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: "firm",
			FirstName: "Amelia", LastName: "Hart", Address: "amelia@firm.example"})
		if err != nil {
			t.Fatal(err)
		}
		l, err := d.CreateList(t.Context(), operator, "kent-police", "Youth court", "youth-court")
		if err != nil {
			t.Fatal(err)
		}
		before := len(auditActions(t, d))

		err = d.SetListModerated(t.Context(), operator, l.Address, true)
		wantInputError(t, err, l.Address, "has no owners", "owner-add")

		// A gateway person can be named by the plain address.
		for _, p := range []string{tom.Address, "amelia@firm.example", tom.Address} {
			if err := d.AddListOwner(t.Context(), operator, l.Address, p); err != nil {
				t.Errorf("AddListOwner(%s): %v", p, err)
			}
		}
		owners, err := d.Store().ListOwners(t.Context(), l.ID)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, o := range owners {
			keys = append(keys, o.AddressKey)
		}
		if want := []string{amelia.AddressKey, tom.AddressKey}; !reflect.DeepEqual(keys, want) {
			t.Errorf("ListOwners = %v, want %v", keys, want)
		}
		err = d.AddListOwner(t.Context(), operator, l.Address, "ghost@kent-police."+suffix)
		wantInputError(t, err, "ghost@kent-police."+suffix, "not found")
		err = d.AddListOwner(t.Context(), operator, "nolist@kent-police."+suffix, tom.Address)
		wantInputError(t, err, "nolist@kent-police."+suffix, "not found")

		if err := d.SetListModerated(t.Context(), operator, l.Address, true); err != nil {
			t.Fatalf("SetListModerated(true): %v", err)
		}
		if m, err := d.Store().ListModerated(t.Context(), l.ID); err != nil || !m {
			t.Errorf("ListModerated = %t, %v; want true", m, err)
		}
		if err := d.RemoveListOwner(t.Context(), operator, l.Address, amelia.Address); err != nil {
			t.Errorf("RemoveListOwner(amelia): %v", err)
		}
		err = d.RemoveListOwner(t.Context(), operator, l.Address, amelia.Address)
		wantInputError(t, err, "is not an owner of "+l.Address)
		err = d.RemoveListOwner(t.Context(), operator, l.Address, tom.Address)
		wantInputError(t, err, tom.Address, "last owner of the moderated list")
		if owners, _ := d.Store().ListOwners(t.Context(), l.ID); len(owners) != 1 {
			t.Errorf("after the rejected removal the list has %d owners, want 1", len(owners))
		}

		if err := d.SetListModerated(t.Context(), operator, l.Address, false); err != nil {
			t.Fatalf("SetListModerated(false): %v", err)
		}
		if err := d.RemoveListOwner(t.Context(), operator, l.Address, tom.Address); err != nil {
			t.Errorf("RemoveListOwner(last owner of an unmoderated list): %v", err)
		}

		got := auditActions(t, d)[before:]
		want := []string{"list.owner.add", "list.owner.add", "list.owner.add", "list.update",
			"list.owner.remove", "list.update", "list.owner.remove"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("audit actions = %v, want %v", got, want)
		}
	})
}
