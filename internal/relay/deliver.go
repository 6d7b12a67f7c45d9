package relay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/cjsm/cjsm/internal/delivery"
	"github.com/cjsm/cjsm/internal/queue"
	"github.com/cjsm/cjsm/internal/store"
)

// Deliverer delivers queue routes with the SMTP delivery client, looking up each route's
// current policy in the store so that a changed policy applies to the next attempt.
type Deliverer struct {
	st     *store.Store
	client *delivery.Client
	// PortOverride, when not 0, replaces the port of every destination (MX hosts, routes
	// and connector smart hosts), so that the demo and tests can run receiving servers on
	// free loopback ports.
	PortOverride int
}

// NewDeliverer returns a Deliverer that uses client.
func NewDeliverer(st *store.Store, client *delivery.Client) *Deliverer {
	return &Deliverer{st: st, client: client}
}

// target turns a queue route into a delivery target.
func (d *Deliverer) target(ctx context.Context, route, domain string) (delivery.Target, error) {
	kind, name, _ := strings.Cut(route, ":")
	switch kind {
	case "trusted":
		td, err := d.st.TrustedDomain(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return delivery.Target{}, &queue.Failure{Status: "5.7.1",
				Message: fmt.Sprintf("%s is no longer a trusted secure domain", name)}
		} else if err != nil {
			return delivery.Target{}, err
		}
		if td.Status != store.StatusActive {
			return delivery.Target{}, &queue.Failure{Temporary: true, Status: "4.7.1",
				Message: fmt.Sprintf("delivery to the trusted domain %s is suspended by the service operator", name)}
		}
		return delivery.Target{Domain: domain, Route: d.override(td.Route), Port: d.port(25), Policy: delivery.Policy{
			Mode: td.TLSPolicy, PinnedNames: strings.Fields(td.PinnedNames),
			PinnedFingerprints: strings.Fields(td.PinnedFingerprints)}}, nil
	case "connector":
		c, err := d.st.ConnectorByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return delivery.Target{}, &queue.Failure{Status: "5.4.4",
				Message: fmt.Sprintf("the connector %s no longer exists", name)}
		} else if err != nil {
			return delivery.Target{}, err
		}
		tlsName := c.OutboundTLSName
		if tlsName == "" {
			tlsName = c.OutboundHost
		}
		pol := delivery.Policy{Mode: "pinned", PinnedNames: []string{tlsName}}
		if c.OutboundTLSFingerprint != "" {
			pol.PinnedFingerprints = []string{c.OutboundTLSFingerprint}
		}
		port := d.port(c.OutboundPort)
		return delivery.Target{Domain: domain, Port: port,
			Route: net.JoinHostPort(c.OutboundHost, strconv.Itoa(port)), Policy: pol}, nil
	}
	return delivery.Target{}, &queue.Failure{Status: "5.4.4", Message: fmt.Sprintf("unknown route %q", route)}
}

func (d *Deliverer) port(p int) int {
	if d.PortOverride != 0 {
		return d.PortOverride
	}
	return p
}

func (d *Deliverer) override(route string) string {
	if route == "" || d.PortOverride == 0 {
		return route
	}
	host, _, err := net.SplitHostPort(route)
	if err != nil {
		return route
	}
	return net.JoinHostPort(host, strconv.Itoa(d.PortOverride))
}

// Deliver implements queue.Deliverer.
func (d *Deliverer) Deliver(ctx context.Context, route, domain string, env queue.Envelope, msg []byte) (queue.Result, error) {
	t, err := d.target(ctx, route, domain)
	if err != nil {
		return queue.Result{}, err
	}
	denv := delivery.Envelope{From: env.From, RequireTLS: env.RequireTLS, RET: env.DSNRet,
		EnvID: env.DSNEnvID, Notify: map[string]string{}, ORcpt: map[string]string{}}
	for _, r := range env.Recipients {
		denv.To = append(denv.To, r.Address)
		if len(r.Notify) > 0 {
			denv.Notify[r.Address] = strings.Join(r.Notify, ",")
		}
		if r.ORcpt != "" {
			denv.ORcpt[r.Address] = r.ORcpt
		}
	}
	rep, err := d.client.Deliver(ctx, t, denv, msg)
	if err != nil {
		return queue.Result{}, toFailure(err)
	}
	res := queue.Result{Remote: rep.Host, TLS: rep.TLSVersion + " " + rep.Cipher, Failed: map[string]*queue.Failure{}}
	for _, rr := range rep.Results {
		if rr.Err != nil {
			res.Failed[rr.Rcpt] = toFailure(rr.Err)
		}
	}
	return res, nil
}

func toFailure(err error) *queue.Failure {
	var de *delivery.Error
	if errors.As(err, &de) {
		f := &queue.Failure{Temporary: de.Temporary, Status: de.Enhanced, Message: de.Message, RemoteMTA: de.Host}
		if de.Code != 0 {
			f.Diagnostic = fmt.Sprintf("smtp; %d %s %s", de.Code, de.Enhanced, de.Message)
		}
		if f.Status == "" {
			f.Status = "4.4.0"
			if !f.Temporary {
				f.Status = "5.4.0"
			}
		}
		return f
	}
	var qf *queue.Failure
	if errors.As(err, &qf) {
		return qf
	}
	return &queue.Failure{Temporary: true, Status: "4.4.0", Message: err.Error()}
}
