package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/config"
)

// baseOptions is a valid configuration as TOML values by dotted key. Dotted keys at the top
// level let a test replace any one option without repeating a [table] header.
func baseOptions() map[string]string {
	return map[string]string{
		"hostname":         `"mail1.cjsm.test"`,
		"community_suffix": `"cjsm.test"`,
		"data_dir":         `"data"`,
		"tls.cert_file":    `"cert.pem"`,
		"tls.key_file":     `"key.pem"`,
	}
}

// writeConfig writes opts over baseOptions into DIR/cjsm.toml, beside empty cert.pem and
// key.pem files, and returns the file's path. An empty value removes the option.
func writeConfig(t *testing.T, opts map[string]string) string {
	t.Helper()
	all := baseOptions()
	for k, v := range opts {
		if v == "" {
			delete(all, k)
		} else {
			all[k] = v
		}
	}
	var keys []string
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + " = " + all[k] + "\n")
	}
	return writeFile(t, b.String())
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "cjsm.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// load runs config.Load with CJSM_STORE_DSN unset, so that the caller's environment cannot
// change the result.
func load(t *testing.T, path string) (config.Config, error) {
	t.Helper()
	t.Setenv("CJSM_STORE_DSN", "")
	return config.Load(path)
}

func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
	}
	return ce.Problems
}

