// Package blob keeps files content-addressed on disk: each file is stored
// once, under its SHA-256, however many times it is added. Evidence lives
// here. Writes stream through the hashes to a temporary file that is synced
// and renamed into place, so a file under a name is always whole and no
// file is ever held in memory.
package blob

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vigil-ir/vigil"
)

// Dir is a blob store in a folder: objects under sha256/ab/cdef…, temporary
// files under tmp/ on the same file system so the final rename is atomic.
type Dir struct {
	root string
}

// Open returns the store in root. Its folders are made when the first
// file is put, not here: a command that never stores evidence (a user
// created against PostgreSQL, say) leaves no folder behind.
func Open(root string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("blob store: no folder")
	}
	return &Dir{root: root}, nil
}

// makeDirs makes the store's folders, owner-only.
func (d *Dir) makeDirs() error {
	for _, dir := range []string{d.root, filepath.Join(d.root, "sha256"), filepath.Join(d.root, "tmp")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("blob store: %w", err)
		}
	}
	return nil
}

// Root is the store's folder.
func (d *Dir) Root() string { return d.root }

func validSHA256(sum string) bool {
	if len(sum) != 64 {
		return false
	}
	for _, c := range sum {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (d *Dir) path(sum string) (string, error) {
	if !validSHA256(sum) {
		return "", fmt.Errorf("blob store: %q is not a SHA-256", sum)
	}
	return filepath.Join(d.root, "sha256", sum[:2], sum[2:]), nil
}

// Put streams r into the store and returns its digests. A file larger than
// max bytes is refused with vigil.ErrTooLarge, and an empty one with
// vigil.ErrEmpty; neither leaves anything behind. Adding content that is
// already stored keeps the stored copy.
func (d *Dir) Put(r io.Reader, max int64) (vigil.Digests, error) { return d.put(r, max, "") }

// ErrMismatch is PutExpect's answer to bytes that are not the ones expected.
var ErrMismatch = errors.New("blob store: the content does not match its SHA-256")

// PutExpect stores r only if its SHA-256 is want; otherwise it stores
// nothing (and removes nothing) and returns ErrMismatch.
func (d *Dir) PutExpect(r io.Reader, max int64, want string) (vigil.Digests, error) {
	if !validSHA256(want) {
		return vigil.Digests{}, fmt.Errorf("blob store: %q is not a SHA-256", want)
	}
	return d.put(r, max, want)
}

// msgFull is the message of Put's answer when the folder's disk is full.
const msgFull = "The evidence folder's disk is full, so the file was not stored. Reading evidence still works; an administrator must free space."

// full turns an error that says the disk is full into vigil.ESTORAGEFULL.
// EFBIG (a file larger than the process or the file system allows, as
// under RLIMIT_FSIZE) counts too: either way this file cannot be stored
// until an administrator acts.
func full(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
		return vigil.Wrap(err, vigil.ESTORAGEFULL, msgFull)
	}
	return err
}

func (d *Dir) put(r io.Reader, max int64, want string) (vigil.Digests, error) {
	tmp, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "put-*")
	if errors.Is(err, fs.ErrNotExist) {
		if err = d.makeDirs(); err == nil {
			tmp, err = os.CreateTemp(filepath.Join(d.root, "tmp"), "put-*")
		}
	}
	if err != nil {
		return vigil.Digests{}, full(fmt.Errorf("blob store: %w", err))
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // after the rename, a no-op
	}()
	s256, s1, m5 := sha256.New(), sha1.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, s256, s1, m5), io.LimitReader(r, max+1))
	if err != nil {
		return vigil.Digests{}, full(err)
	}
	if n > max {
		return vigil.Digests{}, vigil.ErrTooLarge
	}
	if n == 0 {
		return vigil.Digests{}, vigil.ErrEmpty
	}
	dg := vigil.Digests{Size: n, SHA256: hex.EncodeToString(s256.Sum(nil)),
		SHA1: hex.EncodeToString(s1.Sum(nil)), MD5: hex.EncodeToString(m5.Sum(nil))}
	if err := tmp.Sync(); err != nil {
		return vigil.Digests{}, full(fmt.Errorf("blob store: %w", err))
	}
	if err := tmp.Close(); err != nil {
		return vigil.Digests{}, full(fmt.Errorf("blob store: %w", err))
	}
	p, _ := d.path(dg.SHA256)
	if want != "" && dg.SHA256 != want {
		return dg, ErrMismatch
	}
	// Renamed over any copy already there: these bytes were just hashed,
	// a stored copy may since have been damaged.
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return vigil.Digests{}, full(fmt.Errorf("blob store: %w", err))
	}
	if err := os.Chmod(tmp.Name(), 0o400); err != nil {
		return vigil.Digests{}, fmt.Errorf("blob store: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return vigil.Digests{}, full(fmt.Errorf("blob store: %w", err))
	}
	return dg, syncDir(filepath.Dir(p))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("blob store: sync %s: %w", dir, err)
	}
	return nil
}

// Exists reports whether a file is stored under sum.
func (d *Dir) Exists(sum string) bool {
	p, err := d.path(sum)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Open opens the file stored under sum. A missing file is vigil.ErrBlobMissing.
func (d *Dir) Open(sum string) (io.ReadCloser, error) {
	p, err := d.path(sum)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, vigil.ErrBlobMissing
	}
	return f, err
}

// Hash reads the file stored under sum again and returns what it now holds.
func (d *Dir) Hash(sum string) (vigil.Digests, error) {
	f, err := d.Open(sum)
	if err != nil {
		return vigil.Digests{}, err
	}
	defer f.Close()
	return Digest(f)
}

// Digest reads r to the end and returns its size and hashes.
func Digest(r io.Reader) (vigil.Digests, error) {
	s256, s1, m5 := sha256.New(), sha1.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(s256, s1, m5), r)
	if err != nil {
		return vigil.Digests{}, err
	}
	return vigil.Digests{Size: n, SHA256: hex.EncodeToString(s256.Sum(nil)),
		SHA1: hex.EncodeToString(s1.Sum(nil)), MD5: hex.EncodeToString(m5.Sum(nil))}, nil
}

// Remove deletes the file stored under sum; a missing file is no error.
func (d *Dir) Remove(sum string) error {
	p, err := d.path(sum)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob store: %w", err)
	}
	return nil
}
