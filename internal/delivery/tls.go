package delivery

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// Policy modes: how the receiving server's certificate is checked.
const (
	// ModeMX requires a certificate that chains to Client.RootCAs and is valid
	// for the host name connected to: the MX host name, the domain itself for
	// an implicit MX, or the host of Target.Route.
	ModeMX = "mx"

	// ModePinned requires a certificate whose leaf SHA-256 fingerprint is one of
	// Policy.PinnedFingerprints, or one that chains to Client.RootCAs and is
	// valid for one of Policy.PinnedNames.
	ModePinned = "pinned"

	// ModeMTASTS is meant to check the MX host against the domain's MTA-STS
	// policy (RFC 8461). It is not implemented yet and is treated as ModeMX.
	ModeMTASTS = "mta-sts"

	// ModeDANE is meant to check the certificate against the host's TLSA
	// records (RFC 7672). It is not implemented yet and is treated as ModeMX.
	ModeDANE = "dane"
)

// checkPolicy returns p with its mode defaulted and its fingerprints in
// canonical form (lower-case hex without separators), or an error naming
// the invalid field.
func checkPolicy(p Policy) (Policy, error) {
	switch p.Mode {
	case "":
		p.Mode = ModeMX
	case ModeMX, ModeMTASTS, ModeDANE:
	case ModePinned:
		if len(p.PinnedNames) == 0 && len(p.PinnedFingerprints) == 0 {
			return p, errors.New(`policy mode "pinned" has no PinnedNames and no ` +
				`PinnedFingerprints; give at least one, or use mode "mx"`)
		}
	default:
		return p, fmt.Errorf(`policy mode %q is unknown; use "mx", "pinned", "mta-sts" or "dane"`,
			p.Mode)
	}

	fingerprints := make([]string, len(p.PinnedFingerprints))
	for i, fp := range p.PinnedFingerprints {
		canonical := strings.ToLower(strings.ReplaceAll(fp, ":", ""))
		if b, err := hex.DecodeString(canonical); err != nil || len(b) != sha256.Size {
			return p, fmt.Errorf("pinned fingerprint %q is not a SHA-256 digest in hex "+
				"(64 hex digits); give the SHA-256 of the leaf certificate's DER encoding", fp)
		}
		fingerprints[i] = canonical
	}
	p.PinnedFingerprints = fingerprints
	return p, nil
}

// policyKey returns a string that differs between policies that accept
// different certificates, for keying idle connections.
func policyKey(p Policy) string {
	names := slices.Clone(p.PinnedNames)
	slices.Sort(names)
	fingerprints := slices.Clone(p.PinnedFingerprints)
	slices.Sort(fingerprints)
	return p.Mode + "|" + strings.Join(names, ",") + "|" + strings.Join(fingerprints, ",")
}

// tlsConfig returns the configuration for STARTTLS to host. Go's own
// verification is replaced by verifyPeer in VerifyConnection, which runs on
// every handshake and applies the policy, so that pinned certificates with
// other names can pass and every failure gets a precise reason.
func tlsConfig(host string, p Policy, roots *x509.CertPool) *tls.Config {
	return &tls.Config{
		// Go sends no SNI when ServerName is an IP address.
		ServerName: host,
		MinVersion: tls.VersionTLS12,
		// verifyPeer does the verification that this setting turns off.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPeer(cs.PeerCertificates, host, p, roots, time.Now())
		},
	}
}

// certError is a server certificate that the policy rejects.
type certError struct {
	reason string // sentence fragment, such as "certificate is not valid for mx1.example"
	err    error  // the x509 error, or nil
}

func (e *certError) Error() string {
	if e.err == nil {
		return e.reason
	}
	return fmt.Sprintf("%s (%v)", e.reason, e.err)
}

func (e *certError) Unwrap() error {
	return e.err
}

