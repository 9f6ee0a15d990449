package analyst

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vigil-ops/vigil/profile"
)

func example(t *testing.T, name string) *profile.Alert {
	t.Helper()
	data, ok := profile.Example(name)
	require.True(t, ok, name)
	a, err := profile.ParseAlert(data)
	require.NoError(t, err)
	return a
}

func writeExample(t *testing.T, name, lang string) Report {
	a := example(t, name)
	return Write(a, Detect(a.Profile, DefaultThresholds()), lang)
}

func TestRenderParseRoundTrip(t *testing.T) {
	for _, name := range profile.ExampleNames() {
		for _, lang := range []string{LangEnglish, LangKorean} {
			t.Run(name+"/"+lang, func(t *testing.T) {
				r := writeExample(t, name, lang)
				require.Equal(t, lang, r.Language)
				require.NotEmpty(t, r.Summary)
				require.NotEmpty(t, r.Transaction)
				require.NotEmpty(t, r.Analysis)
				require.LessOrEqual(t, len(r.Analysis), MaxAnalysisPoints)
				require.NotEmpty(t, r.Actions)
				require.LessOrEqual(t, len(r.Actions), MaxActions)

				text := r.Render()
				for sec := range numSections {
					require.Contains(t, text, heading(lang, sec)+"\n")
				}
				parsed, err := ParseReport(text)
				require.NoError(t, err)
				require.Equal(t, r, parsed)
				require.Equal(t, text, parsed.Render())
			})
		}
	}
}

func TestRenderLayout(t *testing.T) {
	r := Report{Summary: "All good.", Transaction: []string{"URL: GET /x"}, Analysis: []string{"a", "b"}, Actions: []string{"one", "two"}, Language: "en"}
	require.Equal(t, "[Summary]\nAll good.\n\n[Transaction]\n- URL: GET /x\n\n[Profile analysis]\n- a\n- b\n\n[Action plan]\n1. one\n2. two\n", r.Render())
	r.Language = "ko"
	require.True(t, strings.HasPrefix(r.Render(), "[요약]\nAll good.\n\n[트랜잭션]\n"))
	require.Contains(t, r.Render(), "\n[프로파일 분석]\n")
	require.Contains(t, r.Render(), "\n[조치 계획]\n")
}

