package pop3server

import (
	"errors"
	"fmt"
	"strconv"
)

// totals returns the number and total size of the messages not marked for
// deletion.
func (s *session) totals() (count int, size int64) {
	for _, m := range s.msgs {
		if !m.deleted {
			count++
			size += m.Size
		}
	}
	return count, size
}

// lookup returns the message with the number arg, or the -ERR reply to send.
// Numbers count from 1 over the messages listed at sign-in, including those
// marked for deletion (RFC 1939 section 5).
func (s *session) lookup(arg string) (int, *entry, *reply) {
	n, ok := parseMessageNumber(arg)
	if !ok {
		return 0, nil, errReply("", "Invalid message number; "+
			"send a number from 1 as listed by LIST.")
	}
	if n > len(s.msgs) {
		return 0, nil, errReply("", fmt.Sprintf("No message %d; the maildrop has %d messages.",
			n, len(s.msgs)))
	}
	m := &s.msgs[n-1]
	if m.deleted {
		return 0, nil, errReply("", fmt.Sprintf("Message %d is marked for deletion; "+
			"RSET unmarks it.", n))
	}
	return n, m, nil
}

// cmdStat answers "+OK count size", the format RFC 1939 section 5 fixes.
func (s *session) cmdStat() error {
	count, size := s.totals()
	s.send(okReply(fmt.Sprintf("%d %d", count, size)))
	return nil
}

// cmdList sends the size of one message or of each message ("scan listing",
// RFC 1939 section 5).
func (s *session) cmdList(cmd command) error {
	if len(cmd.args) == 1 {
		n, m, rep := s.lookup(cmd.args[0])
		if rep != nil {
			return s.reject(rep)
		}
		s.send(okReply(fmt.Sprintf("%d %d", n, m.Size)))
		return nil
	}

	count, size := s.totals()
	s.send(okReply(fmt.Sprintf("%d messages (%d octets)", count, size)))
	for i, m := range s.msgs {
		if !m.deleted {
			s.w.WriteString(strconv.Itoa(i+1) + " " + strconv.FormatInt(m.Size, 10) + "\r\n")
		}
	}
	s.w.WriteString(".\r\n")
	return nil
}

// cmdUidl sends the unique-id of one message or of each message (RFC 1939
// section 7).
func (s *session) cmdUidl(cmd command) error {
	if len(cmd.args) == 1 {
		n, m, rep := s.lookup(cmd.args[0])
		if rep != nil {
			return s.reject(rep)
		}
		s.send(okReply(fmt.Sprintf("%d %s", n, m.UID)))
		return nil
	}

	s.send(okReply("Unique-ID listing follows"))
	for i, m := range s.msgs {
		if !m.deleted {
			s.w.WriteString(strconv.Itoa(i+1) + " " + m.UID + "\r\n")
		}
	}
	s.w.WriteString(".\r\n")
	return nil
}

// cmdRetr sends a whole message (RFC 1939 section 5).
func (s *session) cmdRetr(cmd command) error {
	n, m, rep := s.lookup(cmd.args[0])
	if rep != nil {
		return s.reject(rep)
	}
	return s.sendMessage(n, m, -1, fmt.Sprintf("%d octets", m.Size))
}

// cmdTop sends the header section of a message and the first lines of its body
// (RFC 1939 section 7).
func (s *session) cmdTop(cmd command) error {
	n, m, rep := s.lookup(cmd.args[0])
	if rep != nil {
		return s.reject(rep)
	}
	lines, ok := parseLineCount(cmd.args[1])
	if !ok {
		return s.reject(errReply("", "Invalid line count; send a number from 0."))
	}
	return s.sendMessage(n, m, lines, "Top of message follows")
}

// sendMessage sends message n as a multi-line response, all of it when
// bodyLines < 0. If the message cannot be opened the client gets -ERR and the
// session goes on. An error after "+OK" has gone out ends the session, because
// the client would otherwise take a truncated message for a whole one.
func (s *session) sendMessage(n int, m *entry, bodyLines int64, okText string) error {
	body, err := s.drop.Open(s.ctx, m.UID)
	if err != nil {
		s.log.Error("pop3 message open failed", "user", s.user, "uid", m.UID,
			"error", err.Error())
		s.send(errReply("SYS/TEMP", fmt.Sprintf("Message %d cannot be read at the moment; "+
			"try again later.", n)))
		return nil
	}
	defer body.Close()

	s.send(okReply(okText))
	if err := writeMessage(s.w, body, bodyLines); err != nil {
		if errors.Is(err, errMessageRead) {
			s.log.Error("pop3 message read failed", "user", s.user, "uid", m.UID,
				"error", err.Error())
		}
		return fmt.Errorf("%w: message %d: %w", errMessageTransfer, n, err)
	}
	s.w.WriteString(".\r\n")
	if bodyLines < 0 {
		s.retrieved++
	}
	return nil
}

// cmdDele marks a message for deletion at QUIT (RFC 1939 section 5).
func (s *session) cmdDele(cmd command) error {
	n, m, rep := s.lookup(cmd.args[0])
	if rep != nil {
		return s.reject(rep)
	}
	m.deleted = true
	s.send(okReply(fmt.Sprintf("Message %d marked for deletion.", n)))
	return nil
}

// cmdRset unmarks every message marked for deletion (RFC 1939 section 5).
func (s *session) cmdRset() error {
	for i := range s.msgs {
		s.msgs[i].deleted = false
	}
	count, size := s.totals()
	s.send(okReply(fmt.Sprintf("The maildrop has %d messages (%d octets).", count, size)))
	return nil
}

// cmdQuit enters the UPDATE state, removes the messages marked for deletion and releases
// the maildrop lock (RFC 1939 section 6). finish then closes the connection.
func (s *session) cmdQuit() error {
	s.state = stateUpdate
	var uids []string
	for _, m := range s.msgs {
		if m.deleted {
			uids = append(uids, m.UID)
		}
	}

	if len(uids) > 0 {
		if err := s.drop.Delete(s.ctx, uids); err != nil {
			s.log.Error("pop3 message deletion failed", "user", s.user,
				"messages", len(uids), "error", err.Error())
			s.releaseMaildrop()
			s.send(errReply("SYS/TEMP", "The messages marked for deletion could not all "+
				"be removed; they may be listed again at the next sign-in."))
			return errQuit
		}
		s.deleted = len(uids)
	}
	// The lock goes before the reply, so that a client that signs in again as soon as it
	// reads +OK finds the maildrop free, even when the lock is a row in a shared store.
	s.releaseMaildrop()
	s.send(okReply(fmt.Sprintf("Signed out; %d messages deleted.", len(uids))))
	return errQuit
}
