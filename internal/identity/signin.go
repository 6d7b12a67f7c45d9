package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/store"
)

// Reasons a sign-in fails. Callers map them to their protocol's replies; every one is logged.
var (
	ErrBadCredentials = errors.New("identity: wrong address or password")
	ErrThrottled      = errors.New("identity: too many failed sign-ins; wait and try again")
	ErrDisabled       = errors.New("identity: account or organisation is not active")
	// ErrNotHosted is returned for IMAP and POP3 sign-ins of people whose organisation
	// keeps its mail on its own system: cjsm holds no mailbox of theirs to read.
	ErrNotHosted = errors.New("identity: the organisation's mail is not kept in cjsm")
)

// failureWindow is how long failed sign-ins count towards the limit, and how long an
// account or address stays blocked after reaching it.
const failureWindow = 15 * time.Minute

// SignIn is the one place where SMTP submission, IMAP, POP3 and the web check a password.
// It throttles repeated failures per account and per client address, and logs every outcome.
type SignIn struct {
	st          *store.Store
	suffix      string
	maxFailures int
	log         *slog.Logger

	mu       sync.Mutex
	failures map[string][]time.Time // by "acct:<key>" and "ip:<addr>"

	// OnSignIn, when set, runs after every successful sign-in, before Check returns. The
	// node uses it to file notices the person must see, such as a grant of access to
	// their mailbox. It returns nothing, so it cannot fail the sign-in and must log its own
	// errors. Set it before the first call to Check.
	OnSignIn func(ctx context.Context, p store.Person)
}

// NewSignIn returns the sign-in service. maxFailures is the number of failures within 15
// minutes after which further attempts for that account or client address are refused.
func NewSignIn(st *store.Store, suffix string, maxFailures int, logger *slog.Logger) *SignIn {
	return &SignIn{st: st, suffix: suffix, maxFailures: maxFailures, log: logger,
		failures: map[string][]time.Time{}}
}

// Check verifies username (any form of the person's address) and password, for protocol
// (smtp, imap, pop3, web) from remoteIP, and returns the person.
func (s *SignIn) Check(ctx context.Context, username, password, protocol, remoteIP string) (store.Person, error) {
	key := strings.ToLower(strings.TrimSpace(username))
	if a, err := address.Parse(username); err == nil {
		if !address.IsUnderSuffix(a.Domain, s.suffix) {
			if c, err := address.CommunityForm(a, s.suffix); err == nil {
				a = c
			}
		}
		key = address.Key(a)
	}
	if s.blocked("acct:"+key, s.maxFailures) || s.blocked("ip:"+remoteIP, s.maxFailures*ipFactor) {
		s.log.Warn("sign-in rejected: throttled", "user", key, "remote_ip", remoteIP, "protocol", protocol)
		return store.Person{}, ErrThrottled
	}
	p, err := s.st.PersonByAddress(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		// Hash anyway so that a missing account takes as long as a wrong password.
		_ = VerifyPassword(dummyHash, password)
		return p, s.fail(key, remoteIP, protocol, "no such account")
	} else if err != nil {
		return p, err
	}
	if p.PasswordHash == "" {
		return p, s.fail(key, remoteIP, protocol, "no password set")
	}
	if err := VerifyPassword(p.PasswordHash, password); errors.Is(err, ErrMismatch) {
		return p, s.fail(key, remoteIP, protocol, "wrong password")
	} else if err != nil {
		return p, fmt.Errorf("identity: stored hash of %s: %w", key, err)
	}
	if p.Status != store.StatusActive {
		s.log.Warn("sign-in rejected: account not active", "user", key, "status", p.Status,
			"remote_ip", remoteIP, "protocol", protocol)
		return p, ErrDisabled
	}
	o, err := s.st.Organisation(ctx, p.OrgID)
	if err != nil {
		return p, err
	}
	if o.Status != store.StatusActive {
		s.log.Warn("sign-in rejected: organisation not active", "user", key, "org", o.Slug,
			"status", o.Status, "remote_ip", remoteIP, "protocol", protocol)
		return p, ErrDisabled
	}
	if o.Kind != store.KindHosted && (protocol == "imap" || protocol == "pop3") {
		s.log.Warn("sign-in rejected: the organisation keeps its mail on its own system",
			"user", key, "org", o.Slug, "remote_ip", remoteIP, "protocol", protocol)
		return p, ErrNotHosted
	}
	s.mu.Lock()
	delete(s.failures, "acct:"+key)
	s.mu.Unlock()
	if err := s.st.RecordSignIn(ctx, p.ID, time.Now()); err != nil {
		s.log.Error("cannot record sign-in time", "user", key, "err", err)
	}
	s.log.Info("sign-in succeeded", "user", key, "org", o.Slug, "remote_ip", remoteIP, "protocol", protocol)
	if s.OnSignIn != nil {
		s.OnSignIn(ctx, p)
	}
	return p, nil
}

func (s *SignIn) fail(key, ip, protocol, why string) error {
	now := time.Now()
	s.mu.Lock()
	for _, k := range []string{"acct:" + key, "ip:" + ip} {
		s.failures[k] = append(prune(s.failures[k], now), now)
	}
	s.mu.Unlock()
	s.log.Warn("sign-in failed", "user", key, "reason", why, "remote_ip", ip, "protocol", protocol)
	return ErrBadCredentials
}

// ipFactor multiplies the failure limit for a client address, which may be a gateway shared
// by many people (a force's outbound proxy), so that one person's typos do not block them all.
const ipFactor = 10

func (s *SignIn) blocked(k string, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[k] = prune(s.failures[k], time.Now())
	if len(s.failures[k]) == 0 {
		delete(s.failures, k)
		return false
	}
	return len(s.failures[k]) >= limit
}

func prune(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > failureWindow {
		i++
	}
	return ts[i:]
}

// dummyHash is a valid hash of a random password, verified when an account does not exist.
var dummyHash = func() string {
	h, err := HashPassword("unused-" + time.Now().String())
	if err != nil {
		panic(err)
	}
	return h
}()
