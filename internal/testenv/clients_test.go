package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSwaksSendsWithVerifiedTLS(t *testing.T) {
	ca := newCA(t)
	sink := Sink(t, SinkOptions{TLSConfig: serverTLS(t, ca, "localhost"), RequireTLS: true})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := Swaks(t, "--server", sink.Addr(), "--tls", "--tls-verify",
		"--tls-ca-path", caFile, "--tls-sni", "localhost",
		"--from", "a@police.example", "--to", "b@cps.example",
		"--header", "Subject: swaks check")
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}

	m := sink.WaitMessages(1, 5*time.Second)[0]
	if !m.TLS {
		t.Error("swaks message not received over TLS")
	}
	if !strings.Contains(string(m.Data), "Subject: swaks check") {
		t.Errorf("message lacks its Subject:\n%s", m.Data)
	}
}

func TestSwaksReportsRejection(t *testing.T) {
	sink := Sink(t, SinkOptions{DataError: SMTPError(554, "5.7.1", "marking above OFFICIAL")})

	out, err := Swaks(t, "--server", sink.Addr(),
		"--from", "a@police.example", "--to", "b@cps.example")
	if err == nil {
		t.Fatalf("swaks exited 0 after a rejected DATA:\n%s", out)
	}
	if !strings.Contains(out, "554 5.7.1 marking above OFFICIAL") {
		t.Errorf("swaks output lacks the rejection:\n%s", out)
	}
}

func TestPythonSendsWithSmtplib(t *testing.T) {
	sink := Sink(t, SinkOptions{})
	script := `
import smtplib, sys
host, port = sys.argv[1].rsplit(":", 1)
with smtplib.SMTP(host, int(port), timeout=10) as s:
    s.sendmail("a@police.example", ["b@cps.example"], "Subject: python check\r\n\r\nhi\r\n")
print("sent")
`
	out, err := Python(t, script, sink.Addr())
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	if strings.TrimSpace(out) != "sent" {
		t.Errorf("output = %q, want sent", out)
	}

	m := sink.WaitMessages(1, 5*time.Second)[0]
	if !strings.Contains(string(m.Data), "Subject: python check") {
		t.Errorf("message lacks its Subject:\n%s", m.Data)
	}
}

func TestPythonReportsFailure(t *testing.T) {
	out, err := Python(t, "import sys; print('bad input'); sys.exit(3)")
	if err == nil {
		t.Fatal("Python returned no error for exit status 3")
	}
	if !strings.Contains(out, "bad input") {
		t.Errorf("output %q lacks what the script printed", out)
	}
}
