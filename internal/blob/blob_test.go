package blob_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
)

func openStore(t *testing.T) *blob.Store {
	t.Helper()
	s, err := blob.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func put(t *testing.T, s *blob.Store, data string) string {
	t.Helper()
	key, err := s.Put([]byte(data))
	if err != nil {
		t.Fatalf("Put(%q): %v", data, err)
	}
	return key
}

func blobPath(s *blob.Store, key string) string {
	return filepath.Join(s.Dir(), key[:2], key[2:])
}

func tmpFiles(t *testing.T, s *blob.Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Dir(), "tmp"))
	if err != nil {
		t.Fatalf("read tmp: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestPutGetRoundTrip(t *testing.T) {
	s := openStore(t)
	msg := "From: jane@firm.example\r\nSubject: listing\r\n\r\nBody\r\n"
	key := put(t, s, msg)
	sum := sha256.Sum256([]byte(msg))
	if key != hex.EncodeToString(sum[:]) {
		t.Errorf("key = %s, want the SHA-256 of the bytes", key)
	}
	if !blob.ValidKey(key) {
		t.Errorf("ValidKey(%s) = false", key)
	}
	if _, err := os.Stat(blobPath(s, key)); err != nil {
		t.Errorf("blob file not at DIR/ab/cdef…: %v", err)
	}
	got, err := s.Get(key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if string(got) != msg {
		t.Errorf("Get = %q, want %q", got, msg)
	}
	r, err := s.Open(key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	streamed, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(streamed) != msg {
		t.Errorf("Open read %q, %v; want %q", streamed, err, msg)
	}
	if left := tmpFiles(t, s); len(left) != 0 {
		t.Errorf("Put left temporary files: %v", left)
	}
}

func TestPutEmptyBlob(t *testing.T) {
	s := openStore(t)
	key := put(t, s, "")
	got, err := s.Get(key)
	if err != nil || len(got) != 0 {
		t.Errorf("Get of the empty blob = %q, %v", got, err)
	}
}

func TestPutSameBytesStoresOnce(t *testing.T) {
	s := openStore(t)
	first := put(t, s, "same message")
	before, err := os.Stat(blobPath(s, first))
	if err != nil {
		t.Fatal(err)
	}
	old := before.ModTime().Add(-time.Hour)
	if err := os.Chtimes(blobPath(s, first), old, old); err != nil {
		t.Fatal(err)
	}
	second := put(t, s, "same message")
	if first != second {
		t.Errorf("keys differ: %s, %s", first, second)
	}
	after, err := os.Stat(blobPath(s, first))
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(old) {
		t.Errorf("second Put rewrote the file (modification time %v, want %v)",
			after.ModTime(), old)
	}
	keys, err := s.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Errorf("Keys = %v, want one key", keys)
	}
}

func TestPutConcurrentSameBytes(t *testing.T) {
	s := openStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Put([]byte("raced message")); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Put: %v", err)
	}
	keys, _ := s.Keys()
	if len(keys) != 1 {
		t.Errorf("Keys = %v, want one key", keys)
	}
	if _, err := s.Get(blob.Key([]byte("raced message"))); err != nil {
		t.Errorf("Get after concurrent Puts: %v", err)
	}
}

func TestGetDetectsCorruptBlob(t *testing.T) {
	s := openStore(t)
	key := put(t, s, "original bytes")
	if err := os.WriteFile(blobPath(s, key), []byte("tampered bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(key)
	if err == nil {
		t.Fatal("Get returned corrupt bytes without an error")
	}
	if !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), key) {
		t.Errorf("error %q does not say that blob %s is corrupt", err, key)
	}
}

// A damaged copy of the same size is not mistaken for the bytes being stored.
func TestPutReplacesCorruptCopy(t *testing.T) {
	s := openStore(t)
	key := put(t, s, "original bytes")
	if err := os.WriteFile(blobPath(s, key), []byte("tampered bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if again := put(t, s, "original bytes"); again != key {
		t.Fatalf("key changed: %s, %s", again, key)
	}
	got, err := s.Get(key)
	if err != nil || string(got) != "original bytes" {
		t.Errorf("Get after storing again = %q, %v; want the original bytes", got, err)
	}
}

func TestGetMissingAndInvalidKeys(t *testing.T) {
	s := openStore(t)
	missing := blob.Key([]byte("never stored"))
	if _, err := s.Get(missing); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.Open(missing); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "abc", strings.ToUpper(missing), "../../etc/passwd",
		missing[:63] + "g", missing + "0"} {
		if blob.ValidKey(bad) {
			t.Errorf("ValidKey(%q) = true", bad)
		}
		_, err := s.Get(bad)
		if err == nil || errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want an invalid-key error", bad, err)
			continue
		}
		if !strings.Contains(err.Error(), "64 lower-case hex digits") {
			t.Errorf("Get(%q) error %q does not say what a key looks like", bad, err)
		}
		if err := s.Delete(bad); err == nil {
			t.Errorf("Delete(%q) accepted an invalid key", bad)
		}
	}
}

