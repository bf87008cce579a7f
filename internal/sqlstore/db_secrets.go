package sqlstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-ir/vigil"
)

// Secrets at rest. The passwords and keys Vigil must use again in the
// clear (an SMTP relay's password, a webhook's signing secret, a TAXII
// feed's password, the key that seals TAXII cursors) are stored sealed
// with AES-256-GCM under a key kept outside the database (see
// docs/operations.md): a copy of the database, a backup or its WAL alone
// does not give them away. Each is bound to its column (the GCM additional
// data), so a sealed value moved to another column does not open.

// sealedPrefix starts a sealed value; values without it were stored
// before sealing began and are sealed at the next start (SealSecrets).
const sealedPrefix = "vgs1:"

// SecretBox seals and opens secrets with one key.
type SecretBox struct{ aead cipher.AEAD }

// NewSecretBox returns a box for a 32-byte key.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead: aead}, nil
}

// seal returns plain sealed for column col; "" stays "" (nothing to hide).
func (b *SecretBox) seal(col, plain string) string {
	if b == nil || plain == "" {
		return plain
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(plain), []byte(col)))
}

// sealOnce seals a stored value unless it is sealed already (for
// SealSecrets; what users give is always sealed, whatever it looks like).
func sealOnce(b *SecretBox, col, v string) string {
	if strings.HasPrefix(v, sealedPrefix) {
		return v
	}
	return b.seal(col, v)
}

// errNoSecretKey: a sealed value, and no key to open it with.
var errNoSecretKey = errors.New("the database holds sealed secrets, and no secret key was given to open them")

// open returns what s holds for column col: s itself if it is not sealed
// (stored before sealing began).
func (b *SecretBox) open(col, s string) (string, error) {
	if !strings.HasPrefix(s, sealedPrefix) {
		return s, nil
	}
	if b == nil {
		return "", errNoSecretKey
	}
	raw, err := base64.RawStdEncoding.DecodeString(s[len(sealedPrefix):])
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", fmt.Errorf("open %s: malformed sealed value", col)
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(col))
	if err != nil {
		return "", fmt.Errorf("open %s: wrong key, or the value was changed or moved", col)
	}
	return string(plain), nil
}

// The columns that hold secrets, named as their additional data.
const (
	colChannelSecret = "channels.secret"
	colChannelSMTP   = "channels.smtp.password"
	colFeedPassword  = "taxii_feeds.password"
	colServerKey     = "server_keys.key"
	colFactorSecret  = "user_factors.secret"
)

// channelSMTP is a channel's SMTP settings as stored, the password sealed.
func (tx *Tx) channelSMTP(c *vigil.Channel) any {
	if c.SMTP == nil {
		return nil
	}
	s := *c.SMTP
	s.Password = tx.db.Secrets.seal(colChannelSMTP, s.Password)
	return mustJSON(&s)
}

// openChannel opens the sealed secrets of a channel read from the store.
func (tx *Tx) openChannel(c *vigil.Channel) (err error) {
	if c.Secret, err = tx.db.Secrets.open(colChannelSecret, c.Secret); err != nil {
		return err
	}
	if c.SMTP != nil {
		c.SMTP.Password, err = tx.db.Secrets.open(colChannelSMTP, c.SMTP.Password)
	}
	return err
}

// SealSecrets seals the secrets stored before sealing began (or before a
// key was given), once at start; with no key it does nothing.
func (db *DB) SealSecrets(ctx context.Context) (n int, err error) {
	box := db.Secrets
	if box == nil {
		return 0, nil
	}
	err = db.write(ctx, func(tx *Tx) error {
		n = 0
		type row struct {
			id             int64
			secret, smtp   string
			hasSMTP, dirty bool
		}
		chans, err := queryAll(tx, func(r rowScanner) (row, error) {
			var x row
			var smtp *string
			err := r.Scan(&x.id, &x.secret, &smtp)
			if smtp != nil {
				x.smtp, x.hasSMTP = *smtp, true
			}
			return x, err
		}, `SELECT id, secret, smtp FROM channels`)
		if err != nil {
			return err
		}
		for _, c := range chans {
			secret := sealOnce(box, colChannelSecret, c.secret)
			smtp := any(nil)
			if c.hasSMTP && c.smtp != "" {
				var cfg vigil.SMTPConfig
				if err := json.Unmarshal([]byte(c.smtp), &cfg); err != nil {
					return fmt.Errorf("channel %d smtp: %w", c.id, err)
				}
				sealed := sealOnce(box, colChannelSMTP, cfg.Password)
				c.dirty = sealed != cfg.Password
				cfg.Password = sealed
				smtp = mustJSON(&cfg)
			} else if c.hasSMTP {
				smtp = c.smtp
			}
			if secret == c.secret && !c.dirty {
				continue
			}
			if _, err := tx.exec(`UPDATE channels SET secret = ?, smtp = ? WHERE id = ?`, secret, smtp, c.id); err != nil {
				return err
			}
			n++
		}
		for _, t := range []struct{ table, key, col, name string }{
			{"taxii_feeds", "id", "password", colFeedPassword},
			{"mailboxes", "id", "password", colMailboxPassword},
			{"server_keys", "name", "key", colServerKey},
			{"oidc_providers", "id", "client_secret", colOIDCSecret},
			{"oidc_sessions", "session_id", "id_token", colOIDCIDToken},
			{"user_factors", "id", "secret", colFactorSecret},
		} {
			type kv struct {
				key any // the row's key, as the driver gives it back
				val string
			}
			vals, err := queryAll(tx, func(r rowScanner) (kv, error) {
				var v kv
				return v, r.Scan(&v.key, &v.val)
			}, `SELECT `+t.key+`, `+t.col+` FROM `+t.table)
			if err != nil {
				return err
			}
			for _, v := range vals {
				if sealed := sealOnce(box, t.name, v.val); sealed != v.val {
					if _, err := tx.exec(`UPDATE `+t.table+` SET `+t.col+` = ? WHERE `+t.key+` = ?`, sealed, v.key); err != nil {
						return err
					}
					n++
				}
			}
		}
		return nil
	})
	return n, err
}
