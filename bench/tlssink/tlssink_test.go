package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/pki"
)

// startTestSink runs a sink on free loopback ports and returns it with a pool that trusts
// its certificate.
func startTestSink(t *testing.T) (*sink, *x509.CertPool) {
	t.Helper()
	ca, err := pki.NewCA("tlssink test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := start("127.0.0.1:0", "127.0.0.1:0", "sink.test", cert, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s, ca.Pool()
}

// sendOverTLS sends one message with net/smtp after STARTTLS.
func sendOverTLS(t *testing.T, s *sink, pool *x509.CertPool, rcpts []string) {
	t.Helper()
	c, err := smtp.Dial(s.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"}); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}

	if err := c.Mail("a@b.test"); err != nil {
		t.Fatal(err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			t.Fatal(err)
		}
	}

	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "Subject: test\r\n\r\n0123456789\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("end of data: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func getCounts(t *testing.T, url string) (int, counts) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c counts
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusGatewayTimeout {
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			t.Fatalf("GET %s: body is not the counts: %v", url, err)
		}
	}
	return resp.StatusCode, c
}

func TestSinkCountsMessages(t *testing.T) {
	s, pool := startTestSink(t)
	before := time.Now().UnixNano()
	sendOverTLS(t, s, pool, []string{"x@y.test"})
	sendOverTLS(t, s, pool, []string{"x@y.test", "z@y.test"})

	status, c := getCounts(t, "http://"+s.httpAddr+"/count")
	if status != http.StatusOK {
		t.Fatalf("GET /count: status %d", status)
	}
	if c.Messages != 2 {
		t.Errorf("messages = %d, want 2", c.Messages)
	}
	if c.Recipients != 3 {
		t.Errorf("recipients = %d, want 3", c.Recipients)
	}
	// Each message is "Subject: test\r\n\r\n0123456789\r\n": 29 octets.
	if c.Octets != 58 {
		t.Errorf("octets = %d, want 58", c.Octets)
	}
	if c.LastNS < before || c.LastNS > time.Now().UnixNano() {
		t.Errorf("last_ns = %d, outside the test's run", c.LastNS)
	}
}

func TestSinkWait(t *testing.T) {
	s, pool := startTestSink(t)
	done := make(chan int)
	go func() {
		// t.Fatal may not be called here, outside the test's goroutine.
		resp, err := http.Get("http://" + s.httpAddr + "/wait?messages=1&timeout=10s")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(50 * time.Millisecond)
	sendOverTLS(t, s, pool, []string{"x@y.test"})
	select {
	case status := <-done:
		if status != http.StatusOK {
			t.Errorf("GET /wait after the message: status %d, want 200", status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GET /wait did not return after the message arrived")
	}

	status, c := getCounts(t, "http://"+s.httpAddr+"/wait?messages=2&timeout=100ms")
	if status != http.StatusGatewayTimeout {
		t.Errorf("GET /wait for a message that never comes: status %d, want 504", status)
	}
	if c.Messages != 1 {
		t.Errorf("GET /wait on timeout: messages = %d, want the current count 1", c.Messages)
	}
}

func TestSinkWaitRejectsBadParameters(t *testing.T) {
	s, _ := startTestSink(t)
	for _, query := range []string{"", "messages=many", "messages=-1",
		"messages=1&timeout=soon", "messages=1&timeout=-1s", "messages=1&timeout=2h"} {
		status, _ := getCounts(t, "http://"+s.httpAddr+"/wait?"+query)
		if status != http.StatusBadRequest {
			t.Errorf("GET /wait?%s: status %d, want 400", query, status)
		}
	}
}

func TestSinkRejectsMailWithoutTLS(t *testing.T) {
	s, _ := startTestSink(t)
	c, err := smtp.Dial(s.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Mail("a@b.test")
	if err == nil || !strings.HasPrefix(err.Error(), "530") {
		t.Errorf("MAIL FROM before STARTTLS: error %v, want a 530 reply", err)
	}
	if _, counted := getCounts(t, "http://"+s.httpAddr+"/count"); counted.Messages != 0 {
		t.Errorf("messages = %d after a rejected transaction, want 0", counted.Messages)
	}
}
