package delivery

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// pipeSession returns a working session over a pipe whose other end replies
// 221 to every line, as a server replies to QUIT. The pool sends nothing
// else.
func pipeSession(t *testing.T, key string) *session {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { server.Close() })
	go func() {
		r := bufio.NewReader(server)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			server.Write([]byte("221 2.0.0 bye\r\n"))
		}
	}()
	s := newSession("test", "mx.test", "127.0.0.1:25", client, time.Second)
	s.key = key
	return s
}

func TestPoolKeepsAtMostMaxPerKey(t *testing.T) {
	p := newPool(2, time.Minute)
	defer p.closeAll()
	a, b, c := pipeSession(t, "k"), pipeSession(t, "k"), pipeSession(t, "k")

	if !p.put(a) || !p.put(b) {
		t.Fatal("pool refused a session below its limit")
	}
	if p.put(c) {
		t.Error("pool kept a third session for a key limited to 2")
	}
	if got := p.get("k"); got != b {
		t.Error("get did not return the most recently used session")
	}
	if got := p.get("other"); got != nil {
		t.Error("get returned a session for another key")
	}
}

func TestPoolRejectsBrokenOldClosed(t *testing.T) {
	p := newPool(2, time.Minute)
	broken := pipeSession(t, "k")
	broken.broken = true
	if p.put(broken) {
		t.Error("pool kept a broken session")
	}

	old := pipeSession(t, "k")
	old.created = time.Now().Add(-maxSessionAge)
	if p.put(old) {
		t.Error("pool kept a session older than maxSessionAge")
	}

	p.closeAll()
	fresh := pipeSession(t, "k")
	if p.put(fresh) {
		t.Error("closed pool kept a session")
	}
}

func TestPoolDisabled(t *testing.T) {
	p := newPool(-1, time.Minute)
	s := pipeSession(t, "k")
	if p.put(s) {
		t.Error("pool with a negative limit kept a session")
	}
}

func TestPoolExpiresIdleSessions(t *testing.T) {
	p := newPool(2, 20*time.Millisecond)
	s := pipeSession(t, "k")
	if !p.put(s) {
		t.Fatal("pool refused the session")
	}

	deadline := time.Now().Add(2 * time.Second)
	for p.count() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("idle session not expired after 2 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p.get("k") != nil {
		t.Error("get returned an expired session")
	}
}
