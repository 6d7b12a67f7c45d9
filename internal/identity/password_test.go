package identity

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	const pw = "correct horse battery staple"
	hash, err := HashPassword(pw)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id PHC with the documented parameters", hash)
	}
	if strings.Contains(hash, pw) {
		t.Errorf("hash contains the password")
	}
	if err := VerifyPassword(hash, pw); err != nil {
		t.Errorf("VerifyPassword with the right password: %v", err)
	}
}

func TestPasswordHashesAreSalted(t *testing.T) {
	a, err := HashPassword("same password twice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("same password twice")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal (%s): the salt is not random", a)
	}
}

func TestVerifyPasswordWrongPassword(t *testing.T) {
	hash, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple",
		"correct horse battery staple "} {
		if err := VerifyPassword(hash, wrong); !errors.Is(err, ErrMismatch) {
			t.Errorf("VerifyPassword(%q) = %v, want ErrMismatch", wrong, err)
		}
	}
}

// A hash written with other parameters still verifies, because the hash records its own.
func TestVerifyPasswordReadsParametersFromHash(t *testing.T) {
	salt := []byte("saltsaltsaltsalt")
	key := argon2.IDKey([]byte("open sesame"), salt, 1, 8192, 2, 16)
	b64 := base64.RawStdEncoding
	hash := "$argon2id$v=19$m=8192,t=1,p=2$" + b64.EncodeToString(salt) + "$" +
		b64.EncodeToString(key)
	if err := VerifyPassword(hash, "open sesame"); err != nil {
		t.Errorf("VerifyPassword with m=8192,t=1,p=2 and a 16-byte key: %v", err)
	}
	if err := VerifyPassword(hash, "open sesame!"); !errors.Is(err, ErrMismatch) {
		t.Errorf("VerifyPassword with a wrong password = %v, want ErrMismatch", err)
	}
}

func TestVerifyPasswordMalformedHash(t *testing.T) {
	good, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	cases := map[string]string{
		"empty":               "",
		"bcrypt":              "$2y$10$abcdefghijklmnopqrstuv",
		"argon2i":             with(1, "argon2i"),
		"too few fields":      strings.Join(parts[:5], "$"),
		"version 16":          with(2, "v=16"),
		"version text":        with(2, "v=x"),
		"parameters missing":  with(3, ""),
		"parameters reversed": with(3, "t=2,m=19456,p=1"),
		"zero passes":         with(3, "m=19456,t=0,p=1"),
		"zero lanes":          with(3, "m=19456,t=2,p=0"),
		"lanes overflow":      with(3, "m=19456,t=2,p=256"),
		"negative memory":     with(3, "m=-1,t=2,p=1"),
		"huge memory":         with(3, "m=4294967295,t=2,p=1"),
		"huge passes":         with(3, "m=19456,t=4294967295,p=1"),
		"salt not base64":     with(4, "!!!"),
		"key not base64":      with(5, "!!!"),
		"empty key":           with(5, ""),
	}
	for name, hash := range cases {
		err := VerifyPassword(hash, "correct horse battery staple")
		if err == nil {
			t.Errorf("%s: VerifyPassword(%q) accepted a malformed hash", name, hash)
			continue
		}
		if errors.Is(err, ErrMismatch) {
			t.Errorf("%s: VerifyPassword(%q) = ErrMismatch, want a malformed-hash error", name, hash)
		}
	}
}

func TestCheckNewPassword(t *testing.T) {
	cases := []struct {
		name, pw string
		want     string // substring of the error; empty means accepted
	}{
		{"three words", "harbour reed lantern", ""},
		{"exactly 12", "abcdefghijkl", ""},
		{"12 multi-byte characters", "ééééééééééé1", ""},
		{"no composition rules", "alllowercaseletters", ""},
		{"256 characters", strings.Repeat("x", 256), ""},
		{"empty", "", "too short (0 characters)"},
		{"11 characters", "abcdefghijk", "too short (11 characters): use at least 12"},
		{"short multi-byte", "éééééé", "too short (6 characters)"},
		{"257 characters", strings.Repeat("x", 257), "too long (257 characters): use at most 256"},
		{"deny-listed", "password1234", "commonly used"},
		{"deny-listed in capitals", "PASSWORD1234", "commonly used"},
	}
	for _, c := range cases {
		err := CheckNewPassword(c.pw)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: CheckNewPassword rejected it: %v", c.name, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: CheckNewPassword accepted it, want %q", c.name, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q does not contain %q", c.name, err, c.want)
		}
	}
}

// The deny-list holds only passwords the length rule would otherwise accept, so every entry
// is reachable.
func TestDenyListEntriesAreLongEnough(t *testing.T) {
	for pw := range denied {
		if len([]rune(pw)) < 12 {
			t.Errorf("deny-list entry %q is shorter than 12 characters, so it is never consulted", pw)
		}
		if pw != strings.ToLower(pw) {
			t.Errorf("deny-list entry %q is not lower case, so it never matches", pw)
		}
	}
}

// FuzzVerifyPassword checks that no stored hash text, however damaged, makes VerifyPassword
// panic or accept a password.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$WzqYiuUYs9vp6eA9ShnMWQ")
	f.Add("$argon2id$v=19$m=8,t=0,p=0$c2FsdA$a2V5")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$$a2V5")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, hash string) {
		// Keep each run cheap: the target is the parsing, not hashing with a large cost.
		var memory, passes, lanes uint64
		if parts := strings.Split(hash, "$"); len(parts) == 6 {
			_, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &lanes)
			if err == nil && (memory > 256 || passes > 2 || lanes > 4) {
				return
			}
		}
		if err := VerifyPassword(hash, "fuzz"); err == nil {
			t.Fatalf("VerifyPassword(%q, \"fuzz\") accepted a hash that argon2 never made", hash)
		}
	})
}
