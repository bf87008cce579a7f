package vigil_test

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

// TestCommonPasswordDenied is the deny-list finding of issue 21:
// "password1234" passed.
func TestCommonPasswordDenied(t *testing.T) {
	for _, pw := range []string{"password1234", "Password1234", "PASSWORD1234!", "qwertyuiop123", "!!dragon2024!!", "iloveyou1234",
		"qwertyqwerty", "123456789012", "monkeymonkey", "football2026", "aaaaaaaaaaaa", "abababababab"} {
		if err := vigil.ValidatePassword("new_password", pw, "alice"); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("%q was allowed (%v)", pw, err)
		}
	}
	for _, pw := range []string{"correct horse battery staple", "a brand new passphrase", "tangerine lamp quarry", "Vigil-on-call-rota-9"} {
		if err := vigil.ValidatePassword("new_password", pw, "alice"); err != nil {
			t.Errorf("%q was refused: %v", pw, err)
		}
	}
}
