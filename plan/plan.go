// Package plan reads and writes response plans in their text format: a
// short header, a summary, then a section per phase with the steps, each
// with its owner, detail, checklist and links. It reads like the plan a
// team would keep in a document, it diffs well, and every mistake in it is
// reported with its line. It also holds Vigil's starter plans.
//
//	---
//	key: phishing
//	title: Phishing
//	types: phishing
//	severities: medium, high, critical      (optional: any severity)
//	contacts: it_operations, communications (optional)
//	---
//	What the plan is for, in a few lines.
//
//	## Guidance
//	- [Phishing attacks: defending your organisation](https://www.ncsc.gov.uk/guidance/phishing)
//
//	## Contain
//	### Block the sender and the links {#block-sender}
//	Owner: technical
//	What to do, in as many lines as it takes.
//	- [ ] One thing to tick off
//	- [A link for this step](https://example.org/how-to)
package plan

import (
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
)

// Limits on a plan.
const (
	MaxSource = 64 << 10
	MaxSteps  = 200
)

var (
	keyRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	stepKeyRE = regexp.MustCompile(`\s*\{#([^{}]*)\}\s*$`)
	linkRE    = regexp.MustCompile(`^- \[([^\]]+)\]\(([^)\s]+)\)$`)
	checkRE   = regexp.MustCompile(`^- \[[ xX]\] (.+)$`)
)

// parser holds the state of one Parse.
type parser struct {
	d       *vigil.PlanDefinition
	p       vigil.Problems
	line    int
	section string // "", "guidance" or a phase
	step    *vigil.PlanStep
	keys    map[string]int // step key -> line
	detail  []string
	summary []string
}

func (ps *parser) fail(field, format string, args ...any) {
	ps.p.Add("source", "Line %d, %s: %s", ps.line, field, fmt.Sprintf(format, args...))
}

// Parse reads a plan. Every problem is an EINVALID field error on "source"
// whose message starts with the line and the field at fault.
func Parse(src string) (*vigil.PlanDefinition, error) {
	ps := &parser{d: &vigil.PlanDefinition{}, keys: map[string]int{}}
	if len(src) > MaxSource {
		return nil, vigil.Invalid("source", "A plan may be at most %d KB.", MaxSource>>10)
	}
	if !utf8.ValidString(src) {
		return nil, vigil.Invalid("source", "The plan is not valid UTF-8 text.")
	}
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) || strings.TrimSpace(lines[i]) != "---" {
		ps.line = i + 1
		ps.fail("header", "a plan starts with a header between two lines of ---, holding key, title and types.")
		return nil, ps.p.Err()
	}
	start := i + 1
	i++
	for ; i < len(lines) && strings.TrimSpace(lines[i]) != "---"; i++ {
		ps.line = i + 1
		ps.header(lines[i])
	}
	if i == len(lines) {
		ps.line = start
		ps.fail("header", "the header has no closing ---.")
		return nil, ps.p.Err()
	}
	ps.line = start
	for _, f := range []struct {
		name string
		ok   bool
	}{{"key", ps.d.Key != ""}, {"title", ps.d.Title != ""}, {"types", len(ps.d.Types) > 0}} {
		if !f.ok {
			ps.fail(f.name, "required in the header.")
		}
	}
	for i++; i < len(lines); i++ {
		ps.line = i + 1
		ps.body(strings.TrimRight(lines[i], " \t"))
	}
	ps.endStep()
	ps.d.Summary = strings.TrimSpace(strings.Join(ps.summary, "\n"))
	// Lists are [] rather than null in JSON.
	if ps.d.Severities == nil {
		ps.d.Severities = []vigil.Severity{}
	}
	if ps.d.Contacts == nil {
		ps.d.Contacts = []vigil.ContactRole{}
	}
	if ps.d.Guidance == nil {
		ps.d.Guidance = []vigil.PlanLink{}
	}
	n := len(ps.d.Steps())
	switch {
	case n == 0:
		ps.p.Add("source", "The plan has no steps: add a phase (## Contain) with a step (### Block the sender).")
	case n > MaxSteps:
		ps.p.Add("source", "The plan has %d steps; at most %d.", n, MaxSteps)
	}
	if err := ps.p.Err(); err != nil {
		return nil, err
	}
	return ps.d, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func enumList[T ~string](ps *parser, field, v string, allowed []T) []T {
	var out []T
	for _, s := range splitList(v) {
		t := T(strings.ToLower(s))
		if !inList(t, allowed) {
			ps.fail(field, "unknown value %q; use %s.", s, join(allowed))
			continue
		}
		if !inList(t, out) {
			out = append(out, t)
		}
	}
	return out
}

