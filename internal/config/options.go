package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Option describes one configuration option.
type Option struct {
	Key     string // dotted TOML key, such as "queue.expire"
	Default string // as it would be written in the file; "" means empty or off
	Unit    string // bytes, count, duration, address, path, text
	Help    string
}

// Options lists every option in the order the documentation shows them.
var Options = []Option{
	{"hostname", "", "text", "DNS name of this node, used in the SMTP greeting and Received header fields. Default: the machine's host name."},
	{"node_id", "", "text", "Name of this node among those sharing one store; queue leases and POP3 maildrop locks carry it, so a restarted node takes back its own at once. Default: hostname. Give each node its own."},
	{"community_suffix", "cjsm.net", "text", "DNS name under which community addresses live: jane@firm.example becomes jane@firm.example.<suffix>, hosted people are name@<org>.<suffix>."},
	{"postmaster", "", "address", "Community address (a person or group mailbox) that receives mail to postmaster, which RFC 5321 section 4.5.1 requires every mail server to accept. Empty: mail to postmaster is rejected."},
	{"data_dir", "/var/lib/cjsm", "path", "Directory for the SQLite store and message blobs (blobs/ inside it)."},
	{"store.dsn", "", "text", "Metadata store: sqlite:PATH, or postgres://user@host:port/db. Default: sqlite:<data_dir>/cjsm.db. The environment variable CJSM_STORE_DSN overrides it, so a password need not be written here."},
	{"tls.cert_file", "", "path", "PEM certificate chain served on every mail listener. Required when any mail listener is on."},
	{"tls.key_file", "", "path", "PEM private key for tls.cert_file."},
	{"tls.client_ca_file", "", "path", "PEM certificates of the authorities whose client certificates identify connectors and trusted domains' servers. Empty: client certificates are not checked against a private authority."},
	{"tls.root_ca_file", "", "path", "PEM certificates trusted when verifying receiving servers on delivery, in addition to the system roots."},
	{"listen.smtp", ":25", "address", "Relay and MX listener (STARTTLS required). \"\" turns it off."},
	{"listen.submission", ":587", "address", "Submission listener with STARTTLS and AUTH (RFC 6409). \"\" turns it off."},
	{"listen.submissions", ":465", "address", "Submission listener with implicit TLS (RFC 8314). \"\" turns it off."},
	{"listen.imap", "", "address", "IMAP listener with STARTTLS (RFC 3501); no sign-in before TLS. \"\" turns it off."},
	{"listen.imaps", ":993", "address", "IMAP listener with implicit TLS (RFC 8314). \"\" turns it off."},
	{"listen.pop3", "", "address", "POP3 listener with STLS (RFC 2595); no sign-in before TLS. \"\" turns it off."},
	{"listen.pop3s", ":995", "address", "POP3 listener with implicit TLS (RFC 8314). \"\" turns it off."},
	{"listen.http", "127.0.0.1:8080", "address", "Plain HTTP listener for /healthz, /readyz and /metrics. Keep it on a private address. \"\" turns it off."},
	{"dns.resolver", "", "address", "DNS server used for MX and other look-ups on delivery, as host:port. \"\" uses /etc/resolv.conf."},
	{"dns.timeout", "5s", "duration", "Time allowed for one DNS query."},
	{"limits.max_message_size", "52428800", "bytes", "Largest message accepted, advertised with the SIZE extension (RFC 1870)."},
	{"limits.max_recipients", "500", "count", "Most recipients one message may have."},
	{"limits.max_received_headers", "50", "count", "Received header fields after which a message is taken to be looping and rejected with 554 5.4.6."},
	{"limits.max_auth_failures", "5", "count", "Failed sign-ins for one account within 15 minutes after which further attempts are refused for 15 minutes."},
	{"queue.workers", "50", "count", "Deliveries in progress at once on this node."},
	{"queue.per_destination", "20", "count", "Deliveries in progress at once to one destination domain, as Postfix's default_destination_concurrency_limit."},
	{"queue.retry_initial", "2m", "duration", "Wait before the first retry of a temporary failure; each later wait doubles."},
	{"queue.retry_max", "1h", "duration", "Longest wait between retries."},
	{"queue.delay_notice", "4h", "duration", "Age of an undelivered message at which its sender gets one delay notice (RFC 3464 action delayed)."},
	{"queue.expire", "5d", "duration", "Age at which an undelivered message is returned to its sender."},
	{"queue.lease", "5m", "duration", "How long a node holds a queue entry while delivering it; a dead node's entries are taken over after this."},
	{"queue.poll_interval", "1s", "duration", "How often an idle node looks for due queue entries."},
	{"pop3.lock_lease", "5m", "duration", "How long a POP3 session's lock on a maildrop (RFC 1939 section 8) lasts unless renewed; the lock of a node that stopped without releasing it lapses after this."},
	{"pop3.lock_renew", "1m", "duration", "How often a POP3 session renews its maildrop lock; shorter than pop3.lock_lease."},
	{"groups.review_interval", "90d", "duration", "Time after which a group mailbox member who was neither added nor confirmed since is due for review: the organisation's administrators get a reminder in their INBOX listing such members, at most once per this time. 0 turns the reminders off."},
	{"log.format", "json", "text", "Log format: json or text."},
	{"log.level", "info", "text", "Lowest level logged: debug, info, warn or error."},
}

