// Package config reads and checks the node configuration file (TOML).
//
// Every option is described once, in Options, with its default, unit and meaning. The same
// table produces `cjsm serve --help`, docs/configuration.md and the defaults, so they cannot
// drift apart. Load refuses an invalid file before anything starts and names every invalid
// value with its fix.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/cjsm/cjsm/internal/address"
)

// Config is the configuration of one cjsm node.
type Config struct {
	Hostname        string `toml:"hostname"`
	NodeID          string `toml:"node_id"`
	CommunitySuffix string `toml:"community_suffix"`
	Postmaster      string `toml:"postmaster"`
	DataDir         string `toml:"data_dir"`

	Store  Store  `toml:"store"`
	TLS    TLS    `toml:"tls"`
	Listen Listen `toml:"listen"`
	DNS    DNS    `toml:"dns"`
	Limits Limits `toml:"limits"`
	Queue  Queue  `toml:"queue"`
	POP3   POP3   `toml:"pop3"`
	Groups Groups `toml:"groups"`
	Log    Log    `toml:"log"`

	// Path is the file the configuration was read from, empty for defaults.
	Path string `toml:"-"`
}

// Store selects the metadata store.
type Store struct {
	DSN string `toml:"dsn"`
}

// TLS names the server certificate files.
type TLS struct {
	CertFile     string `toml:"cert_file"`
	KeyFile      string `toml:"key_file"`
	ClientCAFile string `toml:"client_ca_file"`
	RootCAFile   string `toml:"root_ca_file"`
}

// Listen holds the listener addresses; an empty address turns that listener off.
type Listen struct {
	SMTP        string `toml:"smtp"`
	Submission  string `toml:"submission"`
	Submissions string `toml:"submissions"`
	IMAP        string `toml:"imap"`
	IMAPS       string `toml:"imaps"`
	POP3        string `toml:"pop3"`
	POP3S       string `toml:"pop3s"`
	HTTP        string `toml:"http"`
}

// DNS configures name resolution for outbound delivery.
type DNS struct {
	Resolver string   `toml:"resolver"`
	Timeout  Duration `toml:"timeout"`
}

// Limits bounds what one client may send.
type Limits struct {
	MaxMessageSize     int64 `toml:"max_message_size"`
	MaxRecipients      int   `toml:"max_recipients"`
	MaxReceivedHeaders int   `toml:"max_received_headers"`
	MaxAuthFailures    int   `toml:"max_auth_failures"`
}

// Queue tunes outbound delivery.
type Queue struct {
	Workers        int      `toml:"workers"`
	PerDestination int      `toml:"per_destination"`
	RetryInitial   Duration `toml:"retry_initial"`
	RetryMax       Duration `toml:"retry_max"`
	DelayNotice    Duration `toml:"delay_notice"`
	Expire         Duration `toml:"expire"`
	Lease          Duration `toml:"lease"`
	PollInterval   Duration `toml:"poll_interval"`
}

// POP3 holds the settings of the POP3 maildrop lock.
type POP3 struct {
	LockLease Duration `toml:"lock_lease"`
	LockRenew Duration `toml:"lock_renew"`
}

// Groups holds the settings of group mailboxes.
type Groups struct {
	ReviewInterval Duration `toml:"review_interval"`
}

// Log selects the log format and level.
type Log struct {
	Format string `toml:"format"`
	Level  string `toml:"level"`
}

// Duration is a time.Duration written as "90s", "30m", "4h" or "5d" (a day is 24 hours).
type Duration struct {
	time.Duration

	// invalid is text that UnmarshalText could not parse. Validate reports it with the
	// option's name, together with every other problem in the file.
	invalid string
}

// UnmarshalText parses a duration with an optional "d" unit. Text that does not parse is kept
// for Validate instead of failing here, because a failure here would stop the TOML decoder at
// the first bad value and hide the file's other problems.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		d.Duration, d.invalid = 0, string(b)
		return nil
	}
	d.Duration, d.invalid = v, ""
	return nil
}

// MarshalText writes the duration in Go's notation.
func (d Duration) MarshalText() ([]byte, error) { return []byte(FormatDuration(d.Duration)), nil }

