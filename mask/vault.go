package mask

import (
	"sort"
	"strings"
)

// Entry is one value↔token pair of a Vault. Kind is the recogniser that first saw the value.
type Entry struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	Token string `json:"token"`
}

// Vault is the value↔token map of one scope (an incident, a deployment, a tuning run). It lives
// in workflow state, so it round-trips through encoding/json; Entries keep insertion order and
// should be treated as read-only. A value has one token for masking; after Merge it may have
// more than one (aliases), and Unmask restores them all.
//
// A Vault holds the original secrets in the clear: keep it in encrypted workflow payloads only.
// It is not safe for concurrent use.
type Vault struct {
	Entries []Entry `json:"entries"`

	n       int               // entries indexed so far
	byValue map[string]int    // value → first entry with that value
	byToken map[string]int    // lower-case token → entry
	runLens [maxRun + 1][]int // by length of the token's leading alphanumeric run: distinct token lengths, longest first
	first   [256]bool         // lower-case first bytes of tokens
	recall  map[string][]int  // recallable values by their leading alphanumeric run: entries, longest value first
	// recallLens has bit min(n, 63) set for every key length n of recall.
	recallLens uint64
}

// maxRun caps the leading-run buckets of the unmask index.
const maxRun = 64

// NewVault returns an empty vault.
func NewVault() *Vault { return &Vault{} }

// Len is the number of entries.
func (v *Vault) Len() int {
	if v == nil {
		return 0
	}
	return len(v.Entries)
}

// index brings the lookup maps up to date with Entries (after JSON decoding or appends).
func (v *Vault) index() {
	if v.byValue != nil && v.n == len(v.Entries) {
		return
	}
	if v.byValue == nil || v.n > len(v.Entries) {
		v.byValue = make(map[string]int, len(v.Entries))
		v.byToken = make(map[string]int, len(v.Entries))
		v.recall, v.recallLens = nil, 0
		v.runLens = [maxRun + 1][]int{}
		v.first = [256]bool{}
		v.n = 0
	}
	for ; v.n < len(v.Entries); v.n++ {
		e := v.Entries[v.n]
		if e.Token == "" {
			continue
		}
		if _, ok := v.byValue[e.Value]; !ok {
			v.byValue[e.Value] = v.n
			if recallable(e.Value) {
				v.addRecall(v.n)
			}
		}
		lt := strings.ToLower(e.Token)
		if _, ok := v.byToken[lt]; ok {
			continue
		}
		v.byToken[lt] = v.n
		v.first[lt[0]] = true
		fr := 0
		for fr < len(lt) && isAlnum(lt[fr]) {
			fr++
		}
		lens := v.runLens[min(fr, maxRun)]
		if k := sort.Search(len(lens), func(i int) bool { return lens[i] <= len(lt) }); k == len(lens) || lens[k] != len(lt) {
			lens = append(lens, 0)
			copy(lens[k+1:], lens[k:])
			lens[k] = len(lt)
			v.runLens[min(fr, maxRun)] = lens
		}
	}
}

// addRecall indexes entry i's value for recall, longest values of a key first.
func (v *Vault) addRecall(i int) {
	if v.recall == nil {
		v.recall = map[string][]int{}
	}
	val := v.Entries[i].Value
	k := firstRun(val)
	v.recallLens |= 1 << min(len(k), 63)
	xs := v.recall[k]
	p := 0
	for p < len(xs) && len(v.Entries[xs[p]].Value) >= len(val) {
		p++
	}
	xs = append(xs, 0)
	copy(xs[p+1:], xs[p:])
	xs[p] = i
	v.recall[k] = xs
}

// reserve sizes an empty vault's maps for about n values.
func (v *Vault) reserve(n int) {
	v.byValue = make(map[string]int, n)
	v.byToken = make(map[string]int, n)
	v.recall, v.recallLens = nil, 0
	v.Entries = make([]Entry, 0, n/2)
	v.n = 0
}

func (v *Vault) add(kind, value, token string) {
	v.Entries = append(v.Entries, Entry{Kind: kind, Value: value, Token: token})
	v.index()
}

