package e2e

import (
	"crypto/tls"
	"encoding/base64"
	"testing"

	"github.com/cjsm/cjsm/internal/directory"
)

func plainAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func personStatus(s string) directory.PersonChange { return directory.PersonChange{Status: &s} }

type tlsCertificate = tls.Certificate

func mustPair(t *testing.T, certPEM, keyPEM []byte) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func trustedNetwork(name, network string) directory.TrustedInput {
	return directory.TrustedInput{Name: name, TLSPolicy: "mx", SourceNetworks: network}
}
