package pop3server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// messageReadBuffer is the size of the buffer that reads a stored message. A
// longer line is copied in pieces.
const messageReadBuffer = 32 * 1024

// errMessageRead marks errors from reading the stored message, as opposed to
// writing to the client.
var errMessageRead = errors.New("read stored message")

// writeMessage copies a message from r to w as the body of a multi-line response,
// without the final "." line. bodyLines < 0 copies the whole message (RETR).
// Otherwise it copies the header section, the empty line after it and at most
// bodyLines lines of the body (TOP, RFC 1939 section 7).
//
// On the way it makes the copy valid on the wire:
//   - every line ends in CRLF: a bare LF becomes CRLF, and a last line without a
//     line end, or ending in a lone CR, gets CRLF;
//   - a line that begins with "." gets another "." in front, so that no line of
//     the message reads as the end of the response (RFC 1939 section 3).
//
// A stored message with CRLF line ends and a final CRLF therefore comes out
// byte-identical once the client removes the added dots. Errors from r wrap
// errMessageRead.
func writeMessage(w *bufio.Writer, r io.Reader, bodyLines int64) error {
	br := bufio.NewReaderSize(r, messageReadBuffer)
	atLineStart := true
	inHeader := true
	pendingCR := false // a CR at the end of a piece, held back until we know if LF follows

	for {
		piece, readErr := br.ReadSlice('\n')
		if readErr != nil && readErr != bufio.ErrBufferFull && readErr != io.EOF {
			return fmt.Errorf("%w: %w", errMessageRead, readErr)
		}
		if len(piece) == 0 && readErr == io.EOF {
			break
		}

		if atLineStart && !inHeader && bodyLines >= 0 {
			if bodyLines == 0 {
				return nil
			}
			bodyLines--
		}
		if atLineStart && piece[0] == '.' {
			w.WriteByte('.')
		}

		endsLine := piece[len(piece)-1] == '\n'
		content := piece
		if endsLine {
			content = piece[:len(piece)-1]
		}

		if endsLine {
			switch {
			case len(content) == 0:
				// A held-back CR, if any, was the CR of this CRLF.
			case content[len(content)-1] == '\r':
				if pendingCR {
					w.WriteByte('\r')
				}
				content = content[:len(content)-1]
			default:
				if pendingCR {
					w.WriteByte('\r')
				}
			}
			emptyLine := atLineStart && len(content) == 0
			w.Write(content)
			if _, err := w.WriteString("\r\n"); err != nil {
				return err
			}
			if emptyLine {
				inHeader = false
			}
			atLineStart = true
			pendingCR = false
		} else {
			if pendingCR {
				w.WriteByte('\r')
				pendingCR = false
			}
			if content[len(content)-1] == '\r' {
				pendingCR = true
				content = content[:len(content)-1]
			}
			if _, err := w.Write(content); err != nil {
				return err
			}
			atLineStart = false
		}

		if readErr == io.EOF {
			break
		}
	}

	if !atLineStart {
		// The message does not end with a line end: complete its last line. A
		// held-back lone CR becomes part of that CRLF.
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	return nil
}
