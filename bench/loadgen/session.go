package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// session is one SMTP connection that has passed EHLO, STARTTLS, EHLO again and, with
// -auth-user, AUTH PLAIN.
type session struct {
	conn       net.Conn // the TLS connection once STARTTLS is done
	r          *bufio.Reader
	w          *bufio.Writer
	timeout    time.Duration
	tlsVersion string
	tlsGroup   string
	sizeParam  bool // the server offers SIZE (RFC 1870), so MAIL FROM may declare one
}

// dial opens a connection and brings it to the point where MAIL FROM may be sent.
func dial(ctx context.Context, opts options, tlsConfig *tls.Config) (*session, error) {
	d := net.Dialer{Timeout: opts.timeout}
	raw, err := d.DialContext(ctx, "tcp", opts.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", opts.addr, err)
	}
	if opts.quickAck {
		raw = withQuickAck(raw)
	}
	s := &session{conn: raw, r: bufio.NewReader(raw), w: bufio.NewWriter(raw),
		timeout: opts.timeout}
	if err := s.start(ctx, opts, tlsConfig); err != nil {
		raw.Close()
		return nil, err
	}
	return s, nil
}

// start runs the commands that precede the first transaction.
func (s *session) start(ctx context.Context, opts options, tlsConfig *tls.Config) error {
	s.deadline()
	if _, err := s.expect(220, "greeting"); err != nil {
		return err
	}
	ehlo, err := s.command(250, "EHLO "+opts.ehlo)
	if err != nil {
		return err
	}
	if !ehlo.has("STARTTLS") {
		return fmt.Errorf("%s does not offer STARTTLS; this load generator sends mail only "+
			"over TLS", opts.addr)
	}
	if _, err := s.command(220, "STARTTLS"); err != nil {
		return err
	}
	// RFC 3207 section 4.2 forbids anything after the 220 before the handshake;
	// bytes here would be commands injected in plaintext.
	if s.r.Buffered() > 0 {
		return fmt.Errorf("%s sent %d octets after its STARTTLS reply, before the TLS "+
			"handshake", opts.addr, s.r.Buffered())
	}

	tc := tls.Client(s.conn, tlsConfig)
	s.deadline()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake with %s: %w", opts.addr, err)
	}
	state := tc.ConnectionState()
	s.conn, s.r, s.w = tc, bufio.NewReader(tc), bufio.NewWriterSize(tc, 32<<10)
	s.tlsVersion, s.tlsGroup = tls.VersionName(state.Version), state.CurveID.String()

	ehlo, err = s.command(250, "EHLO "+opts.ehlo)
	if err != nil {
		return err
	}
	s.sizeParam = ehlo.has("SIZE")
	if opts.authUser != "" {
		// RFC 4616: the PLAIN message is authzid NUL authcid NUL passwd.
		token := base64.StdEncoding.EncodeToString(
			[]byte("\x00" + opts.authUser + "\x00" + opts.authPassword))
		if _, err := s.commandLabelled(235, "AUTH PLAIN "+token, "AUTH PLAIN"); err != nil {
			return err
		}
	}
	return nil
}

