// Package demo creates a realistic demo community in a directory: a configuration file, a
// local certificate authority with server certificates, an SQLite store, and organisations
// with people, a group mailbox and a distribution list. Running it again on the same
// directory reuses what is there.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/cjsm/cjsm/internal/config"
	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/pki"
	"github.com/cjsm/cjsm/internal/store"
)

// Suffix is the demo's community suffix. The .test top-level domain is reserved by RFC 2606,
// so no demo address can reach a real mail server.
const Suffix = "cjsm.test"

// Account is a demo sign-in.
type Account struct {
	Address      string `json:"address"`
	Password     string `json:"password"`
	Role         string `json:"role"`
	Organisation string `json:"organisation"`
	Name         string `json:"name"`
}

// Demo is a prepared demo directory.
type Demo struct {
	Dir        string
	ConfigPath string
	CACert     string
	Accounts   []Account
}

// Setup prepares dir: it writes what is missing and leaves what exists.
func Setup(ctx context.Context, dir string) (*Demo, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("demo: create %s: %w", dir, err)
	}
	d := &Demo{Dir: dir, ConfigPath: filepath.Join(dir, "cjsm.toml"),
		CACert: filepath.Join(dir, "tls", "ca.pem")}
	if err := d.writeTLS(); err != nil {
		return nil, err
	}
	if err := d.writeConfig(); err != nil {
		return nil, err
	}
	cfg, err := config.Load(d.ConfigPath)
	if err != nil {
		return nil, err
	}
	created, err := d.loadOrCreateAccounts()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Store.DSN)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.OrganisationBySlug(ctx, "kent-police"); err == nil {
		if created {
			// accounts.json was deleted but the community kept: give the people the new
			// passwords, so that demo.json stays true.
			if err := resetPasswords(ctx, directory.New(st, cfg.CommunitySuffix), d.Accounts); err != nil {
				return nil, err
			}
		}
		return d, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err := populate(ctx, directory.New(st, cfg.CommunitySuffix), d.Accounts); err != nil {
		return nil, fmt.Errorf("demo: create community: %w", err)
	}
	return d, nil
}

func (d *Demo) writeTLS() error {
	tlsDir := filepath.Join(d.Dir, "tls")
	if err := os.MkdirAll(tlsDir, 0o750); err != nil {
		return err
	}
	caKey := filepath.Join(tlsDir, "ca-key.pem")
	var ca *pki.CA
	if _, err := os.Stat(d.CACert); err == nil {
		if ca, err = pki.LoadCA(d.CACert, caKey); err != nil {
			return fmt.Errorf("demo: %w; delete %s to start afresh", err, tlsDir)
		}
	} else {
		if ca, err = pki.NewCA("cjsm demo CA", 10*365*24*time.Hour); err != nil {
			return err
		}
		if err := ca.WriteFiles(d.CACert, caKey); err != nil {
			return err
		}
	}
	certs := []struct {
		name  string
		names []string
	}{
		{"server", []string{"localhost", "mail." + Suffix, "127.0.0.1"}},
		// One receiving server plays the police force's MX and the law firm's own server.
		{"peers", []string{"mx.kent.police.test", "mail.harbourreed.test", "localhost"}},
	}
	for _, c := range certs {
		cert := filepath.Join(tlsDir, c.name+".pem")
		if _, err := os.Stat(cert); err == nil {
			continue
		}
		if err := ca.IssueFiles(c.names, 2*365*24*time.Hour, cert, filepath.Join(tlsDir, c.name+"-key.pem")); err != nil {
			return err
		}
	}
	return nil
}

// configText is the demo's configuration: every listener on a free loopback port, chosen
// when the node starts.
const configText = `# cjsm demo configuration, written by cjsm demo. Paths are relative to this file.
hostname = "mail.cjsm.test"
community_suffix = "cjsm.test"
data_dir = "data"

[tls]
cert_file = "tls/server.pem"
key_file = "tls/server-key.pem"
client_ca_file = "tls/ca.pem"
root_ca_file = "tls/ca.pem"

[listen]
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
submissions = "127.0.0.1:0"
imap = "127.0.0.1:0"
imaps = "127.0.0.1:0"
pop3 = "127.0.0.1:0"
pop3s = "127.0.0.1:0"
http = "127.0.0.1:0"

[queue]
retry_initial = "30s"
retry_max = "5m"

[log]
format = "text"
`

func (d *Demo) writeConfig() error {
	if _, err := os.Stat(d.ConfigPath); err == nil {
		return nil
	}
	return os.WriteFile(d.ConfigPath, []byte(configText), 0o640)
}

func (d *Demo) accountsPath() string { return filepath.Join(d.Dir, "accounts.json") }

// loadOrCreateAccounts reads the demo accounts, or makes them with fresh random passwords and
// reports that it did.
func (d *Demo) loadOrCreateAccounts() (bool, error) {
	b, err := os.ReadFile(d.accountsPath())
	if err == nil {
		if err := json.Unmarshal(b, &d.Accounts); err != nil {
			return false, fmt.Errorf("demo: %s is damaged: %w; delete the demo directory to start afresh", d.accountsPath(), err)
		}
		return false, nil
	}
	for _, p := range demoPeople {
		if p.role == "" {
			continue
		}
		pw, err := randomPassword()
		if err != nil {
			return false, err
		}
		d.Accounts = append(d.Accounts, Account{Address: p.address(), Password: pw, Role: p.role,
			Organisation: p.org, Name: p.first + " " + p.last})
	}
	b, err = json.MarshalIndent(d.Accounts, "", "  ")
	if err != nil {
		return false, err
	}
	return true, os.WriteFile(d.accountsPath(), b, 0o600)
}

// resetPasswords sets each account's password in the store.
func resetPasswords(ctx context.Context, dir *directory.Service, accounts []Account) error {
	actor := directory.Actor{Name: "system:demo", Source: "cli"}
	for _, a := range accounts {
		pw := a.Password
		if _, err := dir.UpdatePerson(ctx, actor, a.Address, directory.PersonChange{Password: &pw}); err != nil {
			return fmt.Errorf("demo: reset password of %s: %w", a.Address, err)
		}
	}
	return nil
}

// randomPassword returns 20 characters from an alphabet without look-alike characters.
func randomPassword() (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
	out := make([]byte, 20)
	for i := range out {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		out[i] = alphabet[n.Int64()]
	}
	return string(out), nil
}
