package analyst

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vigil-ops/vigil/profile"
)

// prof builds a normalized profile from spans.
func prof(t *testing.T, totalMs float64, spans ...profile.Span) *profile.Profile {
	t.Helper()
	p := &profile.Profile{Transaction: profile.Transaction{TotalTimeMs: totalMs}, Spans: spans}
	require.NoError(t, p.Normalize())
	return p
}

func sqlSpan(ms float64, sql string) profile.Span {
	return profile.Span{Kind: profile.KindSQL, DurationMs: ms, SQL: sql}
}

func kinds(facts []Fact) []string {
	out := []string{}
	for _, f := range facts {
		out = append(out, fmt.Sprintf("%s/%d", f.Kind, f.Severity))
	}
	return out
}

func only(facts []Fact, kind string) []Fact {
	var out []Fact
	for _, f := range facts {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func TestDetectSlowSQL(t *testing.T) {
	tests := []struct {
		name     string
		p        func(t *testing.T) *profile.Profile
		severity int // 0: no fact
		contains []string
	}{
		{"at threshold", func(t *testing.T) *profile.Profile {
			return prof(t, 5000, sqlSpan(1000, "SELECT * FROM orders WHERE id = ?"))
		}, SeverityWarning, []string{"SELECT on orders took 1,000 ms", "20% of the 5,000 ms transaction"}},
		{"critical join", func(t *testing.T) *profile.Profile {
			return prof(t, 9132.4, sqlSpan(8412.7, "SELECT * FROM orders o JOIN order_items oi ON oi.order_id = o.id"))
		}, SeverityCritical, []string{"SELECT on orders, order_items took 8,413 ms", "92%"}},
		{"update", func(t *testing.T) *profile.Profile {
			return prof(t, 3000, sqlSpan(2500, "UPDATE inventory SET qty = qty - 1 WHERE sku = ?"))
		}, SeverityWarning, []string{"UPDATE on inventory"}},
		{"share of a short transaction", func(t *testing.T) *profile.Profile {
			return prof(t, 1000, sqlSpan(600, "SELECT * FROM carts"))
		}, SeverityInfo, []string{"SELECT on carts took 600 ms, 60%"}},
		{"below threshold", func(t *testing.T) *profile.Profile {
			return prof(t, 10000, sqlSpan(999, "SELECT * FROM carts"))
		}, SeverityNone, nil},
		{"large share but tiny", func(t *testing.T) *profile.Profile {
			return prof(t, 200, sqlSpan(150, "SELECT * FROM carts"))
		}, SeverityNone, nil},
		{"many fast executions are not one slow SQL", func(t *testing.T) *profile.Profile {
			s := sqlSpan(3600, "SELECT * FROM product_images WHERE product_id = ?")
			s.Count = 1200
			return prof(t, 4000, s)
		}, SeverityNone, nil},
		{"repeated slow executions", func(t *testing.T) *profile.Profile {
			s := sqlSpan(3000, "SELECT * FROM reports")
			s.Count = 2
			return prof(t, 3100, s)
		}, SeverityWarning, []string{"ran 2 times for 3,000 ms (1,500 ms each)"}},
		{"not a sql span", func(t *testing.T) *profile.Profile {
			return prof(t, 9000, profile.Span{Kind: profile.KindInternal, DurationMs: 8000})
		}, SeverityNone, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := only(Detect(tt.p(t), DefaultThresholds()), KindSlowSQL)
			if tt.severity == SeverityNone {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			require.Equal(t, tt.severity, got[0].Severity)
			for _, s := range tt.contains {
				require.Contains(t, got[0].Summary, s)
			}
		})
	}

	// The fact names the tables and CRUD type in its data.
	f := only(Detect(prof(t, 9000, sqlSpan(8000, `SELECT * FROM "shop"."orders" o JOIN shop.order_items i ON i.order_id = o.id`)), Thresholds{}), KindSlowSQL)[0]
	require.Equal(t, []string{"shop.orders", "shop.order_items"}, f.Data["tables"])
	require.Equal(t, "SELECT", f.Data["crud"])
}

func TestDetectSlowDBConnect(t *testing.T) {
	conn := func(ms float64) profile.Span {
		return profile.Span{Kind: profile.KindDBConnect, DurationMs: ms, URL: "jdbc:postgresql://member-db:5432/member"}
	}
	tests := []struct {
		name     string
		span     profile.Span
		severity int
	}{
		{"at threshold", conn(500), SeverityWarning},
		{"five seconds", conn(5012), SeverityCritical},
		{"below threshold", conn(499), SeverityNone},
		{"sql is not a connection", sqlSpan(5000, "SELECT 1"), SeverityNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := only(Detect(prof(t, 6000, tt.span), DefaultThresholds()), KindSlowDBConnect)
			if tt.severity == SeverityNone {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			require.Equal(t, tt.severity, got[0].Severity)
			require.Equal(t, "member-db:5432", got[0].Data["remoteAddress"])
			require.Contains(t, got[0].Summary, "member-db:5432")
		})
	}
}

func TestDetectNetworkDelay(t *testing.T) {
	call := func(ms float64, mutate ...func(*profile.Span)) profile.Span {
		s := profile.Span{Kind: profile.KindHTTPClient, DurationMs: ms, URL: "https://pay.partner.example.com/v2/payments?key=x"}
		for _, m := range mutate {
			m(&s)
		}
		return s
	}
	tests := []struct {
		name     string
		span     profile.Span
		severity int
		contains []string
	}{
		{"at threshold", call(1000), SeverityWarning, []string{"pay.partner.example.com:443", "https://pay.partner.example.com/v2/payments"}},
		{"six seconds", call(6030), SeverityCritical, []string{"6,030 ms"}},
		{"explicit address and failure", call(1500, func(s *profile.Span) { s.RemoteAddress = "10.0.0.7:8443"; s.Error = "Read timed out\nat ..." }),
			SeverityWarning, []string{"10.0.0.7:8443", "it failed: Read timed out"}},
		{"server error", call(1500, func(s *profile.Span) { s.StatusCode = 503 }), SeverityWarning, []string{"HTTP 503"}},
		{"below threshold", call(999), SeverityNone, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := only(Detect(prof(t, 7000, tt.span), DefaultThresholds()), KindNetworkDelay)
			if tt.severity == SeverityNone {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			require.Equal(t, tt.severity, got[0].Severity)
			for _, s := range tt.contains {
				require.Contains(t, got[0].Summary, s)
			}
			require.NotContains(t, got[0].Summary, "key=x")
		})
	}
}

func TestDetectException(t *testing.T) {
	stack := "java.sql.SQLTransientConnectionException: pool timeout\n\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)\n" +
		"\tat org.springframework.jdbc.datasource.DataSourceUtils.fetchConnection(DataSourceUtils.java:160)\n" +
		"\tat com.example.order.OrderRepository.findById(OrderRepository.java:58)\n"
	tests := []struct {
		name       string
		status     int
		exceptions []profile.Exception
		want       []string // kind/severity
		contains   []string
	}{
		{"none", 200, nil, []string{}, nil},
		{"failed request", 500, []profile.Exception{{Type: "java.sql.SQLTransientConnectionException", Message: "pool timeout\n(total=20)", StackTrace: stack}},
			[]string{"exception/3"}, []string{"java.sql.SQLTransientConnectionException: pool timeout at com.example.order.OrderRepository.findById(OrderRepository.java:58)"}},
		{"handled exception is context", 200, []profile.Exception{{Type: "java.lang.IllegalStateException", Message: "cart is empty"}},
			[]string{"exception/1"}, []string{"IllegalStateException: cart is empty, handled: the request succeeded (HTTP 200)"}},
		{"jvm error", 200, []profile.Exception{{Type: "java.lang.OutOfMemoryError", Message: "Java heap space"}},
			[]string{"exception/3"}, nil},
		{"a Go error type is no jvm error", 200, []profile.Exception{{Type: "*pgconn.PgError", Message: "notice"}},
			[]string{"exception/1"}, nil},
		{"client error", 400, []profile.Exception{{Type: "org.springframework.web.bind.MethodArgumentNotValidException"}},
			[]string{"exception/2"}, nil},
		{"grouped by type", 0, []profile.Exception{{Type: "a.B", Message: "one"}, {Type: "a.C"}, {Type: "a.B", Message: "two"}},
			[]string{"exception/2", "exception/2"}, []string{"a.B: one (2 times)"}},
		{"the last exception that is not routine failed the request", 500, []profile.Exception{
			{Type: "org.springframework.dao.EmptyResultDataAccessException"}, {Type: "java.lang.NullPointerException"}, {Type: "java.util.NoSuchElementException"}},
			[]string{"exception/3", "exception/1", "exception/1"}, []string{"java.lang.NullPointerException"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := prof(t, 100)
			p.Transaction.Status = tt.status
			p.Exceptions = tt.exceptions
			got := Detect(p, DefaultThresholds())
			require.Equal(t, tt.want, kinds(got))
			for _, s := range tt.contains {
				require.Contains(t, got[0].Summary, s)
			}
		})
	}
}

func TestAppFrame(t *testing.T) {
	tests := map[string]string{
		"java.lang.RuntimeException: x\n\tat java.base/java.util.Objects.requireNonNull(Objects.java:233)\n\tat app//com.example.A.b(A.java:1)": "com.example.A.b(A.java:1)",
		"\tat org.springframework.web.X.y(X.java:3)\n": "org.springframework.web.X.y(X.java:3)",
		"no frames at all": "",
	}
	for in, want := range tests {
		require.Equal(t, want, appFrame(in), in)
	}
}

func TestDetectExcessiveSQL(t *testing.T) {
	repeated := func(n int) profile.Span {
		s := sqlSpan(float64(n)*3, "SELECT i.url FROM product_images i WHERE i.product_id = ?")
		s.Count = n
		return s
	}
	distinct := func(n int) []profile.Span {
		var spans []profile.Span
		for i := range n {
			spans = append(spans, sqlSpan(1, fmt.Sprintf("SELECT * FROM t%d WHERE id = ?", i%7)+strings.Repeat(" AND 1 = 1", i/7)))
		}
		return spans
	}
	tests := []struct {
		name     string
		spans    []profile.Span
		sqlCount int
		want     []string
		contains string
	}{
		{"N+1 at threshold", []profile.Span{repeated(50)}, 0, []string{"excessive_sql/2"}, "the same SELECT on product_images ran 50 times"},
		{"N+1 critical", []profile.Span{sqlSpan(20, "SELECT * FROM products"), repeated(1200)}, 0, []string{"excessive_sql/3"}, "ran 1,200 times (3,600 ms in total)"},
		{"N+1 below threshold", []profile.Span{repeated(49)}, 0, []string{}, ""},
		{"same shape, different literals", func() []profile.Span {
			var spans []profile.Span
			for i := range 60 {
				spans = append(spans, sqlSpan(2, fmt.Sprintf("select name from brands where id = %d", i)))
			}
			return spans
		}(), 0, []string{"excessive_sql/2"}, "the same SELECT on brands ran 60 times"},
		{"many distinct statements", distinct(100), 0, []string{"excessive_sql/2"}, "100 SQL executions in one transaction"},
		{"99 distinct statements", distinct(99), 0, []string{}, ""},
		{"total from a truncated profile", distinct(10), 150, []string{"excessive_sql/2"}, "150 SQL executions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := prof(t, 10000, tt.spans...)
			if tt.sqlCount > 0 {
				p.SQLCount = tt.sqlCount
			}
			got := only(Detect(p, DefaultThresholds()), KindExcessiveSQL)
			require.Equal(t, tt.want, kinds(got))
			if tt.contains != "" {
				require.Contains(t, got[0].Summary, tt.contains)
			}
		})
	}
}

func TestDetectExcessiveFetch(t *testing.T) {
	withRows := func(rows int) profile.Span {
		s := sqlSpan(50, "SELECT * FROM audit_log WHERE created_at > ?")
		s.Rows = rows
		return s
	}
	tests := []struct {
		name  string
		spans []profile.Span
		want  []string
	}{
		{"at threshold", []profile.Span{withRows(10000)}, []string{"excessive_fetch/2"}},
		{"critical", []profile.Span{withRows(40000), {Kind: profile.KindFetch, DurationMs: 10, Rows: 20000}}, []string{"excessive_fetch/3"}},
		{"below threshold", []profile.Span{withRows(9999)}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := only(Detect(prof(t, 500, tt.spans...), DefaultThresholds()), KindExcessiveFetch)
			require.Equal(t, tt.want, kinds(got))
			if len(got) > 0 {
				require.Contains(t, got[0].Summary, "by the SELECT on audit_log")
				require.Equal(t, []string{"audit_log"}, got[0].Data["tables"])
			}
		})
	}
}

