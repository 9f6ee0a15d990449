package mask

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func testMasker(t testing.TB) *Masker {
	t.Helper()
	m, err := New(testOptions)
	require.NoError(t, err)
	return m
}

func found(m *Masker, text string) []string {
	var out []string
	for _, f := range m.Find(text) {
		out = append(out, f.Kind+":"+f.Value)
	}
	return out
}

// checkMasked verifies the masking properties for one input with a fresh vault and returns the
// masked text: Find's spans are ordered and consistent, the text outside them is unchanged, no
// replacement contains its original value as a whole word, and Unmask restores the input.
func checkMasked(t testing.TB, m *Masker, in string, r *rand.Rand) string {
	t.Helper()
	v := NewVault()
	matches := m.Find(in)
	out, reps, _ := m.mask(v, in, r, true)
	require.Len(t, reps, len(matches))
	var stitched strings.Builder
	var tokens [][2]int // where the replacements are in out
	last := 0
	for i, f := range matches {
		require.GreaterOrEqual(t, f.Start, last, "matches overlap or are out of order: %+v", matches)
		require.Less(t, f.Start, f.End)
		require.Equal(t, in[f.Start:f.End], f.Value)
		require.Falsef(t, containsWord(reps[i], f.Value), "replacement %q of %s %q still contains the value", reps[i], f.Kind, f.Value)
		stitched.WriteString(in[last:f.Start])
		tokens = append(tokens, [2]int{stitched.Len(), stitched.Len() + len(reps[i])})
		stitched.WriteString(reps[i])
		last = f.End
	}
	stitched.WriteString(in[last:])
	require.Equal(t, stitched.String(), out, "text outside the matches changed")
	require.Equal(t, in, Unmask(v, out), "round trip")
	requireNoValueLeft(t, v, out, tokens)
	return out
}

// requireNoValueLeft checks recall: no value of the vault that is masked wherever it occurs
// (recallable) is left as a word anywhere in the masked text outside the tokens.
func requireNoValueLeft(t testing.TB, v *Vault, out string, tokens [][2]int) {
	t.Helper()
	inToken := func(a, b int) bool {
		for _, tk := range tokens {
			if a < tk[1] && b > tk[0] {
				return true
			}
		}
		return false
	}
	for _, e := range v.Entries {
		if !recallable(e.Value) {
			continue
		}
		for i := 0; ; {
			k := strings.Index(out[i:], e.Value)
			if k < 0 {
				break
			}
			k += i
			j := k + len(e.Value)
			if recallWord(out, k, j, e.Value) && !inToken(k, j) && !inScheme(out, k, j) {
				t.Fatalf("%s value %q is left in the masked text at %d: %q", e.Kind, e.Value, k, out)
			}
			i = k + 1
		}
	}
}

// containsWord reports a case-insensitive occurrence of w in s that is not part of a longer
// word (by the same boundary rules Unmask uses).
func containsWord(s, w string) bool {
	ls, lw := strings.ToLower(s), strings.ToLower(w)
	for i := 0; ; {
		k := strings.Index(ls[i:], lw)
		if k < 0 {
			return false
		}
		k += i
		if leftOK(ls, k, lw) && rightOK(ls, k+len(lw), lw) {
			return true
		}
		i = k + 1
	}
}

func TestRecognisers(t *testing.T) {
	m := testMasker(t)
	r := rand.New(rand.NewSource(1))
	for _, c := range recogniserCases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.found, found(m, c.in))
			out := checkMasked(t, m, c.in, r)
			for _, k := range c.keep {
				require.Contains(t, out, k)
			}
			if c.shape != "" {
				require.Regexp(t, shapeRE(c.shape), out)
			}
			if c.found != nil {
				require.NotEqual(t, c.in, out)
			}
		})
	}
}

func TestNegatives(t *testing.T) {
	m := testMasker(t)
	for _, in := range negativeCases {
		require.Empty(t, found(m, in), "input: %q", in)
		v := NewVault()
		require.Equal(t, in, m.Mask(v, in))
		require.Zero(t, v.Len())
	}
}

func TestTokenShapes(t *testing.T) {
	m := testMasker(t)
	v := NewVault()
	m.Mask(v, "a@b.com jdbc:mysql://x:1/y pwd=1 10.0.0.1 2001:db8::5 UPDATE t SET a = 12345, b = 'q'")
	for _, e := range v.Entries {
		switch e.Kind {
		case "email", "jdbc", "credential":
			require.Regexp(t, `^`+reTok+`$`, e.Token, "%+v", e)
		case "ipv4":
			require.Regexp(t, `^198\.18\.\d+\.\d+$`, e.Token)
		case "ipv6":
			require.Regexp(t, `^2001:db8(:[0-9a-f]{1,4}){6}$`, e.Token)
		}
	}
	require.Len(t, v.Entries, 9) // a b x y 1 10.0.0.1 2001:db8::5 12345 q; "com" is kept
}

