// Package delivery is the outbound SMTP client: it hands one message to the
// mail server of one destination, a trusted domain's MX host or a connector's
// smart host, and reports the result for each recipient.
//
// TLS is mandatory. The server must offer STARTTLS, negotiate TLS 1.2 or
// later, and present a certificate that the destination's Policy accepts. Any
// failure of these ends the attempt with that host as a temporary failure,
// and no mail command is ever sent in plaintext.
//
// The package decides nothing about retries. The queue calls Client.Deliver
// for each destination and retries, defers or bounces each recipient from its
// RecipientResult. The package imports no cjsm package other than address.
package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cjsm/cjsm/internal/address"
)

// Defaults for the zero fields of Client.
const (
	DefaultDNSTimeout     = 10 * time.Second
	DefaultDialTimeout    = 30 * time.Second
	DefaultCommandTimeout = 5 * time.Minute // RFC 5321 section 4.5.3.2
	DefaultMaxIdlePerHost = 2
	DefaultIdleTimeout    = 30 * time.Second
	DefaultPort           = 25
)

// maxAddressAttempts bounds the connection attempts of one delivery over all
// MX hosts and their addresses, so that a domain with many broken hosts
// cannot hold a queue worker for long. RFC 5321 section 5.1 recommends
// trying at least two addresses.
const maxAddressAttempts = 10

// Policy is the rule for checking the receiving server's certificate. TLS
// itself is required under every policy.
type Policy struct {
	// Mode is ModeMX (the default when empty), ModePinned, ModeMTASTS or
	// ModeDANE. The last two are not implemented yet and act as ModeMX.
	Mode string

	// PinnedNames are host names, any one of which a certificate that chains to
	// Client.RootCAs may be valid for, in ModePinned.
	PinnedNames []string

	// PinnedFingerprints are SHA-256 digests of accepted leaf certificates, in
	// hex (upper or lower case, with or without colons), in ModePinned. A
	// certificate whose digest is pinned is accepted whatever its names,
	// issuer and dates.
	PinnedFingerprints []string
}

// Target is the destination of one delivery.
type Target struct {
	// Domain is the recipient domain, whose MX records are looked up when Route
	// is empty.
	Domain string

	// Route, as "host:port", replaces the MX lookup: a connector's smart host.
	// The certificate is checked against host.
	Route string

	// Port is the port of MX hosts. 0 means DefaultPort, 25.
	Port int

	// Policy is the certificate check for this destination.
	Policy Policy
}

// Envelope is the SMTP envelope of one message for one destination.
type Envelope struct {
	// From is the reverse-path without angle brackets. The empty string is
	// the null sender of delivery status notifications.
	From string

	// To are the recipients at this destination, without angle brackets.
	To []string

	// RequireTLS requests REQUIRETLS (RFC 8689): only a server that offers it
	// may receive the message, and it must keep requiring TLS onwards.
	RequireTLS bool

	// SMTPUTF8 is true when the message has UTF-8 headers (RFC 6532). The SMTPUTF8
	// parameter is also sent when an address is not ASCII.
	SMTPUTF8 bool

	// RET is the DSN RET parameter (RFC 3461 section 4.3): "FULL", "HDRS" or
	// empty.
	RET string

	// EnvID is the DSN envelope identifier (RFC 3461 section 4.4), not yet
	// xtext-encoded.
	EnvID string

	// Notify maps a recipient of To to its DSN NOTIFY value (RFC 3461 section
	// 4.1), such as "SUCCESS,FAILURE" or "NEVER".
	Notify map[string]string

	// ORcpt maps a recipient of To to its original recipient (RFC 3461 section
	// 4.2), as "rfc822;address" or a bare address, not yet xtext-encoded.
	ORcpt map[string]string

	// MsgID identifies the message in log lines (key msg_id). It is never
	// sent.
	MsgID string
}

// RecipientResult is the outcome for one recipient of Envelope.To.
type RecipientResult struct {
	// Rcpt is the recipient as given in Envelope.To.
	Rcpt string

	// Err is nil when the server accepted the message for Rcpt.
	Err *Error

	// Reply is the server's reply to the message data when it accepted the
	// message ("250 2.0.0 Ok: queued as 4Z9"), for tracking. It is empty
	// otherwise.
	Reply string
}

