package pop3server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/testenv"
)

// poplibScript drives the server with Python's poplib: sign-in, STAT, LIST,
// UIDL, RETR of every message, TOP, DELE 1 and QUIT. It prints JSON, with each
// retrieved message rebuilt from poplib's lines (which have the dot-stuffing
// removed) joined by CRLF, in base64.
const poplibScript = `
import base64, json, poplib, ssl, sys

mode, host, port, user, password, cafile = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
out = {}
if mode == "implicit":
    p = poplib.POP3_SSL(host, int(port), context=ctx, timeout=10)
else:
    p = poplib.POP3(host, int(port), timeout=10)
    out["capa_before_tls"] = sorted(p.capa().keys())
    p.stls(context=ctx)
out["capa"] = sorted(p.capa().keys())
p.user(user)
p.pass_(password)
count, size = p.stat()
out["stat"] = [count, size]
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["retr"] = []
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    out["retr"].append(base64.b64encode(b"\r\n".join(lines) + b"\r\n").decode())
resp, lines, octets = p.top(2, 1)
out["top"] = base64.b64encode(b"\r\n".join(lines) + b"\r\n").decode()
p.dele(1)
out["quit"] = p.quit().decode()
print(json.dumps(out))
`

type poplibResult struct {
	CapaBeforeTLS []string `json:"capa_before_tls"`
	Capa          []string `json:"capa"`
	Stat          []int    `json:"stat"`
	List          []string `json:"list"`
	UIDL          []string `json:"uidl"`
	Retr          []string `json:"retr"`
	Top           string   `json:"top"`
	Quit          string   `json:"quit"`
}

func runPoplib(t *testing.T, mode, addr string) poplibResult {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	out, err := testenv.Python(t, poplibScript, mode, host, port, testUser, testPassword,
		caFile(t))
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	var result poplibResult
	if err := json.Unmarshal([]byte(out), &result); err != nil {
		t.Fatalf("poplib output is not JSON: %v\n%s", err, out)
	}
	return result
}

func decodeBase64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkPoplibSession(t *testing.T, ts *testServer, result poplibResult) {
	t.Helper()
	stored := []string{msgDots, msgPlain, msgUTF8}
	total := len(msgDots) + len(msgPlain) + len(msgUTF8)

	for _, want := range []string{"USER", "SASL", "TOP", "UIDL"} {
		if !contains(result.Capa, want) {
			t.Errorf("poplib capa %q lacks %q", result.Capa, want)
		}
	}
	if !reflect.DeepEqual(result.Stat, []int{3, total}) {
		t.Errorf("poplib stat = %v, want [3 %d]", result.Stat, total)
	}
	wantList := []string{fmt.Sprintf("1 %d", len(msgDots)), fmt.Sprintf("2 %d", len(msgPlain)),
		fmt.Sprintf("3 %d", len(msgUTF8))}
	if !reflect.DeepEqual(result.List, wantList) {
		t.Errorf("poplib list = %q, want %q", result.List, wantList)
	}
	wantUIDL := []string{"1 uid-dots-1", "2 uid-plain-2", "3 uid-utf8-3"}
	if !reflect.DeepEqual(result.UIDL, wantUIDL) {
		t.Errorf("poplib uidl = %q, want %q", result.UIDL, wantUIDL)
	}
	if len(result.Retr) != len(stored) {
		t.Fatalf("poplib retrieved %d messages, want %d", len(result.Retr), len(stored))
	}
	for i, want := range stored {
		if got := decodeBase64(t, result.Retr[i]); got != want {
			t.Errorf("poplib retr %d differs from the stored message:\n got %q\nwant %q",
				i+1, got, want)
		}
	}
	wantTop := "From: bob@court.cjsm.test\r\nSubject: hearing\r\n\r\nLine 1\r\n"
	if got := decodeBase64(t, result.Top); got != wantTop {
		t.Errorf("poplib top(2, 1) = %q, want %q", got, wantTop)
	}
	if !strings.HasPrefix(result.Quit, "+OK") {
		t.Errorf("poplib quit = %q", result.Quit)
	}

	a := ts.backend.waitUnlocked(t, testUser)
	if want := [][]string{{"uid-dots-1"}}; !reflect.DeepEqual(a.deleteCalls, want) {
		t.Errorf("Delete calls after poplib dele(1) and quit: %v, want %v", a.deleteCalls, want)
	}
}

func TestPoplibImplicitTLS(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	result := runPoplib(t, "implicit", ts.tlsAddr)
	checkPoplibSession(t, ts, result)
}

func TestPoplibSTLS(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	result := runPoplib(t, "stls", ts.stlsAddr)
	if !contains(result.CapaBeforeTLS, "STLS") || contains(result.CapaBeforeTLS, "USER") {
		t.Errorf("poplib capa before TLS = %q, want STLS and no USER", result.CapaBeforeTLS)
	}
	checkPoplibSession(t, ts, result)
}

