package analyst

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
)

// blindLabel is one entry of testdata/blind/labels.json. The blind corpus was written and labelled
// without reading the analyst's rules, its own corpus or docs/judgement.md, so it measures how the
// analyst does on profiles nobody tuned against.
type blindLabel struct {
	Kind     string `json:"kind"`
	Fragment string `json:"fragment"`
	Why      string `json:"why"`
}

// TestBlindCorpus runs every profile of testdata/blind through the built-in analyst in English and
// Korean and judges each report as TestCulpritCorpus does (the summary names the labelled kind and
// the summary or first analysis point contains the fragment). It logs an accuracy table per kind
// and language and every miss with the report's summary. It is a measurement, not a gate: it fails
// only below 80%. Print it with `go test ./analyst -run TestBlindCorpus -v`.
func TestBlindCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "blind")
	raw, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	require.NoError(t, err)
	var labels map[string]blindLabel
	require.NoError(t, json.Unmarshal(raw, &labels))
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	for _, f := range files {
		if base := filepath.Base(f); base != "labels.json" {
			_, ok := labels[base]
			require.True(t, ok, "%s has no label", base)
		}
	}
	names := make([]string, 0, len(labels))
	for name := range labels {
		names = append(names, name)
	}
	sort.Strings(names)

	kinds := []string{KindSlowSQL, KindSlowDBConnect, KindNetworkDelay, KindException, KindExcessiveSQL, KindExcessiveFetch, corpusNormal}
	langs := []string{LangEnglish, LangKorean}
	type cell struct{ ok, n int }
	cells := map[[2]string]*cell{}
	add := func(kind, lang string, ok bool) {
		for _, k := range [][2]string{{kind, lang}, {kind, "all"}, {"all", lang}, {"all", "all"}} {
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
	}
	var misses []string
	right, total := 0, 0
	for _, name := range names {
		l := labels[name]
		require.True(t, slices.Contains(kinds, l.Kind), "%s: label kind %q is not a situation", name, l.Kind)
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		a, err := profile.ParseAlert(data)
		require.NoError(t, err, name)
		require.NotNil(t, a.Profile, name)
		for _, lang := range langs {
			r := Write(a, Detect(a.Profile, DefaultThresholds()), lang)
			_, err := ParseReport(r.Render())
			require.NoError(t, err, name)
			ok := namesCulprit(corpusLabel{File: name, Kind: l.Kind, Culprit: l.Fragment}, r)
			add(l.Kind, lang, ok)
			total++
			if ok {
				right++
				continue
			}
			kind, _ := topFinding(r)
			first := ""
			if len(r.Analysis) > 0 {
				first = r.Analysis[0]
			}
			misses = append(misses, fmt.Sprintf("MISS %s [%s] want %s %q, got %s\n    summary: %s\n    first point: %s\n    label why: %s",
				name, lang, l.Kind, l.Fragment, kind, r.Summary, first, l.Why))
		}
	}
	show := func(k [2]string) string {
		c := cells[k]
		if c == nil {
			return "-"
		}
		return fmt.Sprintf("%d/%d", c.ok, c.n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| kind | en | ko | all |\n|---|---|---|---|\n")
	for _, k := range append(kinds, "all") {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k, show([2]string{k, LangEnglish}), show([2]string{k, LangKorean}), show([2]string{k, "all"}))
	}
	fmt.Fprintf(&b, "\nblind overall: %d/%d = %.1f%% (%d profiles x %d languages)\n", right, total, 100*float64(right)/float64(total), len(names), len(langs))
	t.Log(b.String())
	for _, m := range misses {
		t.Log(m)
	}
	if float64(right) < 0.80*float64(total) {
		t.Fatalf("blind culprit accuracy %d/%d is below 80%%", right, total)
	}
}
