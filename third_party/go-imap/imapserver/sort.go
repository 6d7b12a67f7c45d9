package imapserver

// cjsm patch: server side of SORT (RFC 5256). Not in upstream go-imap v2.0.0-beta.8.

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SortKey is a SORT key (RFC 5256 section 3).
type SortKey string

// Sort keys of RFC 5256.
const (
	SortKeyArrival SortKey = "ARRIVAL"
	SortKeyCc      SortKey = "CC"
	SortKeyDate    SortKey = "DATE"
	SortKeyFrom    SortKey = "FROM"
	SortKeySize    SortKey = "SIZE"
	SortKeySubject SortKey = "SUBJECT"
	SortKeyTo      SortKey = "TO"
)

// SortCriterion is one sort key, optionally reversed.
type SortCriterion struct {
	Key     SortKey
	Reverse bool
}

// SortData is the result of SORT: message numbers in order, and, when the search used
// the MODSEQ key, the highest MODSEQ of the messages found (RFC 7162 section 3.1.5).
type SortData struct {
	Nums   []uint32
	ModSeq uint64
}

// SessionSort is a session that supports SORT. The server advertises SORT only when the
// session implements it and the server options list imap.CapSort.
type SessionSort interface {
	Session
	// Sort returns the messages matching criteria, ordered by sortCriteria, then by
	// sequence number. Nums holds UIDs when kind is NumKindUID.
	Sort(kind NumKind, sortCriteria []SortCriterion, criteria *imap.SearchCriteria) (*SortData, error)
}

func (c *Conn) handleSort(dec *imapwire.Decoder, numKind NumKind) error {
	sess, ok := c.session.(SessionSort)
	if !ok || !c.server.options.caps().Has(imap.CapSort) {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command"}
	}
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var sortCriteria []SortCriterion
	err := dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		var crit SortCriterion
		if strings.EqualFold(name, "REVERSE") {
			crit.Reverse = true
			if !dec.ExpectSP() || !dec.ExpectAtom(&name) {
				return dec.Err()
			}
		}
		switch key := SortKey(strings.ToUpper(name)); key {
		case SortKeyArrival, SortKeyCc, SortKeyDate, SortKeyFrom, SortKeySize, SortKeySubject,
			SortKeyTo:
			crit.Key = key
		default:
			return newClientBugError(fmt.Sprintf("Unknown SORT key %.40q", name))
		}
		sortCriteria = append(sortCriteria, crit)
		return nil
	})
	if err != nil {
		return err
	}
	if len(sortCriteria) == 0 {
		return newClientBugError("SORT needs at least one sort key")
	}

	// RFC 5256 section 3: the charset is not optional in SORT.
	var charset string
	if !dec.ExpectSP() || !dec.ExpectAString(&charset) || !dec.ExpectSP() {
		return dec.Err()
	}
	switch strings.ToUpper(charset) {
	case "US-ASCII", "UTF-8":
	default:
		return &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: "BADCHARSET (US-ASCII UTF-8)",
			Text: "Only US-ASCII and UTF-8 are supported SORT charsets",
		}
	}

	var criteria imap.SearchCriteria
	for {
		if err := readSearchKey(&criteria, dec); err != nil {
			return searchKeyError(err)
		}
		if !dec.SP() {
			break
		}
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	if hasModSeq(&criteria) {
		if err := c.enableCondStore(true); err != nil {
			return err
		}
	}

	data, err := sess.Sort(numKind, sortCriteria, &criteria)
	if err != nil {
		return err
	}

	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("SORT")
	for _, num := range data.Nums {
		enc.SP().Number(num)
	}
	if data.ModSeq > 0 && len(data.Nums) > 0 {
		enc.SP().Special('(').Atom("MODSEQ").SP().ModSeq(data.ModSeq).Special(')')
	}
	return enc.CRLF()
}
