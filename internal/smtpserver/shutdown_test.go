package smtpserver

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestShutdownWaitsForTransaction(t *testing.T) {
	ts := startServer(t, ModeSubmission, nil, nil)

	idle := readyClient(t, ts)
	busy := readyClient(t, ts)
	busy.beginData()
	busy.send("Subject: in flight\r\n\r\nfirst half\r\n")

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- ts.srv.Shutdown(ctx)
	}()

	// The idle connection gets 421 at once and is closed.
	replies := idle.remainingReplies()
	if len(replies) != 1 || !strings.HasPrefix(replies[0], "421 4.3.2") {
		t.Errorf("idle connection got %q, want one 421 4.3.2 and close", replies)
	}

	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v while a message was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}

	// The transaction finishes, then the connection closes at its next command.
	busy.send("second half\r\n.\r\n")
	busy.expect(250, "2.0.0 OK queued as")
	busy.send("NOOP\r\n")
	replies = busy.remainingReplies()
	if len(replies) != 1 || !strings.HasPrefix(replies[0], "421 4.3.2") {
		t.Errorf("busy connection after its message got %q, want 421 4.3.2", replies)
	}

	select {
	case err := <-shutdown:
		if err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the last connection closed")
	}
	select {
	case err := <-ts.served:
		if err != nil {
			t.Errorf("ServeSubmission = %v, want nil after Shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeSubmission did not return after Shutdown")
	}
	if n := len(ts.backend.delivered()); n != 1 {
		t.Errorf("backend received %d messages, want the one in flight", n)
	}
}

func TestShutdownDeadlineClosesConnections(t *testing.T) {
	be := &fakeBackend{deliverGate: make(chan struct{})}
	ts := startServer(t, ModeSubmission, be, nil)
	defer close(be.deliverGate)

	busy := readyClient(t, ts)
	busy.beginData()
	busy.send("Subject: stuck\r\n\r\nbody\r\n.\r\n")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ts.srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %v after its deadline", d)
	}

	if code, text := busy.reply(2 * time.Second); code != 0 {
		t.Errorf("got reply %q, want the connection closed", text)
	}
}

func TestServeRejectsMissingTLSConfig(t *testing.T) {
	srv := New(Config{Hostname: testHostname}, &fakeBackend{}, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = srv.ServeRelay(l)
	if err == nil || !strings.Contains(err.Error(), "TLSConfig") {
		t.Errorf("ServeRelay without TLSConfig = %v, want an error naming TLSConfig", err)
	}
}
