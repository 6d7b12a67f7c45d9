package imapserver

import (
	"net/mail"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"
)

// Sort handles SORT and UID SORT (RFC 5256 section 3). It finds the messages as SEARCH does,
// then orders them by the sort keys, and by sequence number where every key ties. Header
// keys read the header text the mailbox service extracted for SEARCH, decoded from RFC 2047.
// Strings compare with the i;ascii-casemap collation (RFC 4790 section 9.2): octet by octet
// after mapping a to z to upper case.
//
// NOTE: the extracted text is already folded to lower case with Unicode rules, so two
// non-ASCII subjects that differ only in case sort as equal, where i;ascii-casemap keeps
// them apart.
func (s *session) Sort(kind goimapserver.NumKind, keys []goimapserver.SortCriterion,
	criteria *imap.SearchCriteria) (*goimapserver.SortData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	keys = dedupeSortKeys(keys)
	// Sort keys need the internal date and size, so the whole folder is read.
	hits, ev, err := s.search(ctx, criteria, true)
	if err != nil {
		return nil, s.mapErr(err)
	}
	needHeaders := false
	for _, k := range keys {
		switch k.Key {
		case goimapserver.SortKeyArrival, goimapserver.SortKeySize:
		default:
			needHeaders = true
		}
	}
	if needHeaders && ev.headers == nil {
		if ev.headers, err = s.svc().HeaderTexts(ctx, s.personID, s.sel.mbox); err != nil {
			return nil, s.mapErr(err)
		}
	}
	// Each key is computed once per message, before sorting.
	entries := make([]sortEntry, len(hits))
	for i, uid := range hits {
		m := ev.message(uid)
		e := sortEntry{uid: uid, seq: s.sel.seqOf(uid), arrival: m.InternalDate, size: m.Size}
		if needHeaders {
			fields := parseHeaderText(ev.headers[uid])
			e.sent = sentDate(fields, m.InternalDate)
			e.from = casemap(firstMailbox(fields, "from"))
			e.to = casemap(firstMailbox(fields, "to"))
			e.cc = casemap(firstMailbox(fields, "cc"))
			e.subject = casemap(baseSubject(first(fields, "subject")))
		}
		entries[i] = e
	}
	sort.SliceStable(entries, func(i, j int) bool {
		for _, k := range keys {
			c := compareBy(k.Key, &entries[i], &entries[j])
			if k.Reverse {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return entries[i].seq < entries[j].seq
	})
	data := &goimapserver.SortData{Nums: make([]uint32, len(entries))}
	for i, e := range entries {
		if kind == goimapserver.NumKindUID {
			data.Nums[i] = uint32(e.uid)
		} else {
			data.Nums[i] = e.seq
		}
	}
	if usesModSeq(criteria) {
		data.ModSeq = ev.highestModSeq(hits)
	}
	return data, nil
}

// dedupeSortKeys drops every key after its first use: once messages are ordered by a key,
// the same key cannot order them further.
func dedupeSortKeys(keys []goimapserver.SortCriterion) []goimapserver.SortCriterion {
	seen := map[goimapserver.SortKey]bool{}
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k.Key] {
			seen[k.Key] = true
			out = append(out, k)
		}
	}
	return out
}

// sortEntry is one message being sorted, with its sort keys.
type sortEntry struct {
	uid                   int64
	seq                   uint32
	arrival, sent         time.Time
	size                  int64
	from, to, cc, subject string
}

func compareBy(key goimapserver.SortKey, a, b *sortEntry) int {
	switch key {
	case goimapserver.SortKeyArrival:
		return a.arrival.Compare(b.arrival)
	case goimapserver.SortKeySize:
		return cmpInt64(a.size, b.size)
	case goimapserver.SortKeyDate:
		return a.sent.Compare(b.sent)
	case goimapserver.SortKeyFrom:
		return strings.Compare(a.from, b.from)
	case goimapserver.SortKeyTo:
		return strings.Compare(a.to, b.to)
	case goimapserver.SortKeyCc:
		return strings.Compare(a.cc, b.cc)
	case goimapserver.SortKeySubject:
		return strings.Compare(a.subject, b.subject)
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// casemap maps the ASCII letters a to z to upper case and leaves every other byte alone,
// as the i;ascii-casemap collation does before comparing octets.
func casemap(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

func first(fields map[string][]string, name string) string {
	if v := fields[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// sentDate is the Date field in UTC, or the arrival time when the field is missing or
// cannot be parsed (RFC 5256 section 3, DATE).
func sentDate(fields map[string][]string, arrival time.Time) time.Time {
	if t, err := mail.ParseDate(first(fields, "date")); err == nil {
		return t.UTC()
	}
	return arrival.UTC()
}

// firstMailbox is the local part (addr-mailbox) of the field's first address, "" when the
// field is missing or holds no address (RFC 5256 section 3, FROM, TO and CC).
func firstMailbox(fields map[string][]string, name string) string {
	v := first(fields, name)
	if v == "" {
		return ""
	}
	if list, err := mail.ParseAddressList(v); err == nil && len(list) > 0 {
		local, _, _ := strings.Cut(list[0].Address, "@")
		return local
	}
	local, _, _ := strings.Cut(strings.TrimSpace(v), "@")
	return strings.Trim(local, "<>\" ")
}

// baseSubject returns the base subject of RFC 5256 section 2.1, used to sort by SUBJECT:
// the subject without reply and forward markers ("Re:", "Fw:", "Fwd:", "[list]" tags
// before them, a trailing "(fwd)") and without a "[Fwd: ...]" wrapper. subject must already
// be decoded and have its runs of white space collapsed; the result keeps its case.
func baseSubject(subject string) string {
	s := strings.TrimSpace(subject)
	for {
		// Step 2: trailing "(fwd)" and white space.
		for {
			t := strings.TrimRightFunc(s, unicode.IsSpace)
			if !hasSuffixFold(t, "(fwd)") {
				s = t
				break
			}
			s = t[:len(t)-len("(fwd)")]
		}
		// Steps 3 to 5: leading subj-refwd and subj-blob, until neither can be removed.
		for {
			t := strings.TrimLeftFunc(s, unicode.IsSpace)
			if r, ok := trimRefwd(t); ok {
				s = r
				continue
			}
			if r, ok := trimBlob(t); ok && strings.TrimSpace(r) != "" {
				s = r
				continue
			}
			s = t
			break
		}
		// Step 6: a "[fwd:" ... "]" wrapper.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && strings.HasSuffix(s, "]") {
			s = strings.TrimSpace(s[5 : len(s)-1])
			continue
		}
		return s
	}
}

// trimRefwd removes subj-refwd: ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
func trimRefwd(s string) (string, bool) {
	var n int
	switch {
	case hasPrefixFold(s, "fwd"):
		n = 3
	case hasPrefixFold(s, "fw"), hasPrefixFold(s, "re"):
		n = 2
	default:
		return s, false
	}
	rest := strings.TrimLeftFunc(s[n:], unicode.IsSpace)
	if r, ok := trimBlob(rest); ok {
		rest = r
	}
	if !strings.HasPrefix(rest, ":") {
		return s, false
	}
	return rest[1:], true
}

// trimBlob removes subj-blob: "[" *BLOBCHAR "]" *WSP, where BLOBCHAR excludes "[" and "]".
func trimBlob(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return s, false
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return s, false
	}
	return strings.TrimLeftFunc(s[end+2:], unicode.IsSpace), true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