// ParseDuration accepts Go durations and whole days such as "5d".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		// A time.Duration holds at most about 106,751 days of nanoseconds; more would wrap.
		if err != nil || n < 0 || int64(n) > math.MaxInt64/int64(24*time.Hour) {
			return 0, fmt.Errorf("invalid duration %q: use a number with a unit such as 30m, 4h or 5d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use a number with a unit such as 30m, 4h or 5d", s)
	}
	return v, nil
}

// FormatDuration writes d in days when it is a whole number of days, otherwise as Go does
// without zero trailing units, so that 2m and 1h30m read as an operator writes them.
func FormatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Default returns the configuration used when no file sets an option.
func Default() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	c := Config{}
	for _, o := range Options {
		if err := o.set(&c, o.Default); err != nil {
			panic(fmt.Sprintf("config: default of %s: %v", o.Key, err))
		}
	}
	c.Hostname = host
	return c
}

// Error lists every problem found in a configuration file.
type Error struct {
	Path     string
	Problems []string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "configuration %s is invalid (%d problem", e.Path, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// Load reads the file at path over the defaults, applies environment overrides and checks
// the result. An empty path gives the defaults with the overrides.
//
// Environment: CJSM_STORE_DSN replaces store.dsn, so a database password need not be written
// into the file.
func Load(path string) (Config, error) {
	return load(path, false)
}

// LoadForAdmin reads the file like Load for operator commands, which open the store but no
// listener: the listener and TLS settings are kept but not checked, so that an operator can
// run commands with a file whose certificates live on another machine.
func LoadForAdmin(path string) (Config, error) {
	return load(path, true)
}

func load(path string, skipListeners bool) (Config, error) {
	c := Default()
	c.Path = path
	var problems []string
	if path != "" {
		md, err := toml.DecodeFile(path, &c)
		if err != nil {
			var perr toml.ParseError
			if errors.As(err, &perr) {
				return c, &Error{Path: path, Problems: []string{syntaxProblem(perr)}}
			}
			return c, &Error{Path: path, Problems: []string{cleanDecodeError(err)}}
		}
		for _, k := range md.Undecoded() {
			problems = append(problems, fmt.Sprintf(
				"unknown option %q: remove it or check its spelling in docs/configuration.md", k.String()))
		}
		c.resolvePaths(filepath.Dir(path))
	}
	if c.NodeID == "" {
		c.NodeID = c.Hostname
	}
	if dsn := os.Getenv("CJSM_STORE_DSN"); dsn != "" {
		c.Store.DSN = dsn
	}
	if c.Store.DSN == "" {
		c.Store.DSN = "sqlite:" + filepath.Join(c.DataDir, "cjsm.db")
	}
	if skipListeners {
		check := c
		check.Listen = Listen{}
		problems = append(problems, check.Validate()...)
	} else {
		problems = append(problems, c.Validate()...)
	}
	if len(problems) > 0 {
		name := path
		if name == "" {
			name = "(defaults)"
		}
		return c, &Error{Path: name, Problems: problems}
	}
	return c, nil
}

// syntaxProblem describes a TOML syntax error in one line with its position.
//
// NOTE: ParseError.ErrorWithPosition of BurntSushi/toml v1.6.0 panics on some inputs, such as
// a quote followed by "\r\n", so the position is formatted here.
func syntaxProblem(perr toml.ParseError) string {
	msg := "TOML syntax error: " + perr.Message
	if line := perr.Position.Line; line > 0 {
		msg = fmt.Sprintf("line %d, column %d: %s", line, max(perr.Position.Col, 1), msg)
	}
	return msg + "; correct the file there"
}

// cleanDecodeError shortens the TOML library's type errors into one line.
func cleanDecodeError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "toml: ")
	return msg + "; see docs/configuration.md for the type of each option"
}

// resolvePaths makes relative file paths relative to the configuration file's directory, so a
// configuration can be moved with its files.
func (c *Config) resolvePaths(base string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	abs(&c.DataDir)
	abs(&c.TLS.CertFile)
	abs(&c.TLS.KeyFile)
	abs(&c.TLS.ClientCAFile)
	abs(&c.TLS.RootCAFile)
	if strings.HasPrefix(c.Store.DSN, "sqlite:") {
		p := strings.TrimPrefix(c.Store.DSN, "sqlite:")
		if p != "" && !filepath.IsAbs(p) {
			c.Store.DSN = "sqlite:" + filepath.Join(base, p)
		}
	}
}

