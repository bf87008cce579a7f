package vigil

import (
	"strings"
)

// TLP is a Traffic Light Protocol 2.0 label (FIRST, 2022). It says how far
// information may be shared. Inside Vigil only RED restricts who may read:
// a TLP:RED incident is visible to its members and administrators only.
type TLP string

// The TLP 2.0 labels, from least to most restrictive.
const (
	TLPClear       TLP = "CLEAR"
	TLPGreen       TLP = "GREEN"
	TLPAmber       TLP = "AMBER"
	TLPAmberStrict TLP = "AMBER+STRICT"
	TLPRed         TLP = "RED"
)

// TLPs lists the labels from least to most restrictive.
var TLPs = []TLP{TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed}

// ParseTLP accepts a label in any case, with or without the "TLP:" prefix,
// and "AMBER STRICT" for AMBER+STRICT (a "+" in a URL query decodes as a space).
func ParseTLP(s string) (TLP, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "TLP:")
	s = strings.ReplaceAll(s, " ", "+")
	if s == "WHITE" { // TLP 1.0's name for CLEAR
		s = "CLEAR"
	}
	for _, t := range TLPs {
		if string(t) == s {
			return t, true
		}
	}
	return "", false
}

// Valid reports whether t is one of the TLP 2.0 labels.
func (t TLP) Valid() bool {
	_, ok := ParseTLP(string(t))
	return ok && string(t) == strings.ToUpper(string(t))
}

// Rank orders labels: CLEAR is 0, RED is 4; -1 for an invalid label.
func (t TLP) Rank() int {
	for i, x := range TLPs {
		if x == t {
			return i
		}
	}
	return -1
}
