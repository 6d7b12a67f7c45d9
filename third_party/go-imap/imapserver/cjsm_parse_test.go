package imapserver

// cjsm patch: tests of the parsers added for CONDSTORE and SORT.

import (
	"bufio"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func decoder(s string) *imapwire.Decoder {
	return imapwire.NewDecoder(bufio.NewReader(strings.NewReader(s)), imapwire.ConnSideServer)
}

func TestReadFetchModifiers(t *testing.T) {
	tests := []struct {
		in      string
		since   uint64
		wantErr bool
	}{
		{"\r\n", 0, false},
		{" (CHANGEDSINCE 12345)\r\n", 12345, false},
		{" (changedsince 7)\r\n", 7, false},
		{" (CHANGEDSINCE 0)\r\n", 0, true},
		{" (CHANGEDSINCE)\r\n", 0, true},
		{" (CHANGEDSINCE -1)\r\n", 0, true},
		{" (CHANGEDSINCE 99999999999999999999999)\r\n", 0, true},
		{" (VANISHED)\r\n", 0, true},
		{" CHANGEDSINCE 5\r\n", 0, true},
	}
	for _, tt := range tests {
		var options imap.FetchOptions
		err := readFetchModifiers(decoder(tt.in), &options)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && options.ChangedSince != tt.since {
			t.Errorf("%q: CHANGEDSINCE = %d, want %d", tt.in, options.ChangedSince, tt.since)
		}
		if err == nil && tt.since > 0 && !options.ModSeq {
			t.Errorf("%q: CHANGEDSINCE did not imply MODSEQ", tt.in)
		}
	}
}

func TestReadStoreModifiers(t *testing.T) {
	tests := []struct {
		in          string
		conditional bool
		since       uint64
		wantErr     bool
	}{
		{"+FLAGS (\\Seen)", false, 0, false},
		{"(UNCHANGEDSINCE 320162338) +FLAGS", true, 320162338, false},
		{"(UNCHANGEDSINCE 0) +FLAGS", true, 0, false},
		{"(UNCHANGEDSINCE x) +FLAGS", false, 0, true},
		{"(NOSUCH 1) +FLAGS", false, 0, true},
		{"(UNCHANGEDSINCE 1)+FLAGS", false, 0, true},
	}
	for _, tt := range tests {
		var options imap.StoreOptions
		found, err := readStoreModifiers(decoder(tt.in), &options)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if found != tt.conditional || options.Conditional != tt.conditional ||
			options.UnchangedSince != tt.since {
			t.Errorf("%q: found %v, options %+v; want conditional %v since %d", tt.in, found,
				options, tt.conditional, tt.since)
		}
	}
}

func TestReadSearchModSeq(t *testing.T) {
	tests := []struct {
		in      string
		want    imap.SearchCriteriaModSeq
		wantErr bool
	}{
		{"MODSEQ 620162338", imap.SearchCriteriaModSeq{ModSeq: 620162338}, false},
		{`MODSEQ "/flags/\\draft" all 620162338`, imap.SearchCriteriaModSeq{ModSeq: 620162338,
			MetadataName: `/flags/\draft`, MetadataType: imap.SearchCriteriaMetadataAll}, false},
		{`MODSEQ "/flags/\\seen" PRIV 0`, imap.SearchCriteriaModSeq{
			MetadataName: `/flags/\seen`, MetadataType: imap.SearchCriteriaMetadataPrivate}, false},
		{`MODSEQ "/flags/\\seen" nobody 5`, imap.SearchCriteriaModSeq{}, true},
		{"MODSEQ", imap.SearchCriteriaModSeq{}, true},
		{"MODSEQ abc", imap.SearchCriteriaModSeq{}, true},
	}
	for _, tt := range tests {
		var c imap.SearchCriteria
		err := readSearchKey(&c, decoder(tt.in+"\r\n"))
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && (c.ModSeq == nil || *c.ModSeq != tt.want) {
			t.Errorf("%q: ModSeq = %+v, want %+v", tt.in, c.ModSeq, tt.want)
		}
	}
	var c imap.SearchCriteria
	if err := readSearchKey(&c, decoder("NOT MODSEQ 5\r\n")); err != nil || !hasModSeq(&c) {
		t.Errorf("NOT MODSEQ 5: err %v, hasModSeq %v; want nil, true", err, hasModSeq(&c))
	}
	if err := readSearchKey(&c, decoder("BOGUS\r\n")); err == nil {
		t.Error("an unknown search key was accepted")
	}
}

// FuzzParsers feeds arbitrary client input to every parser added here: none may panic,
// and each must either accept or return an error.
func FuzzParsers(f *testing.F) {
	for _, seed := range []string{
		" (CHANGEDSINCE 1)", "(UNCHANGEDSINCE 0) +FLAGS", `MODSEQ "/flags/\\seen" all 3`,
		"NOT (MODSEQ 1 OR MODSEQ 2 MODSEQ 3)", " ((((", "MODSEQ \"\x00\" all 1", "(",
		"(REVERSE SUBJECT DATE) UTF-8 ALL",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var fo imap.FetchOptions
		readFetchModifiers(decoder(in+"\r\n"), &fo)
		var so imap.StoreOptions
		readStoreModifiers(decoder(in+"\r\n"), &so)
		var c imap.SearchCriteria
		if readSearchKey(&c, decoder(in+"\r\n")) == nil {
			hasModSeq(&c)
		}
	})
}
