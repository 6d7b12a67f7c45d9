package imapserver

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"

	"github.com/cjsm/cjsm/internal/mailbox"
)

// Search handles SEARCH and UID SEARCH (RFC 3501 section 6.4.4) with ESEARCH results when
// requested (RFC 4731). Flags, sizes, dates and numbers are matched here; BODY and TEXT go to
// the mailbox service's text search, and HEADER, FROM, TO, CC, BCC and SUBJECT are matched
// against the header text it extracted.
func (s *session) Search(kind goimapserver.NumKind, criteria *imap.SearchCriteria,
	options *imap.SearchOptions) (*imap.SearchData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	sel := s.sel
	hits, ev, err := s.search(ctx, criteria, criteriaNeedDetails(criteria))
	if err != nil {
		return nil, s.mapErr(err)
	}
	if options.ReturnSave {
		sel.saved = hits
	}
	data := &imap.SearchData{Count: uint32(len(hits))}
	if usesModSeq(criteria) {
		// RFC 4731 section 3.2 with RFC 7162 section 3.1.5: with only MIN or MAX
		// requested, MODSEQ is that of the messages returned.
		reported := hits
		if !options.ReturnAll && !options.ReturnCount && len(hits) > 0 {
			reported = nil
			if options.ReturnMin {
				reported = append(reported, hits[0])
			}
			if options.ReturnMax {
				reported = append(reported, hits[len(hits)-1])
			}
		}
		data.ModSeq = ev.highestModSeq(reported)
	}
	if kind == goimapserver.NumKindUID {
		data.All = sel.numSet(hits, true)
		if len(hits) > 0 {
			data.Min, data.Max = uint32(hits[0]), uint32(hits[len(hits)-1])
		}
	} else {
		data.All = sel.numSet(hits, false)
		if len(hits) > 0 {
			data.Min, data.Max = sel.seqOf(hits[0]), sel.seqOf(hits[len(hits)-1])
		}
	}
	return data, nil
}

// search returns the UIDs of the view that match criteria, ascending, and the evaluator
// that holds what it read. With details set it reads every message of the folder as stored
// now, for the criteria that compare dates, sizes or MODSEQ. Otherwise it matches the flags
// of the view, which SELECT read, and saves reading the folder: on a large folder that read
// is most of the time of a SEARCH BODY.
func (s *session) search(ctx context.Context, criteria *imap.SearchCriteria,
	details bool) ([]int64, *evaluator, error) {
	sel := s.sel
	var current map[int64]mailbox.Message
	if details {
		_, fresh, err := s.svc().Messages(ctx, s.personID, sel.mbox)
		if err != nil {
			return nil, nil, err
		}
		current = make(map[int64]mailbox.Message, len(fresh))
		for _, m := range fresh {
			current[m.UID] = m
		}
	} else if err := s.svc().Authorize(ctx, s.personID, mailbox.OwnerOf(sel.mbox),
		mailbox.Read); err != nil {
		return nil, nil, err
	}
	ev := &evaluator{s: s, ctx: ctx, sel: sel, words: map[string]map[int64]bool{},
		current: current}
	var hits []int64
	for i, uid := range sel.uids {
		match, err := ev.match(criteria, uint32(i+1), ev.message(uid))
		if err != nil {
			return nil, nil, err
		}
		if match {
			hits = append(hits, uid)
		}
	}
	return hits, ev, nil
}

// criteriaNeedDetails reports whether the criteria, or criteria nested in NOT or OR, compare
// what SELECT did not read: the internal date, the size or the MODSEQ of a message.
func criteriaNeedDetails(c *imap.SearchCriteria) bool {
	return anyCriteria(c, func(c *imap.SearchCriteria) bool {
		return !c.Since.IsZero() || !c.Before.IsZero() || c.Larger > 0 || c.Smaller > 0 ||
			c.ModSeq != nil
	})
}

// usesModSeq reports whether the criteria, or criteria nested in NOT or OR, use the MODSEQ
// key, which makes the result carry the highest MODSEQ found (RFC 7162 section 3.1.5).
func usesModSeq(c *imap.SearchCriteria) bool {
	return anyCriteria(c, func(c *imap.SearchCriteria) bool { return c.ModSeq != nil })
}

// anyCriteria reports whether test holds for c or for any criteria nested in its NOT and OR.
func anyCriteria(c *imap.SearchCriteria, test func(*imap.SearchCriteria) bool) bool {
	if test(c) {
		return true
	}
	for i := range c.Not {
		if anyCriteria(&c.Not[i], test) {
			return true
		}
	}
	for i := range c.Or {
		if anyCriteria(&c.Or[i][0], test) || anyCriteria(&c.Or[i][1], test) {
			return true
		}
	}
	return false
}

// evaluator matches search criteria against messages, loading text-search results and
// header text once per command.
type evaluator struct {
	s       *session
	ctx     context.Context
	sel     *selected
	words   map[string]map[int64]bool // "b:" or "t:" + word -> matching UIDs
	headers map[int64]string
	current map[int64]mailbox.Message // the folder's messages as stored now, by UID
}

// message returns the message as stored now, or as last reported when another session has
// expunged it and this one has not reported that yet.
func (ev *evaluator) message(uid int64) mailbox.Message {
	if m, ok := ev.current[uid]; ok {
		return m
	}
	return ev.sel.msgs[uid]
}