func inList[T comparable](v T, vs []T) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func join[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func (ps *parser) header(line string) {
	if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
		return
	}
	name, v, ok := strings.Cut(line, ":")
	name, v = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(v)
	if !ok {
		ps.fail("header", "expected \"name: value\".")
		return
	}
	switch name {
	case "key":
		if !keyRE.MatchString(v) {
			ps.fail("key", "%q is not a key: lower-case letters, digits and dashes, at most 64.", v)
		}
		ps.d.Key = v
	case "title":
		if v == "" || utf8.RuneCountInString(v) > 200 {
			ps.fail("title", "give a title of at most 200 characters.")
		}
		ps.d.Title = v
	case "types":
		ps.d.Types = enumList(ps, "types", v, vigil.IncidentTypes)
		if len(ps.d.Types) == 0 {
			ps.fail("types", "name at least one incident type: %s.", join(vigil.IncidentTypes))
		}
	case "severities":
		ps.d.Severities = enumList(ps, "severities", v, vigil.Severities)
	case "contacts":
		ps.d.Contacts = enumList(ps, "contacts", v, vigil.ContactRoles)
	default:
		ps.fail(name, "unknown header field; use key, title, types, severities, contacts.")
	}
}

func (ps *parser) endStep() {
	if ps.step == nil {
		return
	}
	ps.step.Detail = strings.TrimSpace(strings.Join(ps.detail, "\n"))
	if utf8.RuneCountInString(ps.step.TaskDescription()) > vigil.MaxTaskDescLen {
		ps.fail("detail", "step %q says too much for a task (at most %d characters with its checklist).", ps.step.Title, vigil.MaxTaskDescLen)
	}
	ph := &ps.d.Phases[len(ps.d.Phases)-1]
	ph.Steps = append(ph.Steps, *ps.step)
	ps.step, ps.detail = nil, nil
}

func (ps *parser) link(text string) (vigil.PlanLink, bool) {
	m := linkRE.FindStringSubmatch(text)
	if m == nil {
		return vigil.PlanLink{}, false
	}
	u, err := url.Parse(m[2])
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		ps.fail("link", "%q is not an http or https address.", m[2])
	}
	return vigil.PlanLink{Title: strings.TrimSpace(m[1]), URL: m[2]}, true
}

