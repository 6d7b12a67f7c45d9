package delivery

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/pki"
	"github.com/cjsm/cjsm/internal/testenv"
)

// testHostname is the EHLO name of the client under test.
const testHostname = "out.cjsm.test"

// testMessage is a small message with CRLF line endings.
const testMessage = "From: sender@cjsm.test\r\n" +
	"To: officer@police.test\r\n" +
	"Subject: case file 42\r\n" +
	"\r\n" +
	"The case file is attached.\r\n"

// fixture is a CA, a DNS server and a client that resolves through it and
// trusts the CA.
type fixture struct {
	t      *testing.T
	ca     *pki.CA
	dns    *testenv.DNSServer
	client *Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ca, err := pki.NewCA("cjsm delivery test CA", time.Hour)
	if err != nil {
		t.Fatalf("create CA: %v", err)
	}
	dnsServer := testenv.DNS(t)
	client := &Client{
		Hostname:       testHostname,
		Resolver:       dnsServer.Addr(),
		DNSTimeout:     2 * time.Second,
		DialTimeout:    2 * time.Second,
		CommandTimeout: 5 * time.Second,
		RootCAs:        ca.Pool(),
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
	t.Cleanup(func() { client.Close() })
	return &fixture{t: t, ca: ca, dns: dnsServer, client: client}
}

// serverTLS returns a server configuration with a certificate from ca for
// names.
func serverTLS(t *testing.T, ca *pki.CA, names ...string) (*tls.Config, *x509.Certificate) {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(names, time.Hour)
	if err != nil {
		t.Fatalf("issue certificate for %v: %v", names, err)
	}
	return tlsFromPEM(t, certPEM, keyPEM)
}

func tlsFromPEM(t *testing.T, certPEM, keyPEM []byte) (*tls.Config, *x509.Certificate) {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("load key pair: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}}, leaf
}

// selfSignedTLS returns a server configuration with a self-signed leaf
// certificate for names, issued by no CA.
func selfSignedTLS(t *testing.T, names ...string) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	config, _ := tlsFromPEM(t,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return config
}

// tlsSink starts a sink that offers STARTTLS with a certificate from ca for
// names and rejects MAIL before STARTTLS, behind a tap.
func (f *fixture) tlsSink(names ...string) (*testenv.SinkServer, *tap) {
	f.t.Helper()
	config, _ := serverTLS(f.t, f.ca, names...)
	sink := testenv.Sink(f.t, testenv.SinkOptions{TLSConfig: config, RequireTLS: true})
	return sink, newTap(f.t, sink.Addr())
}

// mxTo points domain's MX at host, with host's address 127.0.0.1, and
// returns the port to deliver to for a tap.
func (f *fixture) mxTo(domain, host string, tp *tap) int {
	f.t.Helper()
	f.dns.AddMX(domain, 10, host)
	f.dns.AddA(host, "127.0.0.1")
	return tp.port()
}

// deliver calls Deliver with a 20-second limit and fails the test on an
// argument error.
func (f *fixture) deliver(target Target, env Envelope, msg string) Report {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	report, err := f.client.Deliver(ctx, target, env, []byte(msg))
	if err != nil {
		f.t.Fatalf("Deliver returned an argument error: %v", err)
	}
	if len(report.Results) != len(env.To) {
		f.t.Fatalf("Deliver returned %d results for %d recipients", len(report.Results),
			len(env.To))
	}
	return report
}

// dialMap returns a DialContext that connects each placeholder address in
// routes to its real address on 127.0.0.1, and fails for any other address,
// so that a test never connects outside the loopback servers it started.
func dialMap(routes map[string]string) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		real, ok := routes[addr]
		if !ok {
			return nil, fmt.Errorf("test dialler has no route for %s", addr)
		}
		var dialer net.Dialer
		return dialer.DialContext(ctx, network, real)
	}
}

