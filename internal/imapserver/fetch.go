package imapserver

import (
	"bufio"
	"bytes"
	"context"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/cjsm/cjsm/internal/mailbox"
)

// Fetch handles FETCH and UID FETCH (RFC 3501 section 6.4.5), with MODSEQ and CHANGEDSINCE
// (RFC 7162 section 3.1.4). BODY[] without a range is the stored bytes unchanged; other
// sections, ENVELOPE and BODYSTRUCTURE come from the library's MIME helpers. Fetching a body
// section without PEEK sets \Seen (the person's own on group mail) unless the folder is open
// read-only.
func (s *session) Fetch(w *goimapserver.FetchWriter, numSet imap.NumSet,
	options *imap.FetchOptions) error {
	ctx, cancel := s.ctx()
	defer cancel()
	sel := s.sel
	uids := sel.resolveNums(numSet)

	flagsChanged := map[int64]bool{}
	if wantsSeen(options) && !sel.readOnly {
		var unseen []int64
		for _, uid := range uids {
			if !sel.msgs[uid].Flags.Has(mailbox.FlagSeen) {
				unseen = append(unseen, uid)
			}
		}
		if len(unseen) > 0 {
			res, err := s.svc().StoreFlags(ctx, s.personID, sel.mbox, unseen, mailbox.FlagsAdd,
				[]string{mailbox.FlagSeen}, 0)
			if err != nil {
				return s.mapErr(err)
			}
			for _, m := range res.Updated {
				sel.msgs[m.UID] = m
				flagsChanged[m.UID] = true
			}
		}
	}

	msgs := make([]mailbox.Message, 0, len(uids))
	for _, uid := range uids {
		msgs = append(msgs, sel.msgs[uid])
	}
	if needsDetails(options) || (len(flagsChanged) > 0 && w.CondStoreEnabled()) {
		var err error
		if msgs, err = s.loadDetails(ctx, msgs); err != nil {
			return s.mapErr(err)
		}
	}
	if options.ChangedSince > 0 {
		// RFC 7162 section 3.1.4.1: only messages whose MODSEQ is above CHANGEDSINCE.
		changed := msgs[:0]
		for _, m := range msgs {
			if uint64(m.ModSeq) > options.ChangedSince {
				changed = append(changed, m)
			}
		}
		msgs = changed
	}
	// With CONDSTORE enabled, a \Seen set by this FETCH is reported with MODSEQ
	// (RFC 7162 section 3.2).
	condStore := w.CondStoreEnabled()
	write := func(m mailbox.Message, raw []byte) error {
		return writeFetch(w, sel.seqOf(m.UID), m, raw, options, flagsChanged[m.UID], condStore)
	}
	if needsContent(options) {
		return s.mapErr(s.svc().ReadContent(ctx, s.personID, sel.mbox, msgs, write))
	}
	if err := s.svc().Authorize(ctx, s.personID, mailbox.OwnerOf(sel.mbox), mailbox.Read); err != nil {
		return s.mapErr(err)
	}
	for _, m := range msgs {
		if err := write(m, nil); err != nil {
			return err
		}
	}
	return nil
}

// loadDetails returns msgs with every column read. It reads from the store the messages that
// SELECT filled only with UID and Flags, and keeps the flags of the view, as last reported.
//
// NOTE: a message that another session expunged and this one has not yet reported is no
// longer in the store, so it is left out: a FETCH of it that needs more than UID and FLAGS
// returns nothing for it.
func (s *session) loadDetails(ctx context.Context, msgs []mailbox.Message) ([]mailbox.Message,
	error) {
	sel := s.sel
	var missing []int64
	for _, m := range msgs {
		if m.Blob == "" {
			missing = append(missing, m.UID)
		}
	}
	if len(missing) == 0 {
		return msgs, nil
	}
	loaded, err := s.svc().MessagesByUID(ctx, s.personID, sel.mbox, missing)
	if err != nil {
		return nil, err
	}
	for _, m := range loaded {
		if known, ok := sel.msgs[m.UID]; ok {
			m.Flags = known.Flags
			sel.msgs[m.UID] = m
		}
	}
	out := msgs[:0]
	for _, m := range msgs {
		if m.Blob == "" {
			if m = sel.msgs[m.UID]; m.Blob == "" {
				continue
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// needsDetails reports whether a FETCH needs more of a message than its UID and flags.
func needsDetails(options *imap.FetchOptions) bool {
	return needsContent(options) || options.RFC822Size || options.InternalDate ||
		options.ModSeq
}

func wantsSeen(options *imap.FetchOptions) bool {
	for _, bs := range options.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range options.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

func needsContent(options *imap.FetchOptions) bool {
	return options.Envelope || options.BodyStructure != nil || len(options.BodySection) > 0 ||
		len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
}

// writeFetch writes one FETCH response. raw is nil when no item needs the message bytes.
func writeFetch(w *goimapserver.FetchWriter, seq uint32, m mailbox.Message, raw []byte,
	options *imap.FetchOptions, flagsChanged, condStore bool) error {
	rw := w.CreateMessage(seq)
	if options.UID || (flagsChanged && condStore) {
		rw.WriteUID(imap.UID(m.UID))
	}
	if options.Flags || flagsChanged {
		rw.WriteFlags(toIMAPFlags(m.Flags.List()))
	}
	if options.ModSeq || (flagsChanged && condStore) {
		rw.WriteModSeq(uint64(m.ModSeq))
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	if options.InternalDate {
		rw.WriteInternalDate(m.InternalDate)
	}
	if options.Envelope {
		header, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			header = textproto.Header{}
		}
		rw.WriteEnvelope(goimapserver.ExtractEnvelope(header))
	}
	if options.BodyStructure != nil {
		rw.WriteBodyStructure(goimapserver.ExtractBodyStructure(bytes.NewReader(raw)))
	}
	for _, bs := range options.BodySection {
		data := bodySection(raw, bs)
		wc := rw.WriteBodySection(bs, int64(len(data)))
		if _, err := wc.Write(data); err != nil {
			return err
		}
		if err := wc.Close(); err != nil {
			return err
		}
	}
	for _, bs := range options.BinarySection {
		data := goimapserver.ExtractBinarySection(bytes.NewReader(raw), bs)
		wc := rw.WriteBinarySection(bs, int64(len(data)))
		if _, err := wc.Write(data); err != nil {
			return err
		}
		if err := wc.Close(); err != nil {
			return err
		}
	}
	for _, bss := range options.BinarySectionSize {
		rw.WriteBinarySectionSize(bss, goimapserver.ExtractBinarySectionSize(bytes.NewReader(raw), bss))
	}
	return rw.Close()
}

// bodySection returns a BODY[...] section. The whole message is returned as stored, so that
// a client fetching BODY[] gets the exact bytes that were delivered.
func bodySection(raw []byte, bs *imap.FetchItemBodySection) []byte {
	whole := bs.Specifier == imap.PartSpecifierNone && len(bs.Part) == 0 &&
		len(bs.HeaderFields) == 0 && len(bs.HeaderFieldsNot) == 0
	if whole {
		if bs.Partial == nil {
			return raw
		}
		return partial(raw, bs.Partial)
	}
	return goimapserver.ExtractBodySection(bytes.NewReader(raw), bs)
}

// partial returns the <offset.size> range of data (RFC 3501 section 6.4.5).
func partial(data []byte, p *imap.SectionPartial) []byte {
	if p.Offset >= int64(len(data)) {
		return nil
	}
	end := p.Offset + p.Size
	if end > int64(len(data)) || end < p.Offset {
		end = int64(len(data))
	}
	return data[p.Offset:end]
}