// verifyPeer applies policy p to the certificate chain a server sent, when
// connecting to host. roots nil means the system roots.
//
// TODO: modes "mta-sts" and "dane" are verified as "mx" until MTA-STS policy
// fetching (RFC 8461) and TLSA lookups (RFC 7672) exist.
func verifyPeer(certs []*x509.Certificate, host string, p Policy, roots *x509.CertPool,
	now time.Time) error {
	if len(certs) == 0 {
		return &certError{reason: "server sent no certificate"}
	}
	leaf := certs[0]

	if p.Mode == ModePinned {
		return verifyPinned(certs, p, roots, now)
	}

	if err := verifyChain(certs, roots, now); err != nil {
		return err
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return &certError{reason: "certificate is not valid for " + host, err: err}
	}
	return nil
}

// verifyPinned accepts a leaf whose fingerprint is pinned, whatever its
// names, issuer and validity dates, because the operator has pinned that
// exact certificate. Otherwise the chain must verify and the leaf must be
// valid for one of the pinned names.
func verifyPinned(certs []*x509.Certificate, p Policy, roots *x509.CertPool, now time.Time) error {
	leaf := certs[0]
	leafFingerprint := fingerprint(leaf)
	if slices.Contains(p.PinnedFingerprints, leafFingerprint) {
		return nil
	}
	if len(p.PinnedNames) == 0 {
		return &certError{reason: fmt.Sprintf(
			"certificate fingerprint %s matches none of the %d pinned fingerprints",
			leafFingerprint, len(p.PinnedFingerprints))}
	}

	if err := verifyChain(certs, roots, now); err != nil {
		return err
	}
	for _, name := range p.PinnedNames {
		if leaf.VerifyHostname(name) == nil {
			return nil
		}
	}
	return &certError{reason: fmt.Sprintf(
		"certificate (names %s, fingerprint %s) is valid for none of the pinned names %s",
		certNames(leaf), leafFingerprint, strings.Join(p.PinnedNames, ", "))}
}

// verifyChain checks that the leaf chains to roots through the other
// certificates the server sent, and is valid for server authentication now.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	intermediates := x509.NewCertPool()
	for _, cert := range certs[1:] {
		intermediates.AddCert(cert)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err == nil {
		return nil
	}

	var unknownAuthority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknownAuthority) && isSelfSigned(certs[0]):
		return &certError{reason: "certificate is self-signed", err: err}
	case errors.As(err, &unknownAuthority):
		return &certError{reason: fmt.Sprintf("certificate (issuer %q) is not signed by a "+
			"trusted certificate authority", certs[0].Issuer.String()), err: err}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &certError{reason: fmt.Sprintf("certificate has expired or is not yet valid "+
			"(valid from %s to %s)", certs[0].NotBefore.UTC().Format(time.RFC3339),
			certs[0].NotAfter.UTC().Format(time.RFC3339)), err: err}
	}
	return &certError{reason: "certificate chain is not valid", err: err}
}

// isSelfSigned reports whether cert is signed by its own key.
func isSelfSigned(cert *x509.Certificate) bool {
	// CheckSignatureFrom would also demand that cert be a CA certificate.
	return cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate,
		cert.Signature) == nil
}

// certNames returns the DNS names and IP addresses of a certificate, or its
// common name when it has neither, for messages.
func certNames(cert *x509.Certificate) string {
	names := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && cert.Subject.CommonName != "" {
		names = append(names, cert.Subject.CommonName)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// fingerprint returns the SHA-256 digest of a certificate's DER encoding in
// lower-case hex without separators: the form Policy.PinnedFingerprints
// takes.
func fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// tlsFailure returns the Error for a failed STARTTLS handshake with host.
func tlsFailure(host, addr string, err error) *Error {
	var cert *certError
	reason := "TLS handshake failed (" + err.Error() + ")"
	if errors.As(err, &cert) {
		reason = cert.Error()
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		reason = "TLS handshake timed out"
	}
	return localError(true, codeTLSFailed, host, "%s: %s. The message was not sent in plaintext.",
		hostPrefix(host, addr), reason)
}
