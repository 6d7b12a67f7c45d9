package imapserver

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func (c *Conn) handleEnable(dec *imapwire.Decoder) error {
	var requested []imap.Cap
	for dec.SP() {
		cap, err := internal.ExpectCap(dec)
		if err != nil {
			return err
		}
		requested = append(requested, cap)
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}

	var enabled []imap.Cap
	for _, req := range requested {
		switch req {
		case imap.CapIMAP4rev2, imap.CapUTF8Accept:
			enabled = append(enabled, req)
		case imap.CapCondStore: // cjsm patch: RFC 7162 section 3.1
			if c.server.options.caps().Has(imap.CapCondStore) {
				enabled = append(enabled, req)
			}
		}
	}

	announce := false
	c.mutex.Lock()
	for _, e := range enabled {
		// cjsm patch: CONDSTORE enabled now, with a mailbox selected, announces its
		// HIGHESTMODSEQ (RFC 7162 section 3.1).
		if _, ok := c.enabled[e]; !ok && e == imap.CapCondStore {
			announce = true
		}
		c.enabled[e] = struct{}{}
	}
	c.mutex.Unlock()

	enc := newResponseEncoder(c)
	enc.Atom("*").SP().Atom("ENABLED")
	for _, c := range enabled {
		enc.SP().Atom(string(c))
	}
	err := enc.CRLF()
	enc.end()
	if err != nil || !announce || c.state != imap.ConnStateSelected {
		return err
	}
	if sess, ok := c.session.(SessionCondStore); ok {
		return c.writeHighestModSeq(sess.HighestModSeq())
	}
	return nil
}
