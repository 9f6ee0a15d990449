package analyst

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/vigil-ops/vigil/profile"
)

// Report languages.
const (
	LangEnglish = "en"
	LangKorean  = "ko"
)

// Limits of the report format.
const (
	MaxAnalysisPoints = 3
	MaxActions        = 3
)

// Report is an incident report in Vigil's fixed four-section format.
type Report struct {
	Summary     string   `json:"summary"`
	Transaction []string `json:"transaction"`
	Analysis    []string `json:"analysis"`
	Actions     []string `json:"actions"`
	// Language is "en" or "ko"; it selects the section headings.
	Language string `json:"language"`
}

// section indices, in report order.
const (
	secSummary = iota
	secTransaction
	secAnalysis
	secActions
	numSections
)

var headings = map[string][numSections]string{
	LangEnglish: {"Summary", "Transaction", "Profile analysis", "Action plan"},
	LangKorean:  {"요약", "트랜잭션", "프로파일 분석", "조치 계획"},
}

// NormalizeLanguage maps a language tag to a report language: "ko", "ko-KR", "kor" and
// "korean" give "ko"; everything else, including "", gives "en".
func NormalizeLanguage(lang string) string {
	l := strings.ToLower(strings.TrimSpace(lang))
	if l == "ko" || strings.HasPrefix(l, "ko-") || strings.HasPrefix(l, "ko_") || l == "kor" || l == "korean" || l == "한국어" {
		return LangKorean
	}
	return LangEnglish
}

// heading returns the bracketed heading of a section (0 Summary .. 3 Action plan) in a language.
func heading(lang string, sec int) string {
	return "[" + headings[NormalizeLanguage(lang)][sec] + "]"
}

// view is what the phrase writers need of an alert.
type view struct {
	alert      *profile.Alert
	p          *profile.Profile
	st         profile.Stats
	rule, app  string
	instance   string
	hasProfile bool
}

func newView(a *profile.Alert) view {
	if a == nil {
		a = &profile.Alert{}
	}
	v := view{alert: a, p: a.Profile, hasProfile: a.Profile != nil}
	v.st = a.Profile.Summary()
	v.rule = cmp.Or(strings.TrimSpace(a.Rule), "APM")
	v.app = cmp.Or(strings.TrimSpace(a.Application), "the application")
	v.instance = strings.TrimSpace(a.Instance)
	if v.p != nil && v.p.Transaction.Instance != "" {
		v.instance = cmp.Or(v.instance, v.p.Transaction.Instance)
	}
	return v
}

// phrases writes the report's sentences in one language.
type phrases interface {
	transaction(v view) []string
	problemSummary(v view, top Fact, more int) string
	normalSummary(v view) string
	noProfileSummary(v view) string
	analysis(v view, f Fact) string
	action(v view, f Fact) string
	followUp(v view) string
	normalAnalysis(v view) string
	noProfileAnalysis(v view) string
	normalActions(v view) []string
	noProfileActions(v view) []string
}

func phrasesFor(lang string) phrases {
	if lang == LangKorean {
		return korean{}
	}
	return english{}
}

// sortFacts orders facts as Detect does: by impact (an exception that failed the request, or the
// slow step whose timeout failed it, first, then the problems by the time they cost), whatever
// order the caller kept them in.
func sortFacts(facts []Fact) []Fact { return rankFacts(facts) }

// Write is the built-in analyst: it turns an alert and the facts found in its profile into a
// report in the given language ("ko" or "en"; anything else is English). The report always has
// all four sections; [Profile analysis] and [Action plan] hold at most three points, taken from
// the facts with the most impact (an exception that failed the request, or the slow step whose
// timeout failed it, then the problems that cost the transaction the most time). Without a fact
// of SeverityWarning or above the summary says the system is operating normally; without a
// profile it says that the cause could not be analysed.
func Write(alert *profile.Alert, facts []Fact, lang string) Report {
	lang = NormalizeLanguage(lang)
	ph := phrasesFor(lang)
	v := newView(alert)
	sorted := sortFacts(facts)
	var serious, minor []Fact
	for _, f := range sorted {
		f = usable(f)
		switch {
		case f.Severity >= SeverityWarning:
			serious = append(serious, f)
		case f.Severity >= SeverityInfo:
			minor = append(minor, f)
		}
	}
	r := Report{Language: lang, Transaction: append(ph.transaction(v), alertLines(alert, lang)...)}
	addAction := func(s string) {
		if s != "" && len(r.Actions) < MaxActions && !slices.Contains(r.Actions, s) {
			r.Actions = append(r.Actions, s)
		}
	}
	switch {
	case len(serious) > 0:
		// An exception that is the symptom of a slow step (see blameSlowStep) is not one more
		// problem, and the step's action covers it.
		hasCause := slices.ContainsFunc(serious, func(f Fact) bool { _, _, _, ok := failedBecause(f); return ok })
		symptom := func(f Fact) bool { return hasCause && isSymptom(f) }
		more := 0
		for _, f := range serious[1:] {
			if !symptom(f) {
				more++
			}
		}
		r.Summary = ph.problemSummary(v, serious[0], more)
		top := slices.Concat(serious, minor)
		for _, f := range top[:min(MaxAnalysisPoints, len(top))] {
			r.Analysis = append(r.Analysis, ph.analysis(v, f))
		}
		for _, f := range serious {
			if !symptom(f) {
				addAction(ph.action(v, f))
			}
		}
		addAction(ph.followUp(v))
	case !v.hasProfile && len(minor) == 0:
		r.Summary = ph.noProfileSummary(v)
		r.Analysis = []string{ph.noProfileAnalysis(v)}
		for _, a := range ph.noProfileActions(v) {
			addAction(a)
		}
	default:
		r.Summary = ph.normalSummary(v)
		r.Analysis = []string{ph.normalAnalysis(v)}
		for _, f := range minor[:min(MaxAnalysisPoints-1, len(minor))] {
			r.Analysis = append(r.Analysis, ph.analysis(v, f))
		}
		for _, a := range ph.normalActions(v) {
			addAction(a)
		}
	}
	r.Summary = oneLine(r.Summary)
	for i := range r.Transaction {
		r.Transaction[i] = oneLine(r.Transaction[i])
	}
	for i := range r.Analysis {
		r.Analysis[i] = oneLine(r.Analysis[i])
	}
	for i := range r.Actions {
		r.Actions[i] = oneLine(r.Actions[i])
	}
	return r
}

