package imapserver

// cjsm patch: server side of QUOTA (RFC 9208) without QUOTASET. Not in upstream
// go-imap v2.0.0-beta.8.

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// QuotaResource is the usage and limit of one resource under a quota root (RFC 9208
// section 5). STORAGE counts units of 1024 octets.
type QuotaResource struct {
	Type  imap.QuotaResourceType
	Usage int64
	Limit int64
}

// QuotaData is a quota root and its resources.
type QuotaData struct {
	Root      string
	Resources []QuotaResource
}

// SessionQuota is a session that reports quotas. The server advertises QUOTA only when
// the session implements it and the server options list imap.CapQuota, and advertises a
// QUOTA=RES-<type> for each such entry in the options.
type SessionQuota interface {
	Session
	// GetQuota returns one quota root, or an error with NONEXISTENT when there is no
	// such root.
	GetQuota(root string) (*QuotaData, error)
	// GetQuotaRoot returns the quota roots of a mailbox, with their resources.
	GetQuotaRoot(mailbox string) ([]QuotaData, error)
}

func (c *Conn) quotaSession() (SessionQuota, error) {
	sess, ok := c.session.(SessionQuota)
	if !ok || !c.server.options.caps().Has(imap.CapQuota) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command"}
	}
	return sess, nil
}

func (c *Conn) handleGetQuota(dec *imapwire.Decoder) error {
	sess, err := c.quotaSession()
	if err != nil {
		return err
	}
	var root string
	if !dec.ExpectSP() || !dec.ExpectAString(&root) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	data, err := sess.GetQuota(root)
	if err != nil {
		return err
	}
	return c.writeQuota(data)
}

func (c *Conn) handleGetQuotaRoot(dec *imapwire.Decoder) error {
	sess, err := c.quotaSession()
	if err != nil {
		return err
	}
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	roots, err := sess.GetQuotaRoot(mailbox)
	if err != nil {
		return err
	}
	if err := c.writeQuotaRoot(mailbox, roots); err != nil {
		return err
	}
	for i := range roots {
		if err := c.writeQuota(&roots[i]); err != nil {
			return err
		}
	}
	return nil
}

// handleSetQuota refuses SETQUOTA: quotas here are set by administrators, and the server
// does not advertise QUOTASET (RFC 9208 section 4.1.3).
func (c *Conn) handleSetQuota(dec *imapwire.Decoder) error {
	if _, err := c.quotaSession(); err != nil {
		return err
	}
	// setquota = "SETQUOTA" SP quota-root-name SP setquota-list (RFC 9208 section 7)
	var root string
	if !dec.ExpectSP() || !dec.ExpectAString(&root) || !dec.ExpectSP() {
		return dec.Err()
	}
	err := dec.ExpectList(func() error {
		var name string
		var limit int64
		if !dec.ExpectAtom(&name) || !dec.ExpectSP() || !dec.ExpectNumber64(&limit) {
			return dec.Err()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	return &imap.Error{
		Type: imap.StatusResponseTypeNo,
		Code: imap.ResponseCodeNoPerm,
		Text: "Quotas are set by your administrator",
	}
}

func (c *Conn) writeQuotaRoot(mailbox string, roots []QuotaData) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("QUOTAROOT").SP().Mailbox(mailbox)
	for _, r := range roots {
		enc.SP().String(r.Root)
	}
	return enc.CRLF()
}

func (c *Conn) writeQuota(data *QuotaData) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("QUOTA").SP().String(data.Root).SP()
	enc.List(len(data.Resources), func(i int) {
		r := data.Resources[i]
		enc.Atom(string(r.Type)).SP().Number64(r.Usage).SP().Number64(r.Limit)
	})
	return enc.CRLF()
}
