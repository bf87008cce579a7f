package vigil

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

// commonPasswords is the deny-list of new passwords: the 49,233 most
// common passwords of breached-password corpora as the zxcvbn-ts project
// ships them (npm @zxcvbn-ts/language-common 4.1.3, src/passwords.json,
// MIT licence: passwords/LICENSE.txt), one a line, lower case, most common
// first. docs/identity.md says how it is used.
//
//go:embed passwords/common.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 50000)
	for _, p := range strings.Split(commonPasswordsText, "\n") {
		if p != "" {
			m[p] = struct{}{}
		}
	}
	return m
})

// CommonPassword reports whether pw is on the deny-list: itself (in any
// case), or a listed password with digits, punctuation or spaces added
// before or after it ("password1234", "!dragon2024"), or one repeated
// ("qwertyqwerty").
func CommonPassword(pw string) bool {
	list := commonPasswords()
	low := strings.ToLower(pw)
	if _, ok := list[low]; ok {
		return true
	}
	base := strings.TrimFunc(low, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	if base == "" {
		return true // nothing but digits and punctuation
	}
	if _, ok := list[base]; ok {
		return true
	}
	for n := 1; n <= len(base)/2; n++ {
		if len(base)%n == 0 && strings.Repeat(base[:n], len(base)/n) == base {
			if _, ok := list[base[:n]]; ok || n <= 2 {
				return true
			}
		}
	}
	return false
}
