package mailbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/store"
)

// Format is a file layout that Export writes and Import reads.
type Format string

// The transfer formats.
const (
	// FormatMbox is one mboxrd file per folder (RFC 4155), named LEVEL/LEVEL.mbox.
	FormatMbox Format = "mbox"
	// FormatMaildir is a Maildir++ tree: INBOX at the root, other folders in ".A.B".
	FormatMaildir Format = "maildir"
)

// ParseFormat returns the format named s, "mbox" or "maildir" in any case.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case FormatMbox, FormatMaildir:
		return f, nil
	}
	return "", fmt.Errorf("mailbox: format %q is not supported; use mbox or maildir", s)
}

// ExportResult counts what Export wrote.
type ExportResult struct {
	Folders  int
	Messages int
}

// ImportResult counts what Import did. Skipped messages were already in their folder.
type ImportResult struct {
	Folders  int
	Imported int
	Skipped  int
}

// Export writes every folder of the owner that the person may read into dir, which must be
// missing or empty, and calls progress (when not nil) after each message with the number
// written and the total. In mbox, the "From " line carries the internal date to the second
// and flags are not kept. In Maildir the file's modification time carries the internal
// date and the info suffix carries the system flags. Message bytes are written unchanged,
// so Import restores messages with the same SHA-256.
func (s *Service) Export(ctx context.Context, personID int64, o Owner, format Format,
	dir string, progress func(done, total int)) (ExportResult, error) {
	var res ExportResult
	if _, err := ParseFormat(string(format)); err != nil {
		return res, err
	}
	if err := prepareExportDir(dir); err != nil {
		return res, err
	}
	folders, err := s.Folders(ctx, personID, o)
	if err != nil {
		return res, err
	}

	contents := make([][]Message, len(folders))
	total := 0
	for i, b := range folders {
		if folders[i], contents[i], err = s.Messages(ctx, personID, b); err != nil {
			return res, err
		}
		total += len(contents[i])
	}
	if progress != nil {
		progress(0, total)
	}

	for i, b := range folders {
		var w folderWriter
		if format == FormatMbox {
			w, err = newMboxWriter(dir, b.Name)
		} else {
			w, err = newMaildirWriter(dir, b.Name)
		}
		if err != nil {
			return res, err
		}
		err = s.ReadContent(ctx, personID, b, contents[i], func(m Message, raw []byte) error {
			if err := w.write(m, raw); err != nil {
				return fmt.Errorf("mailbox: export message %d of %q: %w", m.UID, b.Name, err)
			}
			res.Messages++
			if progress != nil {
				progress(res.Messages, total)
			}
			return nil
		})
		if cerr := w.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return res, err
		}
		res.Folders++
	}
	return res, nil
}

// prepareExportDir creates dir, or accepts it when it exists and is empty, so that an
// export never mixes with older files.
func prepareExportDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("mailbox: create export directory %s: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("mailbox: export directory %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("mailbox: export directory %s is not empty; choose a new or "+
			"empty directory", dir)
	}
	return nil
}

type folderWriter interface {
	write(m Message, raw []byte) error
	close() error
}

