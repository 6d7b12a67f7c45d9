package smtpserver

import (
	"fmt"
	"strings"
	"testing"
)

// smuggled is a second transaction hidden after a fake end of data. A server that
// took the fake end for the real one would run it and accept two messages.
const smuggled = "MAIL FROM:<alice@firm.test>\r\n" +
	"RCPT TO:<bob@court.test>\r\n" +
	"DATA\r\n" +
	"Subject: smuggled\r\n" +
	"\r\n" +
	"smuggled body\r\n" +
	".\r\n"

func TestSmugglingPayloadsInDATAAreRejected(t *testing.T) {
	// Each fake end follows "first body". Only CRLF "." CRLF ends DATA, so each
	// payload is one message, which contains a bare CR or LF and is rejected whole.
	fakeEnds := map[string]string{
		"LF dot LF":     "\n.\n",
		"LF dot CRLF":   "\n.\r\n",
		"CR dot CR":     "\r.\r",
		"CRLF dot LF":   "\r\n.\n",
		"CRLF dot CR":   "\r\n.\r",
		"CR dot CRLF":   "\r.\r\n",
		"CRLF dot CRCR": "\r\n.\r\r\n",
		"LF dot":        "\n.",
	}
	for name, fakeEnd := range fakeEnds {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, ModeSubmission, nil, nil)
			c := readyClient(t, ts)
			c.beginData()

			c.send("Subject: first\r\n\r\nfirst body" + fakeEnd + smuggled + "QUIT\r\n")
			replies := c.remainingReplies()

			if len(replies) != 2 || !strings.HasPrefix(replies[0], "554 5.6.0") ||
				!strings.HasPrefix(replies[1], "221") {
				t.Errorf("replies = %q, want one 554 5.6.0 for the message, then 221", replies)
			}
			if n := len(ts.backend.delivered()); n != 0 {
				t.Errorf("backend received %d messages, want none", n)
			}
		})
	}
}

func TestSmugglingRejectionKeepsSessionUsable(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := readyClient(t, ts)
	c.beginData()
	c.send("Subject: first\r\n\r\nfirst body\n.\n" + smuggled)
	c.expect(554, "5.6.0")

	// The next real transaction goes through: the server and client agree on
	// where the rejected message ended.
	c.beginData()
	c.send("Subject: second\r\n\r\nsecond body\r\n.\r\n")
	c.expect(250, "2.0.0 OK queued as")

	got := ts.backend.delivered()
	if len(got) != 1 {
		t.Fatalf("backend received %d messages, want 1", len(got))
	}
	if body := string(got[0].msg); !strings.Contains(body, "second body") ||
		strings.Contains(body, "smuggled") {
		t.Errorf("delivered message is not the second one:\n%s", body)
	}
}

func TestBDATChunkWithDotLineIsOneMessage(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := readyClient(t, ts)
	c.cmd("MAIL FROM:<alice@firm.test>", 250, "")
	c.cmd("RCPT TO:<bob@court.test>", 250, "")

	// BDAT content has no end marker; a "." line inside a chunk is content.
	content := "Subject: first\r\n\r\nfirst body\r\n.\r\n" + smuggled
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(content), content) + "QUIT\r\n")
	replies := c.remainingReplies()

	if len(replies) != 2 || !strings.HasPrefix(replies[0], "250 2.0.0 OK queued as") ||
		!strings.HasPrefix(replies[1], "221") {
		t.Errorf("replies = %q, want one 250 for the message, then 221", replies)
	}
	got := ts.backend.delivered()
	if len(got) != 1 {
		t.Fatalf("backend received %d messages, want exactly 1", len(got))
	}
	body := "\r\n\r\nfirst body\r\n.\r\n" + smuggled
	if !strings.HasSuffix(string(got[0].msg), body) {
		t.Errorf("delivered message does not end with the chunk's body:\n%s", got[0].msg)
	}
}

