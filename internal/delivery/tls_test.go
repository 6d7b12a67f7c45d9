package delivery

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/pki"
)

func TestVerifyPeer(t *testing.T) {
	trusted, err := pki.NewCA("trusted test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := pki.NewCA("untrusted test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mxCert := issue(t, trusted, "mx1.police.test")
	ipCert := issue(t, trusted, "127.0.0.1")
	otherNameCert := issue(t, trusted, "relay.firm.test")
	untrustedCert := issue(t, untrusted, "mx1.police.test")
	now := time.Now()
	later := now.Add(3 * time.Hour) // after every certificate here has expired

	pinFP := func(cert *x509.Certificate) Policy {
		return Policy{Mode: ModePinned, PinnedFingerprints: []string{pki.Fingerprint(cert)}}
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		host    string
		policy  Policy
		at      time.Time
		wantErr string // "" for success
	}{
		{"mx valid", mxCert, "mx1.police.test", Policy{Mode: ModeMX}, now, ""},
		{"mx name case", mxCert, "MX1.Police.Test", Policy{Mode: ModeMX}, now, ""},
		{"mx IP address", ipCert, "127.0.0.1", Policy{Mode: ModeMX}, now, ""},
		{"mx wrong name", otherNameCert, "mx1.police.test", Policy{Mode: ModeMX}, now,
			"not valid for mx1.police.test"},
		{"mx untrusted", untrustedCert, "mx1.police.test", Policy{Mode: ModeMX}, now,
			"not signed by a trusted certificate authority"},
		{"mx expired", mxCert, "mx1.police.test", Policy{Mode: ModeMX}, later,
			"expired or is not yet valid"},
		{"mta-sts acts as mx", otherNameCert, "mx1.police.test", Policy{Mode: ModeMTASTS},
			now, "not valid for mx1.police.test"},
		{"dane acts as mx", mxCert, "mx1.police.test", Policy{Mode: ModeDANE}, now, ""},
		{"pinned fingerprint, other name and CA", untrustedCert, "mx7.elsewhere.test",
			pinFP(untrustedCert), now, ""},
		{"pinned fingerprint, expired", untrustedCert, "mx1.police.test",
			pinFP(untrustedCert), later, ""},
		{"pinned fingerprint mismatch", mxCert, "mx1.police.test", pinFP(untrustedCert),
			now, "matches none of the 1 pinned fingerprints"},
		{"pinned name", otherNameCert, "mx1.police.test",
			Policy{Mode: ModePinned, PinnedNames: []string{"a.test", "relay.firm.test"}},
			now, ""},
		{"pinned name, MX name is not enough", mxCert, "mx1.police.test",
			Policy{Mode: ModePinned, PinnedNames: []string{"relay.firm.test"}}, now,
			"valid for none of the pinned names relay.firm.test"},
		{"pinned name, untrusted", untrustedCert, "mx1.police.test",
			Policy{Mode: ModePinned, PinnedNames: []string{"mx1.police.test"}}, now,
			"not signed by a trusted certificate authority"},
		{"pinned name or fingerprint, fingerprint matches", untrustedCert, "x.test",
			Policy{Mode: ModePinned, PinnedNames: []string{"relay.firm.test"},
				PinnedFingerprints: []string{pki.Fingerprint(untrustedCert)}}, now, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyPeer([]*x509.Certificate{tt.cert}, tt.host, tt.policy,
				trusted.Pool(), tt.at)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("verifyPeer: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("verifyPeer accepted the certificate, want %q", tt.wantErr)
			}
			var cert *certError
			if !errors.As(err, &cert) {
				t.Errorf("error %T is not a *certError", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyPeerWithoutCertificate(t *testing.T) {
	err := verifyPeer(nil, "mx1.police.test", Policy{Mode: ModeMX}, nil, time.Now())
	if err == nil || !strings.Contains(err.Error(), "no certificate") {
		t.Errorf("verifyPeer without certificates = %v", err)
	}
}

func TestCheckPolicy(t *testing.T) {
	fp := strings.Repeat("AB", 32)
	got, err := checkPolicy(Policy{Mode: ModePinned, PinnedFingerprints: []string{fp,
		colonHex(strings.Repeat("cd", 32))}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{strings.Repeat("ab", 32), strings.Repeat("cd", 32)}
	if got.PinnedFingerprints[0] != want[0] || got.PinnedFingerprints[1] != want[1] {
		t.Errorf("fingerprints = %q, want %q", got.PinnedFingerprints, want)
	}

	empty, err := checkPolicy(Policy{})
	if err != nil || empty.Mode != ModeMX {
		t.Errorf("empty policy = %+v, %v; want mode mx", empty, err)
	}

	for _, bad := range []Policy{
		{Mode: "none"},
		{Mode: ModePinned},
		{Mode: ModePinned, PinnedFingerprints: []string{"zz" + fp[2:]}},
		{Mode: ModeMX, PinnedFingerprints: []string{fp[:62]}},
	} {
		if _, err := checkPolicy(bad); err == nil {
			t.Errorf("checkPolicy(%+v) accepted it", bad)
		}
	}
}

func TestPolicyKeyIgnoresOrder(t *testing.T) {
	a := Policy{Mode: ModePinned, PinnedNames: []string{"a.test", "b.test"}}
	b := Policy{Mode: ModePinned, PinnedNames: []string{"b.test", "a.test"}}
	if policyKey(a) != policyKey(b) {
		t.Error("policy keys differ for the same names in another order")
	}
	if policyKey(a) == policyKey(Policy{Mode: ModeMX}) {
		t.Error("pinned and mx policies share a key")
	}
}

func TestCombineAttempts(t *testing.T) {
	permanent := &Error{Enhanced: "5.7.30", Message: "mx1: no REQUIRETLS.", Host: "mx1"}
	temporary := &Error{Temporary: true, Enhanced: "4.4.1", Message: "mx2: refused",
		Host: "mx2"}

	combined := combineAttempts([]*Error{permanent, temporary})
	if !combined.Temporary || combined.Enhanced != "4.4.1" {
		t.Errorf("permanent then temporary = %+v, want temporary 4.4.1", combined)
	}
	if !strings.Contains(combined.Message, "1: mx1: no REQUIRETLS.") ||
		!strings.Contains(combined.Message, "2: mx2: refused.") {
		t.Errorf("message %q does not list both attempts", combined.Message)
	}

	allPermanent := combineAttempts([]*Error{permanent, permanent})
	if allPermanent.Temporary || allPermanent.Enhanced != "5.7.30" {
		t.Errorf("two permanent failures = %+v, want permanent 5.7.30", allPermanent)
	}
	if combineAttempts([]*Error{temporary}) != temporary {
		t.Error("a single attempt is not returned as it is")
	}
}

func issue(t *testing.T, ca *pki.CA, names ...string) *x509.Certificate {
	t.Helper()
	_, leaf := serverTLS(t, ca, names...)
	return leaf
}