// tokenOf returns the token of value, if any.
func (v *Vault) tokenOf(value string) (string, bool) {
	if i, ok := v.byValue[value]; ok {
		return v.Entries[i].Token, true
	}
	return "", false
}

// isToken reports whether s is (case-insensitively) one of the vault's tokens.
func (v *Vault) isToken(s string) bool {
	if len(s) == 0 || !v.first[lower(s[0])] {
		return false
	}
	_, ok := v.byToken[strings.ToLower(s)]
	return ok
}

// Merge adds the entries of other that v does not have yet; it is how a workflow takes back the
// vault an activity extended. An entry whose token v already has is skipped; an entry whose value
// v has under another token is added as an alias, so text masked by either side still unmasks.
func (v *Vault) Merge(other *Vault) {
	if other == nil || other == v {
		return
	}
	v.index()
	for _, e := range other.Entries {
		if e.Token == "" {
			continue
		}
		if _, ok := v.byToken[strings.ToLower(e.Token)]; ok {
			continue
		}
		v.add(e.Kind, e.Value, e.Token)
	}
}

// Unmask replaces every token of v found in text by its value. Tokens match case-insensitively
// and only as whole words (not inside a longer run of letters and digits), longest first, so an
// answer that quotes a token in backticks or quotes or upper-cases it is still restored. Text
// without tokens is returned unchanged.
func Unmask(v *Vault, text string) string {
	if v == nil || len(v.Entries) == 0 || text == "" {
		return text
	}
	v.index()
	var b strings.Builder
	var buf []byte
	last := 0
	for i := 0; i < len(text); {
		c := text[i]
		if c == '\\' && i+1 < len(text) { // skip escapes (\n, \t, \"...) as the scanner does
			switch text[i+1] {
			case 'n', 'r', 't', 'b', 'f', '"', '\\', '/':
				i += 2
				continue
			}
		}
		if !v.first[lower(c)] {
			i++
			continue
		}
		// Candidates are the tokens whose leading alphanumeric run is as long as the text's run
		// here (a token is a whole word), or, at a non-alphanumeric byte, the tokens starting
		// with one (phone numbers).
		r, next := i, i+1
		if isAlnum(c) {
			for r < len(text) && isAlnum(text[r]) {
				r++
			}
			next = r
			if i > 0 && isAlnum(text[i-1]) && !escBefore(text, i) {
				i = next
				continue
			}
		}
		for _, L := range v.runLens[min(r-i, maxRun)] {
			j := i + L
			if j > len(text) || (j < len(text) && isAlnum(text[j-1]) && isAlnum(text[j])) {
				continue
			}
			buf = buf[:0]
			for k := i; k < j; k++ {
				buf = append(buf, lower(text[k]))
			}
			idx, ok := v.byToken[string(buf)]
			if !ok {
				continue
			}
			e := &v.Entries[idx]
			if !leftOK(text, i, e.Token) || !rightOK(text, j, e.Token) {
				continue
			}
			if b.Len() == 0 {
				b.Grow(len(text) + 64)
			}
			b.WriteString(text[last:i])
			b.WriteString(e.Value)
			last, next = j, j
			break
		}
		i = next
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// numericTok reports a token made of digits and dots only (numbers, IPv4): for those a
// neighbouring ".<digit>" also continues the word, so 198.18.0.7 does not match inside
// 198.18.0.71 or 1.198.18.0.7.
func numericTok(t string) bool {
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) && t[i] != '.' {
			return false
		}
	}
	return true
}

func leftOK(text string, i int, tok string) bool {
	if i == 0 || !isAlnum(tok[0]) {
		return true
	}
	p := text[i-1]
	if isAlnum(p) {
		return escBefore(text, i)
	}
	return !(p == '.' && i >= 2 && isDigit(text[i-2]) && numericTok(tok))
}

func rightOK(text string, j int, tok string) bool {
	if j >= len(text) || !isAlnum(tok[len(tok)-1]) {
		return true
	}
	c := text[j]
	if isAlnum(c) {
		return false
	}
	return !(c == '.' && j+1 < len(text) && isDigit(text[j+1]) && numericTok(tok))
}
