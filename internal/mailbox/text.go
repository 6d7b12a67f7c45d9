package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decodes non-UTF-8 charsets of text parts

	"github.com/cjsm/cjsm/internal/store"
)

// Limits of the text kept for SEARCH per message. Words past them are not found.
const (
	maxHeaderText = 64 << 10
	maxBodyText   = 256 << 10
	maxPartBytes  = 4 << 20 // bytes read from one MIME part
	maxParts      = 100     // MIME parts looked at in one message
)

// ExtractText returns the lower-case text that SEARCH matches. The header text is one
// "name: value" line per field, with RFC 2047 encoded words decoded. The body text is the
// text/plain and text/html parts that are not attachments, decoded from their transfer
// encoding and charset, with HTML tags removed and white space collapsed. ExtractText never
// fails: it leaves out what it cannot parse.
func ExtractText(raw []byte) (header, body string) {
	e, err := message.Read(bytes.NewReader(raw))
	if e == nil {
		return "", ""
	}
	_ = err // an unknown charset or encoding still leaves a usable entity
	var hb strings.Builder
	for f := e.Header.Fields(); f.Next() && hb.Len() < maxHeaderText; {
		v, err := f.Text()
		if err != nil {
			v = f.Value()
		}
		hb.WriteString(strings.ToLower(f.Key()))
		hb.WriteString(": ")
		hb.WriteString(collapseSpace(v))
		hb.WriteByte('\n')
	}
	var bb strings.Builder
	parts := 0
	_ = e.Walk(func(path []int, part *message.Entity, err error) error {
		parts++
		if err != nil || parts > maxParts || bb.Len() >= maxBodyText {
			return errStopWalk
		}
		mediaType, _, _ := part.Header.ContentType()
		if mediaType == "" {
			mediaType = "text/plain"
		}
		if mediaType != "text/plain" && mediaType != "text/html" {
			return nil
		}
		disp, _, _ := part.Header.ContentDisposition()
		if disp == "attachment" {
			return nil
		}
		data, _ := io.ReadAll(io.LimitReader(part.Body, maxPartBytes))
		text := string(data)
		if mediaType == "text/html" {
			text = stripTags(text)
		}
		if bb.Len() > 0 {
			bb.WriteByte(' ')
		}
		bb.WriteString(collapseSpace(text))
		return nil
	})
	header = truncateUTF8(strings.ToLower(hb.String()), maxHeaderText)
	body = truncateUTF8(strings.ToLower(bb.String()), maxBodyText)
	return header, body
}

var errStopWalk = errors.New("stop walking the MIME tree")

// stripTags removes HTML tags, script and style contents, and decodes character references.
func stripTags(s string) string {
	var b strings.Builder
	lower := strings.ToLower(s)
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(lower[i:], "<script"), strings.HasPrefix(lower[i:], "<style"):
			end := "</script>"
			if strings.HasPrefix(lower[i:], "<style") {
				end = "</style>"
			}
			j := strings.Index(lower[i:], end)
			if j < 0 {
				return html.UnescapeString(b.String())
			}
			i += j + len(end)
		case s[i] == '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				return html.UnescapeString(b.String())
			}
			b.WriteByte(' ')
			i += j + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return html.UnescapeString(b.String())
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// indexFolder extracts the text of the folder's messages that have none yet. Messages filed
// by the queue get their text here, at the first search of their folder.
func (s *Service) indexFolder(ctx context.Context, b store.Mailbox) error {
	missing, err := s.st.MessagesWithoutText(ctx, b.ID)
	if err != nil {
		return err
	}
	for _, m := range missing {
		data, err := s.blobs.Get(m.Blob)
		if err != nil {
			return fmt.Errorf("mailbox: index message %d of folder %d: %w", m.UID, b.ID, err)
		}
		header, body := ExtractText(data)
		err = s.st.InTx(ctx, func(tx *store.Tx) error {
			return tx.PutMessageText(ctx, m.MessageID, header, body)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// IndexMessage stores the search text of a stored message. The queue may call it after
// accepting a message so that the first search of a folder does not have to.
func (s *Service) IndexMessage(ctx context.Context, messageID int64, raw []byte) error {
	return s.IndexMessages(ctx, []IndexItem{{MessageID: messageID, Raw: raw}})
}

// IndexItem is a stored message whose text IndexMessages extracts.
type IndexItem struct {
	MessageID int64
	Raw       []byte
}

// IndexMessages extracts and stores the SEARCH text of several messages in one transaction,
// which on SQLite costs one sync to disk for all of them.
func (s *Service) IndexMessages(ctx context.Context, items []IndexItem) error {
	type text struct{ header, body string }
	texts := make([]text, len(items))
	for i, it := range items {
		texts[i].header, texts[i].body = ExtractText(it.Raw)
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		for i, it := range items {
			if err := tx.PutMessageText(ctx, it.MessageID, texts[i].header, texts[i].body); err != nil {
				return err
			}
		}
		return nil
	})
}

// SearchText returns the UIDs of the folder's messages whose body text (and header text
// too, with withHeader) contains word, ignoring case. It needs Read.
//
// The first search of each store in this process logs a warning when the store has no
// index for it (store.Store.CheckTextIndex). The result is the same without one.
func (s *Service) SearchText(ctx context.Context, personID int64, b store.Mailbox, word string,
	withHeader bool) (map[int64]bool, error) {
	if err := s.Authorize(ctx, personID, OwnerOf(b), Read); err != nil {
		return nil, err
	}
	if err := s.indexFolder(ctx, b); err != nil {
		return nil, err
	}
	s.checkTextIndexOnce(ctx)
	return s.st.SearchText(ctx, b.ID, word, withHeader)
}

// textIndexChecked holds the stores whose search index this process has checked.
var textIndexChecked sync.Map // *store.Store to struct{}

// checkTextIndexOnce logs, once per store, why SEARCH BODY and TEXT run without an index.
func (s *Service) checkTextIndexOnce(ctx context.Context) {
	if _, done := textIndexChecked.LoadOrStore(s.st, struct{}{}); done {
		return
	}
	err := s.st.CheckTextIndex(ctx)
	switch {
	case errors.Is(err, store.ErrTextIndexMissing):
		s.log.Warn("SEARCH BODY and TEXT read every message of the folder", "err", err)
	case err != nil:
		s.log.Warn("checking the search text index failed", "err", err)
	}
}

// HeaderTexts returns the extracted header text of the folder's messages by UID, in the
// form ExtractText produces. It needs Read.
func (s *Service) HeaderTexts(ctx context.Context, personID int64,
	b store.Mailbox) (map[int64]string, error) {
	if err := s.Authorize(ctx, personID, OwnerOf(b), Read); err != nil {
		return nil, err
	}
	if err := s.indexFolder(ctx, b); err != nil {
		return nil, err
	}
	return s.st.HeaderTexts(ctx, b.ID)
}
