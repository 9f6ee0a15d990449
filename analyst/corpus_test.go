package analyst

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
)

// corpusLabel is one entry of testdata/corpus/labels.json: the culprit a reader expects the
// report to name first.
type corpusLabel struct {
	File string `json:"file"`
	// Kind is the expected top finding's kind, or "normal" for "operating normally".
	Kind string `json:"kind"`
	// Culprit is a fragment the top finding must contain ("a|b": either); "" accepts any.
	Culprit string `json:"culprit"`
	HeldOut bool   `json:"heldOut"`
	Note    string `json:"note"`
}

type corpusCase struct {
	corpusLabel
	alert *profile.Alert
}

// corpusNormal is the label kind of a report that says the system is operating normally.
const corpusNormal = "normal"

func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	dir := filepath.Join("testdata", "corpus")
	raw, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	require.NoError(t, err)
	var labels struct {
		Profiles []corpusLabel `json:"profiles"`
	}
	require.NoError(t, json.Unmarshal(raw, &labels))
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	var cases []corpusCase
	seen := map[string]bool{}
	for _, l := range labels.Profiles {
		require.False(t, seen[l.File], "duplicate label for %s", l.File)
		seen[l.File] = true
		data, err := os.ReadFile(filepath.Join(dir, l.File))
		require.NoError(t, err)
		a, err := profile.ParseAlert(data)
		require.NoError(t, err, l.File)
		require.NotNil(t, a.Profile, l.File)
		cases = append(cases, corpusCase{l, a})
	}
	for _, f := range files {
		if base := filepath.Base(f); base != "labels.json" {
			require.True(t, seen[base], "%s has no label", base)
		}
	}
	return append(cases, generatedCorpus(t)...)
}

// generatedCorpus builds the profiles too large to keep as files: thousands of spans.
func generatedCorpus(t *testing.T) []corpusCase {
	t.Helper()
	alert := func(name string, total float64, spans []profile.Span) *profile.Alert {
		a := &profile.Alert{Rule: "SlowTransaction", Message: "Response time >= 3000 ms", Application: "big-api", Instance: "prod-big-api-1",
			Profile: &profile.Profile{Transaction: profile.Transaction{Name: name, URL: "/api/v1/" + name, Method: "GET", TotalTimeMs: total, Status: 200}, Spans: spans}}
		require.NoError(t, a.Profile.Normalize())
		return a
	}
	// 2,400 executions of one statement, each its own span, between 600 internal spans.
	var nplus1 []profile.Span
	off := 0.0
	for i := range 3000 {
		s := profile.Span{Kind: profile.KindInternal, Name: "ReviewMapper.map", StartOffsetMs: off, DurationMs: 0.5}
		if i%5 != 0 {
			s = profile.Span{Kind: profile.KindSQL, Name: "ReviewRepository.findByProductId", StartOffsetMs: off, DurationMs: 1.5,
				SQL: fmt.Sprintf("SELECT id, rating, body FROM reviews WHERE product_id = %d", 10000+i), Rows: 3}
		}
		nplus1 = append(nplus1, s)
		off += s.DurationMs
	}
	// 4,999 short internal spans (template rendering) and one slow UPDATE.
	var slow []profile.Span
	for i := range 5000 {
		s := profile.Span{Kind: profile.KindInternal, Name: fmt.Sprintf("Fragment%d.render", i%37), StartOffsetMs: float64(i), DurationMs: 1}
		if i == 2500 {
			s = profile.Span{Kind: profile.KindSQL, Name: "LedgerRepository.rebalance", StartOffsetMs: float64(i), DurationMs: 2512,
				SQL: "UPDATE ledger_entries SET balance = balance + ? WHERE account_id = ? AND booked_on >= ?"}
		}
		slow = append(slow, s)
	}
	return []corpusCase{
		{corpusLabel{File: "generated:3000-spans-n-plus-one", Kind: KindExcessiveSQL, Culprit: "reviews", Note: "2,400 single-execution spans of one SELECT"}, alert("reviews", 4400, nplus1)},
		{corpusLabel{File: "generated:5000-spans-slow-update", Kind: KindSlowSQL, Culprit: "ledger_entries", Note: "4,999 internal spans and a 2.5 s UPDATE"}, alert("ledger", 7600, slow)},
	}
}

