package testenv

import (
	"context"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// defaultTTL is the TTL, in seconds, of records added without one.
const defaultTTL = 60

// maxCNAMEChain bounds how many CNAME records one answer follows, so that a
// CNAME loop in a test zone ends.
const maxCNAMEChain = 8

// DNSServer is an authoritative DNS server on 127.0.0.1, over UDP and TCP on the
// same port, serving the records a test gives it and NXDOMAIN for names it has
// none for. Records can change while it runs. Its methods are safe for
// concurrent use, but those that fail the test on bad input must be called from
// the test's goroutine.
type DNSServer struct {
	t    testing.TB
	log  *testLogger
	addr string
	udp  *dns.Server
	tcp  *dns.Server

	mu      sync.RWMutex
	records map[string][]dns.RR // by canonical (lower-case, fully qualified) name
	rcodes  map[string]int      // forced response codes, by canonical name
}

// DNS starts a DNS server serving records and stops it when the test ends.
func DNS(t testing.TB, records ...dns.RR) *DNSServer {
	t.Helper()
	began := time.Now()
	d := &DNSServer{
		t:       t,
		log:     newTestLogger(t),
		records: make(map[string][]dns.RR),
		rcodes:  make(map[string]int),
	}
	d.Add(records...)

	pc, l, err := listenUDPAndTCP()
	if err != nil {
		t.Fatalf("testenv: DNS server: %v", err)
	}
	d.addr = pc.LocalAddr().String()
	d.udp = d.serve(&dns.Server{PacketConn: pc, Handler: d})
	d.tcp = d.serve(&dns.Server{Listener: l, Handler: d})

	t.Cleanup(func() {
		d.log.close()
		d.udp.Shutdown()
		d.tcp.Shutdown()
	})
	logStart(t, "DNS server on "+d.addr, began)
	return d
}

// listenUDPAndTCP binds UDP and TCP sockets to the same free port of 127.0.0.1,
// trying again when another process already uses the TCP port.
func listenUDPAndTCP() (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		lastErr = err
	}
	return nil, nil, lastErr
}

// serve runs server in the background and returns once it accepts queries.
func (d *DNSServer) serve(server *dns.Server) *dns.Server {
	started := make(chan struct{})
	server.NotifyStartedFunc = func() { close(started) }
	go func() {
		if err := server.ActivateAndServe(); err != nil {
			d.log.Printf("testenv: DNS server on %s stopped: %v", d.addr, err)
		}
	}()
	<-started
	return server
}

// Addr returns the server's address, 127.0.0.1:PORT, for UDP and TCP.
func (d *DNSServer) Addr() string {
	return d.addr
}

// Resolver returns a resolver that sends every query to this server.
func (d *DNSServer) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, network, d.addr)
		},
	}
}

// Add adds records. A record with TTL 0 gets a TTL of 60 seconds.
func (d *DNSServer) Add(records ...dns.RR) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rr := range records {
		hdr := rr.Header()
		hdr.Name = dns.CanonicalName(hdr.Name)
		if hdr.Class == 0 {
			hdr.Class = dns.ClassINET
		}
		if hdr.Ttl == 0 {
			hdr.Ttl = defaultTTL
		}
		d.records[hdr.Name] = append(d.records[hdr.Name], rr)
	}
}

// AddRR adds records written in zone-file syntax, one per argument, such as
// `_dmarc.police.example. 300 IN TXT "v=DMARC1; p=reject"`. It fails the test
// on a syntax error.
func (d *DNSServer) AddRR(lines ...string) {
	d.t.Helper()
	for _, line := range lines {
		rr, err := dns.NewRR(line)
		if err != nil {
			d.t.Fatalf("testenv: invalid DNS record %q: %v", line, err)
		}
		if rr == nil {
			d.t.Fatalf("testenv: DNS line %q contains no record", line)
		}
		d.Add(rr)
	}
}

// AddMX adds an MX record for name pointing at host with the given preference.
func (d *DNSServer) AddMX(name string, preference uint16, host string) {
	d.Add(&dns.MX{Hdr: header(name, dns.TypeMX), Preference: preference, Mx: dns.Fqdn(host)})
}

// AddA adds an A record. It fails the test when ip is not an IPv4 address.
func (d *DNSServer) AddA(name, ip string) {
	d.t.Helper()
	addr := net.ParseIP(ip)
	if addr == nil || addr.To4() == nil {
		d.t.Fatalf("testenv: AddA(%q, %q): not an IPv4 address", name, ip)
	}
	d.Add(&dns.A{Hdr: header(name, dns.TypeA), A: addr.To4()})
}

// AddAAAA adds an AAAA record. It fails the test when ip is not an IPv6 address.
func (d *DNSServer) AddAAAA(name, ip string) {
	d.t.Helper()
	addr := net.ParseIP(ip)
	if addr == nil || addr.To4() != nil {
		d.t.Fatalf("testenv: AddAAAA(%q, %q): not an IPv6 address", name, ip)
	}
	d.Add(&dns.AAAA{Hdr: header(name, dns.TypeAAAA), AAAA: addr})
}

