package analyst

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/golden")

// goldenCorpus are corpus profiles pinned beside the examples: another exception that failed the
// request by itself, and a retry loop of read timeouts, whose cause is the slow call.
var goldenCorpus = []string{"exc-02-npe-fast", "exc-08-retry-socket-timeout-failed"}

// TestGoldenReports pins the built-in analyst's report for every situation of MISSION.md §3 —
// slow SQL, slow connection, network delay, an exception, N+1, and a normal transaction — in
// English and Korean, from the examples and goldenCorpus. A change of wording shows up as a diff
// to review; rewrite the files with `go test ./analyst -run TestGoldenReports -update`.
func TestGoldenReports(t *testing.T) {
	names := profile.ExampleNames()
	for _, c := range goldenCorpus {
		names = append(names, "corpus-"+c)
	}
	for _, name := range names {
		for _, lang := range []string{LangEnglish, LangKorean} {
			t.Run(name+"/"+lang, func(t *testing.T) {
				raw, _ := profile.Example(name)
				if c, ok := strings.CutPrefix(name, "corpus-"); ok {
					var err error
					raw, err = os.ReadFile(filepath.Join("testdata", "corpus", c+".json"))
					require.NoError(t, err)
				}
				alert, err := profile.ParseAlert(raw)
				require.NoError(t, err)
				got := Write(alert, Detect(alert.Profile, DefaultThresholds()), lang).Render()
				path := filepath.Join("testdata", "golden", name+"."+lang+".txt")
				if *update {
					require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
					require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "missing golden file; run with -update")
				require.Equal(t, string(want), got)
				_, err = ParseReport(got)
				require.NoError(t, err)
			})
		}
	}
}