func TestBDATBareLineEndsAreRejected(t *testing.T) {
	cases := map[string][]string{
		"bare LF":                 {"Subject: x\r\n\r\nbody\n.\n" + smuggled},
		"bare CR":                 {"Subject: x\r\n\r\nbody\r.\r" + smuggled},
		"CR at chunk end, then x": {"Subject: x\r\n\r\nbody\r", "x\r\n"},
		"CR ends the last chunk":  {"Subject: x\r\n\r\nbody\r"},
		"bare LF in second chunk": {"Subject: x\r\n\r\n", "body\n"},
		"line too long over split": {"Subject: x\r\n\r\n" + strings.Repeat("a", 600),
			strings.Repeat("b", 600) + "\r\n"},
	}
	for name, chunks := range cases {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, ModeSubmission, nil, nil)
			c := readyClient(t, ts)
			c.cmd("MAIL FROM:<alice@firm.test>", 250, "")
			c.cmd("RCPT TO:<bob@court.test>", 250, "")

			var wire strings.Builder
			for i, chunk := range chunks {
				last := ""
				if i == len(chunks)-1 {
					last = " LAST"
				}
				fmt.Fprintf(&wire, "BDAT %d%s\r\n%s", len(chunk), last, chunk)
			}
			c.send(wire.String() + "QUIT\r\n")
			replies := c.remainingReplies()

			if len(replies) == 0 || !strings.HasPrefix(replies[len(replies)-1], "221") {
				t.Fatalf("replies = %q, want 221 last", replies)
			}
			rejected := false
			for _, r := range replies[:len(replies)-1] {
				if strings.HasPrefix(r, "554 5.6.0") {
					rejected = true
				}
			}
			if !rejected {
				t.Errorf("replies = %q, want a 554 5.6.0", replies)
			}
			if n := len(ts.backend.delivered()); n != 0 {
				t.Errorf("backend received %d messages, want none", n)
			}
		})
	}
}

func TestPythonSmugglingPayloadRejected(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	result := runPython(t, ts, `
s = smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test", timeout=10)
s.starttls(context=CTX)
s.login(USER, PASSWORD)
s.mail("alice@firm.test")
s.rcpt("bob@court.test")
s.putcmd("data")
code, _ = s.getreply()
assert code == 354, code
s.sock.sendall(b"Subject: first\r\n\r\nfirst body\n.\nMAIL FROM:<alice@firm.test>\r\n"
               b"RCPT TO:<bob@court.test>\r\nDATA\r\nsmuggled\r\n.\r\n")
data_code, data_text = s.getreply()
noop_code, noop_text = s.noop()
s.quit()
print(json.dumps({"data_code": data_code, "data_text": text(data_text),
                  "noop_code": noop_code, "noop_text": text(noop_text)}))
`)
	if code := num(t, result, "data_code"); code != 554 {
		t.Errorf("reply to the message = %d %s, want 554", code, str(t, result, "data_text"))
	}
	// A server that ran the smuggled commands would still owe their replies, and
	// NOOP would get one of those instead of its own.
	if noop := str(t, result, "noop_text"); num(t, result, "noop_code") != 250 ||
		!strings.Contains(noop, "successfully done nothing") {
		t.Errorf("NOOP reply = %q, want go-smtp's NOOP reply", noop)
	}
	if n := len(ts.backend.delivered()); n != 0 {
		t.Errorf("backend received %d messages, want none", n)
	}
}

func TestBareLFCommandsRejected(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := dialRaw(t, ts.addr, false)
	c.send("EHLO client.test\n")
	c.expect(500, "5.5.2")
	c.cmd("EHLO client.test", 250, "")
	c.startTLS()
	c.cmd("EHLO client.test", 250, "")
	c.authPlain()

	for _, line := range []string{
		"MAIL FROM:<alice@firm.test>\n",
		"MAIL FROM:<alice@firm.test>\rRCPT TO:<bob@court.test>\r\n",
		"NOOP\n",
	} {
		c.send(line)
		reply := c.expect(500, "5.5.2")
		if !strings.Contains(reply, "CRLF") && !strings.Contains(reply, "carriage return") {
			t.Errorf("reply %q does not say what is wrong with the line ending", reply)
		}
	}
	c.cmd("NOOP", 250, "")
	if n := ts.backend.mailCount(); n != 0 {
		t.Errorf("backend Mail called %d times for bare-LF commands", n)
	}
}
