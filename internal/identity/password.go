// Package identity checks who a person is: password hashes now, and the one sign-in path
// that SMTP submission, IMAP, POP3 and the web use.
package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's Password Storage Cheat Sheet minimum (19 MiB, two passes, one
// lane), which keeps a sign-in near 30 ms so that a burst of SMTP AUTH does not exhaust memory.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16

	// Largest costs that VerifyPassword accepts from a stored hash: 1 GiB and 64 passes,
	// far above the parameters HashPassword writes.
	maxArgonMemory = 1024 * 1024 // KiB
	maxArgonTime   = 64
)

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("identity: password does not match")

// HashPassword returns an Argon2id hash of password in the PHC string format
// ($argon2id$v=19$m=19456,t=2,p=1$salt$hash), which records its own parameters so that
// they can be raised later without breaking stored hashes.
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("identity: read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory,
		argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks password against a hash made by HashPassword. It returns ErrMismatch
// for a wrong password and another error for a malformed hash.
func VerifyPassword(hash, password string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("identity: stored hash is not in argon2id PHC format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return fmt.Errorf("identity: unsupported argon2 version %q", parts[2])
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return fmt.Errorf("identity: malformed argon2 parameters %q", parts[3])
	}
	// argon2.IDKey panics on zero passes or lanes, and a damaged hash with a huge cost would
	// tie up the sign-in path, so parameters outside these bounds are rejected.
	if time < 1 || time > maxArgonTime || threads < 1 || memory > maxArgonMemory {
		return fmt.Errorf("identity: argon2 parameters %q are out of range: "+
			"want t from 1 to %d, p at least 1 and m at most %d KiB",
			parts[3], maxArgonTime, maxArgonMemory)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return errors.New("identity: malformed salt in stored hash")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return errors.New("identity: malformed key in stored hash")
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// CheckNewPassword applies the password rules of the security baseline: at least 12
// characters, at most 256, and not on the deny-list of common passwords. There are no
// composition rules, as NCSC password guidance advises.
func CheckNewPassword(password string) error {
	n := len([]rune(password))
	if n < 12 {
		return fmt.Errorf("password is too short (%d characters): use at least 12, such as three random words", n)
	}
	if n > 256 {
		return fmt.Errorf("password is too long (%d characters): use at most 256", n)
	}
	if denied[strings.ToLower(password)] {
		return errors.New("password is on the list of commonly used passwords: choose another")
	}
	return nil
}

// denied holds common passwords of 12 or more characters.
// TODO: load a full deny-list (such as the NCSC top 100,000) from a file shipped with cjsm.
var denied = map[string]bool{
	"123456789012": true, "password1234": true, "qwertyuiopas": true, "passwordpassword": true,
	"iloveyou1234": true, "welcome12345": true, "password123!": true, "qwerty123456": true,
	"1234567890ab": true, "letmein12345": true, "administrator": true, "changeme1234": true,
}
