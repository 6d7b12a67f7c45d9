// Command loadgen sends SMTP load to one server over STARTTLS and reports how fast the server
// accepted it.
//
// It sends -n messages of -size octets from -c concurrent sessions, either with a new
// connection for each message or with connections reused (RSET between messages), verifying
// the server certificate against the -ca file. With -auth-user it signs in with AUTH PLAIN on
// every connection. For each message it records the time from the end of DATA (the final
// "." line) to the server's 250 reply. At the end it prints one summary line of key=value
// pairs to standard output, starting with "RESULT loadgen".
//
// Example:
//
//	loadgen -addr 127.0.0.1:2525 -ca ca.pem -from load@police.test \
//	    -to dan.dyer@harbourlaw.test.cjsm.test -n 2000 -c 10 -size 10k -reuse
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings of one run.
type options struct {
	addr         string
	serverName   string
	caFile       string
	ehlo         string
	from         string
	to           []string
	n            int
	concurrency  int
	size         int
	reuse        bool
	authUser     string
	authPassword string
	timeout      time.Duration
	curves       []tls.CurveID
	runID        string
	quickAck     bool
}

func main() {
	opts, err := parseOptions(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tlsConfig, err := clientTLS(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(2)
	}

	res := run(ctx, opts, tlsConfig)
	res.printErrors(os.Stderr)
	fmt.Println(res.summary(opts))
	if res.errors > 0 || res.ok < opts.n {
		os.Exit(1)
	}
}

// parseOptions reads the command line. getenv looks up the variable named by
// -auth-password-env, so that the password stays out of the process list.
func parseOptions(args []string, getenv func(string) string) (options, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var o options
	var to, size, curves, passwordEnv string

	fs.StringVar(&o.addr, "addr", "", "server address as host:port; required")
	fs.StringVar(&o.serverName, "server-name", "",
		"name the server certificate must be valid for (default: the host of -addr)")
	fs.StringVar(&o.caFile, "ca", "", "PEM file of the authority that signed the server "+
		"certificate; required")
	fs.StringVar(&o.ehlo, "ehlo", "loadgen.bench.test", "name sent with EHLO")
	fs.StringVar(&o.from, "from", "", "envelope sender (MAIL FROM); required")
	fs.StringVar(&to, "to", "", "envelope recipients (RCPT TO), comma-separated; required")
	fs.IntVar(&o.n, "n", 1000, "number of messages to send")
	fs.IntVar(&o.concurrency, "c", 10, "number of concurrent SMTP sessions")
	fs.StringVar(&size, "size", "10k", "message size in octets; a suffix k or m multiplies "+
		"by 1024 or 1048576")
	fs.BoolVar(&o.reuse, "reuse", false, "reuse each connection for many messages, with RSET "+
		"between them (default: a new connection for each message)")

	fs.StringVar(&o.authUser, "auth-user", "", "sign in with AUTH PLAIN as this user")
	fs.StringVar(&passwordEnv, "auth-password-env", "",
		"name of the environment variable that holds the AUTH PLAIN password")

	fs.DurationVar(&o.timeout, "timeout", time.Minute, "time allowed for each command and reply")
	fs.StringVar(&curves, "curves", "X25519,P256", "TLS key exchange groups offered, in order "+
		"of preference: X25519, P256, P384, P521, X25519MLKEM768; \"default\" keeps Go's list")
	fs.BoolVar(&o.quickAck, "quickack", false, "acknowledge every segment from the server at "+
		"once (Linux TCP_QUICKACK), so that the client's delayed ACK cannot stall a server "+
		"that writes two small segments in a row with Nagle's algorithm on")
	fs.StringVar(&o.runID, "run-id", "", "label put in each Message-ID (default: the start "+
		"time), so that every message of every run is unique")

	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; every setting is a flag (-help lists them)",
			fs.Arg(0))
	}
	if err := o.check(to, size, curves, passwordEnv, getenv); err != nil {
		return o, err
	}
	return o, nil
}