// closedAddr returns an address on 127.0.0.1 where nothing listens, so that
// connecting to it is refused.
func closedAddr(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
}

// requireDelivered fails the test unless every recipient was delivered.
func requireDelivered(t *testing.T, report Report) {
	t.Helper()
	for _, r := range report.Results {
		if r.Err != nil {
			t.Fatalf("recipient %s not delivered: %s (temporary %v, code %d, enhanced %s)",
				r.Rcpt, r.Err.Message, r.Err.Temporary, r.Err.Code, r.Err.Enhanced)
		}
		if r.Reply == "" {
			t.Errorf("recipient %s delivered without the server's reply", r.Rcpt)
		}
	}
}

// requireAllFailed fails the test unless every recipient has the same error
// and returns it.
func requireAllFailed(t *testing.T, report Report) *Error {
	t.Helper()
	var first *Error
	for i, r := range report.Results {
		if r.Err == nil {
			t.Fatalf("recipient %s was delivered, want a failure", r.Rcpt)
		}
		if i == 0 {
			first = r.Err
		} else if *r.Err != *first {
			t.Errorf("recipient %s error %+v differs from %+v", r.Rcpt, *r.Err, *first)
		}
	}
	return first
}

// tap is a TCP proxy in front of a server that counts connections and
// records what clients send, as it crosses the wire. Once STARTTLS has begun,
// the recording holds TLS records, so SMTP commands appear in it only when
// sent in plaintext.
type tap struct {
	t        *testing.T
	listener net.Listener
	target   string

	mu      sync.Mutex
	conns   int
	active  map[net.Conn]bool
	fromCli []byte
}

func newTap(t *testing.T, target string) *tap {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tap: listen: %v", err)
	}
	tp := &tap{t: t, listener: l, target: target, active: make(map[net.Conn]bool)}
	go tp.serve()
	t.Cleanup(func() {
		l.Close()
		tp.closeConnections()
	})
	return tp
}

func (tp *tap) addr() string {
	return tp.listener.Addr().String()
}

func (tp *tap) port() int {
	return tp.listener.Addr().(*net.TCPAddr).Port
}

func (tp *tap) serve() {
	for {
		client, err := tp.listener.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", tp.target)
		if err != nil {
			client.Close()
			continue
		}
		tp.mu.Lock()
		tp.conns++
		tp.active[client] = true
		tp.active[server] = true
		tp.mu.Unlock()
		go tp.pipe(client, server)
	}
}

func (tp *tap) pipe(client, server net.Conn) {
	done := make(chan struct{})
	go func() {
		io.Copy(client, server)
		client.Close()
		close(done)
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			tp.mu.Lock()
			tp.fromCli = append(tp.fromCli, buf[:n]...)
			tp.mu.Unlock()
			server.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	server.Close()
	<-done
	tp.mu.Lock()
	delete(tp.active, client)
	delete(tp.active, server)
	tp.mu.Unlock()
}

// connections returns how many connections clients have opened.
func (tp *tap) connections() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.conns
}

// open returns how many connections are still open.
func (tp *tap) open() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.active) / 2
}

// closeConnections cuts every open connection, as a server restart would.
func (tp *tap) closeConnections() {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for conn := range tp.active {
		conn.Close()
	}
}

// clientBytes returns everything clients have sent.
func (tp *tap) clientBytes() string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return string(tp.fromCli)
}

// requireNoPlaintextMail fails the test when a client sent MAIL, RCPT or DATA
// where the tap could read it.
func (tp *tap) requireNoPlaintextMail() {
	tp.t.Helper()
	sent := strings.ToUpper(tp.clientBytes())
	for _, command := range []string{"MAIL FROM", "RCPT TO", "\r\nDATA\r\n"} {
		if strings.Contains(sent, command) {
			tp.t.Errorf("client sent %q in plaintext; it sent:\n%q", command, sent)
		}
	}
}

// testWriter sends log output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