func TestDetectExamples(t *testing.T) {
	want := map[string][]string{
		profile.ExampleSlowSQL:        {"slow_sql/3"},
		profile.ExampleSlowConnection: {"slow_db_connect/3"},
		profile.ExampleNetworkDelay:   {"network_delay/3"},
		profile.ExampleException:      {"exception/3"}, // a NullPointerException failed a fast request
		profile.ExampleNPlusOne:       {"excessive_sql/3"},
		profile.ExampleNormal:         {},
	}
	require.Len(t, want, len(profile.ExampleNames()))
	for _, name := range profile.ExampleNames() {
		a := example(t, name)
		got := Detect(a.Profile, DefaultThresholds())
		require.Equal(t, want[name], kinds(got), name)
		require.Equal(t, got, Detect(a.Profile, Thresholds{}), "zero thresholds take the defaults")
	}
}

func TestDetectOrder(t *testing.T) {
	p := prof(t, 20000,
		sqlSpan(1200, "SELECT * FROM a"),
		profile.Span{Kind: profile.KindHTTPClient, DurationMs: 7000, RemoteAddress: "x:443"},
		sqlSpan(9000, "SELECT * FROM b"),
		sqlSpan(2000, "DELETE FROM c"),
		profile.Span{Kind: profile.KindDBConnect, DurationMs: 600},
	)
	p.Exceptions = []profile.Exception{{Type: "java.lang.RuntimeException"}}
	got := Detect(p, DefaultThresholds())
	// By the time they cost, whatever their kind; the exception costs no time of its own.
	require.Equal(t, []string{"slow_sql/3", "network_delay/3", "slow_sql/2", "slow_sql/2", "slow_db_connect/2", "exception/2"}, kinds(got))
	require.Contains(t, got[2].Summary, "DELETE on c")
	for range 5 {
		require.Equal(t, got, Detect(p, DefaultThresholds()))
	}
	require.Nil(t, Detect(nil, DefaultThresholds()))

	// Custom thresholds apply.
	strict := Detect(p, Thresholds{SlowSQLMs: 100, CriticalFactor: 2})
	require.Equal(t, SeverityCritical, only(strict, KindSlowSQL)[2].Severity)
}