// send runs one transaction and returns the time from writing the final "." line to
// reading the server's reply. msg must end with CRLF and be dot-stuffed already.
func (s *session) send(from string, to []string, msg []byte) (time.Duration, error) {
	// SIZE is declared as an MTA relaying the message would (RFC 1870).
	mail := "MAIL FROM:<" + from + ">"
	if s.sizeParam {
		mail += fmt.Sprintf(" SIZE=%d", len(msg))
	}
	if _, err := s.command(250, mail); err != nil {
		return 0, err
	}
	for _, rcpt := range to {
		if _, err := s.command(250, "RCPT TO:<"+rcpt+">"); err != nil {
			return 0, err
		}
	}
	if _, err := s.command(354, "DATA"); err != nil {
		return 0, err
	}

	s.deadline()
	if _, err := s.w.Write(msg); err != nil {
		return 0, fmt.Errorf("write message: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return 0, fmt.Errorf("write message: %w", err)
	}
	start := time.Now()
	if _, err := s.w.WriteString(".\r\n"); err != nil {
		return 0, fmt.Errorf("write end of data: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return 0, fmt.Errorf("write end of data: %w", err)
	}
	if _, err := s.expect(250, "end of data"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// reset sends RSET before the next transaction on a reused connection.
func (s *session) reset() error {
	_, err := s.command(250, "RSET")
	return err
}

// quit ends the session politely and closes the connection; a failed QUIT is not an error
// of the message already accepted.
func (s *session) quit() {
	_, _ = s.command(221, "QUIT")
	s.close()
}

func (s *session) close() { s.conn.Close() }

func (s *session) deadline() { _ = s.conn.SetDeadline(time.Now().Add(s.timeout)) }

// command sends line and reads the reply, which must be in the class of want (2xx for 250)
// or, for 3xx and 220, that exact code.
func (s *session) command(want int, line string) (reply, error) {
	return s.commandLabelled(want, line, line)
}

// commandLabelled is command with the label used in error messages given apart from the
// line, so that credentials stay out of them.
func (s *session) commandLabelled(want int, line, label string) (reply, error) {
	s.deadline()
	if _, err := s.w.WriteString(line + "\r\n"); err != nil {
		return reply{}, fmt.Errorf("%s: %w", label, err)
	}
	if err := s.w.Flush(); err != nil {
		return reply{}, fmt.Errorf("%s: %w", label, err)
	}
	return s.expect(want, label)
}

// expect reads one reply and checks its code against want, as command does. label names
// the step in error messages.
func (s *session) expect(want int, label string) (reply, error) {
	rep, err := readReply(s.r)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", label, err)
	}
	ok := rep.code == want
	if want == 250 {
		ok = rep.code/100 == 2
	}
	if !ok {
		return rep, fmt.Errorf("%s: server replied %d %s", label, rep.code,
			strings.Join(rep.lines, " / "))
	}
	return rep, nil
}

// reply is one SMTP reply: its code and the text of each line.
type reply struct {
	code  int
	lines []string
}

// has reports whether an EHLO reply lists the extension keyword (RFC 5321 section 4.1.1.1:
// the first line is the greeting, each later line starts with a keyword).
func (r reply) has(keyword string) bool {
	for i, line := range r.lines {
		if i == 0 {
			continue
		}
		first, _, _ := strings.Cut(line, " ")
		if strings.EqualFold(first, keyword) {
			return true
		}
	}
	return false
}

// maxReplyLines bounds a multi-line reply, so that a broken server cannot make the load
// generator read forever.
const maxReplyLines = 100

var errMalformedReply = errors.New("malformed reply")

// readReply reads one reply. RFC 5321 section 4.2.1: every line is a three-digit code, then
// "-" on all lines but the last and a space (or nothing) on the last, and all lines carry
// the same code. A line longer than r's buffer is an error.
func readReply(r *bufio.Reader) (reply, error) {
	var rep reply
	for n := 0; n < maxReplyLines; n++ {
		raw, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return rep, fmt.Errorf("%w: line longer than %d octets", errMalformedReply,
					r.Size())
			}
			return rep, err
		}
		line := strings.TrimRight(string(raw), "\r\n")
		if len(line) < 3 || (len(line) > 3 && line[3] != ' ' && line[3] != '-') {
			return rep, fmt.Errorf("%w: %q", errMalformedReply, line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 200 || code > 599 {
			return rep, fmt.Errorf("%w: %q has no reply code", errMalformedReply, line)
		}
		if n > 0 && code != rep.code {
			return rep, fmt.Errorf("%w: code %d inside a reply with code %d", errMalformedReply,
				code, rep.code)
		}
		rep.code = code
		text := ""
		if len(line) > 4 {
			text = line[4:]
		}
		rep.lines = append(rep.lines, text)
		if len(line) == 3 || line[3] == ' ' {
			return rep, nil
		}
	}
	return rep, fmt.Errorf("%w: more than %d lines", errMalformedReply, maxReplyLines)
}
