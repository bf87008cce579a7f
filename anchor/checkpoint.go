// Package anchor keeps Vigil's hash chains (the audit log and each piece of
// evidence's custody log) honest against someone who can write to the
// database. Such a person can delete the newest entries of a chain and
// rewrite the head the database keeps, leaving a chain that checks out in
// itself. A checkpointer therefore signs each chain's head (its length and
// last hash) with an Ed25519 key kept outside the database, every minute and
// at shutdown, and writes the signed lines somewhere the database's users
// cannot reach: an append-only file, syslog, a webhook. "vigil audit verify"
// and "vigil evidence verify" read them back (ReadLog) and fail when a chain
// no longer holds a head that was signed.
//
// A checkpoint is one line of text:
//
//	vigil-checkpoint v1 chain=audit seq=1234 head=<64 hex> at=2026-12-01T10:00:00.000000Z key=<16 hex> sig=<base64>
//
// The fields come in this order, each once; chain is "audit" or
// "custody:<evidence id>"; seq is the chain's length and head the hash of
// its last entry (which covers every entry before it); at is when it was
// signed, in UTC to the microsecond; key is the signing key's ID (KeyID).
// sig is the standard base64 of the Ed25519 signature of the line's bytes
// before " sig=". Anything before "vigil-checkpoint" on a line (a syslog
// header) is not part of it.
package anchor

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// marker starts every checkpoint line; the version follows it.
const marker = "vigil-checkpoint v1 "

// Checkpoint is a chain's head signed at a time with a key.
type Checkpoint struct {
	vigil.ChainHead
	At    time.Time
	KeyID string // KeyID of the public key that verifies Sig
	Sig   []byte
}

// KeyID returns a public key's ID: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign signs head, as of at, with key.
func Sign(key ed25519.PrivateKey, head vigil.ChainHead, at time.Time) *Checkpoint {
	c := &Checkpoint{ChainHead: head, At: vigil.TruncateTime(at).UTC(), KeyID: KeyID(key.Public().(ed25519.PublicKey))}
	c.Sig = ed25519.Sign(key, []byte(c.message()))
	return c
}

// message is the signed part of the line.
func (c *Checkpoint) message() string {
	return fmt.Sprintf("%schain=%s seq=%d head=%s at=%s key=%s", marker, c.Chain, c.Seq, c.Hash, vigil.FormatTime(c.At), c.KeyID)
}

// String returns the checkpoint's line, without a newline.
func (c *Checkpoint) String() string {
	return c.message() + " sig=" + base64.StdEncoding.EncodeToString(c.Sig)
}

// ErrOtherKey is Verify's answer to a checkpoint signed with another key.
var ErrOtherKey = errors.New("signed with another key")

// Verify checks c's signature with pub: ErrOtherKey if c names another
// key, an error if the signature does not verify.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) error {
	if c.KeyID != KeyID(pub) {
		return ErrOtherKey
	}
	if !ed25519.Verify(pub, []byte(c.message()), c.Sig) {
		return errors.New("the signature does not verify: the line was changed, or not signed by Vigil")
	}
	return nil
}

// IsCheckpoint reports whether line holds a checkpoint (valid or not).
func IsCheckpoint(line string) bool { return strings.Contains(line, marker) }

// Parse reads the checkpoint on line (from "vigil-checkpoint" on). It
// checks the form, not the signature (see Verify): a line is taken only as
// String writes it, so one checkpoint has one line.
func Parse(line string) (*Checkpoint, error) {
	i := strings.Index(line, marker)
	if i < 0 {
		return nil, errors.New("not a checkpoint")
	}
	line = strings.TrimRight(line[i:], "\r\n")
	body, sig, ok := strings.Cut(line, " sig=")
	if !ok {
		return nil, errors.New("no signature")
	}
	fields := strings.Split(strings.TrimPrefix(body, marker), " ")
	names := []string{"chain", "seq", "head", "at", "key"}
	if len(fields) != len(names) {
		return nil, errors.New("not the fields of a checkpoint")
	}
	v := map[string]string{}
	for i, f := range fields {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name != names[i] {
			return nil, fmt.Errorf("field %d is not %s", i+1, names[i])
		}
		v[name] = value
	}
	c := &Checkpoint{KeyID: v["key"], ChainHead: vigil.ChainHead{Hash: v["head"]}}
	var err error
	if c.Chain, err = vigil.ParseChain(v["chain"]); err != nil {
		return nil, err
	}
	if c.Seq, err = strconv.ParseInt(v["seq"], 10, 64); err != nil || c.Seq < 1 {
		return nil, fmt.Errorf("seq %q is not a chain length", v["seq"])
	}
	if !isHex(c.Hash, 64) {
		return nil, fmt.Errorf("head %q is not a SHA-256", c.Hash)
	}
	if c.At, err = time.Parse(vigil.TimeFormat, v["at"]); err != nil {
		return nil, fmt.Errorf("at %q is not a time", v["at"])
	}
	if !isHex(c.KeyID, 16) {
		return nil, fmt.Errorf("key %q is not a key ID", c.KeyID)
	}
	if c.Sig, err = base64.StdEncoding.Strict().DecodeString(sig); err != nil || len(c.Sig) != ed25519.SignatureSize {
		return nil, errors.New("the signature is not an Ed25519 signature")
	}
	if c.String() != line {
		return nil, errors.New("not written as Vigil writes checkpoints")
	}
	return c, nil
}

// isHex reports whether s is n lower-case hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