// check validates and completes the options parsed from flags.
func (o *options) check(to, size, curves, passwordEnv string, getenv func(string) string) error {
	for name, v := range map[string]string{"-addr": o.addr, "-ca": o.caFile, "-from": o.from,
		"-to": to} {
		if v == "" {
			return fmt.Errorf("%s is required", name)
		}
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return fmt.Errorf("-addr %q is not host:port: %v", o.addr, err)
	}
	if o.serverName == "" {
		o.serverName = host
	}

	for _, rcpt := range strings.Split(to, ",") {
		if rcpt = strings.TrimSpace(rcpt); rcpt != "" {
			o.to = append(o.to, rcpt)
		}
	}
	if o.n < 1 || o.concurrency < 1 {
		return fmt.Errorf("-n %d and -c %d must both be at least 1", o.n, o.concurrency)
	}
	if o.size, err = parseSize(size); err != nil {
		return err
	}
	if o.curves, err = parseCurves(curves); err != nil {
		return err
	}

	if (o.authUser == "") != (passwordEnv == "") {
		return errors.New("-auth-user and -auth-password-env go together; give both or neither")
	}
	if passwordEnv != "" {
		if o.authPassword = getenv(passwordEnv); o.authPassword == "" {
			return fmt.Errorf("-auth-password-env %s: that environment variable is empty or "+
				"not set", passwordEnv)
		}
	}
	if o.runID == "" {
		o.runID = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return nil
}

// parseSize reads a size in octets with an optional k or m suffix (binary multiples).
func parseSize(s string) (int, error) {
	text := strings.ToLower(strings.TrimSpace(s))
	multiplier := 1
	switch {
	case strings.HasSuffix(text, "k"):
		multiplier, text = 1<<10, strings.TrimSuffix(text, "k")
	case strings.HasSuffix(text, "m"):
		multiplier, text = 1<<20, strings.TrimSuffix(text, "m")
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > (64<<20)/multiplier {
		return 0, fmt.Errorf("-size %q is invalid; give octets from 1 to 64m, such as 10240, "+
			"10k or 1m", s)
	}
	return n * multiplier, nil
}

// curveNames maps the names accepted by -curves to Go's identifiers.
var curveNames = map[string]tls.CurveID{
	"X25519":         tls.X25519,
	"P256":           tls.CurveP256,
	"P384":           tls.CurveP384,
	"P521":           tls.CurveP521,
	"X25519MLKEM768": tls.X25519MLKEM768,
}

// parseCurves reads the -curves list; "default" returns nil, which keeps Go's own list.
func parseCurves(s string) ([]tls.CurveID, error) {
	if s == "default" {
		return nil, nil
	}
	var out []tls.CurveID
	for _, name := range strings.Split(s, ",") {
		id, ok := curveNames[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("-curves: unknown group %q; use X25519, P256, P384, P521, "+
				"X25519MLKEM768 or default", name)
		}
		out = append(out, id)
	}
	return out, nil
}

// clientTLS returns the TLS configuration that verifies the server against the -ca file.
// Session resumption stays off, so that every new connection costs a full handshake.
func clientTLS(o options) (*tls.Config, error) {
	pem, err := os.ReadFile(o.caFile)
	if err != nil {
		return nil, fmt.Errorf("-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-ca %s contains no PEM certificate", o.caFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: o.serverName, MinVersion: tls.VersionTLS12,
		CurvePreferences: o.curves}, nil
}

// summary formats the result line that scripts read.
func (r *result) summary(o options) string {
	p50, p99, maxLatency := r.percentile(50), r.percentile(99), r.percentile(100)
	duration := r.end.Sub(r.start)
	rate := 0.0
	if duration > 0 {
		rate = float64(r.ok) / duration.Seconds()
	}
	auth := 0
	if o.authUser != "" {
		auth = 1
	}
	reuse := 0
	if o.reuse {
		reuse = 1
	}
	fields := []string{
		"RESULT loadgen",
		"addr=" + o.addr,
		fmt.Sprintf("n=%d ok=%d errors=%d", o.n, r.ok, r.errors),
		fmt.Sprintf("c=%d size=%d reuse=%d auth=%d", o.concurrency, o.size, reuse, auth),
		fmt.Sprintf("connections=%d", r.connections),
		fmt.Sprintf("start_ns=%d end_ns=%d", r.start.UnixNano(), r.end.UnixNano()),
		fmt.Sprintf("duration_s=%.3f rate=%.1f", duration.Seconds(), rate),
		fmt.Sprintf("p50_ms=%.3f p99_ms=%.3f max_ms=%.3f", ms(p50), ms(p99), ms(maxLatency)),
		"tls=" + orNone(r.tlsVersion), "group=" + orNone(r.tlsGroup),
	}
	return strings.Join(fields, " ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return strings.ReplaceAll(s, " ", "_")
}

// printErrors writes each distinct error with its count, most frequent first.
func (r *result) printErrors(w io.Writer) {
	for _, e := range r.errorCounts() {
		fmt.Fprintf(w, "loadgen: %d× %s\n", e.count, e.text)
	}
}
