package blob_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
)

func TestPutOpenHashRemove(t *testing.T) {
	d, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Put(strings.NewReader("abc"), 10)
	if err != nil {
		t.Fatal(err)
	}
	// The FIPS 180-2 and RFC 1321/3174 test vectors for "abc".
	want := vigil.Digests{Size: 3, SHA256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		SHA1: "a9993e364706816aba3e25717850c26c9cd0d89d", MD5: "900150983cd24fb0d6963f7d28e17f72"}
	if got != want {
		t.Fatalf("Put = %+v, want %+v", got, want)
	}
	again, err := d.Put(strings.NewReader("abc"), 10)
	if err != nil || again != want {
		t.Fatalf("second Put = %+v %v", again, err)
	}
	rc, err := d.Open(want.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "abc" {
		t.Errorf("Open read %q", b)
	}
	if h, err := d.Hash(want.SHA256); err != nil || h != want {
		t.Errorf("Hash = %+v %v", h, err)
	}
	if err := d.Remove(want.SHA256); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(want.SHA256); !errors.Is(err, vigil.ErrBlobMissing) {
		t.Errorf("Open after Remove: %v", err)
	}
	if err := d.Remove(want.SHA256); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("0", 63) + "/"} {
		if _, err := d.Open(bad); err == nil || errors.Is(err, vigil.ErrBlobMissing) {
			t.Errorf("Open(%q) = %v, want a refusal", bad, err)
		}
	}
}

func TestPutRefusesAndLeavesNothing(t *testing.T) {
	root := t.TempDir()
	d, err := blob.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(bytes.NewReader(make([]byte, 11)), 10); !errors.Is(err, vigil.ErrTooLarge) {
		t.Errorf("11 bytes over a limit of 10: %v", err)
	}
	if _, err := d.Put(strings.NewReader(""), 10); !errors.Is(err, vigil.ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := d.Put(io.MultiReader(strings.NewReader("half"), errReader{}), 10); err == nil {
		t.Errorf("a failing reader stored something")
	}
	for _, dir := range []string{"tmp", "sha256"} {
		if e, _ := os.ReadDir(filepath.Join(root, dir)); len(e) != 0 {
			t.Errorf("%s holds %d entries after refusals", dir, len(e))
		}
	}
	if _, err := d.Put(bytes.NewReader(make([]byte, 10)), 10); err != nil {
		t.Errorf("exactly the limit: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestPutStreams stores 256 MiB and checks that the bytes allocated stay a
// small fraction of that: the file is never held in memory.
func TestPutStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB")
	}
	d, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const size = 256 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := d.Put(io.LimitReader(pattern{}, size), size)
	runtime.ReadMemStats(&after)
	if err != nil || got.Size != size {
		t.Fatalf("Put = %+v %v", got, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("storing %d MiB allocated %d MiB", size>>20, alloc>>20)
	}
}

// pattern is an endless reader of non-zero bytes.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	return len(p), nil
}

// TestFoldersMadeOnFirstPut: opening a store makes no folder (a CLI
// command against PostgreSQL left ./vigil-data/evidence behind); the first
// file makes them, owner-only, and reads before it find nothing.
func TestFoldersMadeOnFirstPut(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data", "evidence")
	d, err := blob.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(root)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open made a folder: %v", err)
	}
	sum := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if d.Exists(sum) {
		t.Error("Exists in an empty store")
	}
	if _, err := d.Put(strings.NewReader("abc"), 10); err != nil {
		t.Fatal(err)
	}
	if !d.Exists(sum) {
		t.Error("the file put is not there")
	}
	if st, err := os.Stat(root); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("store folder: %v %v", st.Mode(), err)
	}
}
