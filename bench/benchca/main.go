// Command benchca writes a throwaway certificate authority and one server certificate for
// the relay benchmark, with cjsm's own certificate code (ECDSA P-256), so that cjsm,
// Postfix and the sink all present the same kind of certificate.
//
//	benchca -dir DIR -names localhost,127.0.0.1
//
// writes DIR/ca.pem, DIR/ca-key.pem, DIR/cert.pem (the leaf only), DIR/key.pem and
// DIR/chain.pem. chain.pem holds the key and then the leaf, the order that Postfix's
// smtpd_tls_chain_files reads. Like cjsm's tls.cert_file, it leaves out the CA certificate.
// The certificates are valid for 7 days.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cjsm/cjsm/internal/pki"
)

// validity is long enough for any benchmark run and short enough to be useless later.
const validity = 7 * 24 * time.Hour

func main() {
	fs := flag.NewFlagSet("benchca", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to write the files into; required")
	names := fs.String("names", "localhost,127.0.0.1",
		"comma-separated DNS names and IP addresses of the server certificate")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "benchca: -dir is required")
		os.Exit(2)
	}
	if err := write(*dir, strings.Split(*names, ",")); err != nil {
		fmt.Fprintf(os.Stderr, "benchca: %v\n", err)
		os.Exit(1)
	}
}

func write(dir string, names []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ca, err := pki.NewCA("cjsm relay benchmark CA", validity)
	if err != nil {
		return err
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	if err := ca.WriteFiles(path("ca.pem"), path("ca-key.pem")); err != nil {
		return err
	}
	if err := ca.IssueFiles(names, validity, path("cert.pem"), path("key.pem")); err != nil {
		return err
	}

	var chain []byte
	for _, name := range []string{"key.pem", "cert.pem"} {
		b, err := os.ReadFile(path(name))
		if err != nil {
			return err
		}
		chain = append(chain, b...)
	}
	return os.WriteFile(path("chain.pem"), chain, 0o600)
}
