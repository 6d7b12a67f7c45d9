package demo

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

// Peers are the demo's stand-ins for the world outside cjsm, all on loopback: a DNS server
// that answers for the demo's outside domains, and one receiving mail server that plays both
// the police force's MX and the law firm's own server, writing what it receives to
// DIR/received/<domain>/.
type Peers struct {
	DNSAddr  string // host:port of the DNS server (UDP and TCP)
	SMTPAddr string // host:port of the receiving server
	dnsUDP   *dns.Server
	dnsTCP   *dns.Server
	smtp     *smtp.Server
}

// StartPeers starts the demo's DNS server and receiving mail server.
func (d *Demo) StartPeers(logger *slog.Logger) (*Peers, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(d.Dir, "tls", "peers.pem"), filepath.Join(d.Dir, "tls", "peers-key.pem"))
	if err != nil {
		return nil, fmt.Errorf("demo: receiving server certificate: %w", err)
	}
	p := &Peers{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.SMTPAddr = l.Addr().String()
	srv := smtp.NewServer(&receiver{dir: filepath.Join(d.Dir, "received"), log: logger})
	srv.Domain = "mx.kent.police.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.MaxMessageBytes = 64 << 20
	p.smtp = srv
	go srv.Serve(l)

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	tl, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		srv.Close()
		return nil, err
	}
	p.DNSAddr = pc.LocalAddr().String()
	p.dnsUDP = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(answer)}
	p.dnsTCP = &dns.Server{Listener: tl, Handler: dns.HandlerFunc(answer)}
	go p.dnsUDP.ActivateAndServe()
	go p.dnsTCP.ActivateAndServe()
	return p, nil
}

// Close stops the peers.
func (p *Peers) Close() {
	p.smtp.Close()
	p.dnsUDP.Shutdown()
	p.dnsTCP.Shutdown()
}

// zone is what the demo's DNS server knows: the police force's MX and the address of both
// outside mail servers. Everything else is NXDOMAIN.
var zone = map[string][]string{
	"kent.police.test.":      {"kent.police.test. 300 IN MX 10 mx.kent.police.test."},
	"mx.kent.police.test.":   {"mx.kent.police.test. 300 IN A 127.0.0.1"},
	"mail.harbourreed.test.": {"mail.harbourreed.test. 300 IN A 127.0.0.1"},
	"harbourreed.test.":      {"harbourreed.test. 300 IN MX 10 mail.harbourreed.test."},
}

func answer(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		records, known := zone[strings.ToLower(q.Name)]
		if !known {
			m.Rcode = dns.RcodeNameError
		}
		for _, text := range records {
			rr, err := dns.NewRR(text)
			if err == nil && rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	_ = w.WriteMsg(m)
}

// receiver is the go-smtp backend of the receiving server.
type receiver struct {
	dir string
	log *slog.Logger
	seq atomic.Int64
}

func (r *receiver) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &receiverSession{r: r, conn: c}, nil
}

type receiverSession struct {
	r    *receiver
	conn *smtp.Conn
	from string
	to   []string
}

func (s *receiverSession) AuthPlain(string, string) error { return smtp.ErrAuthUnsupported }

func (s *receiverSession) Mail(from string, _ *smtp.MailOptions) error {
	if _, ok := s.conn.TLSConnectionState(); !ok {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "STARTTLS first"}
	}
	s.from = from
	return nil
}

func (s *receiverSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *receiverSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, rcpt := range s.to {
		domain := "unknown"
		if i := strings.LastIndex(rcpt, "@"); i >= 0 {
			domain = strings.ToLower(rcpt[i+1:])
		}
		dir := filepath.Join(s.r.dir, filepath.Base(domain))
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		name := fmt.Sprintf("%s-%04d.eml", time.Now().UTC().Format("20060102T150405Z"), s.r.seq.Add(1))
		header := fmt.Sprintf("X-Demo-Envelope-From: <%s>\r\nX-Demo-Envelope-To: <%s>\r\n", s.from, rcpt)
		if err := os.WriteFile(filepath.Join(dir, name), append([]byte(header), data...), 0o640); err != nil {
			return err
		}
		s.r.log.Info("demo receiving server stored a message", "from", s.from, "rcpt", rcpt, "file", filepath.Join(dir, name))
	}
	return nil
}

func (s *receiverSession) Reset()        { s.from, s.to = "", nil }
func (s *receiverSession) Logout() error { return nil }
