// Package pki is a small local certificate authority for the demo and the tests.
//
// A CA signs ECDSA P-256 leaf certificates that serve as both TLS server and TLS
// client certificates, so one certificate can identify a cjsm listener, a peer
// mail server in a test, or a connector presenting a client certificate. It is not
// meant for production, where certificates come from the operator's own CA.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// clockSkew is how far before "now" certificates become valid, so that a peer
// whose clock runs a little behind still accepts them.
const clockSkew = time.Hour

// CA is a certificate authority: a self-signed CA certificate and its private key.
// Its methods are safe for concurrent use because they only read the CA.
type CA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// NewCA creates a CA with a fresh ECDSA P-256 key and a self-signed certificate
// named commonName, valid from an hour ago for validFor.
func NewCA(commonName string, validFor time.Duration) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("pki: CA common name is empty; pass a name such as \"cjsm test CA\"")
	}
	if validFor <= 0 {
		return nil, fmt.Errorf(
			"pki: CA validity %v is not positive; pass a duration such as 24*time.Hour", validFor)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}

	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// The CA signs leaves only, never intermediate CAs.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign CA certificate %q: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse new CA certificate %q: %w", commonName, err)
	}
	return &CA{cert: cert, key: key, certPEM: encodeCert(der)}, nil
}

// LoadCA reads a CA written by WriteFiles: a PEM certificate and a PEM private key
// (PKCS #8, or SEC 1 "EC PRIVATE KEY"). It checks that the certificate is a CA
// certificate and that the key belongs to it.
func LoadCA(certPath, keyPath string) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("pki: read CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("pki: read CA key: %w", err)
	}

	ca, err := parseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: load CA from %s and %s: %w", certPath, keyPath, err)
	}
	return ca, nil
}

// parseCA parses a CA certificate and its private key from PEM.
func parseCA(certPEM, keyPEM []byte) (*CA, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("certificate file has no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("certificate %q is not a CA certificate (basic constraints CA:FALSE)",
			cert.Subject.CommonName)
	}

	key, err := parseECKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("private key does not match certificate %q", cert.Subject.CommonName)
	}
	return &CA{cert: cert, key: key, certPEM: encodeCert(cert.Raw)}, nil
}

// parseECKey parses an ECDSA private key from a PEM "PRIVATE KEY" (PKCS #8) or
// "EC PRIVATE KEY" (SEC 1, as written by openssl ecparam) block.
func parseECKey(keyPEM []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("key file has no PEM block")
	}

	switch block.Type {
	case "PRIVATE KEY":
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKCS #8 key: %w", err)
		}
		key, ok := parsed.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("key is %T, expected an ECDSA key", parsed)
		}
		return key, nil
	case "EC PRIVATE KEY":
		key, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse SEC 1 EC key: %w", err)
		}
		return key, nil
	default:
		return nil, fmt.Errorf("key PEM block is %q, expected \"PRIVATE KEY\" or \"EC PRIVATE KEY\"",
			block.Type)
	}
}

// WriteFiles writes the CA certificate (mode 0644) and private key (mode 0600) in
// PEM. Each file is written to a temporary file, synced and renamed into place, so
// a crash leaves either the old file or the new one, never a partial one.
func (ca *CA) WriteFiles(certPath, keyPath string) error {
	keyPEM, err := encodeKey(ca.key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("pki: write CA key: %w", err)
	}
	if err := writeFileAtomic(certPath, ca.certPEM, 0o644); err != nil {
		return fmt.Errorf("pki: write CA certificate: %w", err)
	}
	return nil
}

// Issue signs a new leaf certificate for names with a fresh ECDSA P-256 key and
// returns both in PEM. The key is PKCS #8. The certificate carries each name as a
// DNS subject alternative name, or as an IP address SAN when it parses as an IP
// address, and the first name as its common name. It is valid for both TLS server
// and TLS client authentication, from an hour ago for validFor, but never past the
// CA's own expiry because a chain is invalid once its CA has expired.
func (ca *CA) Issue(names []string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	if len(names) == 0 {
		return nil, nil, errors.New(
			"pki: no names to issue a certificate for; pass at least one host name or IP address")
	}
	if validFor <= 0 {
		return nil, nil, fmt.Errorf(
			"pki: certificate validity %v is not positive; pass a duration such as 24*time.Hour",
			validFor)
	}

	template, err := leafTemplate(names, validFor, ca.cert.NotAfter)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generate key for %q: %w", names[0], err)
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: sign certificate for %q: %w", names[0], err)
	}

	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

// leafTemplate builds the certificate template for Issue.
func leafTemplate(
	names []string, validFor time.Duration, caNotAfter time.Time,
) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}

	now := time.Now()
	notAfter := now.Add(validFor)
	if notAfter.After(caNotAfter) {
		notAfter = caNotAfter
	}
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{
			x509.ExtKeyUsageServerAuth,
			x509.ExtKeyUsageClientAuth,
		},
		BasicConstraintsValid: true,
	}

	for _, name := range names {
		if name == "" {
			return nil, fmt.Errorf("pki: empty name in %q; remove it", names)
		}
		if ip := net.ParseIP(name); ip != nil {
			template.IPAddresses = append(template.IPAddresses, ip)
		} else {
			template.DNSNames = append(template.DNSNames, name)
		}
	}
	return template, nil
}

// IssueFiles issues a certificate as Issue does and writes the certificate
// (mode 0644) and its key (mode 0600) to the given paths, each atomically.
// The certificate file contains the leaf only, without the CA certificate.
func (ca *CA) IssueFiles(names []string, validFor time.Duration, certPath, keyPath string) error {
	certPEM, keyPEM, err := ca.Issue(names, validFor)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("pki: write key for %q: %w", names[0], err)
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return fmt.Errorf("pki: write certificate for %q: %w", names[0], err)
	}
	return nil
}

// Certificate returns the parsed CA certificate. The caller must not modify it.
func (ca *CA) Certificate() *x509.Certificate {
	return ca.cert
}

// CertPEM returns the CA certificate in PEM, for a CA file such as Postfix's
// smtp_tls_CAfile or curl's --cacert.
func (ca *CA) CertPEM() []byte {
	return append([]byte(nil), ca.certPEM...)
}

// Pool returns a new certificate pool that contains only this CA's certificate,
// for tls.Config RootCAs or ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// Fingerprint returns the SHA-256 digest of the certificate's DER encoding in
// lower-case hex without separators: the form an operator pins.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// randomSerial returns a random positive 128-bit serial number. RFC 5280 section
// 4.1.2.2 requires serials to be positive and at most 20 octets.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	serial, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("pki: generate serial number: %w", err)
	}
	return serial.Add(serial, big.NewInt(1)), nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
