// Package relay decides who may send what to whom. It implements the SMTP server's Backend
// (identify the sender, check MAIL FROM, resolve each RCPT TO, hand accepted messages to the
// queue) and the queue's Deliverer and Router (turn a queue route into a delivery target).
//
// Mail flows only between community addresses and trusted secure domains; every other
// address is rejected with 550 5.7.1 naming it.
package relay

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/queue"
	"github.com/cjsm/cjsm/internal/smtpserver"
	"github.com/cjsm/cjsm/internal/store"
)

// Relay is the policy of one node.
type Relay struct {
	st     *store.Store
	suffix string
	signIn *identity.SignIn
	queue  *queue.Queue
	log    *slog.Logger

	// Postmaster, when set, is the community address that mail to postmaster goes to.
	Postmaster string

	// CheckQuota, when set, checks a local recipient's storage quota for a message of size
	// octets and reports whether the mailbox is nearly full (90%); the node then warns the
	// mailbox owner.
	CheckQuota func(ctx context.Context, ownerKind string, ownerID, size int64, address string) (nearlyFull bool, err error)
	// AfterFiling, when set, is called for each local recipient after a message whose size
	// RCPT did not know was filed, so that a mailbox it filled gets its quota notice.
	AfterFiling func(ctx context.Context, ownerKind string, ownerID int64, address string)

	mu        sync.Mutex
	peers     peerTables
	peersTime time.Time
}

// New returns the relay policy over st for the community suffix.
func New(st *store.Store, suffix string, signIn *identity.SignIn, q *queue.Queue, logger *slog.Logger) *Relay {
	return &Relay{st: st, suffix: strings.ToLower(suffix), signIn: signIn, queue: q, log: logger}
}

// Principal is who a client is: a signed-in person, or a server identified as a connector or
// a trusted domain's. A server may match several connectors and trusted domains (shared
// networks); Mail picks the one whose domain the sender address belongs to.
type Principal struct {
	Person *store.Person
	Org    *store.Organisation

	Connectors []store.Connector
	Trusted    []store.TrustedDomain

	// Chosen is set by Mail for servers: "connector:<name>" or "trusted:<domain>".
	Chosen    string
	chosenOrg int64
	mailSize  int64  // SIZE declared at MAIL FROM, for quota checks at RCPT
	from      string // reverse-path accepted at MAIL FROM, for tracking rejections
}

// String names the principal for logs.
func (p *Principal) String() string {
	if p.Person != nil {
		return "person:" + p.Person.AddressKey
	}
	if p.Chosen != "" {
		return p.Chosen
	}
	var names []string
	for _, c := range p.Connectors {
		names = append(names, "connector:"+c.Name)
	}
	for _, t := range p.Trusted {
		names = append(names, "trusted:"+t.Name)
	}
	return strings.Join(names, ",")
}

func (p *Principal) orgID() int64 {
	if p.Org != nil {
		return p.Org.ID
	}
	return p.chosenOrg
}

func reject(code int, enhanced [3]int, format string, args ...any) error {
	return smtpserver.Reject(code, enhanced, fmt.Sprintf(format, args...))
}