func TestDelete(t *testing.T) {
	s := openStore(t)
	key := put(t, s, "to be deleted")
	if err := s.Delete(key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(key); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
}

func TestKeysSkipsTemporaryAndStrayFiles(t *testing.T) {
	s := openStore(t)
	a, b := put(t, s, "a"), put(t, s, "b")
	strays := []string{
		filepath.Join(s.Dir(), "tmp", "put-123"),
		filepath.Join(s.Dir(), "README"),
		filepath.Join(s.Dir(), a[:2], "short"),
	}
	for _, p := range strays {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.Keys()
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	want := []string{a, b}
	if b < a {
		want = []string{b, a}
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("Keys = %v, want %v", keys, want)
	}
}

func TestCheckReportsOrphansMissingAndCorrupt(t *testing.T) {
	s := openStore(t)
	referenced := put(t, s, "referenced message")
	orphan := put(t, s, "message no row refers to")
	corrupt := put(t, s, "message that will rot")
	missing := blob.Key([]byte("message whose file was lost"))
	if err := os.WriteFile(blobPath(s, corrupt), []byte("rotten"), 0o600); err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{referenced: true, corrupt: true, missing: true}

	quick, err := s.Check(refs, false)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if quick.Blobs != 3 || quick.Referenced != 3 {
		t.Errorf("Blobs %d, Referenced %d; want 3, 3", quick.Blobs, quick.Referenced)
	}
	if !reflect.DeepEqual(quick.Orphans, []string{orphan}) {
		t.Errorf("Orphans = %v, want [%s]", quick.Orphans, orphan)
	}
	if !reflect.DeepEqual(quick.Missing, []string{missing}) {
		t.Errorf("Missing = %v, want [%s]", quick.Missing, missing)
	}
	if len(quick.Corrupt) != 0 {
		t.Errorf("Check without verify rehashed: Corrupt = %v", quick.Corrupt)
	}

	full, err := s.Check(refs, true)
	if err != nil {
		t.Fatalf("Check(verify): %v", err)
	}
	if !reflect.DeepEqual(full.Corrupt, []string{corrupt}) {
		t.Errorf("Check(verify) Corrupt = %v, want [%s]", full.Corrupt, corrupt)
	}
	if _, err := s.Get(orphan); err != nil {
		t.Errorf("Check deleted or damaged the orphan: %v", err)
	}
}

// A Put interrupted before its rename leaves a temporary file that was never acknowledged.
func TestCheckRemovesTemporaryFiles(t *testing.T) {
	s := openStore(t)
	key := put(t, s, "kept")
	for _, name := range []string{"put-1", "put-2", "put-3"} {
		p := filepath.Join(s.Dir(), "tmp", name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := s.Check(map[string]bool{key: true}, true)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if rep.TempFiles != 3 {
		t.Errorf("TempFiles = %d, want 3", rep.TempFiles)
	}
	if left := tmpFiles(t, s); len(left) != 0 {
		t.Errorf("temporary files left after Check: %v", left)
	}
	if rep.Blobs != 1 || len(rep.Orphans) != 0 || len(rep.Missing) != 0 || len(rep.Corrupt) != 0 {
		t.Errorf("Check counted temporary files as blobs: %+v", rep)
	}
}

func TestOpenReusesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	first, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := put(t, first, "survives reopening")
	second, err := blob.Open(dir)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if got, err := second.Get(key); err != nil || string(got) != "survives reopening" {
		t.Errorf("Get through a second Open = %q, %v", got, err)
	}
}