func (ps *parser) body(line string) {
	t := strings.TrimSpace(line)
	switch {
	case strings.HasPrefix(t, "## "):
		ps.endStep()
		name := strings.ToLower(strings.TrimSpace(t[3:]))
		if name == "guidance" {
			ps.section = "guidance"
			return
		}
		ph := vigil.Phase(name)
		if !inList(ph, vigil.Phases) {
			ps.fail("phase", "%q is not a phase; use Guidance or one of %s.", t[3:], join(vigil.Phases))
			ps.section = "?"
			return
		}
		for _, have := range ps.d.Phases {
			if have.Phase == ph {
				ps.fail("phase", "%s appears twice; keep each phase's steps together.", t[3:])
			}
		}
		ps.d.Phases = append(ps.d.Phases, vigil.PlanPhase{Phase: ph})
		ps.section = name
	case strings.HasPrefix(t, "### "):
		ps.endStep()
		if ps.section == "" || ps.section == "guidance" || ps.section == "?" {
			ps.fail("step", "a step must be under a phase heading such as ## Contain.")
			ps.section = "?"
			return
		}
		title, key := t[4:], ""
		if m := stepKeyRE.FindStringSubmatchIndex(title); m != nil {
			key, title = title[m[2]:m[3]], title[:m[0]]
			if !keyRE.MatchString(key) {
				ps.fail("step", "{#%s} is not a key: lower-case letters, digits and dashes.", key)
			}
		} else {
			key = slug(title)
		}
		title = strings.TrimSpace(title)
		if title == "" || utf8.RuneCountInString(title) > vigil.MaxTaskTitleLen {
			ps.fail("step", "give the step a title of at most %d characters.", vigil.MaxTaskTitleLen)
		}
		if prev, dup := ps.keys[key]; dup {
			ps.fail("step", "the key %q is already the step on line %d; give one of them {#another-key}.", key, prev)
		}
		ps.keys[key] = ps.line
		ps.step = &vigil.PlanStep{Key: key, Title: title, Role: vigil.RoleLead, Checklist: []string{}, Links: []vigil.PlanLink{}}
	case strings.HasPrefix(t, "#"):
		ps.fail("heading", "use ## for a phase or Guidance and ### for a step.")
	case ps.section == "?":
		// Under a heading already reported.
	case ps.section == "guidance":
		if t == "" {
			return
		}
		if l, ok := ps.link(t); ok {
			ps.d.Guidance = append(ps.d.Guidance, l)
		} else {
			ps.fail("guidance", "list links, one per line, as - [title](https://…).")
		}
	case ps.step == nil && ps.section == "":
		ps.summary = append(ps.summary, line)
	case ps.step == nil:
		if t != "" {
			ps.fail("step", "text under a phase belongs to a step: start one with ### and its title.")
		}
	case strings.HasPrefix(strings.ToLower(t), "owner:"):
		role := vigil.IncidentRole(strings.ToLower(strings.TrimSpace(t[len("owner:"):])))
		if !inList(role, vigil.IncidentRoles) {
			ps.fail("owner", "%q is not an incident role; use %s.", role, join(vigil.IncidentRoles))
		}
		ps.step.Role = role
	default:
		if m := checkRE.FindStringSubmatch(t); m != nil {
			ps.step.Checklist = append(ps.step.Checklist, strings.TrimSpace(m[1]))
		} else if l, ok := ps.link(t); ok {
			ps.step.Links = append(ps.step.Links, l)
		} else {
			ps.detail = append(ps.detail, line)
		}
	}
}

// slug makes a step key from a title.
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" {
		s = "step"
	}
	return s
}

// Format writes a definition in the text format; Parse reads it back the same.
func Format(d *vigil.PlanDefinition) string {
	var b strings.Builder
	b.WriteString("---\n")
	fmt.Fprintf(&b, "key: %s\ntitle: %s\ntypes: %s\n", d.Key, d.Title, join(d.Types))
	if len(d.Severities) > 0 {
		fmt.Fprintf(&b, "severities: %s\n", join(d.Severities))
	}
	if len(d.Contacts) > 0 {
		fmt.Fprintf(&b, "contacts: %s\n", join(d.Contacts))
	}
	b.WriteString("---\n")
	if d.Summary != "" {
		b.WriteString(d.Summary + "\n")
	}
	if len(d.Guidance) > 0 {
		b.WriteString("\n## Guidance\n")
		for _, l := range d.Guidance {
			fmt.Fprintf(&b, "- [%s](%s)\n", l.Title, l.URL)
		}
	}
	for _, ph := range d.Phases {
		fmt.Fprintf(&b, "\n## %s\n", strings.ToUpper(string(ph.Phase[:1]))+string(ph.Phase[1:]))
		for _, s := range ph.Steps {
			fmt.Fprintf(&b, "### %s {#%s}\n", s.Title, s.Key)
			if s.Role != "" {
				fmt.Fprintf(&b, "Owner: %s\n", s.Role)
			}
			if s.Detail != "" {
				b.WriteString(s.Detail + "\n")
			}
			for _, c := range s.Checklist {
				fmt.Fprintf(&b, "- [ ] %s\n", c)
			}
			for _, l := range s.Links {
				fmt.Fprintf(&b, "- [%s](%s)\n", l.Title, l.URL)
			}
		}
	}
	return b.String()
}

