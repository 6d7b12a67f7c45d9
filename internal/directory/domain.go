package directory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/store"
)

// AddDomain records a gateway domain of an organisation, pending verification. The returned
// domain carries the token the organisation publishes in a TXT record at
// _cjsm-verify.<domain> to prove control.
func (s *Service) AddDomain(ctx context.Context, a Actor, orgSlug, name string) (store.Domain, error) {
	var d store.Domain
	dn, err := address.ParseDomain(name)
	if err != nil {
		return d, syntaxErr("domain", name, err)
	}
	if dn == s.suffix || address.IsUnderSuffix(dn, s.suffix) {
		return d, inputErr("domain", dn, "is the community suffix %s or under it; add the organisation's own domain, and cjsm derives the community form", s.suffix)
	}
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return d, err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganisationBySlug(ctx, orgSlug)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("organisation", orgSlug, "not found")
		} else if err != nil {
			return err
		}
		if o.Kind != store.KindGateway {
			return inputErr("organisation", orgSlug, "is hosted; only gateway-connected organisations add their own domains")
		}
		for parent := dn; strings.Contains(parent, "."); parent = parent[strings.Index(parent, ".")+1:] {
			if _, err := tx.TrustedDomain(ctx, parent); err == nil {
				return inputErr("domain", dn, "is %s, a trusted secure domain, or inside it; a domain is either trusted or an organisation's gateway domain", parent)
			}
		}
		d = store.Domain{OrgID: o.ID, Name: dn, Kind: store.DomainGateway,
			VerificationToken: "cjsm-verify=" + hex.EncodeToString(token),
			VerificationState: store.VerificationPending}
		if err := tx.CreateDomain(ctx, &d); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return inputErr("domain", dn, "is already registered; see `cjsm admin domain list`")
			}
			return err
		}
		return audit(ctx, tx, a, "domain.add", "domain:"+dn, "org="+orgSlug)
	})
	return d, err
}

// MarkDomainVerified records that an organisation proved control of a domain. state is
// verified or failed.
// TODO: look up the _cjsm-verify TXT record through the configured resolver instead of
// taking the operator's word.
func (s *Service) MarkDomainVerified(ctx context.Context, a Actor, name, state string) (store.Domain, error) {
	var d store.Domain
	if !oneOf(state, store.VerificationVerified, store.VerificationFailed, store.VerificationPending) {
		return d, inputErr("state", state, "use verified, failed or pending")
	}
	dn, err := address.ParseDomain(name)
	if err != nil {
		return d, syntaxErr("domain", name, err)
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err = tx.DomainByName(ctx, dn)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("domain", dn, "not found; add it with `cjsm admin domain add`")
		} else if err != nil {
			return err
		}
		d.VerificationState = state
		if err := tx.UpdateDomain(ctx, &d); err != nil {
			return err
		}
		return audit(ctx, tx, a, "domain.verify", "domain:"+dn, "state="+state)
	})
	return d, err
}

// RemoveDomain deletes a gateway domain that no person's address uses.
func (s *Service) RemoveDomain(ctx context.Context, a Actor, name string) error {
	dn, err := address.ParseDomain(name)
	if err != nil {
		return syntaxErr("domain", name, err)
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.DomainByName(ctx, dn)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("domain", dn, "not found")
		} else if err != nil {
			return err
		}
		if d.Kind == store.DomainHosted {
			return inputErr("domain", dn, "is an organisation's hosted domain; it goes when the organisation is removed")
		}
		if n, err := s.countPeopleInDomain(ctx, d); err != nil {
			return err
		} else if n > 0 {
			return inputErr("domain", dn, "%d people still have addresses in it; remove them first", n)
		}
		if err := tx.DeleteDomain(ctx, d.ID); err != nil {
			return err
		}
		return audit(ctx, tx, a, "domain.remove", "domain:"+dn, "")
	})
}

func (s *Service) countPeopleInDomain(ctx context.Context, d store.Domain) (int, error) {
	people, err := s.st.People(ctx, store.PersonFilter{OrgID: d.OrgID, Limit: 1 << 30})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range people {
		if strings.HasSuffix(p.AddressKey, "@"+d.Name+"."+s.suffix) {
			n++
		}
	}
	return n, nil
}