// Import reads the mbox files or the Maildir++ tree at path into the owner's folders,
// creating missing folders, and calls progress (when not nil) after each message. A path
// naming one mbox file imports it into the folder named by its file name. A message whose
// SHA-256 is already in its folder is skipped, so an import can be run again after a
// failure. Flags come from Maildir info suffixes. The internal date comes from the mbox
// "From " line or the Maildir file's modification time, else from the Date header.
func (s *Service) Import(ctx context.Context, personID int64, o Owner, format Format,
	path string, progress func(done, total int)) (ImportResult, error) {
	var res ImportResult
	if _, err := ParseFormat(string(format)); err != nil {
		return res, err
	}
	var sources []folderSource
	var err error
	if format == FormatMbox {
		sources, err = findMboxFiles(path)
	} else {
		sources, err = findMaildirFolders(path)
	}
	if err != nil {
		return res, err
	}

	total := 0
	for _, src := range sources {
		n, err := src.count()
		if err != nil {
			return res, err
		}
		total += n
	}
	if progress != nil {
		progress(0, total)
	}

	done := 0
	for _, src := range sources {
		ref := Ref{Owner: o, Name: src.name}
		b, err := s.ensureFolder(ctx, personID, ref)
		if err != nil {
			return res, err
		}
		_, existing, err := s.Messages(ctx, personID, b)
		if err != nil {
			return res, err
		}
		have := make(map[string]bool, len(existing))
		for _, m := range existing {
			have[m.Blob] = true
		}
		err = src.each(s.cfg.MaxMessageBytes, func(m importMessage) error {
			key := blob.Key(m.raw)
			if have[key] {
				res.Skipped++
			} else {
				if _, _, err := s.Append(ctx, personID, ref, m.raw, m.flags, m.date); err != nil {
					return fmt.Errorf("mailbox: import %s into %q: %w", m.origin, src.name, err)
				}
				have[key] = true
				res.Imported++
			}
			done++
			if progress != nil {
				progress(done, total)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Folders++
	}
	return res, nil
}

// ensureFolder returns the folder, creating it and its parents when missing.
func (s *Service) ensureFolder(ctx context.Context, personID int64, ref Ref) (store.Mailbox,
	error) {
	b, err := s.Folder(ctx, personID, ref, Write)
	if !errors.Is(err, ErrNoMailbox) {
		return b, err
	}
	b, err = s.CreateFolder(ctx, personID, ref)
	if errors.Is(err, ErrExists) {
		return s.Folder(ctx, personID, ref, Write)
	}
	return b, err
}

// importMessage is one message read from a file, with where it came from for errors.
type importMessage struct {
	raw    []byte
	flags  []string
	date   time.Time
	origin string
}

// folderSource is one folder's messages on disk.
type folderSource struct {
	name  string
	count func() (int, error)
	each  func(maxBytes int64, fn func(importMessage) error) error
}

// escapeLevel makes one folder level safe as a file name and as a Maildir++ level: "%" and
// "." become %25 and %2E, so no level is "." or "..", starts a hidden file or splits a
// Maildir++ name. unescapeLevel reverses it and leaves other text alone.
func escapeLevel(level string) string {
	r := strings.NewReplacer("%", "%25", ".", "%2E")
	return r.Replace(level)
}

func unescapeLevel(level string) string {
	var b strings.Builder
	for i := 0; i < len(level); i++ {
		if level[i] == '%' && i+2 < len(level) {
			if v, err := strconv.ParseUint(level[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(level[i])
	}
	return b.String()
}

// mboxWriter writes one folder as an mboxrd file.
type mboxWriter struct {
	f *os.File
	w *bufio.Writer
}

func newMboxWriter(dir, folder string) (*mboxWriter, error) {
	levels := strings.Split(folder, Delimiter)
	for i := range levels {
		levels[i] = escapeLevel(levels[i])
	}
	path := filepath.Join(dir, filepath.Join(levels...)+".mbox")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("mailbox: create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("mailbox: create %s: %w", path, err)
	}
	return &mboxWriter{f: f, w: bufio.NewWriter(f)}, nil
}

func (w *mboxWriter) write(m Message, raw []byte) error {
	return WriteMboxMessage(w.w, envelopeSender(raw), m.InternalDate, raw)
}

func (w *mboxWriter) close() error {
	err := w.w.Flush()
	if serr := w.f.Sync(); err == nil {
		err = serr
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mboxDateLayout is the asctime(3) form of the "From " line date (RFC 4155 appendix A),
// written in UTC.
const mboxDateLayout = "Mon Jan _2 15:04:05 2006"

// WriteMboxMessage writes one message in mboxrd form: a "From sender date" line, the
// message with every line matching `>*From ` given one more ">", a line break if the
// message lacks a final one, and an empty line. RFC 4155 appendix A describes the layout;
// the quoting is the mboxrd variant, which unlike mboxo can be undone. The bytes are not
// otherwise changed, so CRLF line breaks stay CRLF.
func WriteMboxMessage(w io.Writer, sender string, date time.Time, raw []byte) error {
	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	if date.IsZero() {
		date = time.Now()
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "From %s %s\n", sender, date.UTC().Format(mboxDateLayout))
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line = raw[:i+1]
		}
		raw = raw[len(line):]
		if isQuotedFrom(line, 0) {
			bw.WriteByte('>')
		}
		bw.Write(line)
		if len(raw) == 0 && line[len(line)-1] != '\n' {
			// NOTE: a message that does not end in a line break gains "\n" here, because
			// mbox has no way to mark its end otherwise. Its SHA-256 changes on import.
			bw.WriteByte('\n')
		}
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// isQuotedFrom reports whether line matches `>*From ` with at least min ">" characters.
func isQuotedFrom(line []byte, min int) bool {
	n := 0
	for n < len(line) && line[n] == '>' {
		n++
	}
	return n >= min && bytes.HasPrefix(line[n:], []byte("From "))
}

// envelopeSender returns the address of the Return-Path header, else of the From header,
// else "" for a message whose header has neither or cannot be parsed.
func envelopeSender(raw []byte) string {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	for _, field := range []string{"Return-Path", "From"} {
		v := strings.TrimSpace(h.Get(field))
		if v == "" || v == "<>" {
			continue
		}
		if a, err := mail.ParseAddress(v); err == nil && !strings.ContainsAny(a.Address, " \t") {
			return a.Address
		}
	}
	return ""
}

// MboxMessage is one message read from an mbox file.
type MboxMessage struct {
	Sender string    // the "From " line's sender, as written
	Date   time.Time // the "From " line's date; zero when it cannot be parsed
	Raw    []byte    // the message with mboxrd quoting removed
}

// MboxReader reads the messages of an mbox file. It reads the mboxrd variant: a
// line starting with "From " begins a message, and one ">" is taken from lines matching
// `>+From `. Files written with mboxo quoting read the same way except that a body line
// that started with ">From " loses its ">".
type MboxReader struct {
	r        *bufio.Reader
	maxBytes int64
	next     []byte // the "From " line of the next message, or nil
	n        int    // messages returned
	started  bool
	err      error
}

// NewMboxReader returns a reader of r that rejects a message longer than maxBytes.
func NewMboxReader(r io.Reader, maxBytes int64) *MboxReader {
	return &MboxReader{r: bufio.NewReaderSize(r, 64<<10), maxBytes: maxBytes}
}

// ErrNotMbox means the file does not start with a "From " line.
var ErrNotMbox = errors.New("mailbox: not an mbox file")

// Next returns the next message, or io.EOF after the last one.
func (mr *MboxReader) Next() (MboxMessage, error) {
	if mr.err != nil {
		return MboxMessage{}, mr.err
	}
	if !mr.started {
		mr.started = true
		if err := mr.findFirst(); err != nil {
			mr.err = err
			return MboxMessage{}, err
		}
	}
	if mr.next == nil {
		mr.err = io.EOF
		return MboxMessage{}, io.EOF
	}
	msg := parseFromLine(mr.next)
	mr.next = nil
	mr.n++

	var body bytes.Buffer
	for {
		line, err := mr.readLine(mr.maxBytes - int64(body.Len()))
		if len(line) > 0 && bytes.HasPrefix(line, []byte("From ")) {
			mr.next = line
			break
		}
		if len(line) > 0 {
			if isQuotedFrom(line, 1) {
				line = line[1:]
			}
			body.Write(line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			mr.err = err
			return MboxMessage{}, err
		}
	}
	msg.Raw = trimSeparator(body.Bytes())
	return msg, nil
}

// findFirst skips empty lines and reads the first "From " line.
func (mr *MboxReader) findFirst() error {
	for {
		line, err := mr.readLine(mr.maxBytes)
		if len(bytes.TrimRight(line, "\r\n")) > 0 {
			if !bytes.HasPrefix(line, []byte("From ")) {
				return fmt.Errorf("%w: the first line does not start with \"From \"", ErrNotMbox)
			}
			mr.next = line
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine returns one line with its line break, failing when it is longer than limit.
func (mr *MboxReader) readLine(limit int64) ([]byte, error) {
	var line []byte
	for {
		part, err := mr.r.ReadSlice('\n')
		if int64(len(line)+len(part)) > limit {
			return nil, fmt.Errorf("mailbox: mbox message %d is larger than %d bytes; "+
				"raise the message size limit or split the message out", mr.n, mr.maxBytes)
		}
		line = append(line, part...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

// trimSeparator removes the empty line that ends each message in an mbox: "\n" after a
// message written by WriteMboxMessage, "\r\n" in a file whose lines all end in CRLF.
func trimSeparator(b []byte) []byte {
	switch {
	case bytes.HasSuffix(b, []byte("\n\n")):
		return b[:len(b)-1]
	case bytes.HasSuffix(b, []byte("\r\n\r\n")):
		return b[:len(b)-2]
	}
	return b
}

// parseFromLine reads the sender and the date of a "From " line. Writers differ in the
// date's form, so several asctime variants are tried.
func parseFromLine(line []byte) MboxMessage {
	rest := strings.TrimSpace(strings.TrimPrefix(string(line), "From "))
	sender, date, _ := strings.Cut(rest, " ")
	date = strings.TrimSpace(date)
	m := MboxMessage{Sender: sender}
	for _, layout := range []string{mboxDateLayout, "Mon Jan _2 15:04:05 2006 -0700",
		"Mon Jan _2 15:04:05 -0700 2006", "Mon Jan _2 15:04:05 MST 2006", time.ANSIC} {
		if t, err := time.Parse(layout, date); err == nil {
			m.Date = t
			break
		}
	}
	return m
}

// findMboxFiles returns the mbox file at path, or every *.mbox file below the directory
// path, with the folder name taken from the relative path.
func findMboxFiles(path string) ([]folderSource, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mailbox: import path %s: %w", path, err)
	}
	if !st.IsDir() {
		name := folderFromPath(strings.TrimSuffix(filepath.Base(path), ".mbox"))
		return []folderSource{mboxSource(name, path)}, nil
	}
	var out []folderSource
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".mbox") {
			return nil
		}
		rel, err := filepath.Rel(path, p)
		if err != nil {
			return err
		}
		out = append(out, mboxSource(folderFromPath(strings.TrimSuffix(rel, ".mbox")), p))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailbox: read import directory %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("mailbox: no *.mbox files under %s; give the directory an "+
			"mbox export wrote, or one mbox file", path)
	}
	return out, nil
}

func folderFromPath(rel string) string {
	levels := strings.Split(filepath.ToSlash(rel), "/")
	for i := range levels {
		levels[i] = unescapeLevel(levels[i])
	}
	return strings.Join(levels, Delimiter)
}

func mboxSource(name, path string) folderSource {
	each := func(maxBytes int64, fn func(importMessage) error) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("mailbox: open %s: %w", path, err)
		}
		defer f.Close()
		mr := NewMboxReader(f, maxBytes)
		for i := 1; ; i++ {
			m, err := mr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("mailbox: read %s: %w", path, err)
			}
			date := m.Date
			if date.IsZero() {
				date = headerDate(m.Raw)
			}
			origin := fmt.Sprintf("message %d of %s", i, path)
			if err := fn(importMessage{raw: m.Raw, date: date, origin: origin}); err != nil {
				return err
			}
		}
	}
	count := func() (int, error) {
		n := 0
		err := each(1<<62, func(importMessage) error { n++; return nil })
		return n, err
	}
	return folderSource{name: name, count: count, each: each}
}

// headerDate returns the message's Date header, or zero.
func headerDate(raw []byte) time.Time {
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	t, err := mail.ParseDate(h.Get("Date"))
	if err != nil {
		return time.Time{}
	}
	return t
}

// maildirFlags maps system flags to Maildir info letters, in the ASCII order that the
// info suffix needs (https://cr.yp.to/proto/maildir.html).
var maildirFlags = []struct {
	letter byte
	flag   string
}{
	{'D', FlagDraft}, {'F', FlagFlagged}, {'R', FlagAnswered}, {'S', FlagSeen},
	{'T', FlagDeleted},
}

// maildirWriter writes one folder as a Maildir: each message goes to tmp/ first and is
// renamed into cur/, the Maildir delivery protocol.
type maildirWriter struct {
	dir string
}

// maildirPath returns the directory of a folder in a Maildir++ tree: the root for INBOX,
// ".A.B" for the folder "A/B".
func maildirPath(root, folder string) string {
	if folder == "INBOX" {
		return root
	}
	levels := strings.Split(folder, Delimiter)
	for i := range levels {
		levels[i] = escapeLevel(levels[i])
	}
	return filepath.Join(root, "."+strings.Join(levels, "."))
}

func newMaildirWriter(root, folder string) (*maildirWriter, error) {
	dir := maildirPath(root, folder)
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("mailbox: create Maildir %s: %w", dir, err)
		}
	}
	if folder != "INBOX" {
		// Maildir++ marks a folder directory with an empty maildirfolder file.
		f, err := os.Create(filepath.Join(dir, "maildirfolder"))
		if err != nil {
			return nil, fmt.Errorf("mailbox: create Maildir %s: %w", dir, err)
		}
		f.Close()
	}
	return &maildirWriter{dir: dir}, nil
}

func (w *maildirWriter) write(m Message, raw []byte) error {
	date := m.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	var info strings.Builder
	for _, mf := range maildirFlags {
		if m.Flags.Has(mf.flag) {
			info.WriteByte(mf.letter)
		}
	}
	// TODO: keywords are not exported; Dovecot keeps them as letters a-z listed in a
	// dovecot-keywords file, which nothing here writes or reads.
	unique := fmt.Sprintf("%d.U%dX%s.cjsm", date.Unix(), m.UID, blob.Key(raw)[:16])
	tmp := filepath.Join(w.dir, "tmp", unique)
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	if err := os.Chtimes(tmp, date, date); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(w.dir, "cur", unique+":2,"+info.String()))
}

func (w *maildirWriter) close() error { return nil }

// findMaildirFolders returns INBOX when root has cur/ and every ".A.B" folder below it.
func findMaildirFolders(root string) ([]folderSource, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("mailbox: import path %s: %w", root, err)
	}
	var out []folderSource
	if isMaildir(root) {
		out = append(out, maildirSource("INBOX", root))
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || len(name) < 2 || name[0] != '.' || name == ".." {
			continue
		}
		dir := filepath.Join(root, name)
		if !isMaildir(dir) {
			continue
		}
		levels := strings.Split(name[1:], ".")
		for i := range levels {
			levels[i] = unescapeLevel(levels[i])
		}
		out = append(out, maildirSource(strings.Join(levels, Delimiter), dir))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("mailbox: %s is not a Maildir: it has no cur directory and no "+
			"Maildir++ folders; give the directory a Maildir export wrote", root)
	}
	return out, nil
}

func isMaildir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "cur"))
	return err == nil && st.IsDir()
}

// maildirFile is one message file of a Maildir folder.
type maildirFile struct {
	path  string
	info  string // the letters after ":2,", empty for new/
	mtime time.Time
}

func maildirSource(name, dir string) folderSource {
	list := func() ([]maildirFile, error) {
		var files []maildirFile
		for _, sub := range []string{"new", "cur"} {
			entries, err := os.ReadDir(filepath.Join(dir, sub))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("mailbox: read Maildir %s: %w", dir, err)
			}
			for _, e := range entries {
				if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
					continue
				}
				fi, err := e.Info()
				if err != nil {
					return nil, fmt.Errorf("mailbox: read Maildir %s: %w", dir, err)
				}
				f := maildirFile{path: filepath.Join(dir, sub, e.Name()), mtime: fi.ModTime()}
				if _, info, ok := strings.Cut(e.Name(), ":2,"); ok && sub == "cur" {
					f.info = info
				}
				files = append(files, f)
			}
		}
		sort.Slice(files, func(i, j int) bool {
			if !files[i].mtime.Equal(files[j].mtime) {
				return files[i].mtime.Before(files[j].mtime)
			}
			return files[i].path < files[j].path
		})
		return files, nil
	}
	each := func(maxBytes int64, fn func(importMessage) error) error {
		files, err := list()
		if err != nil {
			return err
		}
		for _, f := range files {
			raw, err := readBounded(f.path, maxBytes)
			if err != nil {
				return err
			}
			m := importMessage{raw: raw, date: f.mtime, flags: maildirInfoFlags(f.info),
				origin: f.path}
			if err := fn(m); err != nil {
				return err
			}
		}
		return nil
	}
	count := func() (int, error) {
		files, err := list()
		return len(files), err
	}
	return folderSource{name: name, count: count, each: each}
}

// maildirInfoFlags returns the system flags of a Maildir info suffix. Letters with no
// system flag (P for passed, lower-case keywords) are ignored.
func maildirInfoFlags(info string) []string {
	var out []string
	for _, mf := range maildirFlags {
		if strings.IndexByte(info, mf.letter) >= 0 {
			out = append(out, mf.flag)
		}
	}
	return out
}

// readBounded reads a file, failing when it is larger than maxBytes.
func readBounded(path string, maxBytes int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mailbox: read %s: %w", path, err)
	}
	if st.Size() > maxBytes {
		return nil, fmt.Errorf("mailbox: %s is %d bytes, larger than the %d-byte message "+
			"limit; raise the limit or leave the file out", path, st.Size(), maxBytes)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mailbox: read %s: %w", path, err)
	}
	return raw, nil
}
