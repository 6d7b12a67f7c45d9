package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("cjsm test CA", 24*time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func parseCertPEM(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no PEM CERTIFICATE block in %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return cert
}

func verify(ca *CA, cert *x509.Certificate, name string, usage x509.ExtKeyUsage) error {
	_, err := cert.Verify(x509.VerifyOptions{
		DNSName:   name,
		Roots:     ca.Pool(),
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	return err
}

func TestIssuedLeafVerifiesForItsNames(t *testing.T) {
	ca := newTestCA(t)
	names := []string{"mx.cjsm.test", "localhost", "127.0.0.1", "::1"}
	certPEM, keyPEM, err := ca.Issue(names, time.Hour)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	cert := parseCertPEM(t, certPEM)

	for _, name := range names {
		if err := verify(ca, cert, name, x509.ExtKeyUsageServerAuth); err != nil {
			t.Errorf("server verification for %q: %v", name, err)
		}
	}
	if err := verify(ca, cert, "", x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("client verification: %v", err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Errorf("certificate and key do not form a TLS key pair: %v", err)
	}
}

func TestIssuedLeafFailsForOtherName(t *testing.T) {
	ca := newTestCA(t)
	certPEM, _, err := ca.Issue([]string{"mx.cjsm.test", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	cert := parseCertPEM(t, certPEM)

	for _, name := range []string{"mx.other.test", "cjsm.test", "127.0.0.2"} {
		err := verify(ca, cert, name, x509.ExtKeyUsageServerAuth)
		if err == nil {
			t.Errorf("certificate for mx.cjsm.test verified for %q", name)
		}
	}
}

func TestIssuedLeafFailsAgainstOtherCA(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	certPEM, _, err := ca.Issue([]string{"mx.cjsm.test"}, time.Hour)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}

	err = verify(other, parseCertPEM(t, certPEM), "mx.cjsm.test", x509.ExtKeyUsageServerAuth)
	if err == nil {
		t.Error("certificate verified against a different CA")
	}
}

func TestIssuedLeafSANsByKind(t *testing.T) {
	ca := newTestCA(t)
	certPEM, _, err := ca.Issue([]string{"mx.cjsm.test", "127.0.0.1", "::1"}, time.Hour)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	cert := parseCertPEM(t, certPEM)

	if got := strings.Join(cert.DNSNames, ","); got != "mx.cjsm.test" {
		t.Errorf("DNS SANs = %q, want mx.cjsm.test", got)
	}
	if len(cert.IPAddresses) != 2 {
		t.Fatalf("IP SANs = %v, want 127.0.0.1 and ::1", cert.IPAddresses)
	}
	if !cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("first IP SAN = %v, want 127.0.0.1", cert.IPAddresses[0])
	}
	if !cert.IPAddresses[1].Equal(net.ParseIP("::1")) {
		t.Errorf("second IP SAN = %v, want ::1", cert.IPAddresses[1])
	}
	if cert.Subject.CommonName != "mx.cjsm.test" {
		t.Errorf("common name = %q, want mx.cjsm.test", cert.Subject.CommonName)
	}
	if cert.IsCA {
		t.Error("leaf certificate is marked as a CA")
	}
	if _, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("leaf public key is %T, want ECDSA", cert.PublicKey)
	}
}

func TestIssueValidityCappedAtCAExpiry(t *testing.T) {
	ca, err := NewCA("short-lived CA", time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	certPEM, _, err := ca.Issue([]string{"mx.cjsm.test"}, 365*24*time.Hour)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}

	cert := parseCertPEM(t, certPEM)
	if cert.NotAfter.After(ca.Certificate().NotAfter) {
		t.Errorf("leaf expires %v, after its CA at %v", cert.NotAfter, ca.Certificate().NotAfter)
	}
}

func TestIssueRejectsBadInput(t *testing.T) {
	ca := newTestCA(t)
	cases := []struct {
		name     string
		names    []string
		validFor time.Duration
	}{
		{"no names", nil, time.Hour},
		{"empty name", []string{"mx.cjsm.test", ""}, time.Hour},
		{"zero validity", []string{"mx.cjsm.test"}, 0},
		{"negative validity", []string{"mx.cjsm.test"}, -time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ca.Issue(tc.names, tc.validFor); err == nil {
				t.Errorf("Issue(%q, %v) succeeded, want an error", tc.names, tc.validFor)
			}
		})
	}
}

func TestNewCARejectsBadInput(t *testing.T) {
	if _, err := NewCA("", time.Hour); err == nil {
		t.Error("NewCA with an empty name succeeded")
	}
	if _, err := NewCA("cjsm test CA", 0); err == nil {
		t.Error("NewCA with zero validity succeeded")
	}
}

func TestReloadedCAIssuesVerifiableCertificates(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certPath := filepath.Join(dir, "ca.pem")
	keyPath := filepath.Join(dir, "ca.key")
	if err := ca.WriteFiles(certPath, keyPath); err != nil {
		t.Fatalf("WriteFiles: %v", err)
	}

	loaded, err := LoadCA(certPath, keyPath)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	certPEM, _, err := loaded.Issue([]string{"mx.cjsm.test"}, time.Hour)
	if err != nil {
		t.Fatalf("Issue from reloaded CA: %v", err)
	}

	// The original CA's pool must accept what the reloaded CA signs.
	err = verify(ca, parseCertPEM(t, certPEM), "mx.cjsm.test", x509.ExtKeyUsageServerAuth)
	if err != nil {
		t.Errorf("certificate from reloaded CA fails against the original pool: %v", err)
	}
	if Fingerprint(loaded.Certificate()) != Fingerprint(ca.Certificate()) {
		t.Error("reloaded CA certificate differs from the written one")
	}
	if string(loaded.CertPEM()) != string(ca.CertPEM()) {
		t.Error("reloaded CA PEM differs from the written one")
	}
}

func TestWriteFilesModes(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certPath := filepath.Join(dir, "ca.pem")
	keyPath := filepath.Join(dir, "ca.key")

	// A key file that already exists with loose permissions must end up 0600.
	if err := os.WriteFile(keyPath, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteFiles(certPath, keyPath); err != nil {
		t.Fatalf("WriteFiles: %v", err)
	}

	assertMode(t, keyPath, 0o600)
	assertMode(t, certPath, 0o644)
	assertNoTempFiles(t, dir, 2)
}

func TestIssueFilesModesAndContent(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certPath := filepath.Join(dir, "leaf.pem")
	keyPath := filepath.Join(dir, "leaf.key")

	if err := ca.IssueFiles([]string{"localhost"}, time.Hour, certPath, keyPath); err != nil {
		t.Fatalf("IssueFiles: %v", err)
	}

	assertMode(t, keyPath, 0o600)
	assertMode(t, certPath, 0o644)
	assertNoTempFiles(t, dir, 2)
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		t.Fatalf("load written key pair: %v", err)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	err = verify(ca, parseCertPEM(t, certPEM), "localhost", x509.ExtKeyUsageServerAuth)
	if err != nil {
		t.Errorf("written certificate fails verification: %v", err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", filepath.Base(path), got, want)
	}
}

func assertNoTempFiles(t *testing.T, dir string, want int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != want {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q, want only the %d written files", names, want)
	}
}

func TestLoadCARejectsMismatchedKey(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	dir := t.TempDir()
	if err := ca.WriteFiles(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key")); err != nil {
		t.Fatal(err)
	}
	err := other.WriteFiles(filepath.Join(dir, "other.pem"), filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}

	_, err = LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "other.key"))
	if err == nil {
		t.Fatal("LoadCA accepted a key that belongs to another CA")
	}
	if !strings.Contains(err.Error(), "does not match") {
		t.Errorf("error %q does not say the key does not match", err)
	}
}

func TestLoadCARejectsLeafCertificate(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certPath := filepath.Join(dir, "leaf.pem")
	keyPath := filepath.Join(dir, "leaf.key")
	if err := ca.IssueFiles([]string{"mx.cjsm.test"}, time.Hour, certPath, keyPath); err != nil {
		t.Fatal(err)
	}

	if _, err := LoadCA(certPath, keyPath); err == nil {
		t.Fatal("LoadCA accepted a leaf certificate as a CA")
	}
}

func TestLoadCAAcceptsSEC1Key(t *testing.T) {
	ca := newTestCA(t)
	der, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})

	loaded, err := parseCA(ca.CertPEM(), keyPEM)
	if err != nil {
		t.Fatalf("parseCA with a SEC 1 key: %v", err)
	}
	if !loaded.key.Equal(ca.key) {
		t.Error("parsed SEC 1 key differs from the original")
	}
}

