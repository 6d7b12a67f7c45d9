package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/testenv"
)

// startDemo runs `cjsm demo --dir dir` until the test ends and returns demo.json.
func startDemo(t *testing.T, dir string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out bytes.Buffer
	go func() { done <- runContext(ctx, []string{"demo", "--dir", dir}, &out, &bytes.Buffer{}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("demo exited with %d after cancel, want 0", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("demo did not stop within 30 s of cancel")
		}
	})
	path := filepath.Join(dir, "demo.json")
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			var info map[string]any
			if err := json.Unmarshal(b, &info); err != nil {
				t.Fatalf("demo.json is not JSON: %v\n%s", err, b)
			}
			return info
		}
		select {
		case code := <-done:
			t.Fatalf("demo exited with %d before writing demo.json:\n%s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo.json did not appear within 60 s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDemoServesAndCarriesMail(t *testing.T) {
	dir := t.TempDir()
	info := startDemo(t, dir)
	for _, key := range []string{"smtp", "submission", "submissions", "http", "ca_cert", "config", "accounts"} {
		if info[key] == nil || info[key] == "" {
			t.Errorf("demo.json lacks %q", key)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + info["http"].(string) + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d, want 200", path, resp.StatusCode)
		}
	}
	accounts := info["accounts"].([]any)
	if len(accounts) < 3 {
		t.Fatalf("demo.json has %d accounts, want several", len(accounts))
	}
	from := accounts[0].(map[string]any)
	to := accounts[2].(map[string]any)
	out, err := testenv.Swaks(t, "--server", info["submission"].(string), "--tls", "--tls-verify",
		"--tls-ca-path", info["ca_cert"].(string), "--auth", "PLAIN",
		"--auth-user", from["address"].(string), "--auth-password", from["password"].(string),
		"--from", from["address"].(string), "--to", to["address"].(string)+",duty@kent.police.test")
	if err != nil || !strings.Contains(out, "250 2.0.0 OK queued as") {
		t.Fatalf("swaks through the demo failed: %v\n%s", err, out)
	}

	// The trusted domain's receiving server gets its copy over verified TLS.
	var received []string
	deadline := time.Now().Add(20 * time.Second)
	for len(received) == 0 && time.Now().Before(deadline) {
		received, _ = filepath.Glob(filepath.Join(dir, "received", "kent.police.test", "*.eml"))
		time.Sleep(100 * time.Millisecond)
	}
	if len(received) != 1 {
		t.Errorf("demo's police mail server stored %d messages, want 1", len(received))
	}

	var trace bytes.Buffer
	code := runContext(context.Background(), []string{"admin", "--config", info["config"].(string),
		"trace", "--sender", from["address"].(string)}, &trace, &bytes.Buffer{})
	if code != 0 {
		t.Fatalf("trace exited %d", code)
	}
	for _, want := range []string{"accepted", "delivered", to["address"].(string), "duty@kent.police.test", "TLS"} {
		if !strings.Contains(trace.String(), want) {
			t.Errorf("trace lacks %q:\n%s", want, trace.String())
		}
	}
}

func TestDemoRerunReusesDirectory(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	for i := 0; i < 2; i++ {
		if code := runContext(context.Background(), []string{"demo", "--dir", dir, "--setup-only"}, &out, &out); code != 0 {
			t.Fatalf("demo --setup-only run %d exited %d:\n%s", i+1, code, out.String())
		}
	}
	var list bytes.Buffer
	code := runContext(context.Background(), []string{"admin", "--config", filepath.Join(dir, "cjsm.toml"),
		"org", "list"}, &list, &out)
	if code != 0 {
		t.Fatalf("org list exited %d: %s", code, out.String())
	}
	if n := strings.Count(list.String(), "kent-police "); n != 1 {
		t.Errorf("kent-police listed %d times after two runs, want 1:\n%s", n, list.String())
	}
}