func TestConsistencyAcrossMessages(t *testing.T) {
	m := testMasker(t)
	v := NewVault()
	a := m.Mask(v, "jdbc:mysql://real-db.example.com:3306/real_db failed for alice@example.com from 10.1.2.3")
	b := m.Mask(v, "retrying real-db.example.com as alice@example.com; peer 10.1.2.3:4444")
	tok := func(val string) string {
		t.Helper()
		tk, ok := v.tokenOf(val)
		require.True(t, ok, val)
		return tk
	}
	for _, val := range []string{"real-db", "example", "alice", "10.1.2.3"} {
		require.Contains(t, a, tok(val))
		require.Contains(t, b, tok(val))
	}
	n := v.Len()
	c := m.Mask(v, "again real-db.example.com and 10.1.2.3")
	require.Equal(t, n, v.Len(), "no new entries for known values")
	require.Equal(t, tok("real-db")+"."+tok("example")+".com and "+tok("10.1.2.3"), strings.TrimPrefix(c, "again "))
	require.Equal(t, "again real-db.example.com and 10.1.2.3", Unmask(v, c))
}

func TestVaultJSON(t *testing.T) {
	m := testMasker(t)
	v := NewVault()
	in := "jdbc:oracle:thin:scott/tiger@db1.corp.example.com:1521:ORCL, alice@example.com, 010-1234-5678"
	out := m.Mask(v, in)
	data, err := json.Marshal(v)
	require.NoError(t, err)
	var w Vault
	require.NoError(t, json.Unmarshal(data, &w))
	require.Equal(t, v.Entries, w.Entries, "entries keep insertion order")
	require.Equal(t, in, Unmask(&w, out))
	// The decoded vault keeps masking consistently.
	require.Equal(t, out, m.Mask(&w, in))
	require.Equal(t, v.Len(), w.Len())
	require.Contains(t, string(data), `"entries":[{"kind":"jdbc","value":"scott","token":"`)
}

func TestMerge(t *testing.T) {
	m := testMasker(t)
	base := NewVault()
	m.Mask(base, "host a1.example.com")
	// Two activities extend copies of the base vault in parallel.
	cp := func() *Vault {
		data, err := json.Marshal(base)
		require.NoError(t, err)
		var c Vault
		require.NoError(t, json.Unmarshal(data, &c))
		return &c
	}
	x, y := cp(), cp()
	outX := m.Mask(x, "a1.example.com b2.example.com mail bob@example.com")
	outY := m.Mask(y, "b2.example.com c3.example.com")
	base.Merge(x)
	base.Merge(y)
	base.Merge(y) // idempotent
	base.Merge(nil)
	require.Equal(t, "a1.example.com b2.example.com mail bob@example.com", Unmask(base, outX))
	require.Equal(t, "b2.example.com c3.example.com", Unmask(base, outY), "aliases: b2 got a token on both sides")
	tx, _ := x.tokenOf("b2")
	tb, _ := base.tokenOf("b2")
	require.Equal(t, tx, tb, "the first token stays the masking token")
	// A conflicting entry (same token, other value) is skipped.
	z := &Vault{Entries: []Entry{{Kind: "host", Value: "other", Token: strings.ToUpper(tb)}}}
	n := base.Len()
	base.Merge(z)
	require.Equal(t, n, base.Len())
}

func TestUnmaskTolerance(t *testing.T) {
	m := testMasker(t)
	v := NewVault()
	out := m.Mask(v, "slow query on orders-db.prod.internal from 10.20.30.40 by alice@example.com")
	db, _ := v.tokenOf("orders-db")
	ip, _ := v.tokenOf("10.20.30.40")
	user, _ := v.tokenOf("alice")
	require.Contains(t, out, db)
	answer := fmt.Sprintf("[Summary] `%s.prod`: host \"%s\" is slow; user %s. Check '%s'.\n(%s)",
		db, ip, strings.ToUpper(user), strings.ToUpper(db), ip)
	prod, _ := v.tokenOf("prod")
	answer = strings.Replace(answer, ".prod`", "."+prod+"`", 1)
	require.Equal(t, "[Summary] `orders-db.prod`: host \"10.20.30.40\" is slow; user alice. Check 'orders-db'.\n(10.20.30.40)", Unmask(v, answer))
	// Tokens inside longer words are not tokens; text without tokens is unchanged.
	require.Equal(t, "x"+db+" "+db+"y", Unmask(v, "x"+db+" "+db+"y"))
	require.Equal(t, "nothing to see", Unmask(v, "nothing to see"))
	require.Equal(t, "x", Unmask(nil, "x"))
	ipv := strings.TrimSuffix(ip, ip[strings.LastIndexByte(ip, '.'):])
	require.Equal(t, ip+"5 "+ipv, Unmask(v, ip+"5 "+ipv), "an IP token does not match inside a longer address")
}

