package stix

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A STIX 2.1 pattern (specification section 9; grammar STIXPattern.g4 of
// the OASIS schemas repository) is one or more observation expressions,
// [comparisons], joined by AND, OR and FOLLOWEDBY, grouped with
// parentheses and qualified by WITHIN, REPEATS or START … STOP. Vigil
// parses the whole grammar, to refuse an invalid pattern with the place it
// goes wrong, and keeps the comparisons, which IOC matching reads.

// Comparison is one comparison of a pattern: type:path op value.
type Comparison struct {
	Type   string   // the object type, such as ipv4-addr
	Path   string   // the property path, such as value or hashes.'SHA-256'
	Op     string   // =, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET, EXISTS
	Not    bool     // NOT before the operator
	Values []string // string values unquoted; other literals as written
}

// Pattern is a parsed pattern.
type Pattern struct {
	Comparisons []Comparison
	// Simple says the pattern is one or more comparisons joined only by
	// OR, with no qualifiers: each comparison alone matches it, so each
	// is an indicator value on its own.
	Simple bool
}

// ParsePattern parses a STIX 2.1 pattern.
func ParsePattern(s string) (*Pattern, error) {
	if len(s) > 1<<20 {
		return nil, errors.New("pattern longer than 1 MiB")
	}
	p := &patternParser{src: s, simple: true}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if err := p.observationExpressions(0); err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.pos].text)
	}
	return &Pattern{Comparisons: p.comps, Simple: p.simple}, nil
}

type tokKind int

const (
	tIdent tokKind = iota
	tString
	tNumber
	tPunct // [ ] ( ) : . , and operators
	tTimestamp
)

type token struct {
	kind tokKind
	text string
	at   int
}

type patternParser struct {
	src    string
	toks   []token
	pos    int
	comps  []Comparison
	simple bool
	depth  int
}

func (p *patternParser) errorf(format string, args ...any) error {
	at := len(p.src)
	if p.pos < len(p.toks) {
		at = p.toks[p.pos].at
	}
	return fmt.Errorf("pattern: at %d: %s", at, fmt.Sprintf(format, args...))
}

func (p *patternParser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return fmt.Errorf("pattern: at %d: unterminated string", i)
				}
				if s[j] == '\\' {
					if j+1 < len(s) && (s[j+1] == '\'' || s[j+1] == '\\') {
						b.WriteByte(s[j+1])
						j += 2
						continue
					}
					return fmt.Errorf("pattern: at %d: a backslash in a string escapes only ' and \\", j)
				}
				if s[j] == '\'' {
					break
				}
				b.WriteByte(s[j])
				j++
			}
			p.toks = append(p.toks, token{tString, b.String(), i})
			i = j + 1
		case r == 't' && strings.HasPrefix(s[i:], "t'"):
			end := strings.IndexByte(s[i+2:], '\'')
			if end < 0 {
				return fmt.Errorf("pattern: at %d: unterminated timestamp", i)
			}
			ts := s[i+2 : i+2+end]
			if _, err := ParseTimestamp(ts); err != nil {
				return fmt.Errorf("pattern: at %d: %v", i, err)
			}
			p.toks = append(p.toks, token{tTimestamp, ts, i})
			i += end + 3
		case r == 'h' && strings.HasPrefix(s[i:], "h'"), r == 'b' && strings.HasPrefix(s[i:], "b'"):
			end := strings.IndexByte(s[i+2:], '\'')
			if end < 0 {
				return fmt.Errorf("pattern: at %d: unterminated literal", i)
			}
			p.toks = append(p.toks, token{tString, s[i+2 : i+2+end], i})
			i += end + 3
		case r == '-' || r == '+' || (r >= '0' && r <= '9'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			num := s[i:j]
			if _, err := strconv.ParseFloat(num, 64); err != nil {
				return fmt.Errorf("pattern: at %d: %q is not a number", i, num)
			}
			p.toks = append(p.toks, token{tNumber, num, i})
			i = j
		case r == '_' || unicode.IsLetter(r):
			j := i
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if r2 != '_' && r2 != '-' && !unicode.IsLetter(r2) && !unicode.IsDigit(r2) {
					break
				}
				j += w2
			}
			p.toks = append(p.toks, token{tIdent, s[i:j], i})
			i = j
		default:
			for _, op := range []string{"!=", "<>", "<=", ">=", "==", "[", "]", "(", ")", ":", ".", ",", "=", "<", ">", "*"} {
				if strings.HasPrefix(s[i:], op) {
					p.toks = append(p.toks, token{tPunct, op, i})
					i += len(op)
					goto next
				}
			}
			return fmt.Errorf("pattern: at %d: unexpected %q", i, r)
		next:
		}
	}
	return nil
}