// TrustedInput holds the fields of a trusted secure domain. Lists are comma- or
// space-separated.
type TrustedInput struct {
	Name               string
	Description        string
	TLSPolicy          string
	PinnedNames        string
	PinnedFingerprints string
	SourceNetworks     string
	SourceCertNames    string
	Route              string
	Status             string
}

func (s *Service) checkTrusted(in *TrustedInput) error {
	if in.TLSPolicy == "" {
		in.TLSPolicy = store.PolicyMX
	}
	if !oneOf(in.TLSPolicy, store.PolicyMX, store.PolicyMTASTS, store.PolicyPinned, store.PolicyDANE) {
		return inputErr("tls policy", in.TLSPolicy, "unknown policy; use mx, mta-sts, pinned or dane")
	}
	if in.Status == "" {
		in.Status = store.StatusActive
	}
	if !oneOf(in.Status, store.StatusActive, store.StatusSuspended) {
		return inputErr("status", in.Status, "use active or suspended")
	}
	var names []string
	for _, n := range splitList(in.PinnedNames) {
		dn, err := address.ParseDomain(strings.TrimPrefix(n, "*."))
		if err != nil {
			return syntaxErr("pinned name", n, err)
		}
		if strings.HasPrefix(n, "*.") {
			dn = "*." + dn
		}
		names = append(names, dn)
	}
	in.PinnedNames = strings.Join(names, " ")
	var fps []string
	for _, f := range splitList(in.PinnedFingerprints) {
		f = strings.ToLower(strings.ReplaceAll(f, ":", ""))
		if b, err := hex.DecodeString(f); err != nil || len(b) != 32 {
			return inputErr("pinned fingerprint", f, "is not a SHA-256 fingerprint; give 64 hex digits of the certificate's SHA-256")
		}
		fps = append(fps, f)
	}
	in.PinnedFingerprints = strings.Join(fps, " ")
	if in.TLSPolicy == store.PolicyPinned && len(names) == 0 && len(fps) == 0 {
		return inputErr("tls policy", "pinned", "needs at least one pinned name or fingerprint")
	}
	var nets []string
	for _, n := range splitList(in.SourceNetworks) {
		if !strings.Contains(n, "/") {
			if ip := net.ParseIP(n); ip != nil {
				if ip.To4() != nil {
					n += "/32"
				} else {
					n += "/128"
				}
			}
		}
		_, ipnet, err := net.ParseCIDR(n)
		if err != nil {
			return inputErr("source network", n, "is not a network; use CIDR notation such as 192.0.2.0/24")
		}
		// A network wider than /8 (IPv4) or /32 (IPv6) would let a large part of the
		// internet send as the domain, and no real mail estate needs that.
		if ones, bits := ipnet.Mask.Size(); (bits == 32 && ones < 8) || (bits == 128 && ones < 32) {
			return inputErr("source network", n, "is too wide: it would let almost any host send as the domain; list the domain's mail servers' networks")
		}
		nets = append(nets, ipnet.String())
	}
	in.SourceNetworks = strings.Join(nets, " ")
	var certNames []string
	for _, n := range splitList(in.SourceCertNames) {
		dn, err := address.ParseDomain(n)
		if err != nil {
			return syntaxErr("source certificate name", n, err)
		}
		certNames = append(certNames, dn)
	}
	in.SourceCertNames = strings.Join(certNames, " ")
	if in.Route != "" {
		_, port, err := net.SplitHostPort(in.Route)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 1 || n > 65535 {
			return inputErr("route", in.Route, "use host:port of the receiving server with a port from 1 to 65535, or leave it empty to look up MX records")
		}
	}
	return nil
}