// Validate returns one sentence per invalid value, each naming the option, the value and the fix.
func (c *Config) Validate() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if c.Hostname == "" || strings.ContainsAny(c.Hostname, " \t@") {
		add("hostname %q is invalid: set it to this node's DNS name, such as mail1.cjsm.net", c.Hostname)
	}
	if err := address.ValidateSuffix(c.CommunitySuffix); err != nil {
		add("community_suffix %q is invalid: %v; use a DNS name such as cjsm.net", c.CommunitySuffix, err)
	}
	if c.Postmaster != "" {
		if _, err := address.Parse(c.Postmaster); err != nil {
			add("postmaster %q is invalid: %v; give the community address of the operators' group mailbox", c.Postmaster, err)
		}
	}
	if c.DataDir == "" {
		add("data_dir is empty: set it to a directory cjsm may write, such as /var/lib/cjsm")
	}
	if !strings.HasPrefix(c.Store.DSN, "sqlite:") && !strings.HasPrefix(c.Store.DSN, "postgres://") &&
		!strings.HasPrefix(c.Store.DSN, "postgresql://") {
		add("store.dsn %q is invalid: use sqlite:/path/to/cjsm.db or postgres://user@host:5432/cjsm", redact(c.Store.DSN))
	}

	tlsNeeded := false
	seen := map[string]string{}
	for _, l := range []struct{ key, addr string }{
		{"listen.smtp", c.Listen.SMTP}, {"listen.submission", c.Listen.Submission},
		{"listen.submissions", c.Listen.Submissions}, {"listen.imap", c.Listen.IMAP},
		{"listen.imaps", c.Listen.IMAPS}, {"listen.pop3", c.Listen.POP3},
		{"listen.pop3s", c.Listen.POP3S}, {"listen.http", c.Listen.HTTP},
	} {
		if l.addr == "" {
			continue
		}
		if l.key != "listen.http" {
			tlsNeeded = true
		}
		host, port, err := net.SplitHostPort(l.addr)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 0 || n > 65535 {
			add("%s %q is invalid: use host:port such as 127.0.0.1:587 or :587, or \"\" to turn it off", l.key, l.addr)
			continue
		}
		if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			add("%s %q is invalid: the host must be an IP address or empty for all addresses", l.key, l.addr)
		}
		if other, dup := seen[l.addr]; dup && n != 0 {
			add("%s %q is already used by %s: give each listener its own port", l.key, l.addr, other)
		}
		seen[l.addr] = l.key
	}
	if tlsNeeded {
		for _, f := range []struct{ key, path string }{
			{"tls.cert_file", c.TLS.CertFile}, {"tls.key_file", c.TLS.KeyFile},
		} {
			if f.path == "" {
				add("%s is empty: every mail listener needs TLS; set it to a PEM file, or turn the mail listeners off", f.key)
			} else if _, err := os.Stat(f.path); err != nil {
				add("%s %q cannot be read: %v; set it to a readable PEM file, "+
					"or turn the mail listeners off", f.key, f.path, errors.Unwrap(err))
			}
		}
	}
	for _, f := range []struct{ key, path string }{
		{"tls.client_ca_file", c.TLS.ClientCAFile}, {"tls.root_ca_file", c.TLS.RootCAFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			add("%s %q cannot be read: %v; set it to a readable PEM file, or \"\" to leave it out",
				f.key, f.path, errors.Unwrap(err))
		}
	}

	if c.DNS.Resolver != "" {
		if _, port, err := net.SplitHostPort(c.DNS.Resolver); err != nil || port == "" {
			add("dns.resolver %q is invalid: use host:port such as 127.0.0.1:53, or \"\" for /etc/resolv.conf", c.DNS.Resolver)
		}
	}
	positiveDuration := func(key string, d Duration) {
		if d.invalid != "" {
			add("%s %q is invalid: use a number with a unit such as 30m, 4h or 5d", key, d.invalid)
		} else if d.Duration <= 0 {
			add("%s %q is invalid: it must be longer than zero, such as 30s or 4h", key, FormatDuration(d.Duration))
		}
	}
	positiveDuration("dns.timeout", c.DNS.Timeout)
	if c.Limits.MaxMessageSize < 1024 || c.Limits.MaxMessageSize > 1<<30 {
		add("limits.max_message_size %d is invalid: use a number of bytes between 1024 and 1073741824", c.Limits.MaxMessageSize)
	}
	if c.Limits.MaxRecipients < 1 || c.Limits.MaxRecipients > 100000 {
		add("limits.max_recipients %d is invalid: use a number between 1 and 100000", c.Limits.MaxRecipients)
	}
	if c.Limits.MaxReceivedHeaders < 10 || c.Limits.MaxReceivedHeaders > 500 {
		add("limits.max_received_headers %d is invalid: use a number between 10 and 500 (RFC 5321 section 6.3 suggests at least 100 is rarely needed)", c.Limits.MaxReceivedHeaders)
	}
	if c.Limits.MaxAuthFailures < 1 {
		add("limits.max_auth_failures %d is invalid: use a number of failures of at least 1", c.Limits.MaxAuthFailures)
	}
	if c.Queue.Workers < 1 || c.Queue.Workers > 1000 {
		add("queue.workers %d is invalid: use a number between 1 and 1000", c.Queue.Workers)
	}
	if c.Queue.PerDestination < 1 || c.Queue.PerDestination > c.Queue.Workers {
		add("queue.per_destination %d is invalid: use a number between 1 and queue.workers (%d)", c.Queue.PerDestination, c.Queue.Workers)
	}
	positiveDuration("queue.retry_initial", c.Queue.RetryInitial)
	positiveDuration("queue.retry_max", c.Queue.RetryMax)
	positiveDuration("queue.delay_notice", c.Queue.DelayNotice)
	positiveDuration("queue.expire", c.Queue.Expire)
	positiveDuration("queue.lease", c.Queue.Lease)
	positiveDuration("queue.poll_interval", c.Queue.PollInterval)
	positiveDuration("pop3.lock_lease", c.POP3.LockLease)
	positiveDuration("pop3.lock_renew", c.POP3.LockRenew)
	if c.POP3.LockLease.invalid == "" && c.POP3.LockRenew.invalid == "" &&
		c.POP3.LockRenew.Duration >= c.POP3.LockLease.Duration {
		add("pop3.lock_renew %s is not shorter than pop3.lock_lease %s: renew well before the "+
			"lease ends, such as every 1m for a 5m lease", FormatDuration(c.POP3.LockRenew.Duration),
			FormatDuration(c.POP3.LockLease.Duration))
	}
	if d := c.Groups.ReviewInterval; d.invalid != "" {
		add("groups.review_interval %q is invalid: use a number with a unit such as 90d, or 0 "+
			"to turn the reminders off", d.invalid)
	} else if d.Duration < 0 {
		add("groups.review_interval %s is negative: use a length such as 90d, or 0 to turn "+
			"the reminders off", FormatDuration(d.Duration))
	}
	valid := func(ds ...Duration) bool {
		for _, d := range ds {
			if d.invalid != "" {
				return false
			}
		}
		return true
	}
	if valid(c.Queue.RetryMax, c.Queue.RetryInitial) &&
		c.Queue.RetryMax.Duration < c.Queue.RetryInitial.Duration {
		add("queue.retry_max %s is shorter than queue.retry_initial %s: make it at least as long",
			FormatDuration(c.Queue.RetryMax.Duration), FormatDuration(c.Queue.RetryInitial.Duration))
	}
	if valid(c.Queue.Expire, c.Queue.DelayNotice) &&
		c.Queue.Expire.Duration <= c.Queue.DelayNotice.Duration && c.Queue.DelayNotice.Duration > 0 {
		add("queue.delay_notice %s is not shorter than queue.expire %s: senders would never get the delay notice",
			FormatDuration(c.Queue.DelayNotice.Duration), FormatDuration(c.Queue.Expire.Duration))
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add("log.format %q is invalid: use \"json\" or \"text\"", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level %q is invalid: use debug, info, warn or error", c.Log.Level)
	}
	sort.Strings(p)
	return p
}

func redact(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 {
		if j := strings.Index(dsn, "://"); j > 0 && j < i {
			user := dsn[j+3 : i]
			if k := strings.Index(user, ":"); k >= 0 {
				return dsn[:j+3] + user[:k] + ":xxxxx" + dsn[i:]
			}
		}
	}
	return dsn
}