func TestUnmaskLongestFirst(t *testing.T) {
	v := &Vault{Entries: []Entry{
		{Kind: "x", Value: "short", Token: "abcd1234"},
		{Kind: "x", Value: "long", Token: "abcd1234.efgh5678"},
	}}
	require.Equal(t, "long and short", Unmask(v, "abcd1234.efgh5678 and ABCD1234"))
}

func TestIdempotent(t *testing.T) {
	m := testMasker(t)
	for _, c := range recogniserCases {
		v := NewVault()
		once := m.Mask(v, c.in)
		n := v.Len()
		require.Equal(t, once, m.Mask(v, once), c.name)
		require.Equal(t, n, v.Len(), c.name)
	}
}

func TestDeterministic(t *testing.T) {
	m := testMasker(t)
	in := "jdbc:mysql://real-db.example.com:3306/real_db 10.0.0.1 010-1234-5678"
	a := m.MaskWithRand(NewVault(), in, rand.New(rand.NewSource(7)))
	b := m.MaskWithRand(NewVault(), in, rand.New(rand.NewSource(7)))
	c := m.MaskWithRand(NewVault(), in, rand.New(rand.NewSource(8)))
	require.Equal(t, a, b)
	require.NotEqual(t, a, c)
	require.NotEqual(t, m.Mask(NewVault(), in), m.Mask(NewVault(), in), "crypto/rand by default")
	// A failing reader falls back to crypto/rand.
	require.NotEqual(t, in, m.MaskWithRand(NewVault(), in, strings.NewReader("")))
}

func TestTokensAvoidTextAndVault(t *testing.T) {
	m := testMasker(t)
	// A reader that always returns the same bytes would give the same token every time; the
	// vault and text checks force different ones and make the generator move on.
	in := "UPDATE t SET a = 1111, b = 2222, c = 3333 WHERE d = 4444"
	v := NewVault()
	out := m.MaskWithRand(v, in, rand.New(rand.NewSource(3)))
	seen := map[string]bool{}
	for _, e := range v.Entries {
		require.False(t, seen[e.Token])
		seen[e.Token] = true
		require.NotContains(t, in, e.Token)
	}
	require.Equal(t, in, Unmask(v, out))
}

func TestKinds(t *testing.T) {
	k := Kinds()
	require.IsIncreasing(t, k)
	require.Contains(t, k, "jdbc")
	require.Contains(t, k, "sql_literal")
	require.Len(t, k, int(numKinds))
}

func TestNewErrors(t *testing.T) {
	_, err := New(Options{Custom: []CustomPattern{{Name: "ok", Pattern: `x\d+`}, {Name: "broken", Pattern: `(`}}})
	require.ErrorContains(t, err, `"broken"`)
	_, err = New(Options{Custom: []CustomPattern{{Name: "empty", Pattern: `a*`}}})
	require.ErrorContains(t, err, `"empty"`)
	_, err = New(Options{Custom: []CustomPattern{{Pattern: `x`}}})
	require.ErrorContains(t, err, "no name")
	_, err = New(Options{Custom: []CustomPattern{{Name: "a", Pattern: `x`}, {Name: "a", Pattern: `y`}}})
	require.ErrorContains(t, err, "twice")
	_, err = New(Options{Disable: []string{"nope"}})
	require.ErrorContains(t, err, `"nope"`)
	_, err = New(Options{InternalSuffixes: []string{"bad suffix"}})
	require.ErrorContains(t, err, "bad suffix")
}

func TestDisable(t *testing.T) {
	m, err := New(Options{Disable: []string{"email", "sql_literal", "custom:x"}, Custom: []CustomPattern{{Name: "x", Pattern: `zz\d`}}})
	require.NoError(t, err)
	in := "alice@example.com SELECT a FROM t WHERE b = 'secret' zz1 10.0.0.1"
	require.Equal(t, []string{"host:example", "ipv4:10.0.0.1"}, found(m, in))
}