// The outsider's three misses: findings ranked by the time they cost, slow SQL judged per
// statement as well as per execution, and a handled exception kept as context.
func TestDetectImpact(t *testing.T) {
	t.Run("a 4.6 s UPDATE outranks a 1.3 s external call", func(t *testing.T) {
		p := prof(t, 6216,
			profile.Span{Kind: profile.KindHTTPClient, DurationMs: 1268, URL: "https://warehouse.example.com/sync"},
			sqlSpan(4601, "UPDATE inventory SET qty = qty - ? WHERE sku = ?"))
		got := Detect(p, DefaultThresholds())
		require.Equal(t, []string{"slow_sql/2", "network_delay/2"}, kinds(got))
		require.Equal(t, 4601.0, got[0].Data["impactMs"])
	})
	t.Run("one SELECT six times at 910 ms is slow SQL", func(t *testing.T) {
		var spans []profile.Span
		for i := range 6 {
			spans = append(spans, sqlSpan(910, fmt.Sprintf("SELECT SUM(amount) FROM settlements WHERE merchant_id = %d", i)))
		}
		got := Detect(prof(t, 6742, spans...), DefaultThresholds())
		require.Equal(t, []string{"slow_sql/3"}, kinds(got))
		require.Contains(t, got[0].Summary, "SELECT on settlements ran 6 times for 5,460 ms (910 ms each), 81% of the 6,742 ms transaction")
		require.Equal(t, 6, got[0].Data["executions"])
	})
	t.Run("short executions under the share are not slow SQL", func(t *testing.T) {
		s := sqlSpan(600, "SELECT * FROM carts WHERE id = ?")
		s.Count = 6 // 100 ms each
		require.Empty(t, only(Detect(prof(t, 1000, s), DefaultThresholds()), KindSlowSQL))
	})
	t.Run("a handled exception is context", func(t *testing.T) {
		p := prof(t, 4772, profile.Span{Kind: profile.KindHTTPClient, DurationMs: 4201, URL: "http://coupon.svc:8080/apply"})
		p.Transaction.Status = 201
		p.Exceptions = []profile.Exception{{Type: "org.springframework.dao.EmptyResultDataAccessException"}}
		got := Detect(p, DefaultThresholds())
		require.Equal(t, []string{"network_delay/2", "exception/1"}, kinds(got))
		require.Equal(t, true, got[1].Data["handled"])
	})
	t.Run("a handled exception explains a slow request when nothing else does", func(t *testing.T) {
		p := prof(t, 2500, profile.Span{Kind: profile.KindInternal, DurationMs: 2400})
		p.Transaction.Status = 200
		p.Exceptions = []profile.Exception{{Type: "com.example.RetryableLockException"}}
		require.Equal(t, []string{"exception/2"}, kinds(Detect(p, DefaultThresholds())))
	})
	t.Run("an exception that failed the request comes first", func(t *testing.T) {
		p := prof(t, 9000, sqlSpan(8000, "SELECT * FROM orders"))
		p.Transaction.Status = 503
		p.Exceptions = []profile.Exception{{Type: "java.lang.IllegalStateException"}}
		got := Detect(p, DefaultThresholds())
		require.Equal(t, []string{"exception/3", "slow_sql/3"}, kinds(got))
		require.Equal(t, true, got[0].Data["failed"])
	})
}