// AddTXT adds a TXT record containing text. RFC 1035 section 3.3 limits a
// character-string to 255 octets, so longer text, such as a DKIM key, is split
// into several. Readers join them again (RFC 7208 section 3.3, RFC 6376 section
// 3.6.2.2).
func (d *DNSServer) AddTXT(name, text string) {
	var chunks []string
	for len(text) > 255 {
		chunks = append(chunks, text[:255])
		text = text[255:]
	}
	chunks = append(chunks, text)
	d.Add(&dns.TXT{Hdr: header(name, dns.TypeTXT), Txt: chunks})
}

// AddCNAME adds a CNAME record making name an alias of target.
func (d *DNSServer) AddCNAME(name, target string) {
	d.Add(&dns.CNAME{Hdr: header(name, dns.TypeCNAME), Target: dns.Fqdn(target)})
}

// AddTLSA adds a TLSA record (RFC 6698), such as
// AddTLSA("_25._tcp.mx1.police.example", 3, 1, 1, sha256HexOfSPKI) for DANE-EE.
// It fails the test when data is not hex.
func (d *DNSServer) AddTLSA(name string, usage, selector, matchingType uint8, data string) {
	d.t.Helper()
	if _, err := hex.DecodeString(data); err != nil {
		d.t.Fatalf("testenv: AddTLSA(%q): certificate data is not hex: %v", name, err)
	}
	d.Add(&dns.TLSA{
		Hdr:          header(name, dns.TypeTLSA),
		Usage:        usage,
		Selector:     selector,
		MatchingType: matchingType,
		Certificate:  strings.ToLower(data),
	})
}

// Set replaces the records of one name and type with records; with none it
// removes them.
func (d *DNSServer) Set(name string, rrtype uint16, records ...dns.RR) {
	name = dns.CanonicalName(name)
	d.mu.Lock()
	var kept []dns.RR
	for _, rr := range d.records[name] {
		if rr.Header().Rrtype != rrtype {
			kept = append(kept, rr)
		}
	}
	if len(kept) == 0 {
		delete(d.records, name)
	} else {
		d.records[name] = kept
	}
	d.mu.Unlock()

	d.Add(records...)
}

// SetRcode makes every query for name fail with rcode, such as
// dns.RcodeServerFailure to simulate a temporary DNS error. dns.RcodeSuccess
// restores normal answers.
func (d *DNSServer) SetRcode(name string, rcode int) {
	name = dns.CanonicalName(name)
	d.mu.Lock()
	defer d.mu.Unlock()
	if rcode == dns.RcodeSuccess {
		delete(d.rcodes, name)
	} else {
		d.rcodes[name] = rcode
	}
}

func header(name string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{
		Name:   dns.CanonicalName(name),
		Rrtype: rrtype,
		Class:  dns.ClassINET,
		Ttl:    defaultTTL,
	}
}

// ServeDNS writes the reply to one query. It implements dns.Handler.
func (d *DNSServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	// Tests use this server as their resolver, so it claims recursion.
	resp.RecursionAvailable = true

	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
	} else {
		d.answer(resp, req.Question[0])
	}

	// Over UDP, a reply that does not fit the client's buffer (512 octets without
	// EDNS0, RFC 1035 section 4.2.1) is truncated and marked TC, so the client
	// retries over TCP.
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			resp.SetEdns0(opt.UDPSize(), false)
		}
		resp.Truncate(size)
	} else if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(opt.UDPSize(), false)
	}
	w.WriteMsg(resp)
}

// answer fills resp for question q, following CNAME records within this server.
func (d *DNSServer) answer(resp *dns.Msg, q dns.Question) {
	d.mu.RLock()
	defer d.mu.RUnlock()

	name := dns.CanonicalName(q.Name)
	for range maxCNAMEChain {
		if rcode, ok := d.rcodes[name]; ok {
			resp.Rcode = rcode
			return
		}

		records := d.records[name]
		matched := filterType(records, q.Qtype)
		if len(matched) > 0 {
			resp.Answer = append(resp.Answer, matched...)
			return
		}

		cnames := filterType(records, dns.TypeCNAME)
		if len(cnames) > 0 && q.Qtype != dns.TypeCNAME {
			resp.Answer = append(resp.Answer, cnames[0])
			name = dns.CanonicalName(cnames[0].(*dns.CNAME).Target)
			continue
		}

		// A name with records of other types, or with names below it, exists and
		// gets an empty answer (NODATA); any other name does not exist. After a
		// CNAME, the code describes the last name in the chain (RFC 6604).
		if len(records) == 0 && !d.hasNamesBelow(name) {
			resp.Rcode = dns.RcodeNameError
		}
		return
	}
	resp.Rcode = dns.RcodeServerFailure
}

func (d *DNSServer) hasNamesBelow(name string) bool {
	suffix := "." + name
	if name == "." {
		suffix = "."
	}
	for owner := range d.records {
		if strings.HasSuffix(owner, suffix) {
			return true
		}
	}
	return false
}

func filterType(records []dns.RR, qtype uint16) []dns.RR {
	var matched []dns.RR
	for _, rr := range records {
		if qtype == dns.TypeANY || rr.Header().Rrtype == qtype {
			matched = append(matched, dns.Copy(rr))
		}
	}
	return matched
}
