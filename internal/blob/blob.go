// Package blob stores raw messages and documents as content-addressed files.
//
// A blob's key is the lower-case hex SHA-256 of its bytes, stored at DIR/ab/cdef…. Put writes
// to a temporary file, fsyncs it, renames it into place and fsyncs the directory before it
// returns. A key that Put returned therefore survives a crash or power loss, and a row that
// refers to it never points at a missing or partial file.
package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotFound is returned for a key with no blob.
var ErrNotFound = errors.New("blob: not found")

// Store is a directory of blobs.
type Store struct {
	dir string
}

// Open returns the blob store rooted at dir, creating it when missing.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the root directory.
func (s *Store) Dir() string { return s.dir }

// Key returns the key that data would be stored under.
func Key(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ValidKey reports whether k has the form of a key: 64 lower-case hex digits.
func ValidKey(k string) bool {
	if len(k) != 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(key string) string {
	return filepath.Join(s.dir, key[:2], key[2:])
}

// Put stores data durably and returns its key. Storing the same bytes twice writes once; a
// stored copy that no longer matches its key is replaced.
func (s *Store) Put(data []byte) (string, error) {
	key := Key(data)
	final := s.path(key)
	if st, err := os.Stat(final); err == nil && st.Size() == int64(len(data)) {
		// Comparing the bytes costs one read, and it stops a damaged copy from standing in
		// for the message that the caller is about to acknowledge.
		if old, err := os.ReadFile(final); err == nil && bytes.Equal(old, data) {
			return key, nil
		}
	}
	if err := s.write(final, data); err != nil {
		return "", fmt.Errorf("blob: store %s: %w", key, err)
	}
	return key, nil
}

func (s *Store) write(final string, data []byte) error {
	sub := filepath.Dir(final)
	newSub := false
	if _, err := os.Stat(sub); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(sub, 0o750); err != nil {
			return err
		}
		newSub = true
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return err
	}
	if err := syncDir(sub); err != nil {
		return err
	}
	if newSub {
		// The new subdirectory's own entry lives in the root directory.
		return syncDir(s.dir)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get returns the blob's bytes, checking them against the key.
func (s *Store) Get(key string) ([]byte, error) {
	if !ValidKey(key) {
		return nil, fmt.Errorf("blob: invalid key %q: want 64 lower-case hex digits", key)
	}
	data, err := os.ReadFile(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: read %s: %w", key, err)
	}
	if Key(data) != key {
		return nil, fmt.Errorf("blob: %s is corrupt: its contents hash to %s", key, Key(data))
	}
	return data, nil
}

// Open returns a reader of the blob without checking its hash, for streaming large blobs.
func (s *Store) Open(key string) (io.ReadCloser, error) {
	if !ValidKey(key) {
		return nil, fmt.Errorf("blob: invalid key %q: want 64 lower-case hex digits", key)
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return f, err
}

// Delete removes a blob. Deleting a missing blob is not an error.
func (s *Store) Delete(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("blob: invalid key %q: want 64 lower-case hex digits", key)
	}
	err := os.Remove(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Keys returns every stored key in order. Leftover temporary files are not blobs.
func (s *Store) Keys() ([]string, error) {
	var keys []string
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != s.dir && filepath.Base(path) == "tmp" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(s.dir, path)
		k := strings.ReplaceAll(rel, string(filepath.Separator), "")
		if ValidKey(k) {
			keys = append(keys, k)
		}
		return nil
	})
	sort.Strings(keys)
	return keys, err
}

// Report is the result of Check.
type Report struct {
	Blobs      int      // blob files found
	Orphans    []string // blobs no row refers to
	Missing    []string // keys that rows refer to but no blob exists for
	Corrupt    []string // blobs whose contents do not match their key
	TempFiles  int      // temporary files left by an interrupted Put, removed by Check
	Referenced int      // distinct keys that rows refer to
}

// Check compares the blobs on disk with the keys rows refer to. It removes leftover temporary
// files (a Put that never renamed its file was never acknowledged) and reports orphans and
// missing blobs without deleting them. With verify set it also rehashes every blob.
func (s *Store) Check(referenced map[string]bool, verify bool) (Report, error) {
	var r Report
	tmpDir := filepath.Join(s.dir, "tmp")
	if entries, err := os.ReadDir(tmpDir); err == nil {
		for _, e := range entries {
			if os.Remove(filepath.Join(tmpDir, e.Name())) == nil {
				r.TempFiles++
			}
		}
	}
	keys, err := s.Keys()
	if err != nil {
		return r, fmt.Errorf("blob: list %s: %w", s.dir, err)
	}
	r.Blobs = len(keys)
	r.Referenced = len(referenced)
	onDisk := make(map[string]bool, len(keys))
	for _, k := range keys {
		onDisk[k] = true
		if !referenced[k] {
			r.Orphans = append(r.Orphans, k)
		}
		if verify {
			if _, err := s.Get(k); err != nil {
				r.Corrupt = append(r.Corrupt, k)
			}
		}
	}
	for k := range referenced {
		if !onDisk[k] {
			r.Missing = append(r.Missing, k)
		}
	}
	sort.Strings(r.Missing)
	return r, nil
}
