package analyst

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vigil-ops/vigil/profile"
)

// FuzzParseReport checks that no text panics the parser and that every accepted report renders
// to a text that parses back to the same report.
func FuzzParseReport(f *testing.F) {
	for _, name := range profile.ExampleNames() {
		data, _ := profile.Example(name)
		a, _ := profile.ParseAlert(data)
		for _, lang := range []string{"en", "ko"} {
			f.Add(Write(a, Detect(a.Profile, DefaultThresholds()), lang).Render())
		}
	}
	f.Add("## [Summary]\nx\n**[Transaction]**\n[Profile analysis]\n1) a\n b\n[Action plan]:\n- c")
	f.Fuzz(func(t *testing.T, text string) {
		r, err := ParseReport(text)
		if err != nil {
			return
		}
		again, err := ParseReport(r.Render())
		require.NoError(t, err)
		require.Equal(t, r, again)
	})
}
