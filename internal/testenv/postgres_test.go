package testenv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestPostgreSQLDatabaseAcceptsQueries(t *testing.T) {
	dsn := PostgreSQL(t)
	conn := connect(t, dsn)
	ctx := context.Background()

	var database string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&database); err != nil {
		t.Fatalf("query current_database: %v", err)
	}
	if !strings.HasPrefix(database, "t_testpostgresqldatabaseacceptsqueries_") {
		t.Errorf("database %q is not named after the test", database)
	}

	if _, err := conn.Exec(ctx, "CREATE TABLE mailbox (id int PRIMARY KEY, name text)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO mailbox VALUES (1, 'jane.smith')"); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var name string
	if err := conn.QueryRow(ctx, "SELECT name FROM mailbox WHERE id = 1").Scan(&name); err != nil {
		t.Fatalf("select: %v", err)
	}
	if name != "jane.smith" {
		t.Errorf("name = %q, want jane.smith", name)
	}
}

func TestPostgreSQLDatabasesAreSeparate(t *testing.T) {
	first := connect(t, PostgreSQL(t))
	second := connect(t, PostgreSQL(t))
	ctx := context.Background()

	if _, err := first.Exec(ctx, "CREATE TABLE only_in_first (id int)"); err != nil {
		t.Fatalf("create table: %v", err)
	}

	var count int
	err := second.QueryRow(ctx,
		"SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_first'").Scan(&count)
	if err != nil {
		t.Fatalf("query pg_tables: %v", err)
	}
	if count != 0 {
		t.Error("a table created in one test database is visible in another")
	}
}

func TestPostgreSQLDatabaseDroppedAfterTest(t *testing.T) {
	var dsn string
	t.Run("user", func(t *testing.T) {
		dsn = PostgreSQL(t)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		conn.Close(ctx)
		t.Fatal("database still exists after its test ended")
	}
	if !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("connect error %q does not say the database does not exist", err)
	}
}

func TestDatabaseNameFitsPostgreSQL(t *testing.T) {
	cases := []struct {
		testName string
		prefix   string
	}{
		{"TestQueue", "t_testqueue_"},
		{"TestRelay/rejects_outside-community", "t_testrelay_rejects_outside_community_"},
		{"TestÜnicode", "t_test_nicode_"},
		{strings.Repeat("TestVeryLongName", 10), "t_testverylongnametestverylongnametestvery_"},
	}
	for _, tc := range cases {
		name := databaseName(tc.testName)
		if !strings.HasPrefix(name, tc.prefix) {
			t.Errorf("databaseName(%q) = %q, want prefix %q", tc.testName, name, tc.prefix)
		}
		if len(name) > 63 {
			t.Errorf("databaseName(%q) = %q is %d bytes, over PostgreSQL's 63",
				tc.testName, name, len(name))
		}
	}
	first, second := databaseName("TestSame"), databaseName("TestSame")
	if first == second {
		t.Error("two databases for the same test name got the same name")
	}
}

func TestWithDatabaseReplacesName(t *testing.T) {
	cases := []struct {
		dsn  string
		want string
	}{
		{
			"postgres://cjsm:secret@db.test:5432/postgres?sslmode=require",
			"postgres://cjsm:secret@db.test:5432/t_x?sslmode=require",
		},
		{
			"postgresql://db.test/",
			"postgresql://db.test/t_x",
		},
		{
			"host=db.test user=cjsm dbname=postgres",
			"host=db.test user=cjsm dbname=postgres dbname=t_x",
		},
	}
	for _, tc := range cases {
		got, err := withDatabase(tc.dsn, "t_x")
		if err != nil {
			t.Errorf("withDatabase(%q): %v", tc.dsn, err)
			continue
		}
		if got != tc.want {
			t.Errorf("withDatabase(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

func TestWithDatabaseHidesPasswordInError(t *testing.T) {
	_, err := withDatabase("postgres://cjsm:secret@db.test:bad/x", "t_x")
	if err == nil {
		t.Fatal("withDatabase accepted a URL with an invalid port")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
}
