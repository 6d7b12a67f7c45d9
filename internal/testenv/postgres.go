package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQLDSNEnv names an environment variable holding the DSN of an existing
// PostgreSQL server (a maintenance database, with a role allowed to CREATE
// DATABASE). When it is set, PostgreSQL uses that server instead of starting one.
const PostgreSQLDSNEnv = "CJSM_TEST_PG_DSN"

const (
	// pgStartTimeout bounds initdb, and separately the server start-up.
	pgStartTimeout = 60 * time.Second
	// pgQueryTimeout bounds CREATE DATABASE and DROP DATABASE.
	pgQueryTimeout = 30 * time.Second
)

// pgServer is the PostgreSQL server shared by the tests of one test binary.
type pgServer struct {
	adminDSN string // DSN of the maintenance database "postgres"
	// createOptions follow CREATE DATABASE name, such as " STRATEGY = FILE_COPY".
	createOptions string
	skip          string // the reason PostgreSQL cannot run here, if any
	err           error  // the cluster's start-up failure, if any
}

var (
	pgOnce   sync.Once
	pgShared *pgServer
)

// PostgreSQL returns the DSN of a new, empty database created for this test, which
// is dropped when the test ends. The server is either the one named by
// CJSM_TEST_PG_DSN or a throwaway cluster that the first call in a test binary
// starts (as the postgres user when running as root, with fsync off) on a free
// loopback port. The cluster is shared by all tests of the binary and runs until
// Cleanup or the end of the process.
func PostgreSQL(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		began := time.Now()
		pgShared = startPostgreSQL()
		if pgShared.err == nil && pgShared.skip == "" && os.Getenv(PostgreSQLDSNEnv) == "" {
			logStart(t, "PostgreSQL cluster", began)
		}
	})

	if pgShared.skip != "" {
		missing(t, pgShared.skip)
	}
	if pgShared.err != nil {
		t.Fatalf("testenv: %v", pgShared.err)
	}
	return createDatabase(t, pgShared)
}

// startPostgreSQL returns the server to create test databases on.
func startPostgreSQL() *pgServer {
	server := &pgServer{adminDSN: os.Getenv(PostgreSQLDSNEnv)}
	if server.adminDSN == "" {
		binDir, reason := findPostgreSQLBin()
		if reason != "" {
			return &pgServer{skip: reason}
		}
		cluster, err := startCluster(binDir)
		if err != nil {
			return &pgServer{err: err}
		}
		atCleanup(cluster.stop)
		server.adminDSN = cluster.dsn("postgres")
	}

	version, err := serverVersion(server.adminDSN)
	if err != nil {
		return &pgServer{err: fmt.Errorf("query the PostgreSQL server version: %w", err)}
	}
	// PostgreSQL 15 copies the template database through the WAL by default. A
	// plain file copy took about half as long here (47 ms against 90 ms, measured
	// on a shared 2-core machine with fsync off), and a test needs no WAL history.
	if version >= 150000 {
		server.createOptions = " STRATEGY = FILE_COPY"
	}
	return server
}

// serverVersion returns the server's version number, such as 150020 for 15.20.
func serverVersion(adminDSN string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pgQueryTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())

	var version int
	err = conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version)
	return version, err
}

// findPostgreSQLBin returns the directory holding initdb and postgres: the one in
// PATH, else the newest /usr/lib/postgresql/VERSION/bin, where Debian installs
// them outside PATH.
func findPostgreSQLBin() (dir, reason string) {
	if path, err := exec.LookPath("initdb"); err == nil {
		if resolved, err := filepath.EvalSymlinks(path); err == nil {
			path = resolved
		}
		return filepath.Dir(path), ""
	}

	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, ""
		}
	}
	return "", "initdb not found in PATH or /usr/lib/postgresql/*/bin; " +
		"install the Debian package postgresql-15"
}

// pgVersion returns the major version in /usr/lib/postgresql/VERSION/bin.
func pgVersion(binDir string) int {
	version, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return version
}

// pgCluster is a throwaway PostgreSQL cluster in a temporary directory.
type pgCluster struct {
	dir    string
	port   int
	server *daemon
}

