package smtpserver

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCommandLineLengthLimit(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := readyClient(t, ts)

	// "NOOP " plus padding plus CRLF: exactly 1000 octets passes, 1001 does not.
	atLimit := "NOOP " + strings.Repeat("x", 1000-len("NOOP ")-2)
	c.cmd(atLimit, 250, "")
	overLimit := atLimit + "x"
	reply := c.cmd(overLimit, 500, "5.5.2")
	if !strings.Contains(reply, "1000") {
		t.Errorf("reply %q does not state the limit", reply)
	}

	// A line far over the limit is read to its end and the session goes on.
	c.cmd("NOOP "+strings.Repeat("y", 20000), 500, "5.5.2")
	c.cmd("NOOP", 250, "")
}

func TestDataLineLengthLimit(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := readyClient(t, ts)

	c.beginData()
	// 998 octets plus CRLF, and a dot-stuffed line whose stuffed dot does not count.
	c.send("Subject: long\r\n\r\n" + strings.Repeat("a", 998) + "\r\n." +
		strings.Repeat(".", 998) + "\r\n.\r\n")
	c.expect(250, "2.0.0")

	c.beginData()
	c.send("Subject: too long\r\n\r\n" + strings.Repeat("a", 999) + "\r\n.\r\n")
	reply := c.expect(554, "5.6.0")
	if !strings.Contains(reply, "1000 octets") {
		t.Errorf("reply %q does not state the limit", reply)
	}
	c.cmd("NOOP", 250, "")

	got := ts.backend.delivered()
	if len(got) != 1 {
		t.Fatalf("backend received %d messages, want 1", len(got))
	}
	if !strings.Contains(string(got[0].msg), "\r\n"+strings.Repeat(".", 998)+"\r\n") {
		t.Error("dot-stuffed line was not unstuffed to 998 dots")
	}
}

func TestSizeLimit(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, func(c *Config) { c.MaxMessageBytes = 4096 })
	c := readyClient(t, ts)
	c.cmd("EHLO client.test", 250, "SIZE 4096")
	c.cmd("MAIL FROM:<alice@firm.test> SIZE=5000", 552, "5.3.4")

	c.beginData()
	c.send("Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("z", 98)+"\r\n", 50) + ".\r\n")
	c.expect(552, "5.3.4")

	c.cmd("MAIL FROM:<alice@firm.test>", 250, "")
	c.cmd("RCPT TO:<bob@court.test>", 250, "")
	chunk := strings.Repeat("z", 5000)
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk), chunk))
	c.expect(552, "5.3.4")

	c.cmd("NOOP", 250, "")
	if n := len(ts.backend.delivered()); n != 0 {
		t.Errorf("backend received %d oversized messages", n)
	}
}

func TestRecipientLimit(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, func(c *Config) { c.MaxRecipients = 2 })
	c := readyClient(t, ts)
	c.cmd("MAIL FROM:<alice@firm.test>", 250, "")
	c.cmd("RCPT TO:<bob@court.test>", 250, "")
	c.cmd("RCPT TO:<carol@court.test>", 250, "")
	c.cmd("RCPT TO:<dave@court.test>", 452, "4.5.3")
}

func TestLoopDetectionByReceivedCount(t *testing.T) {
	ts := startServer(t, ModeRelay, nil, nil)
	c := dialRaw(t, ts.addr, false)
	c.cmd("EHLO peer.test", 250, "")
	c.startTLS()
	c.cmd("EHLO peer.test", 250, "")

	received := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "Received: from hop%d.test by hop%d.test; "+
				"Mon, 02 Jan 2006 15:04:05 +0000\r\n", i, i+1)
		}
		return b.String()
	}

	c.beginData()
	c.send(received(50) + "Subject: fifty hops\r\n\r\nbody\r\n.\r\n")
	c.expect(250, "2.0.0")

	c.beginData()
	c.send(received(51) + "Subject: fifty-one hops\r\n\r\nbody\r\n.\r\n")
	c.expect(554, "5.4.6")

	// Received fields in the body are not counted.
	c.beginData()
	c.send("Subject: quoted\r\n\r\n" + received(60) + ".\r\n")
	c.expect(250, "2.0.0")

	if n := len(ts.backend.delivered()); n != 2 {
		t.Errorf("backend received %d messages, want 2", n)
	}
}

func TestBackendErrorsReachClient(t *testing.T) {
	be := &fakeBackend{rcptErr: map[string]error{
		"outside@else.test": Reject(550, [3]int{5, 7, 1},
			"outside@else.test is outside the secure community"),
		"broken@court.test": fmt.Errorf("directory lookup: %w", errors.New("db down")),
		"wrapped@court.test": fmt.Errorf("policy: %w", Reject(450, [3]int{4, 2, 1},
			"Mailbox busy")),
	}}
	ts := startServer(t, ModeSubmission, be, nil)
	c := readyClient(t, ts)
	c.cmd("MAIL FROM:<alice@firm.test>", 250, "")
	c.cmd("RCPT TO:<outside@else.test>", 550, "5.7.1 outside@else.test is outside the secure")
	reply := c.cmd("RCPT TO:<broken@court.test>", 451, "4.3.0")
	if strings.Contains(reply, "db down") {
		t.Errorf("internal error text reached the client: %q", reply)
	}
	c.cmd("RCPT TO:<wrapped@court.test>", 450, "4.2.1 Mailbox busy")

	logs := ts.logs.String()
	if !strings.Contains(logs, "db down") || !strings.Contains(logs, "command=RCPT") {
		t.Errorf("backend failure not logged with its command:\n%s", logs)
	}
}

func TestDeliverFailureIsTemporary(t *testing.T) {
	be := &fakeBackend{deliverErr: errors.New("queue disk full")}
	ts := startServer(t, ModeSubmission, be, nil)
	c := readyClient(t, ts)
	c.beginData()
	c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
	reply := c.expect(451, "4.3.0")
	if strings.Contains(reply, "disk") {
		t.Errorf("internal error text reached the client: %q", reply)
	}
}

func TestMalformedBDATClosesConnection(t *testing.T) {
	for _, line := range []string{"BDAT x LAST", "BDAT", "BDAT\t30 LAST", "BDAT 1 2",
		"bdatx 30"} {
		t.Run(line, func(t *testing.T) {
			ts := startServer(t, ModeSubmission, nil, nil)
			c := readyClient(t, ts)
			c.cmd("MAIL FROM:<alice@firm.test>", 250, "")
			c.cmd("RCPT TO:<bob@court.test>", 250, "")
			c.send(line + "\r\nMAIL FROM:<mallory@evil.test>\r\n")
			replies := c.remainingReplies()
			if len(replies) != 1 || !strings.HasPrefix(replies[0], "421 4.5.4") {
				t.Errorf("replies = %q, want one 421 4.5.4 and close", replies)
			}
			if n := ts.backend.mailCount(); n != 1 {
				t.Errorf("backend Mail called %d times, want 1", n)
			}
		})
	}
}
