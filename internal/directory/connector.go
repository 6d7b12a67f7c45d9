package directory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/store"
)

// ConnectorInput holds the fields of a connector. Lists are comma- or space-separated.
type ConnectorInput struct {
	Org                    string
	Name                   string
	InboundCertNames       string
	InboundNetworks        string
	InboundUsername        string
	InboundPassword        string
	OutboundHost           string
	OutboundPort           int
	OutboundTLSName        string
	OutboundTLSFingerprint string
}

// CreateConnector adds a connector for a gateway organisation: how cjsm recognises its mail
// system (inbound) and where cjsm delivers its people's mail (outbound).
func (s *Service) CreateConnector(ctx context.Context, a Actor, in ConnectorInput) (store.Connector, error) {
	c := store.Connector{Name: strings.TrimSpace(in.Name), OutboundHost: in.OutboundHost,
		OutboundPort: in.OutboundPort, OutboundTLSName: in.OutboundTLSName,
		OutboundTLSFingerprint: strings.ToLower(in.OutboundTLSFingerprint),
		InboundUsername:        in.InboundUsername}
	if c.Name == "" || strings.ContainsAny(c.Name, " \t/") {
		return c, inputErr("name", c.Name, "use a short name without spaces, such as firm-m365")
	}
	if c.OutboundPort == 0 {
		c.OutboundPort = 25
	}
	if c.OutboundPort < 1 || c.OutboundPort > 65535 {
		return c, inputErr("outbound port", fmt.Sprint(c.OutboundPort), "use a TCP port between 1 and 65535")
	}
	if c.OutboundHost != "" && net.ParseIP(c.OutboundHost) == nil {
		if _, err := address.ParseDomain(c.OutboundHost); err != nil {
			return c, syntaxErr("outbound host", c.OutboundHost, err)
		}
	}
	var nets []string
	for _, n := range splitList(in.InboundNetworks) {
		_, ipnet, err := net.ParseCIDR(n)
		if err != nil {
			return c, inputErr("inbound network", n, "is not a network; use CIDR notation such as 192.0.2.0/24")
		}
		nets = append(nets, ipnet.String())
	}
	c.InboundNetworks = strings.Join(nets, " ")
	c.InboundCertNames = strings.Join(splitList(in.InboundCertNames), " ")
	if in.InboundPassword != "" {
		h, err := identity.HashPassword(in.InboundPassword)
		if err != nil {
			return c, err
		}
		c.InboundPasswordHash = h
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganisationBySlug(ctx, in.Org)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("organisation", in.Org, "not found")
		} else if err != nil {
			return err
		}
		if o.Kind != store.KindGateway {
			return inputErr("organisation", in.Org, "is hosted; connectors are for organisations with their own mail system")
		}
		c.OrgID = o.ID
		if err := tx.CreateConnector(ctx, &c); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return inputErr("name", c.Name, "is already used by another connector")
			}
			return err
		}
		return audit(ctx, tx, a, "connector.create", "connector:"+c.Name,
			fmt.Sprintf("org=%s outbound=%s:%d inbound_networks=%q inbound_cert_names=%q",
				in.Org, c.OutboundHost, c.OutboundPort, c.InboundNetworks, c.InboundCertNames))
	})
	return c, err
}