func TestLoadAcceptsValidFile(t *testing.T) {
	path := writeConfig(t, map[string]string{"queue.expire": `"3d"`, "log.level": `"debug"`})
	c, err := load(t, path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Queue.Expire.Duration != 72*time.Hour {
		t.Errorf("queue.expire = %v, want 72h", c.Queue.Expire.Duration)
	}
	if c.Log.Level != "debug" || c.Hostname != "mail1.cjsm.test" || c.Path != path {
		t.Errorf("Load = level %q hostname %q path %q", c.Log.Level, c.Hostname, c.Path)
	}
	if c.Queue.Workers != 50 {
		t.Errorf("queue.workers = %d, want the default 50", c.Queue.Workers)
	}
}

// Each invalid value yields exactly one problem that names the option, the value and a fix.
func TestLoadNamesOptionValueAndFix(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		want []string // substrings of the one problem: option, value, fix
	}{
		{"duration without unit", map[string]string{"queue.expire": `"5x"`},
			[]string{"queue.expire", `"5x"`, "such as 30m, 4h or 5d"}},
		{"duration of days that overflows", map[string]string{"queue.expire": `"999999999d"`},
			[]string{"queue.expire", `"999999999d"`, "such as 30m, 4h or 5d"}},
		{"negative duration", map[string]string{"queue.lease": `"-5m"`},
			[]string{"queue.lease", `"-5m"`, "longer than zero, such as 30s or 4h"}},
		{"zero duration", map[string]string{"dns.timeout": `"0s"`},
			[]string{"dns.timeout", `"0s"`, "longer than zero"}},
		{"port above 65535", map[string]string{"listen.smtp": `":99999"`},
			[]string{"listen.smtp", `":99999"`, "host:port such as 127.0.0.1:587"}},
		{"port not a number", map[string]string{"listen.submission": `"127.0.0.1:smtp"`},
			[]string{"listen.submission", `"127.0.0.1:smtp"`, "host:port"}},
		{"address without port", map[string]string{"listen.http": `"127.0.0.1"`},
			[]string{"listen.http", `"127.0.0.1"`, "host:port"}},
		{"listener host is a name", map[string]string{"listen.smtp": `"mail.example:25"`},
			[]string{"listen.smtp", `"mail.example:25"`, "must be an IP address"}},
		{"two listeners on one port", map[string]string{"listen.smtp": `"127.0.0.1:2525"`,
			"listen.submission": `"127.0.0.1:2525"`},
			[]string{"listen.submission", `"127.0.0.1:2525"`, "already used by listen.smtp",
				"its own port"}},
		{"unknown option in a table", map[string]string{"queue.wrokers": "5"},
			[]string{`"queue.wrokers"`, "check its spelling"}},
		{"unknown top-level option", map[string]string{"colour": `"blue"`},
			[]string{`"colour"`, "remove it"}},
		{"missing certificate file", map[string]string{"tls.cert_file": `"missing.pem"`},
			[]string{"tls.cert_file", "missing.pem", "no such file",
				"set it to a readable PEM file"}},
		{"empty key file with mail listeners on", map[string]string{"tls.key_file": `""`},
			[]string{"tls.key_file", "is empty", "needs TLS", "set it to a PEM file"}},
		{"missing client CA file", map[string]string{"tls.client_ca_file": `"ca.pem"`},
			[]string{"tls.client_ca_file", "ca.pem", "readable PEM file"}},
		{"pop3 renew not shorter than lease", map[string]string{"pop3.lock_lease": `"1m"`,
			"pop3.lock_renew": `"2m"`},
			[]string{"pop3.lock_renew 2m", "pop3.lock_lease 1m", "not shorter"}},
		{"review interval not a duration", map[string]string{"groups.review_interval": `"ninety"`},
			[]string{"groups.review_interval", `"ninety"`, "90d"}},
		{"retry_max below retry_initial", map[string]string{"queue.retry_initial": `"10m"`,
			"queue.retry_max": `"5m"`},
			[]string{"queue.retry_max 5m", "queue.retry_initial 10m", "at least as long"}},
		{"delay notice after expiry", map[string]string{"queue.delay_notice": `"5d"`,
			"queue.expire": `"4d"`},
			[]string{"queue.delay_notice 5d", "queue.expire 4d", "never get the delay notice"}},
		{"unknown log level", map[string]string{"log.level": `"loud"`},
			[]string{"log.level", `"loud"`, "use debug, info, warn or error"}},
		{"unknown log format", map[string]string{"log.format": `"xml"`},
			[]string{"log.format", `"xml"`, `use "json" or "text"`}},
		{"suffix with empty label", map[string]string{"community_suffix": `"cjsm..test"`},
			[]string{"community_suffix", `"cjsm..test"`, "use a DNS name such as cjsm.net"}},
		{"suffix with leading hyphen", map[string]string{"community_suffix": `"-cjsm.test"`},
			[]string{"community_suffix", `"-cjsm.test"`, "use a DNS name such as cjsm.net"}},
		{"suffix not canonical", map[string]string{"community_suffix": `"CJSM.test"`},
			[]string{"community_suffix", `"CJSM.test"`, `"cjsm.test"`}},
		{"hostname with a space", map[string]string{"hostname": `"mail one"`},
			[]string{"hostname", `"mail one"`, "such as mail1.cjsm.net"}},
		{"resolver without port", map[string]string{"dns.resolver": `"192.0.2.53"`},
			[]string{"dns.resolver", `"192.0.2.53"`, "host:port such as 127.0.0.1:53"}},
		{"message size too small", map[string]string{"limits.max_message_size": "10"},
			[]string{"limits.max_message_size 10", "between 1024 and 1073741824"}},
		{"no recipients", map[string]string{"limits.max_recipients": "0"},
			[]string{"limits.max_recipients 0", "between 1 and 100000"}},
		{"per-destination above workers", map[string]string{"queue.per_destination": "60"},
			[]string{"queue.per_destination 60", "queue.workers (50)"}},
		{"store DSN of another database", map[string]string{
			"store.dsn": `"mysql://cjsm:secret@db.internal/cjsm"`},
			[]string{"store.dsn", "mysql://cjsm:xxxxx@db.internal/cjsm", "sqlite:", "postgres://"}},
		{"integer given as text", map[string]string{"queue.workers": `"many"`},
			[]string{"queue.workers", "type"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, writeConfig(t, c.set))
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			problems := problemsOf(t, err)
			if len(problems) != 1 {
				t.Fatalf("got %d problems, want 1:\n%s", len(problems), strings.Join(problems, "\n"))
			}
			for _, w := range c.want {
				if !strings.Contains(problems[0], w) {
					t.Errorf("problem %q does not contain %q", problems[0], w)
				}
			}
		})
	}
}