func TestPoplibReportsInvalidPassword(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	host, port, _ := net.SplitHostPort(ts.tlsAddr)
	script := `
import poplib, ssl, sys
host, port, user, cafile = sys.argv[1:5]
p = poplib.POP3_SSL(host, int(port), context=ssl.create_default_context(cafile=cafile))
p.user(user)
try:
    p.pass_("wrong password")
except poplib.error_proto as e:
    print(e)
`
	out, err := testenv.Python(t, script, host, port, testUser, caFile(t))
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	if !strings.Contains(out, "-ERR [AUTH] Invalid user name or password.") {
		t.Errorf("poplib error = %q, want -ERR [AUTH]", out)
	}
}

// curl runs curl with args against the server and returns its standard output.
// err is an *exec.ExitError when curl exits non-zero.
func curl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv(testenv.RequirePeersEnv) == "1" {
			t.Fatalf("curl not found in PATH; install the Debian package curl")
		}
		t.Skip("curl not found in PATH; install the Debian package curl")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := []string{"--silent", "--show-error", "--max-time", "20", "--cacert", caFile(t)}
	cmd := exec.CommandContext(ctx, path, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("curl %q: %w: %s", args, err, stderr.String())
	}
	return string(out), nil
}

func TestCurlRetrievesByteIdentical(t *testing.T) {
	long := "." + strings.Repeat("L", 40000)
	stored := []string{
		msgDots,
		msgUTF8,
		"Subject: long line\r\n\r\n" + long + "\r\n.\r\n..\r\n",
	}
	b := newMemBackend()
	b.accounts[testUser].messages = []memMessage{
		{uid: "a", data: stored[0]}, {uid: "b", data: stored[1]}, {uid: "c", data: stored[2]},
	}
	ts := startServer(t, b, Config{})
	_, port, _ := net.SplitHostPort(ts.tlsAddr)
	_, stlsPort, _ := net.SplitHostPort(ts.stlsAddr)
	credentials := testUser + ":" + testPassword

	for i, want := range stored {
		for _, variant := range []struct {
			name string
			args []string
		}{
			{"pop3s AUTH PLAIN", []string{fmt.Sprintf("pop3s://127.0.0.1:%s/%d", port, i+1)}},
			{"pop3s initial response", []string{"--sasl-ir",
				fmt.Sprintf("pop3s://127.0.0.1:%s/%d", port, i+1)}},
			{"pop3 with STLS", []string{"--ssl-reqd",
				fmt.Sprintf("pop3://127.0.0.1:%s/%d", stlsPort, i+1)}},
		} {
			t.Run(fmt.Sprintf("message %d %s", i+1, variant.name), func(t *testing.T) {
				got, err := curl(t, append(variant.args, "-u", credentials)...)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("curl output differs from the stored message: len %d, want %d\n"+
						" got %.200q\nwant %.200q", len(got), len(want), got, want)
				}
			})
		}
	}
	ts.logs.waitFor(t, "retrieved=1")
}

func TestCurlCustomCommands(t *testing.T) {
	ts := startServer(t, newMemBackend(), Config{})
	url := "pop3s://127.0.0.1:" + strings.Split(ts.tlsAddr, ":")[1] + "/"
	credentials := testUser + ":" + testPassword

	t.Run("LIST", func(t *testing.T) {
		got, err := curl(t, url, "-u", credentials)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("1 %d\r\n2 %d\r\n3 %d\r\n", len(msgDots), len(msgPlain), len(msgUTF8))
		if got != want {
			t.Errorf("curl LIST = %q, want %q", got, want)
		}
	})
	t.Run("UIDL", func(t *testing.T) {
		got, err := curl(t, "-X", "UIDL", url, "-u", credentials)
		if err != nil {
			t.Fatal(err)
		}
		if want := "1 uid-dots-1\r\n2 uid-plain-2\r\n3 uid-utf8-3\r\n"; got != want {
			t.Errorf("curl UIDL = %q, want %q", got, want)
		}
	})
	t.Run("TOP 1 0", func(t *testing.T) {
		got, err := curl(t, "-X", "TOP 1 0", url, "-u", credentials)
		if err != nil {
			t.Fatal(err)
		}
		want := "From: alice@police.cjsm.test\r\nTo: jane.smith@cps.cjsm.test\r\n" +
			"Subject: dots\r\n\r\n"
		if got != want {
			t.Errorf("curl TOP 1 0 = %q, want %q", got, want)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := curl(t, url+"1", "-u", testUser+":wrong")
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			t.Fatalf("curl with a wrong password: %v, want a non-zero exit", err)
		}
		// curl exit status 67: "The user name, password, or similar was not
		// accepted".
		if exitErr.ExitCode() != 67 {
			t.Errorf("curl exit status %d, want 67 (login denied): %v", exitErr.ExitCode(), err)
		}
	})
	t.Run("plaintext refused", func(t *testing.T) {
		// Without --ssl-reqd curl would sign in over plaintext if the server let it.
		plainURL := "pop3://127.0.0.1:" + strings.Split(ts.stlsAddr, ":")[1] + "/1"
		_, err := curl(t, plainURL, "-u", credentials)
		if err == nil {
			t.Fatal("curl retrieved a message over plaintext POP3")
		}
	})
}
