package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// resolvConfPath is the system resolver configuration read when
// Client.Resolver is empty.
const resolvConfPath = "/etc/resolv.conf"

// dnsUDPSize is the EDNS0 buffer size offered to the resolver. 1232 octets
// avoids IP fragmentation on every common path (DNS Flag Day 2020).
const dnsUDPSize = 1232

// dnsError is a failed DNS query.
type dnsError struct {
	name     string
	qtype    uint16
	notFound bool   // NXDOMAIN: the name does not exist
	reason   string // "SERVFAIL", "timed out", ...
}

func (e *dnsError) Error() string {
	return fmt.Sprintf("DNS %s query for %s failed: %s", dns.TypeToString[e.qtype], e.name,
		e.reason)
}

// resolver sends DNS queries to one server, or to the system's servers in
// turn.
type resolver struct {
	server  string // host:port; "" reads resolvConfPath
	timeout time.Duration
}

// servers returns the addresses to query, in order.
func (r *resolver) servers() ([]string, error) {
	if r.server != "" {
		return []string{r.server}, nil
	}
	conf, err := dns.ClientConfigFromFile(resolvConfPath)
	if err != nil {
		return nil, fmt.Errorf("read the system resolver configuration: %w; "+
			"set the resolver address in the delivery configuration", err)
	}
	servers := make([]string, 0, len(conf.Servers))
	for _, server := range conf.Servers {
		servers = append(servers, net.JoinHostPort(server, conf.Port))
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("%s lists no nameserver; set the resolver address in the "+
			"delivery configuration", resolvConfPath)
	}
	return servers, nil
}

// query returns the answer records of type qtype for name, following the
// CNAME records that a recursive resolver includes. An empty result with a
// nil error means the name exists without records of that type (NODATA).
func (r *resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	servers, err := r.servers()
	if err != nil {
		return nil, &dnsError{name: name, qtype: qtype, reason: err.Error()}
	}

	msg := new(dns.Msg)
	msg.SetQuestion(dns.Fqdn(name), qtype)
	msg.SetEdns0(dnsUDPSize, false)

	var lastErr *dnsError
	for _, server := range servers {
		resp, err := r.exchange(ctx, msg, server)
		if err != nil {
			reason := err.Error()
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				reason = "no answer from " + server + " within " + r.timeout.String()
			}
			lastErr = &dnsError{name: name, qtype: qtype, reason: reason}
			continue
		}

		switch resp.Rcode {
		case dns.RcodeSuccess:
			var records []dns.RR
			for _, rr := range resp.Answer {
				if rr.Header().Rrtype == qtype {
					records = append(records, rr)
				}
			}
			return records, nil
		case dns.RcodeNameError:
			return nil, &dnsError{name: name, qtype: qtype, notFound: true,
				reason: "the name does not exist (NXDOMAIN)"}
		}
		lastErr = &dnsError{name: name, qtype: qtype,
			reason: "server " + server + " answered " + dns.RcodeToString[resp.Rcode]}
	}
	return nil, lastErr
}

// exchange sends msg over UDP, and again over TCP when the answer is
// truncated (RFC 1035 section 4.2.1).
func (r *resolver) exchange(ctx context.Context, msg *dns.Msg, server string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	client := &dns.Client{Net: "udp", Timeout: r.timeout}
	resp, _, err := client.ExchangeContext(ctx, msg, server)
	if err == nil && resp.Truncated {
		client.Net = "tcp"
		resp, _, err = client.ExchangeContext(ctx, msg, server)
	}
	return resp, err
}

// mxHost is one host to deliver to, in preference order.
type mxHost struct {
	name       string // host name without trailing dot, lower case
	preference uint16
	implicit   bool // the domain itself, because it has no MX records
}

// lookupMX returns the hosts that receive mail for domain, in the order to
// try them. The failures it returns are Errors for every recipient.
func (r *resolver) lookupMX(ctx context.Context, domain string) ([]mxHost, *Error) {
	records, err := r.query(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, domainLookupError(domain, err)
	}

	// RFC 5321 section 5.1: with no MX records the domain itself is the
	// implicit MX, with preference 0.
	if len(records) == 0 {
		return []mxHost{{name: canonicalHost(domain), implicit: true}}, nil
	}

	var hosts []mxHost
	nullMX := false
	for _, rr := range records {
		mx, ok := rr.(*dns.MX)
		if !ok {
			continue
		}
		if mx.Mx == "." {
			nullMX = true
			continue
		}
		hosts = append(hosts, mxHost{name: canonicalHost(mx.Mx), preference: mx.Preference})
	}
	// RFC 7505 section 3: a null MX (target ".") declares that the domain accepts
	// no mail. A domain that has one must publish no other MX, so a list that
	// mixes both is broken and its real hosts are tried.
	if nullMX && len(hosts) == 0 {
		return nil, localError(false, codeNullMX, "",
			"The domain %s accepts no mail: it publishes a null MX record (RFC 7505).", domain)
	}

	// RFC 5321 section 5.1: hosts of equal preference are tried in random
	// order, to spread the load.
	rand.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
	slices.SortStableFunc(hosts, func(a, b mxHost) int {
		return cmp.Compare(a.preference, b.preference)
	})
	return hosts, nil
}

// domainLookupError returns the Error for a failed MX query of the
// recipient domain: permanent when the domain does not exist.
func domainLookupError(domain string, err error) *Error {
	var dnsErr *dnsError
	if errors.As(err, &dnsErr) && dnsErr.notFound {
		return localError(false, codeNoDomain, "",
			"The domain %s does not exist: its MX lookup returned NXDOMAIN.", domain)
	}
	return localError(true, codeDNSTemporary, "",
		"The MX records of %s could not be looked up (%v).",
		domain, err)
}

// lookupHost returns the IP addresses of host, IPv4 first. The error is a
// *dnsError with notFound set when neither A nor AAAA records exist.
//
// NOTE: IPv4 addresses come first, so a dual-stack host is reached over IPv6
// only when its IPv4 addresses fail.
func (r *resolver) lookupHost(ctx context.Context, host string) ([]net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}, nil
	}

	var ips []net.IP
	var firstErr error
	allNotFound := true
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		records, err := r.query(ctx, host, qtype)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			var dnsErr *dnsError
			if !errors.As(err, &dnsErr) || !dnsErr.notFound {
				allNotFound = false
				continue
			}
			// A name without A records because it does not exist has no
			// AAAA records either.
			break
		}
		for _, rr := range records {
			switch rr := rr.(type) {
			case *dns.A:
				ips = append(ips, rr.A)
			case *dns.AAAA:
				ips = append(ips, rr.AAAA)
			}
		}
	}

	switch {
	case len(ips) > 0:
		return ips, nil
	case firstErr == nil || allNotFound:
		return nil, &dnsError{name: host, qtype: dns.TypeA, notFound: true,
			reason: "the host has no A or AAAA records"}
	}
	return nil, firstErr
}

// canonicalHost returns a DNS name in lower case without its trailing dot.
func canonicalHost(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}
