package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/pki"
	"github.com/cjsm/cjsm/internal/testenv"
)

// peers are the outside world of a scenario: a CA, a DNS server, and the MX of police.test.
type peers struct {
	ca   *pki.CA
	dns  *testenv.DNSServer
	port int // port of the police.test MX
}

// policeSink starts a recording sink with STARTTLS, holding a certificate for mx.police.test,
// as the MX of police.test.
func policeSink(t *testing.T) (*testenv.SinkServer, peers) {
	t.Helper()
	ca, err := pki.NewCA("cjsm e2e CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue([]string{"mx.police.test"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sink := testenv.Sink(t, testenv.SinkOptions{Hostname: "mx.police.test", RequireTLS: true,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	d := testenv.DNS(t)
	d.AddMX("police.test", 10, "mx.police.test")
	d.AddA("mx.police.test", "127.0.0.1")
	return sink, peers{ca: ca, dns: d, port: portOf(t, sink.Addr())}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	fmt.Sscan(port, &p)
	return p
}

// sendOne submits one message with Go's net/smtp over STARTTLS and AUTH PLAIN and returns the
// server's final reply text. A new connection per message, as many clients do.
func sendOne(addr string, tc *tls.Config, user, to, subject string) (string, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Hello("burst.test"); err != nil {
		return "", err
	}
	if err := c.StartTLS(tc); err != nil {
		return "", err
	}
	host, _, _ := net.SplitHostPort(addr)
	if err := c.Auth(smtp.PlainAuth("", user, password, host)); err != nil {
		return "", err
	}
	if err := c.Mail(user); err != nil {
		return "", err
	}
	if err := c.Rcpt(to); err != nil {
		return "", err
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n%s\r\n", user, to, subject,
		strings.Repeat("burst body line\r\n", 40))
	if err := w.Close(); err != nil {
		return "", err
	}
	return subject, c.Quit()
}

// burst sends n messages from 10 concurrent clients spread over addrs and returns the
// subjects the server acknowledged with 250. stop, when not nil, is called once after
// killAfter acknowledgements.
func burst(t *testing.T, e *env, addrs []string, n, killAfter int, stop func()) []string {
	t.Helper()
	from := "alice.adams@mvs." + suffix
	var mu sync.Mutex
	var acked []string
	var next, count atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				subject := fmt.Sprintf("burst-%04d", i)
				addr := addrs[int(i)%len(addrs)]
				if _, err := sendOne(addr, e.clientTLS(), from, "duty.officer@police.test", subject); err != nil {
					continue // refused or cut off by the kill: not acknowledged
				}
				mu.Lock()
				acked = append(acked, subject)
				mu.Unlock()
				if stop != nil && count.Add(1) == int64(killAfter) {
					once.Do(stop)
				}
			}
		}()
	}
	wg.Wait()
	return acked
}

// arrivals counts the sink's messages by subject.
func arrivals(sink *testenv.SinkServer) map[string]int {
	got := map[string]int{}
	for _, m := range sink.Messages() {
		for _, line := range strings.Split(string(m.Data), "\r\n") {
			if strings.HasPrefix(line, "Subject: ") {
				got[strings.TrimPrefix(line, "Subject: ")]++
				break
			}
		}
	}
	return got
}

// waitArrivals waits until every subject has arrived at least once.
func waitArrivals(t *testing.T, sink *testenv.SinkServer, subjects []string, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := arrivals(sink)
		missing := 0
		for _, s := range subjects {
			if got[s] == 0 {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}