// startCluster runs initdb and starts the server, retrying on a new port when
// another process took the chosen one first.
func startCluster(binDir string) (*pgCluster, error) {
	dir, err := makeTempDir("pg")
	if err != nil {
		return nil, fmt.Errorf("create PostgreSQL directory: %w", err)
	}
	cred, err := postgresCredential()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("give %s to the postgres user: %w", dir, err)
		}
	}

	if err := initdb(binDir, dir, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}

	for attempt := 1; ; attempt++ {
		cluster, err := startServer(binDir, dir, cred)
		if err == nil {
			return cluster, nil
		}
		if attempt == 3 || !errors.Is(err, errPortTaken) {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// postgresCredential returns the postgres user to run the server as when the
// tests run as root, because initdb and postgres exit with an error as root. It
// returns nil when the tests run as another user, who then owns the cluster.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	return lookupCredential("postgres")
}

func initdb(binDir, dir string, cred *syscall.Credential) error {
	args := []string{
		filepath.Join(binDir, "initdb"),
		"-D", filepath.Join(dir, "data"),
		"-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
		// A throwaway cluster need not survive a power cut.
		"--no-sync",
	}
	if cred != nil {
		runuser, reason := lookBinary("runuser", "util-linux", "/usr/sbin", "/sbin")
		if reason != "" {
			return errors.New(reason)
		}
		args = append([]string{runuser, "-u", "postgres", "--"}, args...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), pgStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb in %s failed: %w\n%s", dir, err, out)
	}
	return nil
}

// errPortTaken reports that the server could not bind its port.
var errPortTaken = errors.New("port already in use")

// startServer starts postgres on a free port and waits until it accepts queries.
func startServer(binDir, dir string, cred *syscall.Credential) (*pgCluster, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create PostgreSQL log: %w", err)
	}
	defer logFile.Close()
	if cred != nil {
		os.Chown(logPath, int(cred.Uid), int(cred.Gid))
	}

	cmd := exec.Command(filepath.Join(binDir, "postgres"),
		"-D", filepath.Join(dir, "data"),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		// Tests open pools of their own, so allow more than the default 100.
		"-c", "max_connections=300",
	)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}

	// SIGQUIT is PostgreSQL's immediate shutdown: it needs no client to leave.
	server, err := startDaemon(cmd, syscall.SIGQUIT)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	cluster := &pgCluster{dir: dir, port: port, server: server}

	if err := cluster.waitReady(); err != nil {
		server.stop(syscall.SIGQUIT, 5*time.Second)
		log := tail(logPath, 20)
		if strings.Contains(log, "could not bind") {
			return nil, fmt.Errorf("postgres on port %d: %w", port, errPortTaken)
		}
		return nil, fmt.Errorf("postgres in %s did not start: %w\n%s", dir, err, log)
	}
	return cluster, nil
}

// waitReady polls until the server accepts a connection and a query.
func (c *pgCluster) waitReady() error {
	deadline := time.Now().Add(pgStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.dsn("postgres"))
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT 1")
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}

		if !c.server.alive() {
			return fmt.Errorf("postgres exited: %v", c.server.waitErr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no connection within %v: %w", pgStartTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *pgCluster) dsn(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, database)
}

// stop shuts the server down fast (SIGINT) and removes the cluster's files.
func (c *pgCluster) stop() {
	c.server.stop(syscall.SIGINT, 10*time.Second)
	os.RemoveAll(c.dir)
}

// createDatabase creates a database named after the test and registers its
// removal, and returns its DSN.
func createDatabase(t testing.TB, server *pgServer) string {
	t.Helper()
	adminDSN := server.adminDSN
	name := databaseName(t.Name())
	create := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + server.createOptions
	if err := execAdmin(adminDSN, create); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}

	t.Cleanup(func() {
		// FORCE ends sessions the test left open (PostgreSQL 13 and later).
		drop := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
		if err := execAdmin(adminDSN, drop); err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
		}
	})

	dsn, err := withDatabase(adminDSN, name)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return dsn
}

// execAdmin runs one statement on the maintenance database. It retries while
// PostgreSQL reports the template database busy (SQLSTATE 55006), which happens
// when tests create databases at the same moment.
func execAdmin(adminDSN, statement string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pgQueryTimeout)
	defer cancel()

	for {
		err := execOnce(ctx, adminDSN, statement)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func execOnce(ctx context.Context, dsn, statement string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, statement)
	return err
}

// databaseName turns a test name into a unique PostgreSQL database name of at
// most 63 bytes (PostgreSQL's NAMEDATALEN limit less one), such as
// "t_testqueue_survives_kill_3f9a1c2e".
func databaseName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	base := b.String()
	if len(base) > 40 {
		base = base[:40]
	}

	suffix := make([]byte, 4)
	rand.Read(suffix)
	return "t_" + base + "_" + hex.EncodeToString(suffix)
}

// withDatabase returns dsn with its database replaced by name. It accepts both
// forms libpq accepts: a postgres:// URL and "key=value" pairs.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// The error would repeat the URL, password included, so it is left out.
			return "", fmt.Errorf("%s is not a valid postgres:// URL; check its syntax",
				PostgreSQLDSNEnv)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In the key=value form a later key overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

// PostgreSQLRestrictedRole creates a role that may create tables in the database of dsn but
// not extensions, because it lacks CREATE on the database, and returns its DSN. The role and
// what it owns are dropped when the test ends. Tests use it to check the store without the
// privilege to create pg_trgm.
func PostgreSQLRestrictedRole(t testing.TB, dsn string) string {
	t.Helper()
	admin, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("testenv: connect to %s: %v", dsn, err)
	}
	role := fmt.Sprintf("cjsm_restricted_%d", time.Now().UnixNano())
	for _, stmt := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE, CREATE ON SCHEMA public TO " + role,
	} {
		if _, err := admin.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("testenv: %s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		defer admin.Close(context.Background())
		for _, stmt := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := admin.Exec(context.Background(), stmt); err != nil {
				t.Errorf("testenv: %s: %v", stmt, err)
			}
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("testenv: parse %s: %v", dsn, err)
	}
	u.User = url.User(role)
	return u.String()
}