func (p *patternParser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *patternParser) is(text string) bool {
	t := p.peek()
	return t != nil && (t.kind == tPunct || t.kind == tIdent) && t.text == text // keywords are upper case
}

func (p *patternParser) expect(text string) error {
	if !p.is(text) {
		if t := p.peek(); t != nil {
			return p.errorf("expected %s, found %q", text, t.text)
		}
		return p.errorf("expected %s at the end", text)
	}
	p.pos++
	return nil
}

// observationExpressions: one or more observations joined by OR, AND or
// FOLLOWEDBY, each with optional qualifiers.
func (p *patternParser) observationExpressions(depth int) error {
	if depth > 100 {
		return p.errorf("nested too deep")
	}
	for {
		switch {
		case p.is("["):
			p.pos++
			if err := p.comparisonExpression(); err != nil {
				return err
			}
			if err := p.expect("]"); err != nil {
				return err
			}
		case p.is("("):
			p.pos++
			p.simple = false
			if err := p.observationExpressions(depth + 1); err != nil {
				return err
			}
			if err := p.expect(")"); err != nil {
				return err
			}
		default:
			if t := p.peek(); t != nil {
				return p.errorf("expected [ or (, found %q", t.text)
			}
			return p.errorf("expected [ or ( at the end")
		}
		if err := p.qualifiers(); err != nil {
			return err
		}
		switch {
		case p.is("OR"):
			p.pos++
		case p.is("AND"), p.is("FOLLOWEDBY"):
			p.pos++
			p.simple = false
		default:
			return nil
		}
	}
}

func (p *patternParser) qualifiers() error {
	for {
		switch {
		case p.is("WITHIN"):
			p.pos++
			if t := p.peek(); t == nil || t.kind != tNumber {
				return p.errorf("WITHIN needs a number of SECONDS")
			}
			p.pos++
			if err := p.expect("SECONDS"); err != nil {
				return err
			}
		case p.is("REPEATS"):
			p.pos++
			if t := p.peek(); t == nil || t.kind != tNumber {
				return p.errorf("REPEATS needs a number of TIMES")
			}
			p.pos++
			if err := p.expect("TIMES"); err != nil {
				return err
			}
		case p.is("START"):
			p.pos++
			if t := p.peek(); t == nil || t.kind != tTimestamp {
				return p.errorf("START needs a t'…' timestamp")
			}
			p.pos++
			if err := p.expect("STOP"); err != nil {
				return err
			}
			if t := p.peek(); t == nil || t.kind != tTimestamp {
				return p.errorf("STOP needs a t'…' timestamp")
			}
			p.pos++
		default:
			return nil
		}
		p.simple = false
	}
}

// comparisonExpression: comparisons joined by AND and OR, with
// parentheses, inside [ ].
func (p *patternParser) comparisonExpression() error {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 100 {
		return p.errorf("nested too deep")
	}
	for {
		if p.is("(") {
			p.pos++
			if err := p.comparisonExpression(); err != nil {
				return err
			}
			if err := p.expect(")"); err != nil {
				return err
			}
		} else if err := p.comparison(); err != nil {
			return err
		}
		switch {
		case p.is("OR"):
			p.pos++
		case p.is("AND"):
			p.pos++
			p.simple = false
		default:
			return nil
		}
	}
}