//go:embed starter/*.md
var starterFS embed.FS

// Starter returns the sources of Vigil's starter plans, by file name.
func Starter() []string {
	names, _ := fs.Glob(starterFS, "starter/*.md")
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		b, _ := fs.ReadFile(starterFS, n)
		out = append(out, string(b))
	}
	return out
}

// starterRevisions are the changes this Vigil made to lines of earlier
// starter plans, each with its reason. A plan installed from an earlier
// starter set keeps the text it was installed with, since it is the
// organisation's to adapt and approve; Revise brings up to date the lines
// it still has exactly as Vigil shipped them, and leaves every other line
// alone.
var starterRevisions = []struct {
	why   string
	lines []starterLine
}{{
	why: "Report Fraud replaced Action Fraud on 4 December 2025 as the place to report fraud and cyber crime in England, " +
		"Wales and Northern Ireland (reportfraud.police.uk, 0300 123 2040; Police Scotland on 101 in Scotland).",
	lines: []starterLine{
		{"phishing", "If personal data was exposed, the ICO duty applies; if money was lost, report to Action Fraud.",
			"If personal data was exposed, the ICO duty applies; if money was lost, report to Report Fraud (Police Scotland on 101 in Scotland)."},
		{"ransomware", "- [Action Fraud](https://www.actionfraud.police.uk/)",
			"- [Report Fraud: report cyber crime (England, Wales and Northern Ireland)](https://www.reportfraud.police.uk/)"},
		{"ransomware", "Report to Action Fraud (Police Scotland in Scotland); law enforcement does not encourage paying.",
			"Report to Report Fraud, 0300 123 2040 (Police Scotland on 101 in Scotland); law enforcement does not encourage paying."},
		{"unauthorised-access", "Personal data accessed: the ICO within 72 hours of awareness unless unlikely to harm anyone. A crime: Action Fraud or the police.",
			"Personal data accessed: the ICO within 72 hours of awareness unless unlikely to harm anyone. A crime: Report Fraud (Police Scotland in Scotland) or the police."},
	},
}}

// starterLine is a line of the starter plan with the key, as an earlier
// Vigil shipped it and as this one does.
type starterLine struct{ key, old, new string }

// Revise brings the text of a plan installed from the starter plan with
// this key up to date: each line that still reads exactly as an earlier
// Vigil shipped it, and that this Vigil changed, becomes the new line.
// It returns the text and why it changed, or src and nil when nothing
// did. Lines someone edited are theirs, and stay as they are.
func Revise(key, src string) (string, []string) {
	lines := strings.Split(src, "\n")
	var why []string
	for _, r := range starterRevisions {
		changed := false
		for i, line := range lines {
			text := strings.TrimRight(line, " \t\r")
			for _, l := range r.lines {
				if l.key == key && text == l.old {
					lines[i] = l.new + strings.TrimPrefix(line, strings.TrimRight(line, "\r"))
					changed = true
				}
			}
		}
		if changed {
			why = append(why, r.why)
		}
	}
	if why == nil {
		return src, nil
	}
	return strings.Join(lines, "\n"), why
}

// DiffLine is one line of a comparison of two texts.
type DiffLine struct {
	Op   string // " " in both, "-" only in the old, "+" only in the new
	Text string
}

// Diff compares two plan texts line by line (longest common subsequence;
// plans are short, so its quadratic cost is small and bounded by MaxSource).
func Diff(old, new string) []DiffLine {
	a, b := strings.Split(strings.TrimRight(old, "\n"), "\n"), strings.Split(strings.TrimRight(new, "\n"), "\n")
	if len(a)*len(b) > 4_000_000 {
		a, b = a[:min(len(a), 2000)], b[:min(len(b), 2000)]
	}
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []DiffLine
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, DiffLine{" ", a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, DiffLine{"-", a[i]})
			i++
		default:
			out = append(out, DiffLine{"+", b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, DiffLine{"-", a[i]})
	}
	for ; j < len(b); j++ {
		out = append(out, DiffLine{"+", b[j]})
	}
	return out
}