// isSymptom reports whether the fact is an exception that is how a slow step failed the request
// (blameSlowStep marks it "symptomOf" that step's kind).
func isSymptom(f Fact) bool {
	return f.Kind == KindException && fdata(f.Data).str("symptomOf") != ""
}

// failedBecause reports whether the fact is a slow step that failed the request, with the
// exception it failed with and the request's HTTP status (blameSlowStep).
func failedBecause(f Fact) (typ, message string, status int, ok bool) {
	d := fdata(f.Data)
	if f.Kind == KindException || !d.bool("failed") || d.str("failedWith") == "" {
		return "", "", 0, false
	}
	return d.str("failedWith"), d.str("failedMessage"), d.int("status"), true
}

// usable returns the fact, or, when a known kind lacks the data its sentences need (a fact
// built by hand or by another version), the fact reduced to its own summary.
func usable(f Fact) Fact {
	d := fdata(f.Data)
	ok := true
	switch f.Kind {
	case KindSlowSQL, KindSlowDBConnect, KindNetworkDelay:
		ok = d.f64("durationMs") > 0
	case KindException:
		ok = d.str("type") != ""
	case KindExcessiveSQL:
		ok = d.int("repeats") > 0 || d.int("sqlCount") > 0
	case KindExcessiveFetch:
		ok = d.int("rows") > 0
	}
	if !ok {
		f.Summary = cmp.Or(oneLine(f.Summary), strings.ReplaceAll(f.Kind, "_", " ")+" detected")
		f.Kind = ""
	}
	if f.Kind == "" && oneLine(f.Summary) == "" {
		f.Summary = "unnamed finding"
	}
	return f
}

// oneLine collapses whitespace, so that a point never spills over several lines.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Render writes the report in its fixed text form: the four headings in order, each on its own
// line and followed by its content (the summary as text, transaction lines and analysis points
// as "- " bullets, actions numbered "1. "), with a blank line between sections.
func (r Report) Render() string {
	lang := NormalizeLanguage(r.Language)
	var b strings.Builder
	b.WriteString(heading(lang, secSummary) + "\n")
	for _, line := range strings.Split(strings.TrimSpace(r.Summary), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			b.WriteString(line + "\n")
		}
	}
	list := func(sec int, items []string, numbered bool) {
		b.WriteString("\n" + heading(lang, sec) + "\n")
		n := 0
		for _, item := range items {
			item = oneLine(item)
			if item == "" {
				continue
			}
			n++
			if numbered {
				fmt.Fprintf(&b, "%d. %s\n", n, item)
			} else {
				b.WriteString("- " + item + "\n")
			}
		}
	}
	list(secTransaction, r.Transaction, false)
	list(secAnalysis, r.Analysis, false)
	list(secActions, r.Actions, true)
	return b.String()
}

// FormatError says why a text is not a valid report.
type FormatError struct {
	Problem string
}

// Error returns the problem prefixed with "report format: ".
func (e *FormatError) Error() string { return "report format: " + e.Problem }

func formatErr(format string, args ...any) error {
	return &FormatError{Problem: fmt.Sprintf(format, args...)}
}