func (p *patternParser) comparison() error {
	var c Comparison
	if p.is("EXISTS") {
		p.pos++
		c.Op = "EXISTS"
		p.simple = false
	}
	t := p.peek()
	if t == nil || t.kind != tIdent {
		return p.errorf("expected an object type such as ipv4-addr")
	}
	c.Type = t.text
	if !typeRE.MatchString(c.Type) {
		return p.errorf("%q is not a STIX type name", c.Type)
	}
	p.pos++
	if err := p.expect(":"); err != nil {
		return err
	}
	path, err := p.path()
	if err != nil {
		return err
	}
	c.Path = path
	if c.Op == "EXISTS" {
		p.comps = append(p.comps, c)
		return nil
	}
	if p.is("NOT") {
		p.pos++
		c.Not = true
		p.simple = false
	}
	t = p.peek()
	if t == nil {
		return p.errorf("expected an operator")
	}
	switch op := strings.ToUpper(t.text); {
	case t.kind == tPunct && strings.Contains("= == != <> < <= > >=", op) && op != "":
		c.Op = map[string]string{"==": "=", "<>": "!="}[op]
		if c.Op == "" {
			c.Op = op
		}
	case t.kind == tIdent && t.text == op && (op == "IN" || op == "LIKE" || op == "MATCHES" || op == "ISSUBSET" || op == "ISSUPERSET"):
		c.Op = op
	default:
		return p.errorf("%q is not a comparison operator", t.text)
	}
	p.pos++
	if c.Op != "=" && c.Op != "ISSUBSET" && c.Op != "IN" {
		p.simple = false
	}
	if c.Op == "IN" {
		if err := p.expect("("); err != nil {
			return err
		}
		for {
			v, err := p.literal()
			if err != nil {
				return err
			}
			c.Values = append(c.Values, v)
			if p.is(",") {
				p.pos++
				continue
			}
			break
		}
		if err := p.expect(")"); err != nil {
			return err
		}
	} else {
		v, err := p.literal()
		if err != nil {
			return err
		}
		c.Values = []string{v}
	}
	p.comps = append(p.comps, c)
	return nil
}

func (p *patternParser) literal() (string, error) {
	t := p.peek()
	if t == nil {
		return "", p.errorf("expected a value")
	}
	switch {
	case t.kind == tString, t.kind == tNumber, t.kind == tTimestamp:
	case t.kind == tIdent && (t.text == "true" || t.text == "false"):
	default:
		return "", p.errorf("expected a value, found %q", t.text)
	}
	p.pos++
	return t.text, nil
}

// path reads a property path: name(.name | .'quoted' | [index])*.
func (p *patternParser) path() (string, error) {
	var b strings.Builder
	t := p.peek()
	if t == nil || (t.kind != tIdent && t.kind != tString) {
		return "", p.errorf("expected a property name")
	}
	if t.kind == tIdent && strings.Contains(t.text, "-") {
		return "", p.errorf("a property name with a hyphen is quoted: '%s'", t.text)
	}
	b.WriteString(t.text)
	p.pos++
	for {
		switch {
		case p.is("."):
			p.pos++
			t := p.peek()
			if t == nil || (t.kind != tIdent && t.kind != tString) {
				return "", p.errorf("expected a property name after .")
			}
			if t.kind == tIdent && strings.Contains(t.text, "-") {
				return "", p.errorf("a property name with a hyphen is quoted: '%s'", t.text)
			}
			b.WriteString("." + t.text)
			p.pos++
		case p.is("["):
			p.pos++
			t := p.peek()
			if t == nil || !(t.kind == tNumber || (t.kind == tPunct && t.text == "*")) {
				return "", p.errorf("expected an index or * in [ ]")
			}
			b.WriteString("[" + t.text + "]")
			p.pos++
			if err := p.expect("]"); err != nil {
				return "", err
			}
		default:
			return b.String(), nil
		}
	}
}