// CreateTrustedDomain adds a trusted secure domain.
func (s *Service) CreateTrustedDomain(ctx context.Context, a Actor, in TrustedInput) (store.TrustedDomain, error) {
	var d store.TrustedDomain
	dn, err := address.ParseDomain(in.Name)
	if err != nil {
		return d, syntaxErr("domain", in.Name, err)
	}
	if dn == s.suffix || address.IsUnderSuffix(dn, s.suffix) {
		return d, inputErr("domain", dn, "is inside the community suffix %s; community domains are not trusted domains", s.suffix)
	}
	if err := s.checkTrusted(&in); err != nil {
		return d, err
	}
	d = store.TrustedDomain{Name: dn, Description: in.Description, TLSPolicy: in.TLSPolicy,
		PinnedNames: in.PinnedNames, PinnedFingerprints: in.PinnedFingerprints,
		SourceNetworks: in.SourceNetworks, SourceCertNames: in.SourceCertNames, Route: in.Route,
		Status: in.Status}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.DomainByName(ctx, dn); err == nil {
			return inputErr("domain", dn, "is an organisation's gateway domain; it cannot also be a trusted domain")
		}
		if err := tx.CreateTrustedDomain(ctx, &d); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return inputErr("domain", dn, "is already a trusted domain; change it with `cjsm admin trusted update`")
			}
			return err
		}
		return audit(ctx, tx, a, "trusted.create", "trusted:"+dn, describeTrusted(d))
	})
	return d, err
}

func describeTrusted(d store.TrustedDomain) string {
	return fmt.Sprintf("policy=%s pinned_names=%q pinned_fingerprints=%q source_networks=%q source_cert_names=%q route=%q status=%s",
		d.TLSPolicy, d.PinnedNames, d.PinnedFingerprints, d.SourceNetworks, d.SourceCertNames,
		d.Route, d.Status)
}

// UpdateTrustedDomain replaces the settings of a trusted domain with those in in; empty
// fields of in keep their current values unless clear names them.
func (s *Service) UpdateTrustedDomain(ctx context.Context, a Actor, in TrustedInput, set map[string]bool) (store.TrustedDomain, error) {
	var d store.TrustedDomain
	dn, err := address.ParseDomain(in.Name)
	if err != nil {
		return d, syntaxErr("domain", in.Name, err)
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err = tx.TrustedDomain(ctx, dn)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("domain", dn, "is not a trusted domain; add it with `cjsm admin trusted create`")
		} else if err != nil {
			return err
		}
		merged := TrustedInput{Name: dn, Description: d.Description, TLSPolicy: d.TLSPolicy,
			PinnedNames: d.PinnedNames, PinnedFingerprints: d.PinnedFingerprints,
			SourceNetworks: d.SourceNetworks, SourceCertNames: d.SourceCertNames, Route: d.Route,
			Status: d.Status}
		pick := func(key string, dst *string, v string) {
			if set[key] {
				*dst = v
			}
		}
		pick("description", &merged.Description, in.Description)
		pick("tls-policy", &merged.TLSPolicy, in.TLSPolicy)
		pick("pinned-names", &merged.PinnedNames, in.PinnedNames)
		pick("pinned-fingerprints", &merged.PinnedFingerprints, in.PinnedFingerprints)
		pick("source-networks", &merged.SourceNetworks, in.SourceNetworks)
		pick("source-cert-names", &merged.SourceCertNames, in.SourceCertNames)
		pick("route", &merged.Route, in.Route)
		pick("status", &merged.Status, in.Status)
		if err := s.checkTrusted(&merged); err != nil {
			return err
		}
		d.Description, d.TLSPolicy, d.PinnedNames = merged.Description, merged.TLSPolicy, merged.PinnedNames
		d.PinnedFingerprints, d.SourceNetworks = merged.PinnedFingerprints, merged.SourceNetworks
		d.SourceCertNames, d.Route, d.Status = merged.SourceCertNames, merged.Route, merged.Status
		if err := tx.UpdateTrustedDomain(ctx, &d); err != nil {
			return err
		}
		return audit(ctx, tx, a, "trusted.update", "trusted:"+dn, describeTrusted(d))
	})
	return d, err
}

// RemoveTrustedDomain deletes a trusted domain.
func (s *Service) RemoveTrustedDomain(ctx context.Context, a Actor, name string) error {
	dn, err := address.ParseDomain(name)
	if err != nil {
		return syntaxErr("domain", name, err)
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.TrustedDomain(ctx, dn)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("domain", dn, "is not a trusted domain")
		} else if err != nil {
			return err
		}
		if err := tx.DeleteTrustedDomain(ctx, d.ID); err != nil {
			return err
		}
		return audit(ctx, tx, a, "trusted.remove", "trusted:"+dn, "")
	})
}