// Identical calls of a retry loop are one finding with their count, so they do not crowd the
// other findings out of the report's three points.
func TestDetectRetryLoop(t *testing.T) {
	call := func(ms float64, err string) profile.Span {
		return profile.Span{Kind: profile.KindHTTPClient, Name: "RestTemplate.exchange", DurationMs: ms, Error: err,
			URL: "https://gds.example.com/offers?session=1"}
	}
	p := prof(t, 8240,
		profile.Span{Kind: profile.KindDBConnect, DurationMs: 610, RemoteAddress: "travel-db:3306"},
		sqlSpan(1520, "SELECT * FROM fare_rules WHERE route = ?"),
		call(1505, "java.net.SocketTimeoutException: Read timed out"),
		call(1502, "java.net.SocketTimeoutException: Read timed out"),
		call(1498, ""),
		profile.Span{Kind: profile.KindHTTPClient, DurationMs: 1100, URL: "http://hotel.svc:8080/rooms"},
	)
	got := Detect(p, DefaultThresholds())
	require.Equal(t, []string{"network_delay/2", "slow_sql/2", "network_delay/2", "slow_db_connect/2"}, kinds(got))
	require.Equal(t, 3, got[0].Data["executions"])
	require.Equal(t, 2, got[0].Data["failures"])
	require.Contains(t, got[0].Summary, "ran 3 times for 4,505 ms (1,502 ms each)")
	require.Contains(t, got[0].Summary, "2 of them failed: java.net.SocketTimeoutException: Read timed out")

	// Five calls of 900 ms each, none slow alone, are one slow call in total.
	var spans []profile.Span
	for range 5 {
		spans = append(spans, call(900, "ReadTimeoutException"))
	}
	got = Detect(prof(t, 4630, spans...), DefaultThresholds())
	require.Equal(t, []string{"network_delay/2"}, kinds(got))

	for _, lang := range []string{LangEnglish, LangKorean} {
		r := Write(&profile.Alert{Rule: "SlowTransaction", Application: "travel-api", Profile: p}, Detect(p, DefaultThresholds()), lang)
		require.Len(t, r.Analysis, 3)
		require.Contains(t, r.Analysis[1], "fare_rules")
	}
}

// N+1 advice differs for reads and writes.
func TestNPlusOneAdvice(t *testing.T) {
	for crud, want := range map[string][]string{
		"SELECT * FROM order_items WHERE order_id = ?":        {"fetch join", "@BatchSize"},
		"INSERT INTO order_history (order_id) VALUES (?)":     {"executeBatch", "배치"},
		"UPDATE stock SET qty = qty - 1 WHERE sku = ?":        {"executeBatch", "WHERE id IN"},
		"DELETE FROM cart_items WHERE cart_id = ? AND id = ?": {"executeBatch", "집합 단위"},
	} {
		s := sqlSpan(600, crud)
		s.Count = 300
		p := prof(t, 1000, s)
		facts := Detect(p, DefaultThresholds())
		a := &profile.Alert{Rule: "ExcessiveSQL", Application: "shop", Profile: p}
		text := Write(a, facts, LangEnglish).Render() + Write(a, facts, LangKorean).Render()
		for _, w := range want {
			require.Contains(t, text, w, crud)
		}
	}
}