// Report is the outcome of one Deliver call.
type Report struct {
	// Host and Addr are the server that carried the transaction, or the last
	// one tried when none did. Addr is "ip:port". Both are empty when no
	// server was tried, as after a DNS failure.
	Host string
	Addr string

	// TLSVersion and Cipher are the TLS version and cipher suite names of the
	// session that carried the transaction, as tls.VersionName and
	// tls.CipherSuiteName return them, such as "TLS 1.3" and
	// "TLS_AES_128_GCM_SHA256".
	TLSVersion string
	Cipher     string

	// Reused is true when the transaction used an idle connection from an
	// earlier delivery.
	Reused bool

	// DSN is true when the server offered the DSN extension, so that NOTIFY,
	// ORCPT, RET and ENVID were passed on. When it is false and a recipient
	// asked for NOTIFY=SUCCESS, RFC 3461 section 5.2.2 has the queue send a
	// "relayed" notification.
	DSN bool

	// Results has one entry for each recipient of Envelope.To, in order.
	Results []RecipientResult
}

// Client delivers messages over SMTP with mandatory TLS. Its zero value is
// usable. Set fields before the first Deliver and do not change them after.
// A Client is safe for concurrent use and keeps idle connections for reuse,
// so call Close when done.
type Client struct {
	// Hostname is the name sent in EHLO. It should be the sending host's
	// fully-qualified name, which resolves to its address. Empty means
	// "localhost", which many servers reject.
	Hostname string

	// Resolver is the DNS resolver as "host:port". Empty means the nameservers
	// of /etc/resolv.conf.
	Resolver string

	// DNSTimeout bounds each DNS query, DialTimeout each TCP connection, and
	// CommandTimeout each SMTP command, the greeting and the TLS handshake.
	// The reply to the message data may take twice CommandTimeout. Zero means
	// DefaultDNSTimeout, DefaultDialTimeout and DefaultCommandTimeout.
	DNSTimeout     time.Duration
	DialTimeout    time.Duration
	CommandTimeout time.Duration

	// RootCAs are the certificate authorities that server certificates must
	// chain to, in modes that check the chain. nil means the system roots.
	RootCAs *x509.CertPool

	// Logger receives connection and failure logs. nil means slog.Default().
	Logger *slog.Logger

	// MaxIdlePerHost is how many idle connections are kept for each server
	// address and policy. 0 means DefaultMaxIdlePerHost, and a negative value
	// turns reuse off.
	MaxIdlePerHost int

	// IdleTimeout is how long an idle connection is kept. 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration

	// DialContext, when set, opens TCP connections in place of a net.Dialer,
	// for example to bind a source address. The context carries DialTimeout.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	poolOnce sync.Once
	idle     *pool
	connSeq  atomic.Uint64
}

// Close closes the idle connections. Deliver may still be called afterwards,
// but its connections are then closed after use instead of kept.
func (c *Client) Close() error {
	c.pool().closeAll()
	return nil
}