func (ev *evaluator) highestModSeq(uids []int64) uint64 {
	var highest int64
	for _, uid := range uids {
		highest = max(highest, ev.message(uid).ModSeq)
	}
	return uint64(highest)
}

func (ev *evaluator) match(c *imap.SearchCriteria, seq uint32, m mailbox.Message) (bool, error) {
	last := uint32(len(ev.sel.uids))
	for _, set := range c.SeqNum {
		if !inSeqSet(set, seq, last) {
			return false, nil
		}
	}
	for _, set := range c.UID {
		if imap.IsSearchRes(set) {
			if !containsInt(ev.sel.saved, m.UID) {
				return false, nil
			}
			continue
		}
		maxUID := uint32(0)
		if last > 0 {
			maxUID = uint32(ev.sel.uids[last-1])
		}
		if !inUIDSet(set, uint32(m.UID), maxUID) {
			return false, nil
		}
	}
	// RFC 3501: SINCE and BEFORE compare dates only, disregarding time and time zone.
	day := dateOnly(m.InternalDate)
	if !c.Since.IsZero() && day.Before(dateOnly(c.Since)) {
		return false, nil
	}
	if !c.Before.IsZero() && !day.Before(dateOnly(c.Before)) {
		return false, nil
	}
	for _, f := range c.Flag {
		if !m.Flags.Has(string(f)) {
			return false, nil
		}
	}
	for _, f := range c.NotFlag {
		if m.Flags.Has(string(f)) {
			return false, nil
		}
	}
	if c.Larger > 0 && m.Size <= c.Larger {
		return false, nil
	}
	if c.Smaller > 0 && m.Size >= c.Smaller {
		return false, nil
	}
	if c.ModSeq != nil && m.ModSeq < int64(c.ModSeq.ModSeq) {
		return false, nil
	}
	for _, w := range c.Body {
		ok, err := ev.textMatch(m.UID, w, false)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, w := range c.Text {
		ok, err := ev.textMatch(m.UID, w, true)
		if err != nil || !ok {
			return false, err
		}
	}
	if len(c.Header) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		ok, err := ev.headerMatch(c, m.UID)
		if err != nil || !ok {
			return false, err
		}
	}
	for i := range c.Not {
		ok, err := ev.match(&c.Not[i], seq, m)
		if err != nil || ok {
			return false, err
		}
	}
	for i := range c.Or {
		a, err := ev.match(&c.Or[i][0], seq, m)
		if err != nil {
			return false, err
		}
		if a {
			continue
		}
		b, err := ev.match(&c.Or[i][1], seq, m)
		if err != nil || !b {
			return false, err
		}
	}
	return true, nil
}

func (ev *evaluator) textMatch(uid int64, word string, withHeader bool) (bool, error) {
	key := "b:" + word
	if withHeader {
		key = "t:" + word
	}
	set, ok := ev.words[key]
	if !ok {
		var err error
		set, err = ev.s.svc().SearchText(ev.ctx, ev.s.personID, ev.sel.mbox, word, withHeader)
		if err != nil {
			return false, err
		}
		ev.words[key] = set
	}
	return set[uid], nil
}

func (ev *evaluator) headerMatch(c *imap.SearchCriteria, uid int64) (bool, error) {
	if ev.headers == nil {
		var err error
		ev.headers, err = ev.s.svc().HeaderTexts(ev.ctx, ev.s.personID, ev.sel.mbox)
		if err != nil {
			return false, err
		}
	}
	fields := parseHeaderText(ev.headers[uid])
	for _, h := range c.Header {
		values := fields[strings.ToLower(h.Key)]
		if len(values) == 0 {
			return false, nil
		}
		want := strings.ToLower(h.Value)
		found := false
		for _, v := range values {
			if strings.Contains(v, want) {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		dates := fields["date"]
		if len(dates) == 0 {
			return false, nil
		}
		sent, err := mail.ParseDate(dates[0])
		if err != nil {
			return false, nil
		}
		day := dateOnly(sent)
		if !c.SentSince.IsZero() && day.Before(dateOnly(c.SentSince)) {
			return false, nil
		}
		if !c.SentBefore.IsZero() && !day.Before(dateOnly(c.SentBefore)) {
			return false, nil
		}
	}
	return true, nil
}

// parseHeaderText reads the "name: value" lines that mailbox.ExtractText writes.
func parseHeaderText(text string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		out[name] = append(out[name], value)
	}
	return out
}

func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func inSeqSet(set imap.SeqSet, seq, last uint32) bool {
	for _, r := range set {
		start, stop := starValue(r.Start, last), starValue(r.Stop, last)
		if start > stop {
			start, stop = stop, start
		}
		if seq >= start && seq <= stop {
			return true
		}
	}
	return false
}

func inUIDSet(set imap.UIDSet, uid, maxUID uint32) bool {
	for _, r := range set {
		start, stop := starValue(uint32(r.Start), maxUID), starValue(uint32(r.Stop), maxUID)
		if start > stop {
			start, stop = stop, start
		}
		if uid >= start && uid <= stop {
			return true
		}
	}
	return false
}

func containsInt(list []int64, v int64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