// Authenticate implements smtpserver.Backend through the one sign-in path.
func (r *Relay) Authenticate(ctx context.Context, c *smtpserver.Conn, username, password string) (smtpserver.Principal, error) {
	p, err := r.signIn.Check(ctx, username, password, "smtp", remoteIP(c.Remote))
	switch {
	case errors.Is(err, identity.ErrBadCredentials):
		return nil, reject(535, [3]int{5, 7, 8}, "Authentication failed: wrong address or password")
	case errors.Is(err, identity.ErrThrottled):
		return nil, reject(454, [3]int{4, 7, 0}, "Too many failed sign-ins; wait 15 minutes and try again")
	case errors.Is(err, identity.ErrDisabled):
		return nil, reject(535, [3]int{5, 7, 8}, "Authentication failed: the account or its organisation is not active; ask your organisation administrator")
	case err != nil:
		return nil, err
	}
	o, err := r.st.Organisation(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	return &Principal{Person: &p, Org: &o}, nil
}

func remoteIP(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// peerTables caches the connectors and trusted domains that identify servers, because every
// relay MAIL FROM consults them.
type peerTables struct {
	connectors []store.Connector
	trusted    []store.TrustedDomain
}

const peerCacheTTL = 10 * time.Second

func (r *Relay) peerTables(ctx context.Context) (peerTables, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.peersTime) < peerCacheTTL {
		return r.peers, nil
	}
	cs, err := r.st.Connectors(ctx, 0)
	if err != nil {
		return peerTables{}, err
	}
	ts, err := r.st.TrustedDomains(ctx)
	if err != nil {
		return peerTables{}, err
	}
	r.peers, r.peersTime = peerTables{connectors: cs, trusted: ts}, time.Now()
	return r.peers, nil
}

// Identify implements smtpserver.Backend for the relay listener: a server is recognised by
// a verified TLS client certificate name or by its source network.
func (r *Relay) Identify(ctx context.Context, c *smtpserver.Conn) (smtpserver.Principal, error) {
	tables, err := r.peerTables(ctx)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(remoteIP(c.Remote))
	var certNames []string
	if c.TLS != nil && len(c.TLS.VerifiedChains) > 0 {
		certNames = certificateNames(c.TLS.PeerCertificates[0])
	}
	p := &Principal{}
	for _, cn := range tables.connectors {
		if matchesNetwork(ip, cn.InboundNetworks) || matchesName(certNames, cn.InboundCertNames) {
			p.Connectors = append(p.Connectors, cn)
		}
	}
	for _, td := range tables.trusted {
		if td.Status != store.StatusActive {
			continue
		}
		if matchesNetwork(ip, td.SourceNetworks) || matchesName(certNames, td.SourceCertNames) {
			p.Trusted = append(p.Trusted, td)
		}
	}
	if len(p.Connectors) == 0 && len(p.Trusted) == 0 {
		r.recordRejection(ctx, "", "", remoteIP(c.Remote), "sending server not recognised as a connector or trusted domain")
		return nil, reject(550, [3]int{5, 7, 1}, "This service only accepts mail from members of the secure community; your server (%s) is not a registered connector or trusted domain", remoteIP(c.Remote))
	}
	return p, nil
}

func certificateNames(cert *x509.Certificate) []string {
	names := append([]string(nil), cert.DNSNames...)
	if len(names) == 0 && cert.Subject.CommonName != "" {
		names = append(names, cert.Subject.CommonName)
	}
	return names
}

func matchesNetwork(ip net.IP, networks string) bool {
	if ip == nil {
		return false
	}
	for _, n := range strings.Fields(networks) {
		if _, ipnet, err := net.ParseCIDR(n); err == nil && ipnet.Contains(ip) {
			return true
		}
	}
	return false
}

func matchesName(certNames []string, allowed string) bool {
	for _, a := range strings.Fields(allowed) {
		for _, n := range certNames {
			if strings.EqualFold(strings.TrimSuffix(n, "."), a) {
				return true
			}
		}
	}
	return false
}

// recordRejection stores a rejected event for tracking.
func (r *Relay) recordRejection(ctx context.Context, from, rcpt, remote, reason string) {
	if r.queue == nil {
		return
	}
	r.queue.RecordEvent(ctx, store.Event{Kind: store.EventRejected, Sender: from, Recipient: rcpt,
		Remote: remote, Detail: reason})
}

// DataRejected implements smtpserver.DataRejecter: a message the SMTP server refused after
// DATA is traced once per recipient, under the envelope sender.
func (r *Relay) DataRejected(ctx context.Context, c *smtpserver.Conn, _ smtpserver.Principal,
	from string, rcpts []smtpserver.Recipient, reason string) {
	for _, rc := range rcpts {
		r.recordRejection(ctx, from, rc.Address, remoteIP(c.Remote), reason)
	}
}

// messageID returns the Message-ID header field of msg, or "".
func messageID(msg []byte) string {
	m, err := mail.ReadMessage(strings.NewReader(string(headerBytes(msg))))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(m.Header.Get("Message-Id"))
}

func headerBytes(msg []byte) []byte {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+4]
	}
	return msg
}

// The SMTP server reports the messages it refuses itself, for tracking.
var _ smtpserver.DataRejecter = (*Relay)(nil)
