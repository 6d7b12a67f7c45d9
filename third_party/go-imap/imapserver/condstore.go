package imapserver

// cjsm patch: server side of CONDSTORE (RFC 7162 section 3.1). Not in upstream
// go-imap v2.0.0-beta.8.

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionCondStore is a session that reports the HIGHESTMODSEQ of its selected mailbox, so
// that the server can announce it when a command other than SELECT or EXAMINE enables
// CONDSTORE while a mailbox is selected (RFC 7162 section 3.1).
type SessionCondStore interface {
	Session
	HighestModSeq() uint64
}

// enableCondStore records that the client used a CONDSTORE-enabling command (RFC 7162
// section 3.1). From then on the session must send MODSEQ in every FETCH response that
// reports a flag change. When this enables CONDSTORE and announce is set, a selected
// mailbox's HIGHESTMODSEQ is sent at once.
func (c *Conn) enableCondStore(announce bool) error {
	if !c.server.options.caps().Has(imap.CapCondStore) {
		return nil
	}
	c.mutex.Lock()
	already := c.enabled.Has(imap.CapCondStore)
	c.enabled[imap.CapCondStore] = struct{}{}
	c.mutex.Unlock()
	if already || !announce || c.state != imap.ConnStateSelected {
		return nil
	}
	if sess, ok := c.session.(SessionCondStore); ok {
		return c.writeHighestModSeq(sess.HighestModSeq())
	}
	return nil
}

func (c *Conn) condStoreEnabled() bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(imap.CapCondStore)
}

// CondStoreEnabled reports whether the client has enabled CONDSTORE on this connection,
// explicitly with ENABLE or by using one of its command parameters (RFC 7162 section 3.1).
func (c *Conn) CondStoreEnabled() bool { return c.condStoreEnabled() }

// WriteModSeq writes the message's MODSEQ data item (RFC 7162 section 3.1.4.1).
func (w *FetchResponseWriter) WriteModSeq(modSeq uint64) {
	w.writeItemSep()
	w.enc.Atom("MODSEQ").SP().Special('(').ModSeq(modSeq).Special(')')
}

// WriteMessageFlagsModSeq writes a FETCH response with FLAGS, and with MODSEQ when the
// client has enabled CONDSTORE (RFC 7162 section 3.2).
func (w *UpdateWriter) WriteMessageFlagsModSeq(seqNum uint32, uid imap.UID, flags []imap.Flag,
	modSeq uint64) error {
	fetchWriter := &FetchWriter{conn: w.conn}
	respWriter := fetchWriter.CreateMessage(seqNum)
	if uid != 0 {
		respWriter.WriteUID(uid)
	}
	respWriter.WriteFlags(flags)
	if modSeq != 0 && w.conn.condStoreEnabled() {
		respWriter.WriteModSeq(modSeq)
	}
	return respWriter.Close()
}

// CondStoreEnabled reports whether FETCH responses written here must carry MODSEQ.
func (w *FetchWriter) CondStoreEnabled() bool { return w.conn.condStoreEnabled() }

// ReportModified records the messages that a STORE with UNCHANGEDSINCE left alone because
// they changed after the given MODSEQ. The command then completes with
// OK [MODIFIED set] (RFC 7162 section 3.1.3). nums holds sequence numbers for STORE and
// UIDs for UID STORE.
func (w *FetchWriter) ReportModified(nums imap.NumSet) {
	w.modified = nums
}

// readFetchModifiers reads the optional fetch-modifiers of RFC 7162 section 7:
// SP "(" "CHANGEDSINCE" SP mod-sequence-value ")".
func readFetchModifiers(dec *imapwire.Decoder, options *imap.FetchOptions) error {
	if !dec.SP() {
		return nil
	}
	n := 0
	err := dec.ExpectList(func() error {
		n++
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CHANGEDSINCE":
			var modSeq uint64
			if !dec.ExpectSP() || !dec.ExpectModSeq(&modSeq) {
				return dec.Err()
			}
			if modSeq == 0 {
				return newClientBugError("CHANGEDSINCE needs a MODSEQ above 0")
			}
			options.ChangedSince = modSeq
			options.ModSeq = true
		default:
			return newClientBugError(fmt.Sprintf("Unknown FETCH modifier %.40q", name))
		}
		return nil
	})
	if err == nil && n == 0 {
		return newClientBugError("Empty FETCH modifier list")
	}
	return err
}

// readStoreModifiers reads store-modifiers (RFC 7162 section 7) when the next byte opens
// a list: "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")" SP. It reports whether it found
// UNCHANGEDSINCE.
func readStoreModifiers(dec *imapwire.Decoder, options *imap.StoreOptions) (bool, error) {
	found := false
	n := 0
	isList, err := dec.List(func() error {
		n++
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "UNCHANGEDSINCE":
			if !dec.ExpectSP() || !dec.ExpectModSeq(&options.UnchangedSince) {
				return dec.Err()
			}
			found = true
			options.Conditional = true
		default:
			return newClientBugError(fmt.Sprintf("Unknown STORE modifier %.40q", name))
		}
		return nil
	})
	if err != nil || !isList {
		return false, err
	}
	if n == 0 {
		return false, newClientBugError("Empty STORE modifier list")
	}
	if !dec.ExpectSP() {
		return false, dec.Err()
	}
	return found, nil
}

// readSearchModSeq reads the rest of the MODSEQ search key (RFC 7162 section 3.1.5):
// [SP entry-name SP entry-type-req] SP mod-sequence-valzer.
func readSearchModSeq(criteria *imap.SearchCriteria, dec *imapwire.Decoder) error {
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var ms imap.SearchCriteriaModSeq
	var name string
	if dec.Quoted(&name) {
		// entry-name is "/flags/" and a flag name (RFC 7162 section 7).
		if !strings.HasPrefix(strings.ToLower(name), "/flags/") || len(name) == len("/flags/") {
			return newClientBugError(fmt.Sprintf("MODSEQ entry name %.40q is not \"/flags/<flag>\"", name))
		}
		var typ string
		if !dec.ExpectSP() || !dec.ExpectAtom(&typ) || !dec.ExpectSP() {
			return dec.Err()
		}
		switch t := imap.SearchCriteriaMetadataType(strings.ToLower(typ)); t {
		case imap.SearchCriteriaMetadataAll, imap.SearchCriteriaMetadataPrivate,
			imap.SearchCriteriaMetadataShared:
			ms.MetadataName, ms.MetadataType = name, t
		default:
			return newClientBugError(fmt.Sprintf("MODSEQ entry type %.40q is not priv, shared or all", typ))
		}
	}
	if !dec.ExpectModSeq(&ms.ModSeq) {
		return dec.Err()
	}
	if criteria.ModSeq == nil || ms.ModSeq > criteria.ModSeq.ModSeq {
		criteria.ModSeq = &ms
	}
	return nil
}

// hasModSeq reports whether the criteria, or any criteria nested in NOT or OR, use the
// MODSEQ key.
func hasModSeq(criteria *imap.SearchCriteria) bool {
	if criteria.ModSeq != nil {
		return true
	}
	for i := range criteria.Not {
		if hasModSeq(&criteria.Not[i]) {
			return true
		}
	}
	for i := range criteria.Or {
		if hasModSeq(&criteria.Or[i][0]) || hasModSeq(&criteria.Or[i][1]) {
			return true
		}
	}
	return false
}
