package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/demo"
	"github.com/cjsm/cjsm/internal/node"
)

// demoInfo is the content of DIR/demo.json, which scripts read to drive the demo.
type demoInfo struct {
	Listeners map[string]string `json:"-"`
	CACert    string            `json:"ca_cert"`
	Config    string            `json:"config"`
	Accounts  []demo.Account    `json:"accounts"`
	Received  string            `json:"received"`
}

// MarshalJSON puts each listener's address under its own top-level key (smtp, submission,
// submissions, http), beside ca_cert, config and accounts.
func (d demoInfo) MarshalJSON() ([]byte, error) {
	m := map[string]any{"ca_cert": d.CACert, "config": d.Config, "accounts": d.Accounts,
		"received": d.Received}
	for k, v := range d.Listeners {
		m[k] = v
	}
	return json.Marshal(m)
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := fs.String("dir", "demo", "directory for the demo's configuration, certificates and store; reused when it exists")
	setupOnly := fs.Bool("setup-only", false, "prepare the directory and exit without serving")
	fs.Usage = func() {
		fmt.Fprintln(os.Stdout, "Usage: cjsm demo [--dir DIR] [--setup-only]")
		fmt.Fprintln(os.Stdout, "\nCreates a demo community in DIR (or reuses it) and runs it with every")
		fmt.Fprintln(os.Stdout, "listener on a free loopback port, until Ctrl-C. DIR/demo.json lists the")
		fmt.Fprintln(os.Stdout, "addresses, the CA certificate and the demo accounts.")
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	unlock, err := lockDemoDir(*dir)
	if err != nil {
		return err
	}
	defer unlock()
	fmt.Fprintf(stdout, "preparing demo in %s …\n", *dir)
	d, err := demo.Setup(ctx, *dir)
	if err != nil {
		return err
	}
	if *setupOnly {
		fmt.Fprintf(stdout, "demo prepared; run it with: cjsm demo --dir %s\n", *dir)
		return nil
	}
	cfg, err := config.Load(d.ConfigPath)
	if err != nil {
		return err
	}
	logger := node.NewLogger(cfg, stderr)
	peers, err := d.StartPeers(logger.With("component", "demo-peers"))
	if err != nil {
		return err
	}
	defer peers.Close()
	cfg.DNS.Resolver = peers.DNSAddr
	_, peerPort, _ := net.SplitHostPort(peers.SMTPAddr)
	jsonPath := filepath.Join(d.Dir, "demo.json")
	reusePorts(&cfg, jsonPath)
	prepare := func(n *node.Node) { n.DeliveryPort, _ = strconv.Atoi(peerPort) }
	return serve(ctx, cfg, stderr, prepare, func(n *node.Node) error {
		listeners := n.Addrs()
		listeners["dns"] = peers.DNSAddr
		listeners["outside_mx"] = peers.SMTPAddr
		info := demoInfo{Listeners: listeners, CACert: d.CACert, Config: d.ConfigPath, Accounts: d.Accounts,
			Received: filepath.Join(d.Dir, "received")}
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		tmp := jsonPath + ".tmp"
		if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, jsonPath); err != nil {
			return err
		}
		printDemo(stdout, d, info, jsonPath)
		return nil
	})
}

func printDemo(w io.Writer, d *demo.Demo, info demoInfo, jsonPath string) {
	fmt.Fprintf(w, "\ncjsm demo is running. Stop it with Ctrl-C.\n\n")
	var names []string
	for k := range info.Listeners {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "  %-12s %s\n", k, info.Listeners[k])
	}
	fmt.Fprintf(w, "\n  CA certificate  %s\n  configuration   %s\n  details (JSON)  %s\n\n", d.CACert, d.ConfigPath, jsonPath)
	fmt.Fprintf(w, "Demo accounts (passwords are in %s):\n", jsonPath)
	for _, a := range d.Accounts {
		fmt.Fprintf(w, "  %-48s %-10s %s\n", a.Address, a.Role, a.Organisation)
	}
	fmt.Fprintf(w, "\nMail to kent.police.test (a trusted domain) and to the law firm's people is\n")
	fmt.Fprintf(w, "received by the demo's outside server and written to %s/<domain>/.\n", info.Received)
	fmt.Fprintf(w, "\nTry:\n  curl http://%s/healthz\n", info.Listeners["http"])
	if len(d.Accounts) >= 3 {
		from, to := d.Accounts[0], d.Accounts[2]
		fmt.Fprintf(w, "  swaks --server %s --tls --tls-verify --tls-ca-path %s \\\n", info.Listeners["submission"], d.CACert)
		fmt.Fprintf(w, "    --auth PLAIN --auth-user %s --auth-password %s \\\n", from.Address, from.Password)
		fmt.Fprintf(w, "    --from %s --to %s,duty@kent.police.test\n", from.Address, to.Address)
		fmt.Fprintf(w, "  %s admin --config %s trace --sender %s\n", self(), d.ConfigPath, from.Address)
	}
	fmt.Fprintf(w, "  %s admin --config %s person list\n", self(), d.ConfigPath)
}

// self returns how to run this program again: "go run ./cmd/cjsm" when it was started by go
// run (its binary lives in a temporary build directory), else its own path.
func self() string {
	exe, err := os.Executable()
	if err != nil || strings.Contains(exe, "go-build") {
		return "go run ./cmd/cjsm"
	}
	return exe
}

// lockDemoDir takes an exclusive lock on DIR/.lock, so that a second demo in the same
// directory stops with an error instead of serving the same store and rewriting demo.json.
// The lock ends with the process.
func lockDemoDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := io.ReadAll(io.LimitReader(f, 20))
		f.Close()
		return nil, fmt.Errorf("another cjsm demo is running in %s (process %s); stop it "+
			"with Ctrl-C, or give another --dir", dir, strings.TrimSpace(string(pid)))
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { f.Close() }, nil
}

// reusePorts gives each loopback listener of the demo the port it had in the last run, as
// recorded in demo.json, when that port is free, so that mail clients set up for the demo
// keep working after a restart. Listeners whose port is taken get a new free port.
func reusePorts(cfg *config.Config, jsonPath string) {
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return
	}
	var last map[string]any
	if json.Unmarshal(b, &last) != nil {
		return
	}
	for name, addr := range map[string]*string{"smtp": &cfg.Listen.SMTP,
		"submission": &cfg.Listen.Submission, "submissions": &cfg.Listen.Submissions,
		"imap": &cfg.Listen.IMAP, "imaps": &cfg.Listen.IMAPS, "pop3": &cfg.Listen.POP3,
		"pop3s": &cfg.Listen.POP3S, "http": &cfg.Listen.HTTP} {
		prev, _ := last[name].(string)
		host, port, err := net.SplitHostPort(prev)
		if err != nil || host != "127.0.0.1" || *addr != "127.0.0.1:0" {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			continue
		}
		l.Close()
		*addr = prev
	}
}
