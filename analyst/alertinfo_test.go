package analyst

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
)

// An alert's values and links reach the LLM's prompt and the built-in report, in both languages,
// and the report still parses.
func TestAlertValuesAndLinks(t *testing.T) {
	a := &profile.Alert{Rule: "High memory usage", Message: "high", Application: "grafana",
		StartsAt: time.Date(2021, 10, 12, 7, 51, 3, 0, time.UTC),
		Values:   map[string]float64{"C": 1, "B": 44.23943737541908}, ValueString: "[ var='B' value=44.2 ]",
		Links: []profile.Link{{Name: "source", URL: "https://play.grafana.org/alerting/1afz29v7z/edit"}}}
	p := FactsPrompt(a, nil)
	require.Contains(t, p, "Values: B=44.23943737541908, C=1\nValue string: [ var='B' value=44.2 ]\nLink (source): https://play.grafana.org/alerting/1afz29v7z/edit")
	for lang, want := range map[string][]string{
		LangEnglish: {"- Alert values: B=44.23943737541908, C=1 ([ var='B' value=44.2 ])", "- Link (source): https://play.grafana.org/alerting/1afz29v7z/edit"},
		LangKorean:  {"- 알림 값: B=44.23943737541908, C=1 ([ var='B' value=44.2 ])", "- 링크 (source): https://play.grafana.org/alerting/1afz29v7z/edit"},
	} {
		text := Write(a, nil, lang).Render()
		for _, w := range want {
			require.Contains(t, text, w)
		}
		_, err := ParseReport(text)
		require.NoError(t, err)
	}
	require.NotContains(t, Write(&profile.Alert{Rule: "x", Application: "y"}, nil, "en").Render(), "Alert values")
}
