package imapserver_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestTmpStartTLSHandshakeTimeout(t *testing.T) {
	h := newHarness(t)
	conn, err := net.Dial("tcp", h.plainAdr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	g, _ := r.ReadString('\n')
	io.WriteString(conn, "A1 STARTTLS\r\n")
	ok, _ := r.ReadString('\n')
	t.Logf("greeting %q starttls %q", g, ok)
	start := time.Now()
	conn.SetReadDeadline(start.Add(60 * time.Second))
	rest, err := io.ReadAll(r)
	t.Logf("after %v: %q %v", time.Since(start), rest, err)
	if time.Since(start) > 40*time.Second || strings.Contains(err.Error(), "timeout") {
		t.Errorf("not closed")
	}
}
