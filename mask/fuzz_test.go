package mask

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzSeeds are the table cases, the negatives and a few mixtures.
func fuzzSeeds() []string {
	var seeds []string
	for _, c := range recogniserCases {
		seeds = append(seeds, c.in)
	}
	seeds = append(seeds, negativeCases...)
	seeds = append(seeds,
		`{"sql":"UPDATE orders SET memo = 'call 010-1234-5678' WHERE id = 48213","url":"jdbc:mysql://db1.internal:3306/shop?password=x1"}`,
		"SELECT a FROM t WHERE b = 'x' -- by alice@example.com\n\tat com.example.Foo.bar(Foo.java:12)",
		"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig12345678 Cookie: a=b",
		"10.0.0.1 10.0.0.1 198.18.0.1 2001:db8::1 2001:DB8::2 ::ffff:1.2.3.4",
		"\\nalice@example.com\\tpassword=p\\n-----BEGIN PRIVATE KEY-----\\nMIIabc\\n-----END PRIVATE KEY-----",
		benchCorpus(4<<10),
	)
	return seeds
}

// FuzzMaskRoundTrip checks, for any input and a fresh vault:
//   - Unmask(Mask(x)) == x;
//   - Find's matches are ordered, non-overlapping and equal to the text they span;
//   - the masked text equals x with each match replaced by its replacement, i.e. the text
//     outside the matches is unchanged;
//   - no replacement contains its match's value as a whole word (case-insensitively, with the
//     boundary rules of Unmask);
//   - no recognised value is left anywhere in the masked text: a value that is masked wherever
//     it occurs (recallable: 4+ characters with a letter, or 6+ digits) does not occur as a word
//     outside the tokens, whatever its context ("orders" as a masked database name is masked as
//     a table name too). Shorter values are masked where a recogniser finds them only, and a
//     short value may occur inside an unrelated token by chance (the value "7" in "198.18.3.7"
//     is not a whole word there by the IP boundary rules, "ab" in "k3abx9q2" is not a word).
func FuzzMaskRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	m := testMasker(f)
	f.Fuzz(func(t *testing.T, in string) {
		checkMasked(t, m, in, rand.New(rand.NewSource(int64(len(in)))))
		checkScope(t, m, in, rand.New(rand.NewSource(int64(len(in)))))
	})
}

// checkScope masks the two halves of in as two messages of one scope (one vault): each round-
// trips, and no recallable value the vault held when a half was masked is left in that masked
// half outside its tokens (values of the first half are masked in the second, whatever their
// context there).
func checkScope(t testing.TB, m *Masker, in string, r *rand.Rand) {
	t.Helper()
	a, b := in[:len(in)/2], in[len(in)/2:]
	v := NewVault()
	outA, _, spansA := m.mask(v, a, r, true)
	vA := &Vault{Entries: append([]Entry(nil), v.Entries...)}
	requireNoValueLeft(t, vA, outA, spansA)
	require.Equal(t, a, Unmask(vA, outA), "round trip of the first message")
	outB, _, spansB := m.mask(v, b, r, true)
	requireNoValueLeft(t, v, outB, spansB)
	require.Equal(t, b, Unmask(v, outB), "round trip of the second message")
}
