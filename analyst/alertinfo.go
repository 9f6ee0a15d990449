package analyst

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-ops/vigil/profile"
)

// alertValues writes the values the alerting rule evaluated ("B=44.239, C=1"), by name, as the
// sender gave them; "" when there are none.
func alertValues(a *profile.Alert) string {
	if a == nil || len(a.Values) == 0 {
		return ""
	}
	keys := make([]string, 0, len(a.Values))
	for k := range a.Values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = oneLine(k) + "=" + strconv.FormatFloat(a.Values[k], 'g', -1, 64)
	}
	return strings.Join(parts, ", ")
}

// alertLines are the report's [Transaction] lines about the alert itself: the values its rule
// evaluated and the sender's pages about it (rule, silence, dashboard, panel, image).
func alertLines(a *profile.Alert, lang string) []string {
	if a == nil {
		return nil
	}
	valuesLabel, linkLabel := "Alert values: ", "Link ("
	if lang == LangKorean {
		valuesLabel, linkLabel = "알림 값: ", "링크 ("
	}
	var lines []string
	switch v, s := alertValues(a), oneLine(a.ValueString); {
	case v != "" && s != "":
		lines = append(lines, valuesLabel+v+" ("+s+")")
	case v != "":
		lines = append(lines, valuesLabel+v)
	case s != "":
		lines = append(lines, valuesLabel+s)
	}
	for _, l := range a.Links {
		lines = append(lines, linkLabel+oneLine(l.Name)+"): "+oneLine(l.URL))
	}
	return lines
}
