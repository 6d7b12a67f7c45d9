package smtpserver

import (
	"context"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPythonSubmissionDeliversWithTraceHeaders(t *testing.T) {
	be := &fakeBackend{queueID: "Q-42"}
	ts := startServer(t, ModeSubmission, be, nil)
	result := runPython(t, ts, `
s = smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test", timeout=10)
s.ehlo()
pre = sorted(s.esmtp_features)
s.starttls(context=CTX)
s.ehlo()
post = sorted(s.esmtp_features)
s.login(USER, PASSWORD)
s.mail("alice@firm.test")
s.rcpt("bob@court.test")
code, resp = s.data(b"Subject: hello\r\n\r\nfirst body\r\n")
s.quit()
print(json.dumps({"pre": " ".join(pre), "post": " ".join(post),
                  "code": code, "resp": text(resp)}))
`)

	if pre := str(t, result, "pre"); !strings.Contains(pre, "starttls") ||
		strings.Contains(pre, "auth") {
		t.Errorf("extensions before TLS = %q, want starttls and no auth", pre)
	}
	if post := str(t, result, "post"); !strings.Contains(post, "auth") ||
		strings.Contains(post, "starttls") {
		t.Errorf("extensions after TLS = %q, want auth and no starttls", post)
	}
	if code, resp := num(t, result, "code"), str(t, result, "resp"); code != 250 ||
		resp != "2.0.0 OK queued as Q-42" {
		t.Errorf("reply to the message = %d %q, want 250 \"2.0.0 OK queued as Q-42\"",
			code, resp)
	}

	got := be.delivered()
	if len(got) != 1 {
		t.Fatalf("backend received %d messages, want 1", len(got))
	}
	d := got[0]
	if d.principal != "user:"+testUser {
		t.Errorf("principal = %q, want user:%s", d.principal, testUser)
	}
	if d.connID == "" || d.connID != d.conn.ID {
		t.Errorf("context conn id %q does not match Conn.ID %q", d.connID, d.conn.ID)
	}
	if d.conn.TLS == nil || d.conn.Listener != ModeSubmission || d.conn.HELO != "client.test" {
		t.Errorf("Conn = %+v, want TLS state, submission listener and HELO client.test",
			d.conn)
	}
	if d.env.From != "alice@firm.test" || len(d.env.Recipients) != 1 ||
		d.env.Recipients[0].Address != "bob@court.test" {
		t.Errorf("envelope = %+v", d.env)
	}

	msg := string(d.msg)
	received := regexp.MustCompile(`^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n` +
		`\tby mx\.cjsm\.test with ESMTPSA \(TLS 1\.[23] cipher TLS_[A-Z0-9_]+\)\r\n` +
		`\tid ` + regexp.QuoteMeta(d.env.ID) + ` for <bob@court\.test>;\r\n` +
		`\t[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r\n` +
		`Subject: hello\r\n`)
	if !received.MatchString(msg) {
		t.Errorf("message does not start with the expected Received field:\n%s", msg)
	}
	if !regexp.MustCompile(`\r\nDate: [^\r\n]+\r\nMessage-ID: <[a-z2-7]{16}@mx\.cjsm\.test>` +
		`\r\n\r\nfirst body\r\n$`).MatchString(msg) {
		t.Errorf("Date and Message-ID not added at the end of the header:\n%s", msg)
	}
}

func TestPythonSubmissionWithoutLoginRejected(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	result := runPython(t, ts, `
s = smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test", timeout=10)
s.starttls(context=CTX)
try:
    s.sendmail("alice@firm.test", ["bob@court.test"], b"Subject: x\r\n\r\nbody\r\n")
    out = {"code": 250, "resp": "accepted"}
except smtplib.SMTPSenderRefused as e:
    out = {"code": e.smtp_code, "resp": text(e.smtp_error)}
s.quit()
print(json.dumps(out))
`)
	if code, resp := num(t, result, "code"), str(t, result, "resp"); code != 530 ||
		!strings.HasPrefix(resp, "5.7.0 Authentication required") {
		t.Errorf("MAIL without AUTH got %d %q, want 530 5.7.0 Authentication required",
			code, resp)
	}
}

func TestPythonAuthLogin(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	result := runPython(t, ts, `
codes = []
for initial in (False, True):
    s = smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test", timeout=10)
    s.starttls(context=CTX)
    s.ehlo()
    s.user, s.password = USER, PASSWORD
    code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=initial)
    codes.append(code)
    s.quit()
s = smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test", timeout=10)
s.starttls(context=CTX)
s.ehlo()
s.user, s.password = USER, "wrong"
try:
    s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    codes.append(235)
except smtplib.SMTPAuthenticationError as e:
    codes.append(e.smtp_code)
print(json.dumps({"codes": " ".join(str(c) for c in codes)}))
`)
	if codes := str(t, result, "codes"); codes != "235 235 535" {
		t.Errorf("AUTH LOGIN replies = %q, want \"235 235 535\"", codes)
	}
}

func TestPythonImplicitTLSSubmission(t *testing.T) {
	ts := startServer(t, ModeSubmissions, nil, nil)
	result := runPython(t, ts, `
s = smtplib.SMTP_SSL("127.0.0.1", PORT, local_hostname="client.test", context=CTX, timeout=10)
s.login(USER, PASSWORD)
refused = s.sendmail("alice@firm.test", ["bob@court.test", "carol@court.test"],
                     b"Subject: two\r\nMessage-ID: <given@firm.test>\r\n\r\nbody\r\n")
s.quit()
print(json.dumps({"refused": len(refused)}))
`)
	if n := num(t, result, "refused"); n != 0 {
		t.Errorf("%d recipients refused", n)
	}

	got := ts.backend.delivered()
	if len(got) != 1 {
		t.Fatalf("backend received %d messages, want 1", len(got))
	}
	msg := string(got[0].msg)
	if strings.Contains(msg, " for <") {
		t.Errorf("Received field names a recipient of a message to two:\n%s", msg)
	}
	if strings.Count(msg, "Message-ID:") != 1 || !strings.Contains(msg,
		"Message-ID: <given@firm.test>") {
		t.Errorf("the client's Message-ID was not kept alone:\n%s", msg)
	}
	if got[0].conn.Listener != ModeSubmissions {
		t.Errorf("listener = %v, want submissions", got[0].conn.Listener)
	}
}

func TestPythonRelayPassesDSNAndRequireTLS(t *testing.T) {
	ts := startServer(t, ModeRelay, nil, nil)
	result := runPython(t, ts, `
s = smtplib.SMTP("127.0.0.1", PORT, local_hostname="mail.firm.test", timeout=10)
s.starttls(context=CTX)
s.ehlo()
refused = s.sendmail("alice@firm.test", ["bob@court.test"],
    "Subject: caf\u00e9\r\n\r\nbody\r\n".encode(),
    mail_options=["RET=HDRS", "ENVID=env+2B1", "REQUIRETLS", "SMTPUTF8", "BODY=8BITMIME"],
    rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob+2Bx@court.test"])
s.quit()
print(json.dumps({"refused": len(refused)}))
`)
	if n := num(t, result, "refused"); n != 0 {
		t.Errorf("%d recipients refused", n)
	}

	got := ts.backend.delivered()
	if len(got) != 1 {
		t.Fatalf("backend received %d messages, want 1", len(got))
	}
	d := got[0]
	if ts.backend.identifies != 1 || d.principal != "peer:mail.firm.test" {
		t.Errorf("Identify calls = %d, principal = %q; want 1 and peer:mail.firm.test",
			ts.backend.identifies, d.principal)
	}

	opts := d.env.Options
	if opts.Return != "HDRS" || opts.EnvelopeID != "env+1" || !opts.RequireTLS ||
		!opts.UTF8 || opts.Body != "8BITMIME" || opts.Size == 0 {
		t.Errorf("MAIL options = %+v, want RET=HDRS, ENVID env+1, REQUIRETLS, SMTPUTF8, "+
			"8BITMIME and a SIZE", opts)
	}
	rcpt := d.env.Recipients[0].Options
	if !slices.Equal(rcpt.Notify, []string{"SUCCESS", "FAILURE"}) ||
		rcpt.OriginalRecipientType != "RFC822" || rcpt.OriginalRecipient != "bob+x@court.test" {
		t.Errorf("RCPT options = %+v, want NOTIFY SUCCESS,FAILURE and ORCPT "+
			"rfc822;bob+x@court.test", rcpt)
	}
	if !strings.Contains(string(d.msg), "with ESMTPS (") {
		t.Errorf("relay Received field does not say ESMTPS:\n%s", d.msg)
	}
}

func TestSwaksSubmission(t *testing.T) {
	swaks := requirePeer(t, "swaks")
	ts := startServer(t, ModeSubmission, nil, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, swaks,
		"--server", "127.0.0.1", "--port", ts.port,
		"--helo", "client.test", "--tls",
		"--auth", "PLAIN", "--auth-user", testUser, "--auth-password", testPassword,
		"--from", "alice@firm.test", "--to", "bob@court.test",
		"--header", "Subject: from swaks", "--body", "swaks body",
	).CombinedOutput()
	if err != nil {
		t.Fatalf("swaks failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "250 2.0.0 OK queued as") {
		t.Errorf("swaks transcript lacks the queued reply:\n%s", out)
	}

	got := ts.backend.delivered()
	if len(got) != 1 || !strings.Contains(string(got[0].msg), "swaks body") {
		t.Fatalf("backend received %d messages, want the swaks message", len(got))
	}
}

func TestLogsNameConnectionAndHideSecrets(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)
	c := readyClient(t, ts)
	c.beginData()
	c.send("Subject: secret subject\r\n\r\nsecret body text\r\n.\r\n")
	c.expect(250, "")
	c.cmd("RCPT TO:<x@y.test>", 502, "Missing MAIL FROM")
	c.cmd("QUIT", 221, "")
	waitFor(t, "the close log line", func() bool {
		return strings.Contains(ts.logs.String(), "smtp connection closed")
	})

	logs := ts.logs.String()
	for _, want := range []string{"smtp connection opened", "smtp connection closed",
		"smtp message accepted", "smtp command rejected", "remote_ip=127.0.0.1",
		"conn_id=", "queue_id=", "msg_id="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{testPassword, "secret body text", "secret subject"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}
