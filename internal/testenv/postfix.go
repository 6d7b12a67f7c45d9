package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PostfixOptions configures a Postfix instance started by Postfix. Where mail goes
// depends on which of Relayhost, SendTo and Keep is set. At most one may be set,
// and with none Postfix accepts and discards every message.
type PostfixOptions struct {
	// ListenPort is the smtpd port on 127.0.0.1; 0 picks a free port.
	ListenPort int

	// CertPEM and KeyPEM are the smtpd certificate chain and key, for example from
	// pki.CA.Issue. When they are set smtpd offers STARTTLS; when not, it speaks
	// plain SMTP only.
	CertPEM, KeyPEM []byte

	// Hostname is myhostname: the greeting and EHLO name. Default "peer.test".
	Hostname string

	// Relayhost, as host:port, relays all mail there with opportunistic TLS
	// (smtp_tls_security_level = may).
	Relayhost string

	// SendTo, as host:port, relays all mail there and requires TLS with a
	// certificate that verifies against SendCAFile and names SendServerName
	// (smtp_tls_security_level = secure). Postfix matches DNS names only, so give
	// SendServerName when the host in SendTo is an IP address.
	SendTo string
	// SendCAFile is the PEM file of CA certificates that SendTo must chain to.
	SendCAFile string
	// SendServerName is the name the SendTo certificate must carry, also sent as
	// the TLS server name (SNI). Default: the host in SendTo.
	SendServerName string

	// Keep relays all mail to a Sink started for this instance, so the test can
	// read what Postfix received through Kept.
	Keep bool

	// Config contains main.cf parameters that override the defaults set here, such
	// as {"smtpd_tls_security_level": "encrypt"}.
	Config map[string]string
}

// PostfixServer is a running Postfix instance with its own configuration directory,
// queue and mail log. It retries deferred mail after one to two seconds.
type PostfixServer struct {
	t       testing.TB
	dir     string
	confDir string
	addr    string
	master  *daemon
	kept    *SinkServer
}

const (
	postfixStartTimeout = 15 * time.Second
	postfixStopTimeout  = 5 * time.Second
	postfixCmdTimeout   = 30 * time.Second
)

// Postfix starts a Postfix instance as described in opts and stops it, removing
// its files, when the test ends. Postfix needs root, because its master starts
// as root and its daemons switch to the postfix user.
func Postfix(t testing.TB, opts PostfixOptions) *PostfixServer {
	t.Helper()
	began := time.Now()
	postfixBin := requireBinary(t, "postfix", "postfix", "/usr/sbin")
	if os.Geteuid() != 0 {
		missing(t, "Postfix must be started as root; run the tests as root")
	}
	if err := opts.check(); err != nil {
		t.Fatalf("testenv: %v", err)
	}

	p := &PostfixServer{t: t}
	if opts.Keep {
		p.kept = Sink(t, SinkOptions{Hostname: "kept.test"})
	}
	if err := p.start(postfixBin, opts); err != nil {
		if p.master != nil {
			p.stop()
		}
		if p.dir != "" {
			os.RemoveAll(p.dir)
		}
		t.Fatalf("testenv: start Postfix: %v", err)
	}
	t.Cleanup(func() {
		p.stop()
		os.RemoveAll(p.dir)
	})
	logStart(t, "Postfix on "+p.addr, began)
	return p
}

func (o PostfixOptions) check() error {
	modes := 0
	for _, set := range []bool{o.Relayhost != "", o.SendTo != "", o.Keep} {
		if set {
			modes++
		}
	}
	if modes > 1 {
		return errors.New("PostfixOptions sets more than one of Relayhost, SendTo and Keep; " +
			"choose one")
	}
	if (o.CertPEM == nil) != (o.KeyPEM == nil) {
		return errors.New("PostfixOptions sets only one of CertPEM and KeyPEM; set both or neither")
	}
	for _, hostPort := range []string{o.Relayhost, o.SendTo} {
		if hostPort == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(hostPort); err != nil {
			return fmt.Errorf("PostfixOptions: %q is not host:port: %w", hostPort, err)
		}
	}
	if o.SendTo != "" && o.SendCAFile == "" {
		return errors.New("PostfixOptions.SendTo needs SendCAFile, the CA file to verify it against")
	}
	return nil
}