func TestParseCARejectsMalformedInput(t *testing.T) {
	ca := newTestCA(t)
	keyPEM, err := encodeKey(ca.key)
	if err != nil {
		t.Fatal(err)
	}
	otherCurveKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherCurvePEM, err := encodeKey(otherCurveKey)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name            string
		certPEM, keyPEM []byte
	}{
		{"empty certificate", nil, keyPEM},
		{"empty key", ca.CertPEM(), nil},
		{"key in certificate file", keyPEM, keyPEM},
		{"certificate in key file", ca.CertPEM(), ca.CertPEM()},
		{"garbage certificate DER", garbage("CERTIFICATE"), keyPEM},
		{"garbage key DER", ca.CertPEM(), garbage("PRIVATE KEY")},
		{"garbage SEC 1 key DER", ca.CertPEM(), garbage("EC PRIVATE KEY")},
		{"key on another curve", ca.CertPEM(), otherCurvePEM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseCA(tc.certPEM, tc.keyPEM); err == nil {
				t.Error("parseCA succeeded, want an error")
			}
		})
	}
}

func garbage(blockType string) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: []byte("x")})
}

func TestFingerprintIsSHA256OfDER(t *testing.T) {
	// SHA-256 of "abc" from FIPS 180-2 appendix B.1.
	cert := &x509.Certificate{Raw: []byte("abc")}
	want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := Fingerprint(cert); got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
}

func TestPoolHoldsOnlyTheCA(t *testing.T) {
	ca := newTestCA(t)
	if !ca.Pool().Equal(ca.Pool()) {
		t.Error("two pools of the same CA differ")
	}
	other := newTestCA(t)
	if ca.Pool().Equal(other.Pool()) {
		t.Error("pools of two different CAs are equal")
	}
}

func FuzzParseCA(f *testing.F) {
	ca, err := NewCA("fuzz CA", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	keyPEM, err := encodeKey(ca.key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ca.CertPEM(), keyPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), keyPEM)
	f.Add([]byte{}, []byte{})

	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		loaded, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return
		}
		// Whatever parses must be a usable CA whose key matches its certificate.
		if !loaded.cert.IsCA {
			t.Fatal("parseCA returned a non-CA certificate")
		}
		if !loaded.key.PublicKey.Equal(loaded.cert.PublicKey) {
			t.Fatal("parseCA returned a key that does not match the certificate")
		}
	})
}