// set stores the textual value v into the field named by o.Key.
func (o Option) set(c *Config, v string) error {
	f, err := field(reflect.ValueOf(c).Elem(), o.Key)
	if err != nil {
		return err
	}
	switch f.Interface().(type) {
	case string:
		f.SetString(v)
	case int, int64:
		if v == "" {
			f.SetInt(0)
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case Duration:
		d, err := ParseDuration(v)
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(Duration{Duration: d}))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Value returns the option's current value in c as it would be written in the file.
func (o Option) Value(c *Config) string {
	f, err := field(reflect.ValueOf(c).Elem(), o.Key)
	if err != nil {
		return ""
	}
	switch v := f.Interface().(type) {
	case Duration:
		return FormatDuration(v.Duration)
	default:
		return fmt.Sprint(v)
	}
}

func field(v reflect.Value, key string) (reflect.Value, error) {
	for _, part := range strings.Split(key, ".") {
		t := v.Type()
		found := false
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).Tag.Get("toml") == part {
				v = v.Field(i)
				found = true
				break
			}
		}
		if !found {
			return reflect.Value{}, fmt.Errorf("no field for option %q", key)
		}
	}
	return v, nil
}

// Reference returns the Markdown reference of every option, the text of docs/configuration.md.
func Reference() string {
	var b strings.Builder
	b.WriteString("# Configuration\n\n")
	b.WriteString("`cjsm serve --config FILE` reads one TOML file. Every option is optional; the\n")
	b.WriteString("table gives its default. Relative paths are taken from the file's directory.\n")
	b.WriteString("Durations take the units s, m, h and d (24 hours), such as `90s`, `4h` or `5d`.\n")
	b.WriteString("An invalid file is rejected before anything starts, with one line for each\n")
	b.WriteString("invalid value. `cjsm serve --check` checks a file and exits.\n\n")
	b.WriteString("This file is generated by `cjsm config reference`; edit the option table in\n")
	b.WriteString("internal/config/options.go instead.\n\n")
	section := "-"
	for _, o := range Options {
		sec, _, ok := strings.Cut(o.Key, ".")
		if !ok {
			sec = ""
		}
		if sec != section {
			section = sec
			title := "Top level"
			if sec != "" {
				title = "[" + sec + "]"
			}
			fmt.Fprintf(&b, "\n## %s\n\n", title)
			b.WriteString("| option | default | unit | meaning |\n| --- | --- | --- | --- |\n")
		}
		def := "`" + o.Default + "`"
		if o.Default == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", o.Key, def, o.Unit, o.Help)
	}
	b.WriteString("\n## Example\n\n```toml\n")
	b.WriteString(Example)
	b.WriteString("```\n")
	return b.String()
}

// Example is a small configuration file for a production node.
const Example = `hostname = "mail1.cjsm.net"
community_suffix = "cjsm.net"
data_dir = "/var/lib/cjsm"

[store]
dsn = "postgres://cjsm@db1.internal:5432/cjsm"  # or set CJSM_STORE_DSN

[tls]
cert_file = "/etc/cjsm/tls/cert.pem"
key_file = "/etc/cjsm/tls/key.pem"

[queue]
expire = "5d"
delay_notice = "4h"
`

// Help returns the option list for `cjsm serve --help`.
func Help() string {
	var b strings.Builder
	for _, o := range Options {
		def := o.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(&b, "  %-28s %s (%s, default %s)\n", o.Key, o.Help, o.Unit, def)
	}
	return b.String()
}