func (p *PostfixServer) start(postfixBin string, opts PostfixOptions) error {
	dir, err := makeTempDir("postfix")
	if err != nil {
		return err
	}
	p.dir = dir
	p.confDir = filepath.Join(dir, "etc")

	port := opts.ListenPort
	if port == 0 {
		if port, err = freePort(); err != nil {
			return err
		}
	}
	p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	if err := p.writeFiles(opts, port); err != nil {
		return err
	}
	// "postfix check" creates the queue directories with their owners and modes.
	if out, err := p.run(postfixBin, "-c", p.confDir, "check"); err != nil {
		// A main.cf error goes to syslog, which test machines lack, and not to
		// stderr, so show the configuration instead.
		mainCF, _ := os.ReadFile(filepath.Join(p.confDir, "main.cf"))
		return fmt.Errorf("postfix check failed (%w) %s\ncheck PostfixOptions.Config "+
			"against this main.cf:\n%s", err, strings.TrimSpace(out), mainCF)
	}
	return p.startMaster()
}

// writeFiles lays out the instance directory, its TLS files and configuration.
func (p *PostfixServer) writeFiles(opts PostfixOptions, port int) error {
	// Postfix daemons run as the postfix user and must reach the queue below dir.
	if err := os.Chmod(p.dir, 0o755); err != nil {
		return err
	}
	for _, sub := range []string{"etc/tls", "spool", "data", "log"} {
		if err := os.MkdirAll(filepath.Join(p.dir, sub), 0o755); err != nil {
			return err
		}
	}
	// The master does not start unless the postfix user can lock files in data.
	if err := chownToUser(filepath.Join(p.dir, "data"), "postfix"); err != nil {
		return err
	}

	if opts.CertPEM != nil {
		certPath := filepath.Join(p.confDir, "tls", "cert.pem")
		if err := os.WriteFile(certPath, opts.CertPEM, 0o644); err != nil {
			return err
		}
		keyPath := filepath.Join(p.confDir, "tls", "key.pem")
		if err := os.WriteFile(keyPath, opts.KeyPEM, 0o600); err != nil {
			return err
		}
	}

	mainCF := p.mainConfig(opts)
	if err := writeConfig(filepath.Join(p.confDir, "main.cf"), formatMainConfig(mainCF)); err != nil {
		return err
	}
	return writeConfig(filepath.Join(p.confDir, "master.cf"), masterConfig(port))
}

// mainConfig returns the main.cf parameters for opts.
func (p *PostfixServer) mainConfig(opts PostfixOptions) map[string]string {
	hostname := opts.Hostname
	if hostname == "" {
		hostname = "peer.test"
	}
	_, domain, _ := strings.Cut(hostname, ".")

	cf := map[string]string{
		"compatibility_level":      "3.6",
		"queue_directory":          filepath.Join(p.dir, "spool"),
		"data_directory":           filepath.Join(p.dir, "data"),
		"mail_owner":               "postfix",
		"setgid_group":             "postdrop",
		"myhostname":               hostname,
		"myorigin":                 "$myhostname",
		"mydestination":            "",
		"local_recipient_maps":     "",
		"alias_maps":               "",
		"alias_database":           "",
		"relay_domains":            "",
		"inet_interfaces":          "127.0.0.1",
		"inet_protocols":           "ipv4",
		"mynetworks":               "127.0.0.0/8",
		"smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
		// Tests have no DNS that Postfix could reach, so next hops are host names
		// from /etc/hosts or IP addresses.
		"smtp_dns_support_level": "disabled",
		"lmtp_dns_support_level": "disabled",
		"smtp_host_lookup":       "native",
		"smtpd_peername_lookup":  "no",
		// Without a syslog daemon the mail log goes to a file through postlogd.
		"maillog_file":              filepath.Join(p.dir, "log", "maillog"),
		"maillog_file_prefixes":     p.dir,
		"biff":                      "no",
		"append_dot_mydomain":       "no",
		"queue_run_delay":           "1s",
		"minimal_backoff_time":      "1s",
		"maximal_backoff_time":      "2s",
		"smtpd_tls_security_level":  "none",
		"smtpd_tls_loglevel":        "1",
		"smtpd_tls_received_header": "yes",
		"smtp_tls_security_level":   "none",
		"smtp_tls_loglevel":         "1",
		"default_transport":         "discard",
	}

	// Postfix derives mydomain from a host name with a dot, and rejects an empty one.
	if domain != "" {
		cf["mydomain"] = domain
	}
	if opts.CertPEM != nil {
		cf["smtpd_tls_cert_file"] = filepath.Join(p.confDir, "tls", "cert.pem")
		cf["smtpd_tls_key_file"] = filepath.Join(p.confDir, "tls", "key.pem")
		cf["smtpd_tls_security_level"] = "may"
	}

	switch {
	case opts.Relayhost != "":
		cf["default_transport"] = "smtp"
		cf["relayhost"] = bracketHost(opts.Relayhost)
		cf["smtp_tls_security_level"] = "may"
	case opts.SendTo != "":
		serverName := opts.SendServerName
		if serverName == "" {
			serverName, _, _ = net.SplitHostPort(opts.SendTo)
		}
		cf["default_transport"] = "smtp"
		cf["relayhost"] = bracketHost(opts.SendTo)
		cf["smtp_tls_security_level"] = "secure"
		cf["smtp_tls_CAfile"] = opts.SendCAFile
		cf["smtp_tls_secure_cert_match"] = serverName
		cf["smtp_tls_servername"] = serverName
	case opts.Keep:
		cf["default_transport"] = "smtp"
		cf["relayhost"] = bracketHost(p.kept.Addr())
	}

	for key, value := range opts.Config {
		cf[key] = value
	}
	return cf
}

