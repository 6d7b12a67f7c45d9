package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteIssuesVerifiableCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if err := write(dir, []string{"localhost", "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatalf("cert.pem and key.pem do not make a key pair: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("certificate does not verify for %s: %v", name, err)
		}
	}
	if len(pair.Certificate) != 1 {
		t.Errorf("cert.pem holds %d certificates, want the leaf only", len(pair.Certificate))
	}
}

func TestWriteChainIsKeyThenLeaf(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir, []string{"localhost"}); err != nil {
		t.Fatal(err)
	}
	chain, err := os.ReadFile(filepath.Join(dir, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for rest := chain; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		types = append(types, block.Type)
	}
	if len(types) != 2 || types[1] != "CERTIFICATE" || types[0] == "CERTIFICATE" {
		t.Errorf("chain.pem blocks = %q, want a private key then one certificate", types)
	}
	info, err := os.Stat(filepath.Join(dir, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		t.Errorf("chain.pem mode %v lets others read the private key", info.Mode().Perm())
	}
}