func (c *Client) pool() *pool {
	c.poolOnce.Do(func() {
		maxIdle := c.MaxIdlePerHost
		if maxIdle == 0 {
			maxIdle = DefaultMaxIdlePerHost
		}
		c.idle = newPool(maxIdle, orDefault(c.IdleTimeout, DefaultIdleTimeout))
	})
	return c.idle
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Client) hostname() string {
	if c.Hostname == "" {
		return "localhost"
	}
	return c.Hostname
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Deliver sends msg, a complete message with CRLF line endings, to the
// recipients env.To at destination t, and reports the outcome for each.
//
// It looks up t.Domain's MX hosts (or uses t.Route) and tries them in
// preference order. It moves on to the next host or address when a
// connection fails, the greeting or EHLO is negative, TLS cannot be
// established under t.Policy, or the server lacks an extension the message
// needs. Once a server has taken the transaction, its replies are final for
// this attempt. When no host takes it, every recipient gets the same Error,
// which is temporary unless every host failed permanently.
//
// Deliver returns a non-nil error, and no Report, only when its arguments
// are invalid: an unknown policy mode, a malformed route or fingerprint, a
// sender address that does not parse, or a malformed DSN parameter. No
// connection is made then, and retrying the same call cannot succeed.
func (c *Client) Deliver(ctx context.Context, t Target, env Envelope, msg []byte) (Report, error) {
	policy, prepared, err := prepare(t, env)
	if err != nil {
		return Report{}, err
	}
	t.Policy = policy

	d := &attempt{
		client:   c,
		target:   t,
		envelope: prepared,
		msg:      msg,
		log:      c.logger().With("domain", t.Domain, "msg_id", env.MsgID),
		report:   Report{Results: make([]RecipientResult, len(env.To))},
	}
	for i, rcpt := range env.To {
		d.report.Results[i].Rcpt = rcpt
	}
	d.checkRecipients(env.To)
	d.run(ctx)
	return d.report, nil
}

// prepare checks the arguments of Deliver and formats the envelope for the
// wire.
func prepare(t Target, env Envelope) (Policy, *preparedEnvelope, error) {
	policy, err := checkPolicy(t.Policy)
	if err != nil {
		return policy, nil, fmt.Errorf("delivery to %q: %w", t.Domain, err)
	}
	if t.Route == "" && t.Domain == "" {
		return policy, nil, errors.New("delivery target has neither Domain nor Route; " +
			"give the recipient domain, or host:port for a smart host")
	}
	if t.Route != "" {
		if _, _, err := splitRoute(t.Route); err != nil {
			return policy, nil, err
		}
	}
	if t.Port < 0 || t.Port > 65535 {
		return policy, nil, fmt.Errorf("delivery to %q: port %d is out of range; "+
			"use 0 for the default of 25", t.Domain, t.Port)
	}
	if len(env.To) == 0 {
		return policy, nil, fmt.Errorf("delivery to %q: the envelope has no recipients", t.Domain)
	}

	p := &preparedEnvelope{
		to:         make([]string, len(env.To)),
		requireTLS: env.RequireTLS,
		smtpUTF8:   env.SMTPUTF8,
		notify:     make([]string, len(env.To)),
		orcpt:      make([]string, len(env.To)),
	}
	if env.From != "" {
		from, err := address.Parse(env.From)
		if err != nil {
			return policy, nil, fmt.Errorf("delivery sender: %w", err)
		}
		p.from = from.String()
		p.smtpUTF8 = p.smtpUTF8 || from.NeedsSMTPUTF8()
	}
	if p.ret, err = formatRet(env.RET); err != nil {
		return policy, nil, err
	}
	if err := checkEnvID(env.EnvID); err != nil {
		return policy, nil, err
	}
	p.envID = env.EnvID

	for i, rcpt := range env.To {
		if notify, ok := env.Notify[rcpt]; ok {
			if p.notify[i], err = formatNotify(notify); err != nil {
				return policy, nil, fmt.Errorf("recipient %q: %w", rcpt, err)
			}
		}
		if orcpt, ok := env.ORcpt[rcpt]; ok {
			if p.orcpt[i], err = formatORcpt(orcpt); err != nil {
				return policy, nil, fmt.Errorf("recipient %q: %w", rcpt, err)
			}
		}
	}
	return policy, p, nil
}

// splitRoute splits a route "host:port" and checks both parts.
func splitRoute(route string) (string, int, error) {
	host, portText, err := net.SplitHostPort(route)
	if err != nil {
		return "", 0, fmt.Errorf("route %q is not host:port (%v); give it as "+
			"smtp.firm.example:25 or [192.0.2.1]:25", route, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 || host == "" {
		return "", 0, fmt.Errorf("route %q has an invalid host or port; give it as "+
			"smtp.firm.example:25", route)
	}
	return canonicalHost(host), port, nil
}

// attempt is the state of one Deliver call.
type attempt struct {
	client   *Client
	target   Target
	envelope *preparedEnvelope
	msg      []byte
	log      *slog.Logger
	report   Report
	failures []*Error // one per failed host or address, in order
}

// checkRecipients parses each recipient. One that does not parse gets a
// permanent error at once, and the others are still delivered.
func (d *attempt) checkRecipients(to []string) {
	for i, rcpt := range to {
		a, err := address.Parse(rcpt)
		if err != nil {
			d.report.Results[i].Err = localError(false, codeBadRecipient, "",
				"The recipient address is invalid: %v.", err)
			continue
		}
		d.envelope.to[i] = a.String()
		d.envelope.smtpUTF8 = d.envelope.smtpUTF8 || a.NeedsSMTPUTF8()
	}
}

// pending reports whether some recipient still awaits a result.
func (d *attempt) pending() bool {
	for _, r := range d.report.Results {
		if r.Err == nil && r.Reply == "" {
			return true
		}
	}
	return false
}

// run tries the destination's hosts in order until one takes the
// transaction, and fills the report.
func (d *attempt) run(ctx context.Context) {
	if !d.pending() {
		return
	}
	res := &resolver{server: d.client.Resolver,
		timeout: orDefault(d.client.DNSTimeout, DefaultDNSTimeout)}

	hosts, port, failure := d.hosts(ctx, res)
	if failure != nil {
		d.log.Info("delivery: destination lookup failed", "error", failure.Message,
			"temporary", failure.Temporary)
		failAll(d.report.Results, failure)
		return
	}

	if d.tryHosts(ctx, res, hosts, port) {
		return
	}

	if len(d.failures) == 0 {
		d.addFailure(localError(true, codeLocalTemporary, "",
			"Delivery to %s was stopped before any host was tried (%v).", d.target.Domain,
			ctx.Err()))
	}
	failAll(d.report.Results, combineAttempts(d.failures))
}

// tryHosts tries the addresses of each host in turn, at most
// maxAddressAttempts in all, and reports whether a server took the
// transaction.
func (d *attempt) tryHosts(ctx context.Context, res *resolver, hosts []mxHost, port int) bool {
	tries := 0
	for _, host := range hosts {
		if tries == maxAddressAttempts || ctx.Err() != nil {
			return false
		}
		ips, err := res.lookupHost(ctx, host.name)
		if err != nil {
			d.addFailure(hostLookupError(host.name, err))
			continue
		}
		for _, ip := range ips[:min(len(ips), maxAddressAttempts-tries)] {
			tries++
			addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
			done, skipHost := d.tryAddress(ctx, host.name, addr)
			if done {
				return true
			}
			if skipHost || ctx.Err() != nil {
				break
			}
		}
	}
	return false
}

// hosts returns the hosts to try and their port: the route's host, or the
// MX hosts of the domain.
func (d *attempt) hosts(ctx context.Context, res *resolver) ([]mxHost, int, *Error) {
	if d.target.Route != "" {
		host, port, _ := splitRoute(d.target.Route)
		return []mxHost{{name: host}}, port, nil
	}
	port := d.target.Port
	if port == 0 {
		port = DefaultPort
	}
	hosts, failure := res.lookupMX(ctx, d.target.Domain)
	return hosts, port, failure
}

// hostLookupError returns the Error for an MX host whose addresses could not
// be looked up: permanent when the host does not exist, so that a domain
// whose every MX host is missing bounces.
func hostLookupError(host string, err error) *Error {
	var dnsErr *dnsError
	if errors.As(err, &dnsErr) && dnsErr.notFound {
		return localError(false, codeNoRoute, host,
			"%s: the mail server's name has no A or AAAA records.", host)
	}
	return localError(true, codeDNSTemporary, host,
		"%s: the mail server's address could not be looked up (%v).", host, err)
}

func (d *attempt) addFailure(failure *Error) {
	d.failures = append(d.failures, failure)
	d.log.Warn("delivery: host failed", "host", failure.Host, "error", failure.Message,
		"temporary", failure.Temporary)
}

// tryAddress delivers through one server address. done is true when the
// server took the transaction, so the report is final. skipHost is true when
// the failure concerns the host's software rather than one address, so its
// other addresses are not tried.
func (d *attempt) tryAddress(ctx context.Context, host, addr string) (done, skipHost bool) {
	d.report.Host, d.report.Addr = host, addr
	s, reused, failure := d.client.session(ctx, host, addr, d.target.Policy, d.log)
	if failure != nil {
		d.addFailure(failure)
		return false, false
	}
	defer d.client.release(s, d.log)

	if failure := s.checkCapabilities(d.envelope, len(d.msg)); failure != nil {
		d.addFailure(failure)
		return false, true
	}

	d.report.Reused = reused
	d.report.TLSVersion = tls.VersionName(s.tlsState.Version)
	d.report.Cipher = tls.CipherSuiteName(s.tlsState.CipherSuite)
	_, d.report.DSN = s.ext["DSN"]

	if !s.transaction(d.envelope, d.msg, d.report.Results) {
		s.broken = true
	}
	for _, r := range d.report.Results {
		d.log.Debug("delivery: recipient result", "conn_id", s.id, "host", host,
			"remote_ip", ipOf(addr), "rcpt", r.Rcpt, "delivered", r.Err == nil,
			"detail", resultDetail(r))
	}
	return true, false
}

func resultDetail(r RecipientResult) string {
	if r.Err != nil {
		return r.Err.Message
	}
	return r.Reply
}

func ipOf(addr string) string {
	ip, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return ip
}

// session returns a session to addr that has completed STARTTLS under
// policy: an idle one that still accepts RSET, or a new one. The session is
// bound to ctx until release.
func (c *Client) session(ctx context.Context, host, addr string, policy Policy,
	log *slog.Logger) (s *session, reused bool, failure *Error) {
	key := addr + "|" + host + "|" + policyKey(policy)
	for {
		idle := c.pool().get(key)
		if idle == nil {
			break
		}
		idle.bind(ctx)
		if err := idle.reset(); err != nil {
			log.Debug("delivery: idle connection failed, dialling again", "conn_id", idle.id,
				"host", host, "remote_ip", ipOf(addr), "error", err)
			idle.unbind()
			idle.close()
			continue
		}
		return idle, true, nil
	}

	s, failure = c.connect(ctx, host, addr, policy)
	if failure != nil {
		return nil, false, failure
	}
	s.key = key
	log.Debug("delivery: connected", "conn_id", s.id, "host", host, "remote_ip", ipOf(addr),
		"tls_version", tls.VersionName(s.tlsState.Version),
		"cipher", tls.CipherSuiteName(s.tlsState.CipherSuite))
	return s, false, nil
}

// connect opens a new session: TCP, greeting, EHLO, STARTTLS, TLS handshake
// under policy, EHLO again. On failure the connection is closed and no mail
// command has been sent.
func (c *Client) connect(ctx context.Context, host, addr string,
	policy Policy) (*session, *Error) {
	dialCtx, cancel := context.WithTimeout(ctx, orDefault(c.DialTimeout, DefaultDialTimeout))
	defer cancel()
	var conn net.Conn
	var err error
	if c.DialContext != nil {
		conn, err = c.DialContext(dialCtx, "tcp", addr)
	} else {
		var dialer net.Dialer
		conn, err = dialer.DialContext(dialCtx, "tcp", addr)
	}
	if err != nil {
		return nil, localError(true, codeNoAnswer, host, "%s: connection failed (%v).",
			hostPrefix(host, addr), err)
	}

	id := "out-" + strconv.FormatUint(c.connSeq.Add(1), 10)
	s := newSession(id, host, addr, conn,
		orDefault(c.CommandTimeout, DefaultCommandTimeout))
	s.bind(ctx)

	failure := s.greet(c.hostname())
	if failure == nil {
		failure = s.startTLS(c.hostname(), tlsConfig(host, policy, c.RootCAs))
	}
	if failure != nil {
		s.unbind()
		s.close()
		return nil, failure
	}
	return s, nil
}

// release returns s to the idle pool, or closes it when it cannot be reused.
func (c *Client) release(s *session, log *slog.Logger) {
	s.unbind()
	if c.pool().put(s) {
		return
	}
	s.close()
	log.Debug("delivery: connection closed", "conn_id", s.id, "host", s.host,
		"remote_ip", ipOf(s.addr))
}