// bracketHost turns host:port into [host]:port, so that Postfix connects to host
// itself instead of looking up its MX records.
func bracketHost(hostPort string) string {
	host, port, _ := net.SplitHostPort(hostPort)
	return "[" + host + "]:" + port
}

func formatMainConfig(cf map[string]string) string {
	keys := make([]string, 0, len(cf))
	for key := range cf {
		keys = append(keys, key)
	}
	sort.Strings(keys)

	var b strings.Builder
	for _, key := range keys {
		fmt.Fprintf(&b, "%s = %s\n", key, cf[key])
	}
	return b.String()
}

// masterConfig returns a master.cf with Debian's services, smtpd on
// 127.0.0.1:port, and no chroot, so that daemons need no copy of /etc files.
func masterConfig(port int) string {
	return fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
local      unix  - n n -     - local
virtual    unix  - n n -     - virtual
lmtp       unix  - - n -     - lmtp
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
`, port)
}

// writeConfig writes a Postfix configuration file with a modification time in
// the past. Postfix commands wait about two seconds before reading a main.cf
// changed within the last second, in case it is still being written.
func writeConfig(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return err
	}
	past := time.Now().Add(-time.Minute)
	return os.Chtimes(path, past, past)
}

func chownToUser(path, userName string) error {
	cred, err := lookupCredential(userName)
	if err != nil {
		return err
	}
	return os.Chown(path, int(cred.Uid), int(cred.Gid))
}

// masterWrapper is a shell script that runs its arguments (the Postfix master)
// and forwards SIGTERM to it. The master cannot be given the parent-death signal
// itself, because Linux clears that setting whenever a process changes its
// effective user id, as the master does to lock files as the postfix user. The
// shell changes no ids, so it keeps the signal and passes it on.
const masterWrapper = `"$@" &
pid=$!
trap 'kill -TERM "$pid"' TERM
while :; do
	wait "$pid"
	status=$?
	kill -0 "$pid" 2>/dev/null || exit "$status"
done`

// startMaster runs the Postfix master in the foreground under masterWrapper, so
// that it dies with the test binary, and waits until smtpd accepts connections.
func (p *PostfixServer) startMaster() error {
	daemonDir, err := p.run("postconf", "-c", p.confDir, "-h", "daemon_directory")
	if err != nil {
		return fmt.Errorf("postconf daemon_directory: %w\n%s", err, daemonDir)
	}
	masterPath := filepath.Join(strings.TrimSpace(daemonDir), "master")

	cmd := exec.Command("/bin/sh", "-c", masterWrapper, "sh", masterPath, "-c", p.confDir)
	cmd.Env = postfixEnv(p.confDir)
	// SIGTERM makes the master pass the signal on to its daemons and exit.
	wrapper, err := startDaemon(cmd, syscall.SIGTERM)
	if err != nil {
		return fmt.Errorf("start the Postfix master: %w", err)
	}
	p.master = wrapper

	if err := waitPort(p.addr, postfixStartTimeout, wrapper.exited); err != nil {
		return fmt.Errorf("%w\nmail log:\n%s", err, tail(p.maillogPath(), 20))
	}
	return nil
}

// stop shuts the instance down without leaving zombie daemons. Emptying
// master.cf and reloading makes the master stop every daemon and collect its
// exit status, and only then is the master itself terminated. Terminating it at
// once would leave its daemons to PID 1, which does not reap them on every machine.
func (p *PostfixServer) stop() {
	if !p.master.alive() {
		return
	}
	if pid, err := p.masterPID(); err == nil {
		if err := writeConfig(filepath.Join(p.confDir, "master.cf"), ""); err == nil {
			syscall.Kill(pid, syscall.SIGHUP)
			waitNoChildren(pid, postfixStopTimeout)
		}
	}
	p.master.stop(syscall.SIGTERM, postfixStopTimeout)
}

// masterPID reads the process id that the master writes to pid/master.pid in
// its queue directory.
func (p *PostfixServer) masterPID() (int, error) {
	data, err := os.ReadFile(filepath.Join(p.dir, "spool", "pid", "master.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// waitNoChildren waits until process pid has no child processes left.
func waitNoChildren(pid int, timeout time.Duration) {
	id := strconv.Itoa(pid)
	childrenPath := filepath.Join("/proc", id, "task", id, "children")
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		children, err := os.ReadFile(childrenPath)
		if err != nil || len(bytes.TrimSpace(children)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// postfixEnv is the environment for Postfix commands: a fixed PATH, the
// configuration directory, and nothing from the test's environment.
func postfixEnv(confDir string) []string {
	return []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"MAIL_CONFIG=" + confDir,
		"LANG=C",
	}
}

// run runs a Postfix command with this instance's environment and returns its
// combined output.
func (p *PostfixServer) run(name string, args ...string) (string, error) {
	return p.runInput(nil, name, args...)
}

func (p *PostfixServer) runInput(stdin []byte, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), postfixCmdTimeout)
	defer cancel()

	path, reason := lookBinary(name, "postfix", "/usr/sbin")
	if reason != "" {
		return "", errors.New(reason)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = postfixEnv(p.confDir)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Addr returns the smtpd address, 127.0.0.1:PORT.
func (p *PostfixServer) Addr() string {
	return p.addr
}

// ConfigDir returns the directory with main.cf and master.cf, for Postfix
// commands run by the test with -c.
func (p *PostfixServer) ConfigDir() string {
	return p.confDir
}

// Kept returns the Sink that receives all mail when PostfixOptions.Keep is set,
// or nil.
func (p *PostfixServer) Kept() *SinkServer {
	return p.kept
}

func (p *PostfixServer) maillogPath() string {
	return filepath.Join(p.dir, "log", "maillog")
}

// Maillog returns the mail log written so far.
func (p *PostfixServer) Maillog() string {
	data, err := os.ReadFile(p.maillogPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		p.t.Errorf("testenv: read Postfix mail log: %v", err)
	}
	return string(data)
}

// WaitMaillog waits until the mail log contains text and returns the log. It
// fails the test, showing the log, when text does not appear within timeout.
func (p *PostfixServer) WaitMaillog(text string, timeout time.Duration) string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		log := p.Maillog()
		if strings.Contains(log, text) {
			return log
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("testenv: Postfix mail log has no %q after %v:\n%s", text, timeout, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Queue returns the output of postqueue -p: the messages waiting in the queue,
// with the reason each is deferred.
func (p *PostfixServer) Queue() string {
	p.t.Helper()
	out, err := p.run("postqueue", "-c", p.confDir, "-p")
	if err != nil {
		p.t.Fatalf("testenv: postqueue -p: %v\n%s", err, out)
	}
	return out
}

// WaitQueueEmpty waits until the queue is empty, and fails the test, showing the
// queue and mail log, when it is not within timeout.
func (p *PostfixServer) WaitQueueEmpty(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		queue := p.Queue()
		if strings.Contains(queue, "Mail queue is empty") {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("testenv: Postfix queue not empty after %v:\n%s\nmail log:\n%s",
				timeout, queue, p.Maillog())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Flush makes Postfix attempt delivery of every queued message now
// (postqueue -f).
func (p *PostfixServer) Flush() {
	p.t.Helper()
	if out, err := p.run("postqueue", "-c", p.confDir, "-f"); err != nil {
		p.t.Fatalf("testenv: postqueue -f: %v\n%s", err, out)
	}
}

// Sendmail submits msg, a complete message with headers, through this
// instance's sendmail command with envelope sender from and recipients to.
// A line holding a single dot does not end the message.
func (p *PostfixServer) Sendmail(from string, to []string, msg []byte) error {
	if len(to) == 0 {
		return errors.New("testenv: Sendmail needs at least one recipient")
	}
	args := append([]string{"-C", p.confDir, "-f", from, "-i", "--"}, to...)
	if out, err := p.runInput(msg, "sendmail", args...); err != nil {
		return fmt.Errorf("testenv: sendmail -f %s %s: %w\n%s", from, strings.Join(to, " "), err, out)
	}
	return nil
}