// ParseReport reads a report in the fixed format, as Render writes it or as an LLM answers. It
// accepts English or Korean headings, each on its own line, optionally decorated as Markdown
// ("## [Summary]", "**[Summary]**") and optionally followed by a colon or by content on the same
// line; code-fence lines are ignored. All four sections must appear exactly once, in order, in
// one language; the summary must not be empty; analysis and actions hold at most three points
// each. Points start with "- ", "* ", "• " or "1. "/"1) "; an unmarked line continues the
// previous point, or after a blank line starts a new one. Problems come back as *FormatError.
func ParseReport(text string) (Report, error) {
	type found struct {
		lang  string
		lines []string
	}
	var (
		secs     [numSections]*found
		current  = -1
		last     = -1
		lang     string
		preamble string
	)
	for _, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~") {
			continue
		}
		if sec, l, rest, ok := parseHeading(line); ok {
			if sec < 0 {
				return Report{}, formatErr("unknown section %s", rest)
			}
			name := heading(l, sec)
			switch {
			case lang != "" && l != lang:
				return Report{}, formatErr("section %s is not in the language of %s", name, heading(lang, last))
			case secs[sec] != nil:
				return Report{}, formatErr("duplicate section %s", name)
			case sec < last:
				return Report{}, formatErr("section %s is out of order: it must come before %s", name, heading(l, last))
			}
			if lang == "" && preamble != "" {
				return Report{}, formatErr("text before %s: %q", name, truncate(preamble, 60))
			}
			lang, current, last = l, sec, sec
			secs[sec] = &found{lang: l}
			if rest != "" {
				secs[sec].lines = append(secs[sec].lines, rest)
			}
			continue
		}
		if current < 0 {
			if line != "" && preamble == "" {
				preamble = line
			}
			continue
		}
		secs[current].lines = append(secs[current].lines, line)
	}
	if lang == "" {
		return Report{}, formatErr("no sections found; expected %s, %s, %s and %s",
			heading(LangEnglish, 0), heading(LangEnglish, 1), heading(LangEnglish, 2), heading(LangEnglish, 3))
	}
	for sec, f := range secs {
		if f == nil {
			return Report{}, formatErr("missing section %s", heading(lang, sec))
		}
	}
	r := Report{Language: lang}
	var summary []string
	for _, l := range secs[secSummary].lines {
		if l != "" {
			summary = append(summary, l)
		}
	}
	r.Summary = strings.Join(summary, "\n")
	if r.Summary == "" {
		return Report{}, formatErr("%s is empty", heading(lang, secSummary))
	}
	for _, l := range secs[secTransaction].lines {
		if l != "" {
			if _, item := cutMarker(l); item != "" {
				r.Transaction = append(r.Transaction, oneLine(item))
			}
		}
	}
	r.Analysis = points(secs[secAnalysis].lines)
	r.Actions = points(secs[secActions].lines)
	if n := len(r.Analysis); n > MaxAnalysisPoints {
		return Report{}, formatErr("%s has %d points, at most %d allowed", heading(lang, secAnalysis), n, MaxAnalysisPoints)
	}
	if n := len(r.Actions); n > MaxActions {
		return Report{}, formatErr("%s has %d points, at most %d allowed", heading(lang, secActions), n, MaxActions)
	}
	return r, nil
}

// parseHeading recognises a heading line. It returns the section (-1 for an unknown bracketed
// heading standing alone on its line, with its text in rest), the heading's language and any
// content that follows the heading on the same line.
func parseHeading(line string) (sec int, lang, rest string, ok bool) {
	s := strings.TrimSpace(strings.TrimLeft(line, "#"))
	for _, m := range []string{"**", "__", "*", "_"} {
		if strings.HasPrefix(s, m+"[") {
			s = s[len(m):]
			break
		}
	}
	if !strings.HasPrefix(s, "[") {
		return 0, "", "", false
	}
	end := strings.Index(s, "]")
	if end < 0 {
		return 0, "", "", false
	}
	name := strings.Join(strings.Fields(s[1:end]), " ")
	rest = strings.TrimSpace(strings.TrimLeft(s[end+1:], "*_:： \t"))
	for _, l := range []string{LangEnglish, LangKorean} {
		for i, h := range headings[l] {
			if strings.EqualFold(name, h) {
				return i, l, rest, true
			}
		}
	}
	if rest == "" && name != "" && len(name) < 40 && !strings.ContainsFunc(name, unicode.IsDigit) {
		return -1, "", s[:end+1], true
	}
	return 0, "", "", false
}

// cutMarker removes a bullet or number marker from the start of a line.
func cutMarker(line string) (bool, string) {
	for _, m := range []string{"- ", "* ", "• ", "+ "} {
		if rest, ok := strings.CutPrefix(line, m); ok {
			return true, strings.TrimSpace(rest)
		}
	}
	if line == "-" || line == "*" || line == "•" {
		return true, ""
	}
	i := 0
	for i < len(line) && i < 3 && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(line) && (line[i] == '.' || line[i] == ')') && line[i+1] == ' ' {
		return true, strings.TrimSpace(line[i+2:])
	}
	return false, line
}

// points splits a section's lines into points.
func points(lines []string) []string {
	var out []string
	blank := true
	for _, l := range lines {
		if l == "" {
			blank = true
			continue
		}
		marked, text := cutMarker(l)
		switch {
		case marked || blank || len(out) == 0:
			out = append(out, text)
		default:
			out[len(out)-1] = strings.TrimSpace(out[len(out)-1] + " " + text)
		}
		blank = false
	}
	for i := range out {
		out[i] = oneLine(out[i])
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	if len(out) == 0 {
		return nil
	}
	return out
}
