// Package directory is the domain service for the community model: organisations and their
// nesting, domains, trusted secure domains, people, group mailboxes, distribution lists and
// connectors. It applies the address rules and writes an audit row in the same transaction as
// every change. It calls the store and imports no protocol package.
package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/store"
)

// Service manages the community.
type Service struct {
	st     *store.Store
	suffix string
}

// New returns a Service over st for the community suffix.
func New(st *store.Store, suffix string) *Service {
	return &Service{st: st, suffix: strings.ToLower(suffix)}
}

// Store returns the underlying store.
func (s *Service) Store() *store.Store { return s.st }

// Suffix returns the community suffix.
func (s *Service) Suffix() string { return s.suffix }

// Actor is who makes a change, for the audit trail.
type Actor struct {
	Name   string // person address, "operator:<user>" or "system"
	Source string // remote IP address, or "cli"
}

// InputError is a change rejected because of its input. Its message names the field, the
// value and what to do instead.
type InputError struct {
	Field  string
	Value  string
	Reason string
}

func (e *InputError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

func inputErr(field, value, format string, args ...any) error {
	return &InputError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// syntaxErr turns an error of the address package into an InputError. That error's own
// message already quotes the value, so only its problem and fix become the reason, and the
// value is not repeated.
func syntaxErr(field, value string, err error) error {
	var ae *address.Error
	if errors.As(err, &ae) {
		return &InputError{Field: field, Value: value, Reason: ae.Problem + "; " + ae.Fix}
	}
	return &InputError{Field: field, Value: value, Reason: err.Error()}
}

// IsInputError reports whether err was caused by invalid input rather than a failure.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

func audit(ctx context.Context, tx *store.Tx, a Actor, action, target, detail string) error {
	if a.Name == "" {
		a.Name = "system"
	}
	return tx.AppendAudit(ctx, &store.AuditEntry{Actor: a.Name, Action: action, Target: target,
		Source: a.Source, Detail: detail})
}

// addressKey parses and returns the lookup key of an address, or an InputError.
func addressKey(field, s string) (address.Address, string, error) {
	a, err := address.Parse(s)
	if err != nil {
		return address.Address{}, "", syntaxErr(field, s, err)
	}
	return a, address.Key(a), nil
}

// splitList turns a comma- or space-separated list into the space-separated form the store
// keeps.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}
