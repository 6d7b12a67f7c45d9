package main

import "testing"

func TestAdminListOwnersAndModeration(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Tom", "--last-name", "Hughes")
	c.ok("list", "create", "--org", "kent-police", "--name", "Youth court", "youth-court")
	const tom = "tom.hughes@kent-police.cjsm.test"
	const list = "youth-court@kent-police.cjsm.test"

	c.rejects([]string{"list", "update", list, "--moderated", "true"}, "has no owners",
		"owner-add")
	c.rejects([]string{"list", "update", list, "--moderated", "maybe"},
		`--moderated "maybe" is not true or false`)
	c.rejects([]string{"list", "update", list}, "give --name, --moderated or both")
	c.rejects([]string{"list", "owner-add", list}, "give LIST-ADDRESS PERSON-ADDRESS")
	runSteps(t, c, []step{
		{[]string{"list", "owner-add", list, tom}, []string{tom + " now owns " + list},
			"list.owner.add"},
		{[]string{"list", "update", list, "--moderated", "true"},
			[]string{"distribution list " + list + ": moderated=true"}, "list.update"},
		{[]string{"list", "show", list}, []string{"moderated: true", "owners:\n  " + tom}, ""},
	})
	c.rejects([]string{"list", "owner-remove", list, tom}, "last owner of the moderated list")
	runSteps(t, c, []step{
		{[]string{"list", "update", list, "--moderated", "false"},
			[]string{"distribution list " + list + ": moderated=false"}, "list.update"},
		{[]string{"list", "owner-remove", list, tom}, []string{tom + " no longer owns " + list},
			"list.owner.remove"},
		{[]string{"list", "show", list}, []string{"moderated: false"}, ""},
	})
}
