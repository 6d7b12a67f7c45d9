package imapserver

import (
	"strings"
	"testing"
)

func TestSplitShared(t *testing.T) {
	tests := []struct {
		name, address, folder string
		shared                bool
	}{
		{"INBOX", "", "", false},
		{"Sharedfolder", "", "", false},
		{"Shared", "", "", true},
		{"shared", "", "", true},
		{"Shared/", "", "", true},
		{"Shared/team@org.cjsm.test", "team@org.cjsm.test", "", true},
		{"Shared/team@org.cjsm.test/INBOX", "team@org.cjsm.test", "INBOX", true},
		{"SHARED/team@org.cjsm.test/Cases/2025", "team@org.cjsm.test", "Cases/2025", true},
	}
	for _, tc := range tests {
		address, folder, shared := splitShared(tc.name)
		if address != tc.address || folder != tc.folder || shared != tc.shared {
			t.Errorf("splitShared(%q) = %q, %q, %v; want %q, %q, %v", tc.name, address, folder,
				shared, tc.address, tc.folder, tc.shared)
		}
	}
}

func FuzzSplitShared(f *testing.F) {
	for _, s := range []string{"INBOX", "Shared", "Shared/a@b/INBOX", "shared/x", "Shared//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		address, folder, shared := splitShared(name)
		if !shared && (address != "" || folder != "") {
			t.Fatalf("splitShared(%q) returned parts for a personal name", name)
		}
		if shared && strings.Contains(address, "/") {
			t.Fatalf("splitShared(%q) address %q contains the delimiter", name, address)
		}
		if shared && folder != "" && !strings.HasSuffix(name, "/"+folder) {
			t.Fatalf("splitShared(%q) folder %q is not the name's tail", name, folder)
		}
	})
}

func TestParseHeaderText(t *testing.T) {
	got := parseHeaderText("from: alice <a@x>\nreceived: one\nreceived: two\nbroken line\n")
	if len(got["received"]) != 2 || got["from"][0] != "alice <a@x>" || len(got) != 2 {
		t.Errorf("parseHeaderText = %v", got)
	}
}
