package main

import "testing"

func TestAdminQuotaSetAndShow(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Tom", "--last-name", "Hughes")
	c.ok("group", "create", "--org", "kent-police", "--name", "Witness Care Unit", "witness-care")
	const tom = "tom.hughes@kent-police.cjsm.test"
	const group = "witness-care@kent-police.cjsm.test"

	c.rejects([]string{"quota", "set", "--person", tom}, "give --max SIZE")
	c.rejects([]string{"quota", "set", "--person", tom, "--max", "lots"}, `"lots" is not a size`)
	c.rejects([]string{"quota", "set", "--person", tom, "--org", "kent-police", "--max", "1GB"},
		"give exactly one of")
	c.rejects([]string{"quota", "show"}, "give exactly one of")
	c.rejects([]string{"quota", "set", "--person", "nobody@kent-police.cjsm.test", "--max", "1GB"},
		"nobody@kent-police.cjsm.test")
	runSteps(t, c, []step{
		{[]string{"quota", "set", "--person", tom, "--max", "5GB"},
			[]string{"quota of person " + tom + ": 0 of 5368709120 bytes used (0 bytes of 5.0 GB, 0%)"}, "quota.set"},
		{[]string{"quota", "set", "--group", group, "--max", "500MB"},
			[]string{"quota of group " + group + ": 0 of 524288000 bytes used"}, "quota.set"},
		{[]string{"quota", "set", "--org", "kent-police", "--max", "2048"},
			[]string{"quota of org kent-police: 0 of 2048 bytes used"}, "quota.set"},
		{[]string{"quota", "show", "--person", tom}, []string{"0 of 5368709120 bytes used"}, ""},
		{[]string{"quota", "set", "--person", tom, "--max", "0"},
			[]string{"0 bytes used (0 bytes), no limit"}, "quota.set"},
	})
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1024": 1024, "1KB": 1024, "5gb": 5 << 30, "500 MB": 500 << 20, "2TB": 2 << 40,
		"10B": 10,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5GB", "GB", "99999999999TB", "5 GiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}
