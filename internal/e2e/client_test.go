package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/testenv"
)

// sendScript is a Python smtplib client: submission with STARTTLS and AUTH, then one
// message. It prints "QUEUED <reply>" on success and "REFUSED <code> <text>" when the server
// refuses a command, so tests can read both outcomes.
const sendScript = `
import smtplib, ssl, sys
host, port, cafile, user, password, sender = sys.argv[1:7]
rcpts = sys.argv[7].split(",")
body = sys.argv[8]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
try:
    s = smtplib.SMTP(host, int(port), timeout=30)
    s.ehlo("client.test")
    s.starttls(context=ctx)
    s.ehlo("client.test")
    if user:
        s.login(user, password)
    code, resp = s.mail(sender)
    if code != 250:
        print("REFUSED", code, resp.decode()); sys.exit(0)
    for r in rcpts:
        code, resp = s.rcpt(r)
        if code not in (250, 251):
            print("REFUSED", code, resp.decode()); sys.exit(0)
    code, resp = s.data(body.encode())
    if code != 250:
        print("REFUSED", code, resp.decode()); sys.exit(0)
    print("QUEUED", resp.decode())
    s.quit()
except smtplib.SMTPException as e:
    print("ERROR", e)
`

// submit sends body from user to rcpts through the submission listener with Python's smtplib
// and returns the client's one-line outcome.
func (e *env) submit(user, from string, rcpts []string, body string) string {
	e.t.Helper()
	host, port, _ := net.SplitHostPort(e.addr("submission"))
	out, err := testenv.Python(e.t, sendScript, host, port, e.caFile, user, password, from,
		strings.Join(rcpts, ","), body)
	if err != nil {
		e.t.Fatalf("python smtplib client failed: %v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

// queueIDOf extracts the queue id from "QUEUED 2.0.0 OK queued as <id>".
func queueIDOf(t *testing.T, outcome string) string {
	t.Helper()
	if !strings.HasPrefix(outcome, "QUEUED") {
		t.Fatalf("message not accepted: %s", outcome)
	}
	f := strings.Fields(outcome)
	return strings.Trim(f[len(f)-1], "<>")
}

// message builds a message; from may be a bare address or a name-addr such as
// "Bob Brown <bob@x>".
func message(from, to, subject, body string) string {
	if !strings.Contains(from, "<") {
		from = "<" + from + ">"
	}
	return fmt.Sprintf("From: %s\r\nTo: <%s>\r\nSubject: %s\r\n\r\n%s\r\n", from, to, subject, body)
}