func TestLoadHidesDSNPassword(t *testing.T) {
	_, err := load(t, writeConfig(t, map[string]string{
		"store.dsn": `"mysql://cjsm:secret@db.internal/cjsm"`}))
	if err == nil {
		t.Fatal("Load accepted a mysql DSN")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestLoadReportsSyntaxErrorPosition(t *testing.T) {
	path := writeFile(t, "hostname = \"mail1.cjsm.test\"\n[queue\nexpire = \"5d\"\n")
	_, err := load(t, path)
	if err == nil {
		t.Fatal("Load accepted a file with a broken table header")
	}
	problems := problemsOf(t, err)
	if len(problems) != 1 {
		t.Fatalf("got %d problems, want 1: %q", len(problems), problems)
	}
	// The parser notices the unclosed header where the next line starts.
	if !strings.Contains(problems[0], "line 3, column") {
		t.Errorf("problem %q does not give the position of the mistake", problems[0])
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file %s", err, path)
	}
}

// Some syntax errors carry positions that the TOML library's own formatter cannot print
// (BurntSushi/toml v1.6.0 panics on them); Load must still report them.
func TestLoadReportsUnprintableSyntaxError(t *testing.T) {
	for _, text := range []string{"\"\r\n", "a = \"\\", "\"", "hostname = \"x\r\n\""} {
		path := writeFile(t, text)
		_, err := load(t, path)
		if err == nil {
			t.Errorf("Load(%q) accepted the file", text)
			continue
		}
		problems := problemsOf(t, err)
		if len(problems) != 1 || !strings.Contains(problems[0], "TOML syntax error") {
			t.Errorf("Load(%q) problems = %q, want one syntax error", text, problems)
		}
	}
}

// A file with three mistakes lists all three, the bad duration included, so that an operator
// fixes them in one pass.
func TestLoadReportsEveryProblem(t *testing.T) {
	path := writeConfig(t, map[string]string{
		"queue.expire":  `"5x"`,
		"log.level":     `"loud"`,
		"queue.wrokers": "5",
	})
	_, err := load(t, path)
	if err == nil {
		t.Fatal("Load accepted a file with three mistakes")
	}
	problems := problemsOf(t, err)
	if len(problems) != 3 {
		t.Fatalf("got %d problems, want 3:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	text := err.Error()
	for _, want := range []string{"(3 problems)", "queue.expire", "log.level", "queue.wrokers"} {
		if !strings.Contains(text, want) {
			t.Errorf("error does not mention %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "\n  - "); n != 3 {
		t.Errorf("error lists %d lines, want 3:\n%s", n, text)
	}
}

func TestLoadEnvironmentOverridesDSN(t *testing.T) {
	const dsn = "postgres://cjsm@db.internal:5432/cjsm"
	path := writeConfig(t, map[string]string{"store.dsn": `"sqlite:other.db"`})
	t.Setenv("CJSM_STORE_DSN", dsn)
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Store.DSN != dsn {
		t.Errorf("store.dsn = %q, want %q from CJSM_STORE_DSN", c.Store.DSN, dsn)
	}
}

func TestLoadResolvesRelativePaths(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "abs.pem")
	if err := os.WriteFile(abs, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, map[string]string{
		"data_dir":           `"var/data"`,
		"tls.client_ca_file": `"` + abs + `"`,
	})
	dir := filepath.Dir(path)
	c, err := load(t, path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct{ option, got, want string }{
		{"data_dir", c.DataDir, filepath.Join(dir, "var/data")},
		{"tls.cert_file", c.TLS.CertFile, filepath.Join(dir, "cert.pem")},
		{"tls.key_file", c.TLS.KeyFile, filepath.Join(dir, "key.pem")},
		{"tls.client_ca_file", c.TLS.ClientCAFile, abs},
		{"store.dsn", c.Store.DSN, "sqlite:" + filepath.Join(dir, "var/data", "cjsm.db")},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.option, ch.got, ch.want)
		}
	}

	path = writeConfig(t, map[string]string{"store.dsn": `"sqlite:db/cjsm.db"`})
	c, err = load(t, path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := "sqlite:" + filepath.Join(filepath.Dir(path), "db/cjsm.db"); c.Store.DSN != want {
		t.Errorf("relative sqlite DSN = %q, want %q", c.Store.DSN, want)
	}
}

// With every mail listener off, no certificate is needed.
func TestLoadNeedsNoTLSWithoutMailListeners(t *testing.T) {
	path := writeConfig(t, map[string]string{
		"tls.cert_file": "", "tls.key_file": "",
		"listen.smtp": `""`, "listen.submission": `""`, "listen.submissions": `""`,
		"listen.imaps": `""`, "listen.pop3s": `""`,
	})
	if _, err := load(t, path); err != nil {
		t.Errorf("Load: %v", err)
	}
}

// The option table and the Config struct agree: every option's default is what Default sets.
func TestDefaultMatchesOptionTable(t *testing.T) {
	c := config.Default()
	for _, o := range config.Options {
		if o.Key == "hostname" {
			continue // the machine's host name
		}
		if got := o.Value(&c); got != o.Default {
			t.Errorf("option %s: Default() gives %q, the table says %q", o.Key, got, o.Default)
		}
	}
	if c.Hostname == "" {
		t.Error("Default() left hostname empty")
	}
}

func TestOptionTableCoversEveryField(t *testing.T) {
	keys := map[string]bool{}
	for _, o := range config.Options {
		if keys[o.Key] {
			t.Errorf("option %s is listed twice", o.Key)
		}
		keys[o.Key] = true
		if o.Help == "" || o.Unit == "" {
			t.Errorf("option %s lacks help or unit", o.Key)
		}
	}
	// Every option the table lists is accepted in a file, and nothing else is.
	for key := range keys {
		if key == "hostname" || key == "community_suffix" || key == "data_dir" ||
			strings.HasPrefix(key, "tls.") {
			continue // already in baseOptions
		}
		var value string
		for _, o := range config.Options {
			if o.Key == key {
				value = o.Default
				if o.Unit != "count" && o.Unit != "bytes" {
					value = `"` + value + `"`
				}
			}
		}
		if value == "" {
			continue
		}
		if _, err := load(t, writeConfig(t, map[string]string{key: value})); err != nil {
			t.Errorf("option %s = %s (its default) rejected: %v", key, value, err)
		}
	}
}

func TestHelpAndReferenceListEveryOption(t *testing.T) {
	help, ref := config.Help(), config.Reference()
	for _, o := range config.Options {
		if !strings.Contains(help, o.Key) {
			t.Errorf("Help() lacks %s", o.Key)
		}
		if !strings.Contains(ref, "`"+o.Key+"`") {
			t.Errorf("Reference() lacks %s", o.Key)
		}
	}
}

// The example in the reference is a valid file once its certificate files exist.
func TestReferenceExampleLoads(t *testing.T) {
	dir := t.TempDir()
	text := strings.ReplaceAll(config.Example, "/etc/cjsm/tls/", dir+"/")
	text = strings.ReplaceAll(text, "/var/lib/cjsm", filepath.Join(dir, "data"))
	for _, name := range []string{"cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "cjsm.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, path); err != nil {
		t.Errorf("the reference's example does not load: %v", err)
	}
}

// docs/configuration.md is generated from the option table and must not drift from it.
func TestConfigurationDocMatchesReference(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatalf("read docs/configuration.md: %v", err)
	}
	if string(doc) != config.Reference() {
		t.Error("docs/configuration.md differs from config.Reference(); regenerate it with " +
			"`go run ./cmd/cjsm config reference > docs/configuration.md`")
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true},
		{"30m", 30 * time.Minute, true},
		{"4h", 4 * time.Hour, true},
		{"5d", 5 * 24 * time.Hour, true},
		{" 2d ", 48 * time.Hour, true},
		{"0d", 0, true},
		{"1h30m", 90 * time.Minute, true},
		{"106751d", 106751 * 24 * time.Hour, true},
		{"106752d", 0, false},
		{"-1d", 0, false},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"5", 0, false},
		{"", 0, false},
		{"five minutes", 0, false},
	}
	for _, c := range cases {
		got, err := config.ParseDuration(c.in)
		if c.ok && (err != nil || got != c.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if !c.ok && err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", c.in, got)
		}
		if !c.ok && err != nil && !strings.Contains(err.Error(), "such as 30m, 4h or 5d") {
			t.Errorf("ParseDuration(%q) error %q gives no example", c.in, err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		5 * 24 * time.Hour:      "5d",
		36 * time.Hour:          "36h",
		90 * time.Second:        "1m30s",
		2 * time.Minute:         "2m",
		90 * time.Minute:        "1h30m",
		time.Hour + time.Second: "1h0m1s",
		-5 * time.Minute:        "-5m",
		1500 * time.Millisecond: "1.5s",
		0:                       "0s",
	}
	for d, want := range cases {
		if got := config.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// FuzzParseDuration checks that any text either fails or gives a duration that formats and
// parses back to itself, and that a day count never wraps to a negative duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90s", "5d", "-5m", "106751d", "9223372036854775807d", "1h30m",
		"d", "0.5h", "2562047h47m16.854775807s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := config.ParseDuration(s)
		if err != nil {
			return
		}
		if strings.HasSuffix(strings.TrimSpace(s), "d") && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, a negative day count", s, d)
		}
		back, err := config.ParseDuration(config.FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	})
}

// FuzzLoad checks that any file content either loads or fails with a *config.Error listing at
// least one problem, never a panic or another kind of error.
func FuzzLoad(f *testing.F) {
	f.Add("hostname = \"mail1.cjsm.test\"\n[queue]\nexpire = \"5x\"\n")
	f.Add("[listen]\nsmtp = \":99999\"\n")
	f.Add("queue.workers = \"many\"\nlog = 3\n")
	f.Add("[tls\n")
	f.Add("data_dir = \"\"\ncommunity_suffix = \"-x..y\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(t.TempDir(), "cjsm.toml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(path)
		if err == nil {
			return
		}
		var ce *config.Error
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("Load(%q) = %v (%T), want a *config.Error with problems", text, err, err)
		}
	})
}
