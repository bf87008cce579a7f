package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigil-ir/vigil"
)

// Public forms are made safe to send twice (a double click, a reload
// after a lost answer) with a hidden submit_token, the pages' equivalent
// of the API's Idempotency-Key: the server puts a new random token in each
// form it renders, and the submission is run once per token through the
// same IdempotencyService. A second submission with the same values gets
// the first answer; with other values (back, edit, send), a page that
// says it was sent already. The forms have no actor, so the tokens share
// the anonymous namespace, which is safe because nobody can guess one;
// and the kept answer (a receipt code) is sealed with a key made from the
// token, which the store never holds (it keeps a hash of it), so the
// database keeps no receipt code readable.

// submitTokenField is the hidden field that carries a form's token.
const submitTokenField = "submit_token"

// newSubmitToken returns a token for a form: 26 characters of base 32,
// 130 random bits.
func newSubmitToken() string { return rand.Text() }

// validSubmitToken reports whether t looks like one newSubmitToken made;
// a form without one is sent as before, without protection.
func validSubmitToken(t string) bool {
	if len(t) != 26 {
		return false
	}
	return strings.IndexFunc(t, func(r rune) bool { return (r < 'A' || r > 'Z') && (r < '2' || r > '7') }) < 0
}

// errFormInProgress, errFormSent and errFormLost are what the pages say to
// a form sent again while the first is running, or with other values, or
// after the first was received but its answer lost.
var (
	errFormInProgress = vigil.Errorf(vigil.ECONFLICT, "This form is being sent. Wait a moment, then reload the page.")
	errFormSent       = vigil.Errorf(vigil.EIDEMPOTENCY, "This form was sent already. To send something new, open the form again.")
	errFormLost       = vigil.Errorf(vigil.EANSWERLOST, "This form was received, but the answer to it was lost, so it cannot be shown again. It was not sent twice. To send something new, open the form again.")
)

// once runs submit at most once for the form's token. values are what the
// submission is (its fingerprint). submit runs with ctx, whose writes mark
// the token as used in their own transactions (see
// vigil.IdempotencyService): a form whose write committed is never filed
// again, even if the answer to it was lost. submit returns the answer to
// keep for a repeat, and keep false when the form is to be sent again (it
// is shown again with its errors): the token is then released. If the form
// was sent before with the same values, once returns the kept answer and
// submit does not run. Without a token, submit just runs.
func (h *Handler) once(r *http.Request, target string, values []string, submit func(ctx context.Context) (answer []byte, keep bool, err error)) ([]byte, error) {
	secret := r.PostFormValue(submitTokenField)
	svc := h.Services.Idempotency
	if svc == nil || !validSubmitToken(secret) {
		answer, _, err := submit(r.Context())
		return answer, err
	}
	ctx := context.WithoutCancel(r.Context()) // recorded even if the browser gave up
	fp := formFingerprint(values)
	k := vigil.IdempotencyKey{Target: target, Key: secret}
	token, kept, err := svc.ReserveKey(r.Context(), k)
	switch {
	case vigil.ErrorCode(err) == vigil.ECONFLICT:
		return nil, errFormInProgress
	case vigil.ErrorCode(err) == vigil.EANSWERLOST:
		return nil, errFormLost
	case err != nil:
		return nil, err
	case kept != nil:
		if kept.Replays(vigil.ActorFromContext(r.Context()), fp) != nil {
			return nil, errFormSent
		}
		return openAnswer(secret, kept.Body)
	}
	settled := false
	defer func() {
		if !settled {
			svc.ReleaseKey(ctx, k, token)
		}
	}()
	answer, keep, err := submit(vigil.NewContextWithIdempotencyClaim(r.Context(), k, token))
	if err != nil || !keep {
		return answer, err
	}
	sealed, err := sealAnswer(secret, answer)
	if err != nil {
		return nil, err
	}
	if err := svc.CompleteKey(ctx, k, token, &vigil.IdempotentAnswer{Fingerprint: fp, Status: http.StatusOK, Body: sealed}); err != nil {
		h.Logger.WarnContext(r.Context(), "record form answer", "err", err, "form", target)
	}
	settled = true
	return answer, nil
}

// formFingerprint is the SHA-256 of a form's values, each prefixed by its
// length so that no two lists of values share one.
func formFingerprint(values []string) string {
	h := sha256.New()
	for _, v := range values {
		binary.Write(h, binary.BigEndian, uint32(len(v)))
		h.Write([]byte(v))
	}
	return "form sha256:" + hex.EncodeToString(h.Sum(nil))
}

// answerCipher is AES-256-GCM under a key made from the form's token.
func answerCipher(secret string) (cipher.AEAD, error) {
	key := sha256.Sum256([]byte("vigil form answer\x00" + secret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealAnswer(secret string, answer []byte) ([]byte, error) {
	aead, err := answerCipher(secret)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, answer, nil), nil
}

func openAnswer(secret string, sealed []byte) ([]byte, error) {
	aead, err := answerCipher(secret)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("open form answer: too short")
	}
	answer, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return nil, fmt.Errorf("open form answer: %w", err)
	}
	return answer, nil
}
