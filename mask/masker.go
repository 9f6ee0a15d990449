package mask

import (
	"crypto/rand"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Recogniser kinds. The order is alphabetical so that Kinds is sorted.
const (
	kAWS uint16 = iota
	kCard
	kCredential
	kEmail
	kGitHub
	kHost
	kIPv4
	kIPv6
	kJDBC
	kJWT
	kPEM
	kPhone
	kRRN
	kSlack
	kSQL
	kURL
	numKinds
)

var kindNames = [numKinds]string{
	"aws_key", "card", "credential", "email", "github_token", "host", "ipv4", "ipv6", "jdbc", "jwt",
	"pem_key", "phone", "rrn", "slack_token", "sql_literal", "url",
}

// Kinds lists the built-in recogniser kinds, sorted. Custom recognisers report "custom:<name>".
func Kinds() []string { return append([]string(nil), kindNames[:]...) }

// Options configure a Masker.
type Options struct {
	// InternalSuffixes are the organisation's private DNS suffixes (".internal",
	// ".corp.example.com"). A dotted name ending in one is a hostname even without a public TLD.
	// Suffixes that end in a public TLD reveal the organisation and are themselves replaced (by a
	// token ending in ".internal"); private ones such as ".internal" are kept.
	InternalSuffixes []string
	// Custom are extra recognisers, e.g. for a role's or an organisation's own identifiers.
	Custom []CustomPattern
	// Disable switches recogniser kinds off: names from Kinds, or "custom:<name>".
	Disable []string
}

// CustomPattern is an extra recogniser. Pattern is a Go regular expression; the whole match, or
// group 1 when the pattern has one and it matched, is replaced by an opaque token (widened to the
// enclosing word when the match starts or ends inside one, so that the token stays a word).
type CustomPattern struct {
	Name    string
	Pattern string
}

// Match is one span of text that Mask replaces: Value is text[Start:End]. A structured value
// yields several matches; for example a JDBC URL yields its host, database, user and password,
// while its scheme and port stay as they are.
type Match struct {
	Kind  string `json:"kind"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Value string `json:"value"`
}

type suffix struct {
	s    string // lower case, without the leading dot
	mask bool   // ends in a public TLD, so it is replaced as a whole
}

type customPat struct {
	kind string
	re   *regexp.Regexp
}

// Masker finds sensitive values and replaces them with tokens. It is immutable after New and safe
// for concurrent use; the Vault passed to Mask is not.
type Masker struct {
	suffixes []suffix // longest first
	custom   []customPat
	off      [numKinds]bool
}

// defaultMasker serves a nil *Masker. It is built on first use: New needs the byte classes that
// an init function fills in, after package variables are initialised (built as a package
// variable, it silently lacked every built-in internal suffix).
var defaultMasker = sync.OnceValue(func() *Masker {
	m, err := New(Options{})
	if err != nil {
		panic(err)
	}
	return m
})

// New builds a Masker. It fails on an invalid custom pattern (naming it), an unknown kind in
// Disable or a malformed internal suffix.
func New(o Options) (*Masker, error) {
	m := &Masker{}
	disabled := map[string]bool{}
	for _, d := range o.Disable {
		disabled[d] = true
	}
	known := map[string]bool{}
	for k, n := range kindNames {
		known[n] = true
		if disabled[n] {
			m.off[k] = true
		}
	}
	names := map[string]bool{}
	for i, c := range o.Custom {
		if c.Name == "" {
			return nil, fmt.Errorf("mask: custom pattern %d (%q) has no name", i, c.Pattern)
		}
		if names[c.Name] {
			return nil, fmt.Errorf("mask: custom pattern %q is defined twice", c.Name)
		}
		names[c.Name] = true
		kind := "custom:" + c.Name
		known[kind] = true
		re, err := regexp.Compile(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("mask: custom pattern %q: %w", c.Name, err)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("mask: custom pattern %q matches the empty string", c.Name)
		}
		if !disabled[kind] {
			m.custom = append(m.custom, customPat{kind: kind, re: re})
		}
	}
	for _, d := range o.Disable {
		if !known[d] {
			return nil, fmt.Errorf("mask: Disable names unknown kind %q (see Kinds)", d)
		}
	}
	seen := map[string]bool{}
	add := func(s string, builtin bool) error {
		t := strings.ToLower(strings.TrimSpace(s))
		t = strings.TrimPrefix(t, ".")
		if t == "" || strings.HasSuffix(t, ".") || strings.Contains(t, "..") {
			return fmt.Errorf("mask: bad internal suffix %q", s)
		}
		for i := 0; i < len(t); i++ {
			if !isLabelByte(t[i]) && t[i] != '.' {
				return fmt.Errorf("mask: bad internal suffix %q", s)
			}
		}
		if seen[t] {
			return nil
		}
		seen[t] = true
		last := t[strings.LastIndexByte(t, '.')+1:]
		m.suffixes = append(m.suffixes, suffix{s: t, mask: !builtin && icannTLD(last)})
		return nil
	}
	for _, s := range o.InternalSuffixes {
		if err := add(s, false); err != nil {
			return nil, err
		}
	}
	for _, s := range builtinPrivate {
		_ = add(s, true)
	}
	sort.SliceStable(m.suffixes, func(i, j int) bool { return len(m.suffixes[i].s) > len(m.suffixes[j].s) })
	return m, nil
}

func (m *Masker) on(k uint16) bool { return !m.off[k] }

func (m *Masker) kindName(k uint16) string {
	if k < numKinds {
		return kindNames[k]
	}
	return m.custom[k-numKinds].kind
}

// Mask replaces every sensitive value in text by its token from v, adding new values to v with
// fresh tokens drawn from crypto/rand. A nil vault masks with a throw-away vault.
func (m *Masker) Mask(v *Vault, text string) string { return m.MaskWithRand(v, text, rand.Reader) }

// MaskWithRand is Mask with an explicit randomness source: given the same vault contents and the
// same random bytes the result is the same. If r fails, crypto/rand is used instead.
func (m *Masker) MaskWithRand(v *Vault, text string, r io.Reader) string {
	out, _, _ := m.mask(v, text, r, false)
	return out
}

// mask is MaskWithRand; with record it also returns each region's replacement and where it is
// in the result (for tests).
func (m *Masker) mask(v *Vault, text string, r io.Reader, record bool) (string, []string, [][2]int) {
	if m == nil {
		m = defaultMasker()
	}
	if v == nil {
		v = NewVault()
	}
	regs := m.recall(v, text, m.regions(text))
	if len(regs) == 0 {
		return text, nil, nil
	}
	if len(v.Entries) == 0 && len(regs) > 64 {
		v.reserve(len(regs))
	}
	v.index()
	rd := renderer{m: m, v: v, text: text}
	rd.g.r = r
	var b strings.Builder
	b.Grow(len(text) + len(text)/16 + 64)
	var reps []string
	var spans [][2]int
	last := 0
	for _, rg := range regs {
		b.WriteString(text[last:rg.start])
		n := b.Len()
		rd.region(&b, rg)
		if record {
			reps = append(reps, b.String()[n:])
			spans = append(spans, [2]int{n, b.Len()})
		}
		last = rg.end
	}
	b.WriteString(text[last:])
	return b.String(), reps, spans
}

// Find reports what Mask would replace, in text order, without touching a vault.
func (m *Masker) Find(text string) []Match {
	if m == nil {
		m = defaultMasker()
	}
	regs := m.recall(nil, text, m.regions(text))
	out := make([]Match, len(regs))
	for i, rg := range regs {
		out[i] = Match{Kind: m.kindName(rg.kind), Start: rg.start, End: rg.end, Value: text[rg.start:rg.end]}
	}
	return out
}

// regions runs the custom patterns and the single-pass scanner.
func (m *Masker) regions(text string) []region {
	sc := scanner{m: m, s: text, pemNo: len(text) + 1, regs: make([]region, 0, 16+len(text)/128)}
	pos := 0
	for _, c := range m.customSpans(text) {
		sc.scan(pos, c.start)
		sc.add(c.start, c.end, c.kind, shName, 0)
		pos = c.end
	}
	sc.scan(pos, len(text))
	return sc.regs
}

type span struct {
	start, end int
	kind       uint16
}

func (m *Masker) customSpans(text string) []span {
	if len(m.custom) == 0 {
		return nil
	}
	var all []span
	for ci, c := range m.custom {
		for _, ix := range c.re.FindAllStringSubmatchIndex(text, -1) {
			a, b := ix[0], ix[1]
			if len(ix) >= 4 && ix[2] >= 0 && ix[3] > ix[2] {
				a, b = ix[2], ix[3]
			}
			if a >= b {
				continue
			}
			// Widen to the enclosing word so that the token is bounded by non-alphanumerics.
			for a > 0 && isAlnum(text[a]) && isAlnum(text[a-1]) {
				a--
			}
			for b < len(text) && isAlnum(text[b-1]) && isAlnum(text[b]) {
				b++
			}
			all = append(all, span{a, b, numKinds + uint16(ci)})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].start < all[j].start })
	out := all[:0]
	end := 0
	for _, s := range all {
		if s.start < end {
			continue
		}
		out = append(out, s)
		end = s.end
	}
	return out
}
