package dsn

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

var original = []byte("From: <a@x.test>\r\nTo: <b@y.test>\r\nSubject: hearing\r\nMessage-ID: <m1@x.test>\r\n\r\nsecret body\r\n")

func parts(t *testing.T, msg []byte) (*mail.Message, []string, [][]byte) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("report is not a valid message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type %q: want multipart/report; report-type=delivery-status", m.Header.Get("Content-Type"))
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	var bodies [][]byte
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		types = append(types, p.Header.Get("Content-Type"))
		bodies = append(bodies, b)
	}
	return m, types, bodies
}

func TestBuildFailedReportHasThreeParts(t *testing.T) {
	rep := Build(Report{ReportingMTA: "mail.cjsm.test", QueueID: "q1", Arrival: time.Now(),
		Sender: "a@x.test", EnvelopeID: "env-7", Recipients: []Recipient{{Address: "b@y.test",
			ORcpt: "rfc822;b@y.test", Action: "failed", Status: "5.1.1",
			Diagnostic: "smtp; 550 5.1.1 no such user", RemoteMTA: "mx.y.test", Reason: "no such user"}}}, original)
	m, types, bodies := parts(t, rep)
	if m.Header.Get("To") != "<a@x.test>" || !strings.Contains(m.Header.Get("Subject"), "Undelivered") {
		t.Errorf("header: To %q Subject %q", m.Header.Get("To"), m.Header.Get("Subject"))
	}
	if len(types) != 3 || !strings.HasPrefix(types[0], "text/plain") || types[1] != "message/delivery-status" ||
		types[2] != "text/rfc822-headers" {
		t.Fatalf("parts: %q, want text/plain, message/delivery-status, text/rfc822-headers", types)
	}
	status := string(bodies[1])
	for _, want := range []string{"Reporting-MTA: dns; mail.cjsm.test", "Original-Envelope-Id: env-7",
		"Final-Recipient: rfc822; b@y.test", "Original-Recipient: rfc822;b@y.test", "Action: failed",
		"Status: 5.1.1", "Remote-MTA: dns; mx.y.test", "Diagnostic-Code: smtp; 550 5.1.1 no such user"} {
		if !strings.Contains(status, want) {
			t.Errorf("delivery-status part lacks %q:\n%s", want, status)
		}
	}
	if !strings.Contains(string(bodies[2]), "Subject: hearing") || strings.Contains(string(bodies[2]), "secret body") {
		t.Errorf("headers part must hold the original header and not its body:\n%s", bodies[2])
	}
	if MessageID(rep) == "" {
		t.Error("MessageID found no Message-ID in the report")
	}
}

func TestBuildReturnFullIncludesBody(t *testing.T) {
	rep := Build(Report{ReportingMTA: "m", Sender: "a@x.test", ReturnFull: true,
		Recipients: []Recipient{{Address: "b@y.test", Action: "failed", Status: "5.0.0"}}}, original)
	_, types, bodies := parts(t, rep)
	if types[2] != "message/rfc822" || !strings.Contains(string(bodies[2]), "secret body") {
		t.Errorf("RET=FULL: third part %q should carry the whole message", types[2])
	}
}

func TestWantsFollowsNotify(t *testing.T) {
	cases := []struct {
		notify, action string
		want           bool
	}{
		{"", "failed", true}, {"", "delayed", true}, {"", "delivered", false},
		{"NEVER", "failed", false}, {"SUCCESS", "failed", false}, {"FAILURE", "failed", true},
		{"FAILURE,DELAY", "delayed", true}, {"SUCCESS", "delivered", true},
	}
	for _, c := range cases {
		if got := Wants(c.notify, c.action); got != c.want {
			t.Errorf("Wants(%q, %q) = %v, want %v", c.notify, c.action, got, c.want)
		}
	}
}