func TestWriteNamesTheCause(t *testing.T) {
	tests := []struct {
		name string
		lang string
		want []string
	}{
		{profile.ExampleSlowSQL, "en", []string{"orders, order_items", "SELECT", "8,413 ms", "92%", "EXPLAIN", "POST /api/v1/checkout", "prod-test-api-7d9f", "SQL time: 8,458 ms (9 executions"}},
		{profile.ExampleSlowSQL, "ko", []string{"[요약]", "[트랜잭션]", "[프로파일 분석]", "[조치 계획]", "orders, order_items 테이블의 SELECT 쿼리", "8,413 ms", "인스턴스: prod-test-api-7d9f"}},
		{profile.ExampleSlowConnection, "en", []string{"5,012 ms", "member-db.prod.internal:5432", "connection pool of member-api"}},
		{profile.ExampleSlowConnection, "ko", []string{"DB 커넥션", "5,012 ms", "member-db.prod.internal:5432"}},
		{profile.ExampleNetworkDelay, "en", []string{"pay.partner.example.com:443", "6,030 ms", "timeout"}},
		{profile.ExampleNetworkDelay, "ko", []string{"pay.partner.example.com:443", "외부 호출", "타임아웃"}},
		{profile.ExampleException, "en", []string{"Cause: an exception", "java.lang.NullPointerException", "OrderMapper.toDto(OrderMapper.java:41)", "HTTP 500"}},
		{profile.ExampleException, "ko", []string{"java.lang.NullPointerException 예외", "발생 위치"}},
		{profile.ExampleNPlusOne, "en", []string{"N+1", "product_images", "1,200 times"}},
		{profile.ExampleNPlusOne, "ko", []string{"N+1", "product_images", "1,200회"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.lang, func(t *testing.T) {
			r := writeExample(t, tt.name, tt.lang)
			text := r.Render()
			for _, s := range tt.want {
				require.Contains(t, text, s)
			}
			require.NotContains(t, text, "operating normally")
			require.NotContains(t, text, "정상적으로 동작")
		})
	}
}

func TestWriteNormal(t *testing.T) {
	en := writeExample(t, profile.ExampleNormal, "en")
	require.Contains(t, en.Summary, "The system is operating normally.")
	require.Contains(t, en.Actions[0], "No action needed")
	require.Contains(t, en.Analysis[0], "184 ms")

	ko := writeExample(t, profile.ExampleNormal, "ko")
	require.Contains(t, ko.Summary, "시스템은 정상적으로 동작하고 있습니다.")
	require.Contains(t, ko.Actions[0], "별도 조치는 필요하지 않습니다")

	// Minor findings do not make a problem: the report stays "normal" and lists them.
	a := example(t, profile.ExampleNormal)
	minor := []Fact{{Kind: KindSlowSQL, Severity: SeverityInfo, Summary: "SELECT on carts took 600 ms", Data: map[string]any{"crud": "SELECT", "tables": []string{"carts"}, "durationMs": 600.0}}}
	r := Write(a, minor, "en")
	require.Contains(t, r.Summary, "operating normally")
	require.Len(t, r.Analysis, 2)
	require.Contains(t, r.Analysis[1], "SELECT on carts took 600 ms")
}

func TestWriteWithoutProfile(t *testing.T) {
	a := example(t, profile.ExampleSlowSQL)
	a.Profile = nil
	for _, lang := range []string{"en", "ko"} {
		r := Write(a, nil, lang)
		require.NotContains(t, r.Summary, "operating normally")
		require.NotContains(t, r.Summary, "정상적으로")
		require.Contains(t, r.Render(), "4bf92f3577b34da6a3ce929d0e0e4736")
		_, err := ParseReport(r.Render())
		require.NoError(t, err)
	}
	require.Contains(t, Write(a, nil, "en").Summary, "could not be analysed")

	// Even a nil alert gives a well-formed report.
	r := Write(nil, nil, "en")
	_, err := ParseReport(r.Render())
	require.NoError(t, err)
}

func TestWriteLimitsPoints(t *testing.T) {
	p := &profile.Profile{Transaction: profile.Transaction{TotalTimeMs: 30000, Status: 500}}
	for _, tbl := range []string{"a", "b", "c", "d"} {
		p.Spans = append(p.Spans, profile.Span{Kind: profile.KindSQL, DurationMs: 2000, SQL: "SELECT * FROM " + tbl})
	}
	p.Spans = append(p.Spans, profile.Span{Kind: profile.KindHTTPClient, DurationMs: 3000, RemoteAddress: "api.example.com:443"})
	p.Exceptions = []profile.Exception{{Type: "java.io.IOException"}, {Type: "java.lang.NullPointerException"}}
	require.NoError(t, p.Normalize())
	a := &profile.Alert{Rule: "SlowTransaction", Application: "shop", Message: "slow", Profile: p}
	facts := Detect(p, DefaultThresholds())
	require.Greater(t, len(facts), 6)
	for _, lang := range []string{"en", "ko"} {
		r := Write(a, facts, lang)
		require.Len(t, r.Analysis, MaxAnalysisPoints)
		require.Len(t, r.Actions, MaxActions)
		require.Contains(t, r.Summary, "6") // "6 more problems"/"문제 6건"
		parsed, err := ParseReport(r.Render())
		require.NoError(t, err)
		require.Equal(t, r, parsed)
	}
}

func TestWriteLanguage(t *testing.T) {
	for lang, want := range map[string]string{"": "en", "en": "en", "fr": "en", "EN-us": "en", "ko": "ko", "ko-KR": "ko", "KO": "ko"} {
		r := writeExample(t, profile.ExampleSlowSQL, lang)
		require.Equal(t, want, r.Language, lang)
		require.True(t, strings.HasPrefix(r.Render(), heading(want, secSummary)+"\n"), lang)
	}
}

// Facts travel through Temporal as JSON; the report must not change on the way.
func TestWriteFactsAfterJSON(t *testing.T) {
	for _, name := range profile.ExampleNames() {
		a := example(t, name)
		facts := Detect(a.Profile, DefaultThresholds())
		raw, err := json.Marshal(facts)
		require.NoError(t, err)
		var back []Fact
		require.NoError(t, json.Unmarshal(raw, &back))
		for _, lang := range []string{"en", "ko"} {
			require.Equal(t, Write(a, facts, lang), Write(a, back, lang), name+"/"+lang)
		}
	}
}

func TestParseReportAccepts(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Report
	}{
		{"markdown", "```\n## [Summary]\nSlow SQL on orders.\n\n**[Transaction]**\n* URL: GET /x\n\n### **[Profile analysis]**\n1) first point\n   continues here\n2) second\n\n__[Action plan]__:\n- fix it\n```\n",
			Report{Summary: "Slow SQL on orders.", Transaction: []string{"URL: GET /x"}, Analysis: []string{"first point continues here", "second"}, Actions: []string{"fix it"}, Language: "en"}},
		{"korean inline", "  [요약]: 정상입니다.\r\n[트랜잭션]\r\nURL: GET /x\r\n[프로파일 분석]\r\n문제 없음\r\n\r\n[조치 계획]\r\n조치 불필요\r\n",
			Report{Summary: "정상입니다.", Transaction: []string{"URL: GET /x"}, Analysis: []string{"문제 없음"}, Actions: []string{"조치 불필요"}, Language: "ko"}},
		{"case and spacing", "[summary]\nok\n[TRANSACTION]\n[profile  analysis]\n• one\n[Action Plan]\n",
			Report{Summary: "ok", Analysis: []string{"one"}, Language: "en"}},
		{"paragraph points", "[Summary]\nline one\nline two\n[Transaction]\n[Profile analysis]\nfirst\n\nsecond\n[Action plan]\n1. a\n",
			Report{Summary: "line one\nline two", Analysis: []string{"first", "second"}, Actions: []string{"a"}, Language: "en"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReport(tt.text)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseReportRejects(t *testing.T) {
	const (
		s  = "[Summary]\nsomething is slow\n"
		tx = "[Transaction]\n- URL: GET /x\n"
		an = "[Profile analysis]\n- one\n"
		ac = "[Action plan]\n1. fix\n"
	)
	tests := []struct {
		name, text, problem string
	}{
		{"empty", "", "no sections found; expected [Summary], [Transaction], [Profile analysis] and [Action plan]"},
		{"no headings", "The system is fine.", "no sections found; expected [Summary], [Transaction], [Profile analysis] and [Action plan]"},
		{"missing section", s + tx + an, "missing section [Action plan]"},
		{"missing korean section", "[요약]\n정상\n[프로파일 분석]\n[조치 계획]\n", "missing section [트랜잭션]"},
		{"out of order", s + an + tx + ac, "section [Transaction] is out of order: it must come before [Profile analysis]"},
		{"duplicated", s + tx + an + an + ac, "duplicate section [Profile analysis]"},
		{"too many points", s + tx + "[Profile analysis]\n- 1\n- 2\n- 3\n- 4\n- 5\n" + ac, "[Profile analysis] has 5 points, at most 3 allowed"},
		{"too many actions", s + tx + an + "[Action plan]\n1. a\n2. b\n3. c\n4. d\n", "[Action plan] has 4 points, at most 3 allowed"},
		{"too many korean points", "[요약]\n느림\n[트랜잭션]\n[프로파일 분석]\n- 1\n- 2\n- 3\n- 4\n[조치 계획]\n", "[프로파일 분석] has 4 points, at most 3 allowed"},
		{"empty summary", "[Summary]\n\n" + tx + an + ac, "[Summary] is empty"},
		{"mixed languages", s + "[트랜잭션]\n" + an + ac, "section [트랜잭션] is not in the language of [Summary]"},
		{"preamble", "Here is the report:\n" + s + tx + an + ac, `text before [Summary]: "Here is the report:"`},
		{"unknown section", s + tx + "[Root cause]\n" + an + ac, "unknown section [Root cause]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseReport(tt.text)
			var fe *FormatError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.problem, fe.Problem)
			require.Equal(t, "report format: "+tt.problem, err.Error())
		})
	}
}

func TestFactsPrompt(t *testing.T) {
	a := example(t, profile.ExampleSlowSQL)
	text := FactsPrompt(a, Detect(a.Profile, DefaultThresholds()))
	for _, s := range []string{
		"Rule: SlowSQL (severity critical)",
		"Message: SQL response time >= 8000 ms occurred 1 time, 14:03–14:13, on pod prod-test-api-7d9f",
		"Labels: env=prod, namespace=shop, team=commerce",
		"Request: POST /api/v1/checkout (CheckoutController.placeOrder), HTTP 200",
		"SQL: 8,458 ms in 9 executions, 42 rows fetched",
		"#4 sql, OrderRepository.findRecentDuplicates, 8,413 ms, SELECT on orders, order_items, 37 rows; SQL: SELECT o.id",
		"- [3 critical] slow_sql: SELECT on orders, order_items took 8,413 ms, 92% of the 9,132 ms transaction",
	} {
		require.Contains(t, text, s)
	}
	require.Equal(t, text, FactsPrompt(a, Detect(a.Profile, DefaultThresholds())))

	e := example(t, profile.ExampleException)
	require.Contains(t, FactsPrompt(e, Detect(e.Profile, DefaultThresholds())),
		"- java.lang.NullPointerException: Cannot invoke \"com.example.order.domain.Address.getZipCode()\" because the return value of \"com.example.order.domain.Order.getShippingAddress()\" is null (at com.example.order.api.OrderMapper.toDto(OrderMapper.java:41))")

	n := example(t, profile.ExampleNormal)
	require.Contains(t, FactsPrompt(n, nil), "- none: no detector threshold was crossed")
	n.Profile = nil
	require.Contains(t, FactsPrompt(n, nil), "No transaction profile is available.")
	require.NotPanics(t, func() { FactsPrompt(nil, nil) })
}

// Facts from elsewhere (an older worker, a hand-written test) may carry unknown kinds or odd
// data; the report must still be well formed.
func TestWriteOddFacts(t *testing.T) {
	a := example(t, profile.ExampleSlowSQL)
	facts := []Fact{
		{Kind: "disk_full", Severity: 5, Summary: "disk /var is 100% full."},
		{Kind: KindSlowSQL, Severity: SeverityWarning, Data: map[string]any{"tables": "orders", "durationMs": "1500", "crud": 7}},
		{Kind: KindNetworkDelay, Severity: SeverityWarning},
	}
	for _, lang := range []string{"en", "ko"} {
		r := Write(a, facts, lang)
		// Ranked by the time they cost: the 1.5 s statement first, then the facts without time.
		require.Contains(t, r.Summary, "1,500 ms")
		require.Len(t, r.Analysis, 3)
		require.Equal(t, "disk /var is 100% full.", r.Analysis[1])
		require.Contains(t, r.Analysis, "network delay detected.")
		require.NotContains(t, r.Render(), " 0 ms")
		require.NotEmpty(t, r.Actions)
		parsed, err := ParseReport(r.Render())
		require.NoError(t, err)
		require.Equal(t, r, parsed)
	}
}

// Random profiles (fixed seed) always give a well-formed report in both languages, whatever mix
// of spans, counts, errors, statuses and exceptions they hold.
func TestWriteRandomProfiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []string{profile.KindSQL, profile.KindDBConnect, profile.KindHTTPClient, profile.KindInternal, profile.KindFetch}
	stmts := []string{"SELECT * FROM a WHERE id = ?", "UPDATE b SET x = 1 WHERE id = 7", "INSERT INTO c (x) VALUES (?)", "", "DELETE FROM d"}
	urls := []string{"", "https://x.example.com/p?q=1", "http://y.svc:8080/z", "jdbc:mysql://u:p@db:3306/s"}
	excs := []string{"java.lang.NullPointerException", "org.springframework.dao.EmptyResultDataAccessException", "*pgconn.PgError", "java.lang.OutOfMemoryError", ""}
	for i := range 500 {
		p := &profile.Profile{Transaction: profile.Transaction{TotalTimeMs: rng.Float64() * 20000, Status: []int{0, 200, 201, 302, 404, 500, 503}[rng.IntN(7)]}}
		for range rng.IntN(40) {
			s := profile.Span{Kind: kinds[rng.IntN(len(kinds))], DurationMs: rng.Float64() * 3000, Count: rng.IntN(300), Rows: rng.IntN(20000),
				URL: urls[rng.IntN(len(urls))], StatusCode: []int{0, 200, 429, 503}[rng.IntN(4)]}
			if s.Kind == profile.KindSQL || s.Kind == profile.KindFetch {
				s.SQL, s.URL = stmts[rng.IntN(len(stmts))], ""
			}
			if rng.IntN(5) == 0 {
				s.Error = "boom"
			}
			p.Spans = append(p.Spans, s)
		}
		for range rng.IntN(4) {
			p.Exceptions = append(p.Exceptions, profile.Exception{Type: excs[rng.IntN(len(excs))], Message: "m"})
		}
		a := &profile.Alert{Rule: "R", Application: "app", Profile: p}
		facts := Detect(p, DefaultThresholds())
		for _, lang := range []string{LangEnglish, LangKorean} {
			r := Write(a, facts, lang)
			parsed, err := ParseReport(r.Render())
			require.NoError(t, err, "profile %d", i)
			require.Equal(t, r, parsed, "profile %d", i)
			require.LessOrEqual(t, len(r.Analysis), MaxAnalysisPoints)
		}
	}
}