// causeMarkers recognise the kind of the top finding from the report's summary, per language.
var causeMarkers = map[string][]struct{ marker, kind string }{
	LangEnglish: {
		{"Cause: slow SQL", KindSlowSQL},
		{"Cause: slow database connection", KindSlowDBConnect},
		{"Cause: external call delay", KindNetworkDelay},
		{"Cause: an exception", KindException},
		{"Cause: an N+1 query pattern", KindExcessiveSQL},
		{"Cause: too many SQL executions", KindExcessiveSQL},
		{"Cause: excessive fetch", KindExcessiveFetch},
		{"operating normally", corpusNormal},
	},
	LangKorean: {
		{"원인은 느린 SQL", KindSlowSQL},
		{"원인은 DB 커넥션 획득 지연", KindSlowDBConnect},
		{"원인은 외부 호출 지연", KindNetworkDelay},
		{"원인은 예외", KindException},
		{"원인은 N+1 쿼리 패턴", KindExcessiveSQL},
		{"원인은 과도한 SQL 실행", KindExcessiveSQL},
		{"원인은 과도한 데이터 조회", KindExcessiveFetch},
		{"정상적으로 동작", corpusNormal},
	},
}

// topFinding reads the report as a person would: the kind its summary names and the text of
// its top finding (the summary and the first analysis point).
func topFinding(r Report) (kind, text string) {
	kind = "unrecognised"
	for _, m := range causeMarkers[r.Language] {
		if strings.Contains(r.Summary, m.marker) {
			kind = m.kind
			break
		}
	}
	text = r.Summary
	if len(r.Analysis) > 0 {
		text += "\n" + r.Analysis[0]
	}
	return kind, text
}

// namesCulprit reports whether the report's top finding is the labelled culprit.
func namesCulprit(l corpusLabel, r Report) bool {
	kind, text := topFinding(r)
	if kind != l.Kind {
		return false
	}
	if l.Culprit == "" {
		return true
	}
	for _, alt := range strings.Split(l.Culprit, "|") {
		if strings.Contains(text, alt) {
			return true
		}
	}
	return false
}

// TestCulpritCorpus runs every labelled profile of testdata/corpus (and a few generated ones)
// through the built-in analyst in English and Korean, checks that the report's top finding names
// the labelled culprit, and logs an accuracy table per situation, language and split (tuning /
// held out) and the misses. It fails below 95% overall. Print the table with
// `go test ./analyst -run TestCulpritCorpus -v`.
func TestCulpritCorpus(t *testing.T) {
	cases := loadCorpus(t)
	type cell struct{ ok, n int }
	type key struct {
		kind, split, lang string
	}
	cells := map[key]*cell{}
	add := func(k key, ok bool) {
		c := cells[k]
		if c == nil {
			c = &cell{}
			cells[k] = c
		}
		c.n++
		if ok {
			c.ok++
		}
	}
	var misses []string
	total, right := 0, 0
	for _, c := range cases {
		split := "tuning"
		if c.HeldOut {
			split = "held-out"
		}
		for _, lang := range []string{LangEnglish, LangKorean} {
			r := Write(c.alert, Detect(c.alert.Profile, DefaultThresholds()), lang)
			_, err := ParseReport(r.Render())
			require.NoError(t, err, c.File)
			ok := namesCulprit(c.corpusLabel, r)
			for _, k := range []key{{c.Kind, split, lang}, {"all", split, lang}, {c.Kind, "all", "all"}, {"all", "all", "all"}} {
				add(k, ok)
			}
			total++
			if ok {
				right++
				continue
			}
			kind, _ := topFinding(r)
			misses = append(misses, fmt.Sprintf("MISS %s [%s, %s] want %s %q, got %s: %s", c.File, lang, split, c.Kind, c.Culprit, kind, r.Summary))
		}
	}
	kinds := []string{KindSlowSQL, KindSlowDBConnect, KindNetworkDelay, KindException, KindExcessiveSQL, KindExcessiveFetch, corpusNormal, "all"}
	for k := range cells {
		if !slices.Contains(kinds, k.kind) {
			t.Fatalf("label kind %q is not a situation", k.kind)
		}
	}
	show := func(k key) string {
		c := cells[k]
		if c == nil {
			return "-"
		}
		return fmt.Sprintf("%d/%d", c.ok, c.n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| situation | tuning en | tuning ko | held-out en | held-out ko | all |\n|---|---|---|---|---|---|\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", k,
			show(key{k, "tuning", LangEnglish}), show(key{k, "tuning", LangKorean}),
			show(key{k, "held-out", LangEnglish}), show(key{k, "held-out", LangKorean}),
			show(key{k, "all", "all"}))
	}
	fmt.Fprintf(&b, "\noverall: %d/%d = %.1f%% (%d profiles x 2 languages)\n", right, total, 100*float64(right)/float64(total), len(cases))
	t.Log(b.String())
	for _, m := range misses {
		t.Log(m)
	}
	if float64(right) < 0.95*float64(total) {
		t.Fatalf("culprit accuracy %d/%d is below 95%%", right, total)
	}
}