func TestNilMaskerAndVault(t *testing.T) {
	var m *Masker
	require.NotEqual(t, "10.0.0.1", m.Mask(nil, "10.0.0.1"))
	require.Len(t, m.Find("10.0.0.1"), 1)
	require.Zero(t, (*Vault)(nil).Len())
}

func TestConcurrentUse(t *testing.T) {
	m := testMasker(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, c := range recogniserCases {
				v := NewVault()
				if got := Unmask(v, m.Mask(v, c.in)); got != c.in {
					t.Errorf("%s: %q", c.name, got)
				}
			}
		}()
	}
	wg.Wait()
}

func TestCorpusRoundTrip(t *testing.T) {
	m := testMasker(t)
	corpus := benchCorpus(200 << 10)
	v := NewVault()
	out := m.Mask(v, corpus)
	require.Equal(t, corpus, Unmask(v, out))
	// Table and column names and SQL keywords survive.
	for _, keep := range []string{"FROM orders o", "JOIN order_items oi", "UPDATE orders SET status", "java.sql.SQLTimeoutException"} {
		require.Contains(t, out, keep)
	}
	// "example", the organisation's domain label in real-db.example.com, is masked wherever it
	// occurs, its Java packages included; the package keeps its shape.
	require.Regexp(t, `com\.`+reTok+`\.order\.service\.OrderService`, out)
	require.NotContains(t, out, "com.example.order")
	for _, leak := range []string{"real-db.example.com", "alice.kim@example.com", "10.20.", "hunter2", "AKIAIOSFODNN7EXAMPLE", "010-4821-"} {
		require.NotContains(t, out, leak)
	}
	var nameRE = regexp.MustCompile(`^` + reTok + `$`)
	for _, e := range v.Entries {
		if e.Kind == "host" || e.Kind == "email" {
			require.Regexp(t, nameRE, e.Token)
		}
	}
}

// zeroReader yields zero bytes forever: every draw is the same, so only the freshness checks
// make tokens differ. Masking must still terminate and round-trip.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestDegenerateRandomness(t *testing.T) {
	m := testMasker(t)
	in := "a.example.com b.example.com c.example.com 10.0.0.1 10.0.0.2 UPDATE t SET a = 1111, b = 2222 WHERE c = 'x' AND d = 'y'"
	v := NewVault()
	out := m.MaskWithRand(v, in, zeroReader{})
	require.Equal(t, in, Unmask(v, out))
	seen := map[string]bool{}
	for _, e := range v.Entries {
		require.False(t, seen[strings.ToLower(e.Token)], "duplicate token %q", e.Token)
		seen[strings.ToLower(e.Token)] = true
	}
}

// TestTextContainingTokenLookalikes: the text already contains strings shaped like tokens
// (documentation IPs, 2001:db8 addresses, random-looking words); generated tokens avoid them.
func TestTextContainingTokenLookalikes(t *testing.T) {
	m := testMasker(t)
	var b strings.Builder
	for i := 0; i < 256; i++ {
		fmt.Fprintf(&b, "keep 198.18.0.%d 2001:DB8::%x ", i, i)
	}
	b.WriteString("mask 10.0.0.1 2001:db8:1::1 10.0.0.2")
	in := b.String()
	v := NewVault()
	out := m.MaskWithRand(v, in, rand.New(rand.NewSource(1)))
	require.Equal(t, in, Unmask(v, out))
}

// TestPathologicalInputs: inputs built to make a naive scanner quadratic finish quickly.
func TestPathologicalInputs(t *testing.T) {
	m := testMasker(t)
	const n = 256 << 10
	inputs := map[string]string{
		"select":        strings.Repeat("select ", n/7),
		"where":         strings.Repeat("where ", n/6),
		"json select":   `{"a":"` + strings.Repeat("select x ", n/9),
		"url parens":    "http://x.example.com/" + strings.Repeat(")", n),
		"authorization": strings.Repeat("Authorization: ", n/15),
		"password":      strings.Repeat("password='", n/10),
		"pem":           strings.Repeat("-----BEGIN PRIVATE KEY-----", n/27),
		"email":         strings.Repeat("a@", n/2),
		"tns":           strings.Repeat("(DESCRIPTION=", n/13),
		"dots":          strings.Repeat("a.", n/2),
		"digits":        strings.Repeat("1-", n/2),
		"ipv6":          strings.Repeat("1:", n/2),
		"cookie":        "Cookie: " + strings.Repeat("a=b;", n/4),
	}
	for name, in := range inputs {
		v := NewVault()
		out := m.Mask(v, in)
		require.Equal(t, in, Unmask(v, out), name)
	}
}
