package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/store"
)

func init() {
	register("trusted", "create", trustedCreate)
	register("trusted", "list", trustedList)
	register("trusted", "show", trustedShow)
	register("trusted", "update", trustedUpdate)
	register("trusted", "remove", trustedRemove)
	register("connector", "create", connectorCreate)
	register("connector", "list", connectorList)
	register("audit", "verify", auditVerify)
	register("audit", "list", auditList)
	register("blobs", "check", blobsCheck)
}

func trustedFlags(fs *flag.FlagSet, in *directory.TrustedInput) {
	fs.Usage = func() {
		fmt.Printf("Usage: cjsm admin %s [flags] DOMAIN\n\n", fs.Name())
		fmt.Println("A trusted domain covers the domain and all its subdomains: mail to")
		fmt.Println("x@sub.DOMAIN is delivered under DOMAIN's TLS policy.")
		fmt.Println()
		fs.PrintDefaults()
	}
	fs.StringVar(&in.Description, "description", "", "who the domain belongs to")
	fs.StringVar(&in.TLSPolicy, "tls-policy", "mx", "how the receiving server's certificate is checked: mx, mta-sts, pinned or dane")
	fs.StringVar(&in.PinnedNames, "pinned-names", "", "certificate names accepted with --tls-policy pinned (comma-separated)")
	fs.StringVar(&in.PinnedFingerprints, "pinned-fingerprints", "", "SHA-256 certificate fingerprints accepted with --tls-policy pinned")
	fs.StringVar(&in.SourceNetworks, "source-networks", "", "networks the domain's servers send from, in CIDR notation (comma-separated)")
	fs.StringVar(&in.SourceCertNames, "source-cert-names", "", "client certificate names of the domain's sending servers")
	fs.StringVar(&in.Route, "route", "", "host:port to deliver to instead of looking up MX records")
	fs.StringVar(&in.Status, "status", "active", "active or suspended")
}

func trustedCreate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("trusted create", flag.ContinueOnError)
	var in directory.TrustedInput
	trustedFlags(fs, &in)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if in.Name, err = oneArg("trusted create", pos, "domain name"); err != nil {
		return err
	}
	d, err := env.dir.CreateTrustedDomain(env.ctx, env.actor, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created trusted domain %s (TLS policy %s, %s)\n", d.Name, d.TLSPolicy, d.Status)
	return nil
}

func trustedUpdate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("trusted update", flag.ContinueOnError)
	var in directory.TrustedInput
	trustedFlags(fs, &in)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if in.Name, err = oneArg("trusted update", pos, "domain name"); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	d, err := env.dir.UpdateTrustedDomain(env.ctx, env.actor, in, set)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "updated trusted domain %s (TLS policy %s, %s)\n", d.Name, d.TLSPolicy, d.Status)
	return nil
}

func trustedList(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("trusted list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	ds, err := env.st.TrustedDomains(env.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, ds)
	}
	var rows [][]string
	for _, d := range ds {
		rows = append(rows, []string{d.Name, d.TLSPolicy, d.Status, d.Route, d.Description})
	}
	table(env.stdout, []string{"DOMAIN", "TLS POLICY", "STATUS", "ROUTE", "DESCRIPTION"}, rows)
	return nil
}

func trustedShow(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("trusted show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneArg("trusted show", pos, "domain name")
	if err != nil {
		return err
	}
	d, err := env.st.TrustedDomain(env.ctx, strings.ToLower(strings.TrimSuffix(name, ".")))
	if errors.Is(err, store.ErrNotFound) {
		return &directory.InputError{Field: "trusted domain", Value: name,
			Reason: "not found; list them with `cjsm admin trusted list`"}
	} else if err != nil {
		return fmt.Errorf("trusted domain %q: %w", name, err)
	}
	if *asJSON {
		return printJSON(env.stdout, d)
	}
	w := env.stdout
	fmt.Fprintf(w, "domain:              %s\ndescription:         %s\nTLS policy:          %s\n", d.Name, d.Description, d.TLSPolicy)
	fmt.Fprintf(w, "pinned names:        %s\npinned fingerprints: %s\n", d.PinnedNames, d.PinnedFingerprints)
	fmt.Fprintf(w, "source networks:     %s\nsource cert names:   %s\nroute:               %s\nstatus:              %s\n",
		d.SourceNetworks, d.SourceCertNames, d.Route, d.Status)
	return nil
}

func trustedRemove(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("trusted remove", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	name, err := oneArg("trusted remove", pos, "domain name")
	if err != nil {
		return err
	}
	if err := env.dir.RemoveTrustedDomain(env.ctx, env.actor, name); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "removed trusted domain %s\n", name)
	return nil
}

func connectorCreate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("connector create", flag.ContinueOnError)
	var in directory.ConnectorInput
	fs.StringVar(&in.Org, "org", "", "slug of the gateway organisation; required")
	fs.StringVar(&in.InboundCertNames, "inbound-cert-names", "", "client certificate names that identify the organisation's mail system")
	fs.StringVar(&in.InboundNetworks, "inbound-networks", "", "networks its mail system sends from, in CIDR notation")
	fs.StringVar(&in.InboundUsername, "inbound-username", "", "SMTP AUTH user name of its mail system")
	pwEnv := fs.String("inbound-password-env", "", "environment variable holding the SMTP AUTH password")
	fs.StringVar(&in.OutboundHost, "outbound-host", "", "smart host that receives the organisation's mail")
	fs.IntVar(&in.OutboundPort, "outbound-port", 25, "TCP port of the smart host")
	fs.StringVar(&in.OutboundTLSName, "outbound-tls-name", "", "name the smart host's certificate must carry (default: the host)")
	fs.StringVar(&in.OutboundTLSFingerprint, "outbound-tls-fingerprint", "", "SHA-256 fingerprint pinned for the smart host's certificate")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if in.Name, err = oneArg("connector create", pos, "connector name"); err != nil {
		return err
	}
	if in.InboundPassword, err = passwordFromEnv(*pwEnv); err != nil {
		return err
	}
	c, err := env.dir.CreateConnector(env.ctx, env.actor, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created connector %s for %s (outbound %s:%d)\n", c.Name, in.Org, c.OutboundHost, c.OutboundPort)
	return nil
}

func connectorList(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("connector list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cs, err := env.st.Connectors(env.ctx, 0)
	if err != nil {
		return err
	}
	for i := range cs {
		cs[i].InboundPasswordHash = ""
	}
	if *asJSON {
		return printJSON(env.stdout, cs)
	}
	var rows [][]string
	for _, c := range cs {
		o, _ := env.st.Organisation(env.ctx, c.OrgID)
		rows = append(rows, []string{c.Name, o.Slug, fmt.Sprintf("%s:%d", c.OutboundHost, c.OutboundPort),
			c.InboundNetworks, c.InboundCertNames})
	}
	table(env.stdout, []string{"NAME", "ORGANISATION", "OUTBOUND", "INBOUND NETWORKS", "INBOUND CERT NAMES"}, rows)
	return nil
}
