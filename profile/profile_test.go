package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const minimalAlert = `{"rule":"SlowSQL","message":"SQL response time >= 8000 ms occurred 1 time","application":"checkout-api",
 "instance":"prod-test-api-7d9f","startsAt":"2026-03-12T14:03:00+09:00"}`

func TestExamplesParse(t *testing.T) {
	require.Equal(t, []string{"exception", "n-plus-one", "network-delay", "normal", "slow-connection", "slow-sql"}, ExampleNames())
	for _, name := range ExampleNames() {
		t.Run(name, func(t *testing.T) {
			data, ok := Example(name)
			require.True(t, ok)
			a, err := ParseAlert(data)
			require.NoError(t, err)
			require.NotNil(t, a.Profile)
			require.Len(t, a.Fingerprint, 16)
			require.NotEmpty(t, a.TraceID)
			require.Equal(t, a.TraceID, a.Profile.TraceID)
			require.NotEmpty(t, a.Profile.Transaction.Instance)

			// What we emit, we accept: the normalized alert re-encodes to a document that parses
			// strictly to the same value.
			out, err := json.Marshal(a)
			require.NoError(t, err)
			again, err := ParseAlert(out)
			require.NoError(t, err)
			require.Equal(t, a, again)
		})
	}
	_, ok := Example("missing")
	require.False(t, ok)
	_, ok = Example("../examples/slow-sql")
	require.False(t, ok)
}

func TestExampleContents(t *testing.T) {
	parse := func(name string) *Alert {
		data, ok := Example(name)
		require.True(t, ok)
		a, err := ParseAlert(data)
		require.NoError(t, err)
		return a
	}
	st := parse(ExampleSlowSQL).Profile.Summary()
	require.Equal(t, []string{"orders", "order_items"}, st.SlowestSpan.Tables)
	require.Equal(t, CRUDSelect, st.SlowestSpan.CRUD)
	require.InDelta(t, 8412.7, st.SlowestSpan.DurationMs, 0.01)
	require.Equal(t, "orders-db.prod.internal:3306", parse(ExampleSlowSQL).Profile.Spans[0].RemoteAddress)

	require.Equal(t, KindDBConnect, parse(ExampleSlowConnection).Profile.Summary().SlowestSpan.Kind)
	require.Equal(t, "pay.partner.example.com:443", parse(ExampleNetworkDelay).Profile.Summary().SlowestSpan.RemoteAddress)
	require.Equal(t, "java.lang.NullPointerException", parse(ExampleException).Profile.Exceptions[0].Type) // a request failed by an exception alone
	require.Equal(t, 1213, parse(ExampleNPlusOne).Profile.SQLCount)
	require.Less(t, parse(ExampleNormal).Profile.Transaction.TotalTimeMs, 1000.0)
}

func TestParseAlertDefaults(t *testing.T) {
	a, err := ParseAlert([]byte(minimalAlert))
	require.NoError(t, err)
	require.Equal(t, SeverityWarning, a.Severity)
	sum := sha256.Sum256([]byte("SlowSQL\ncheckout-api\nprod-test-api-7d9f"))
	require.Equal(t, hex.EncodeToString(sum[:])[:16], a.Fingerprint)
	require.Equal(t, a.Fingerprint, a.ComputeFingerprint())
	require.True(t, a.StartsAt.Equal(time.Date(2026, 3, 12, 5, 3, 0, 0, time.UTC)))
	require.True(t, a.EndsAt.IsZero())
	require.Nil(t, a.Profile)

	// A given fingerprint is kept; severity is case-insensitive.
	a, err = ParseAlert([]byte(strings.Replace(minimalAlert, `"rule"`, `"fingerprint":"abc","severity":"CRITICAL","rule"`, 1)))
	require.NoError(t, err)
	require.Equal(t, "abc", a.Fingerprint)
	require.Equal(t, SeverityCritical, a.Severity)
}

func TestParseAlertProfileDefaults(t *testing.T) {
	doc := strings.TrimSuffix(minimalAlert, "}") + `,"traceId":"t1","profile":{"transaction":{"totalTimeMs":1500},
	 "spans":[
	  {"kind":"SQL","durationMs":900,"sql":"select * from \"Shop\".\"Orders\" where id = ?","rows":2},
	  {"kind":"sql","durationMs":30,"sql":"UPDATE orders SET x = 1","tables":["given"],"count":3},
	  {"kind":"http_client","durationMs":10,"url":"https://api.example.com/v1/x"},
	  {"kind":"fetch","durationMs":5,"rows":40}]}}`
	a, err := ParseAlert([]byte(doc))
	require.NoError(t, err)
	p := a.Profile
	require.Equal(t, "t1", p.TraceID)
	require.Equal(t, "prod-test-api-7d9f", p.Transaction.Instance)
	require.Equal(t, KindSQL, p.Spans[0].Kind)
	require.Equal(t, []string{"Shop.Orders"}, p.Spans[0].Tables)
	require.Equal(t, CRUDSelect, p.Spans[0].CRUD)
	require.Equal(t, 1, p.Spans[0].Count)
	require.Equal(t, []string{"given"}, p.Spans[1].Tables)
	require.Equal(t, CRUDUpdate, p.Spans[1].CRUD)
	require.Equal(t, "api.example.com:443", p.Spans[2].RemoteAddress)
	require.Equal(t, 4, p.SQLCount)
	require.Equal(t, 42, p.FetchCount)
}

func TestParseAlertErrors(t *testing.T) {
	withProfile := func(profile string) string {
		return strings.TrimSuffix(minimalAlert, "}") + `,"profile":` + profile + `}`
	}
	tests := []struct {
		name string
		doc  string
		want []string // every problem, in order
	}{
		{"empty", ``, []string{"empty document"}},
		{"not an object", `[1]`, []string{"must be a JSON object, got array"}},
		{"syntax", `{"rule":"x",}`, []string{"invalid JSON at byte offset 12: invalid character '}' looking for beginning of object key string"}},
		{"truncated", `{"rule":"x"`, []string{"invalid JSON at byte offset 11: unexpected end of input"}},
		{"trailing data", `{"rule":"x"}  {}`, []string{"invalid JSON at byte offset 14: unexpected data after the top-level object"}},
		{"missing required", `{"severity":"high"}`, []string{
			"rule: required", "message: required", "severity: must be one of critical, warning, info",
			"application: required", "startsAt: required"}},
		{"wrong types", `{"rule":1,"labels":{"a":2},"startsAt":"yesterday"}`, []string{
			"rule: must be a string, got number", `labels.a: must be a string, got number`,
			"startsAt: must be an RFC3339 timestamp such as 2025-01-02T14:03:00Z"}},
		{"unknown and duplicate", `{"rule":"a","rule":"b","Message":"x"}`, []string{"rule: duplicate field", "Message: unknown field"}},
		{"ends before start", strings.Replace(minimalAlert, `"startsAt"`, `"endsAt":"2026-03-12T14:00:00+09:00","startsAt"`, 1),
			[]string{"endsAt: must not be before startsAt"}},
		{"values and links", strings.TrimSuffix(minimalAlert, "}") + `,"values":{"B":"high"," ":1},"links":[{"name":"","url":"javascript:alert(1)"},{"name":"rule","url":"/relative"}]}`,
			[]string{"values.B: must be a number, got string"}},
		{"link semantics", strings.TrimSuffix(minimalAlert, "}") + `,"values":{" ":1},"links":[{"name":"","url":"javascript:alert(1)"},{"name":"rule","url":"/relative"},{"name":"ok","url":"https://grafana.example.com/d/x"}]}`,
			[]string{`values[" "]: value name must not be empty`, "links[0].name: required", "links[0].url: must be an absolute http or https URL", "links[1].url: must be an absolute http or https URL"}},
		{"span duration", withProfile(`{"transaction":{"totalTimeMs":10},"spans":[{"kind":"sql","durationMs":1},{"kind":"sql","durationMs":1},{"kind":"sql","durationMs":1},{"kind":"sql","durationMs":-5}]}`),
			[]string{"profile.spans[3].durationMs: must be >= 0"}},
		{"span shape", withProfile(`{"transaction":{"totalTimeMs":10},"spans":[{"kind":"sql","durationMs":"slow","colour":"red"},{"kind":"sql","durationMs":1,"count":2.5}]}`),
			[]string{"profile.spans[0].durationMs: must be a number, got string", "profile.spans[0].colour: unknown field", "profile.spans[1].count: must be an integer (no fraction or exponent)"}},
		{"profile semantics", withProfile(`{"traceId":"x","transaction":{"status":99},"spans":[{"durationMs":1},{"kind":"disk","crud":"upsert"},{"kind":"sql","durationMs":1,"count":-1,"rows":-1}],"exceptions":[{"message":"boom"}],"sqlCount":-1}`),
			[]string{
				"profile.transaction.totalTimeMs: required",
				"profile.transaction.status: must be an HTTP status code (100-599)",
				"profile.spans[0].kind: required",
				"profile.spans[1].kind: must be one of sql, db_connect, http_client, internal, fetch",
				"profile.spans[1].durationMs: required",
				"profile.spans[1].crud: must be one of SELECT, INSERT, UPDATE, DELETE, OTHER",
				"profile.spans[2].count: must be >= 1",
				"profile.spans[2].rows: must be >= 0",
				"profile.exceptions[0].type: required",
				"profile.sqlCount: must be >= 0",
			}},
		{"trace id mismatch", strings.TrimSuffix(minimalAlert, "}") + `,"traceId":"a","profile":{"traceId":"b","transaction":{"totalTimeMs":1}}}`,
			[]string{`profile.traceId: "b" does not match traceId "a"`}},
		{"sql count below spans", withProfile(`{"transaction":{"totalTimeMs":1},"spans":[{"kind":"sql","durationMs":1,"count":5}],"sqlCount":2}`),
			[]string{"profile.sqlCount: 2 is less than the 5 SQL executions listed in spans"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAlert([]byte(tt.doc))
			require.Error(t, err)
			require.Nil(t, a)
			var got []string
			var many FieldErrors
			if errors.As(err, &many) {
				for _, fe := range many {
					got = append(got, fe.Error())
				}
			} else {
				var fe *FieldError
				require.ErrorAs(t, err, &fe)
				got = []string{fe.Error()}
			}
			require.Equal(t, tt.want, got)
			// errors.As finds the first problem even inside FieldErrors.
			var first *FieldError
			require.ErrorAs(t, err, &first)
			require.Equal(t, tt.want[0], first.Error())
		})
	}
}

func TestParseProfile(t *testing.T) {
	p, err := ParseProfile([]byte(`{"transaction":{"totalTimeMs":12},"spans":[{"kind":"sql","durationMs":3,"sql":"DELETE FROM sessions WHERE expires_at < now()"}]}`))
	require.NoError(t, err)
	require.Equal(t, []string{"sessions"}, p.Spans[0].Tables)
	require.Equal(t, CRUDDelete, p.Spans[0].CRUD)

	_, err = ParseProfile([]byte(`{"transaction":{"totalTimeMs":12},"spans":[{"kind":"sql"}]}`))
	require.EqualError(t, err, "spans[0].durationMs: required")
}

func TestAnalyzeSQL(t *testing.T) {
	tests := []struct {
		sql    string
		tables []string
		crud   string
	}{
		{"SELECT o.id FROM orders o JOIN order_items oi ON oi.order_id = o.id WHERE o.id = ?", []string{"orders", "order_items"}, CRUDSelect},
		{"select * from shop.orders as o left outer join shop.customers c on c.id = o.customer_id", []string{"shop.orders", "shop.customers"}, CRUDSelect},
		{`SELECT * FROM "Sales"."Order Lines" ol, [dbo].[Invoices] i, ` + "`legacy`.`t`", []string{"Sales.Order Lines", "dbo.Invoices", "legacy.t"}, CRUDSelect},
		{"INSERT INTO orders (user_id, total) VALUES (?, ?)", []string{"orders"}, CRUDInsert},
		{"insert into audit_log select * from staging_audit", []string{"audit_log", "staging_audit"}, CRUDInsert},
		{"UPDATE accounts SET balance = balance - ? WHERE id = ?", []string{"accounts"}, CRUDUpdate},
		{"UPDATE LOW_PRIORITY accounts a SET a.x = 1", []string{"accounts"}, CRUDUpdate},
		{"DELETE FROM sessions WHERE expires_at < ?", []string{"sessions"}, CRUDDelete},
		{"  /* hint */ -- comment\n SELECT 1 FROM dual", nil, CRUDSelect},
		{"SELECT EXTRACT(YEAR FROM created_at), TRIM(BOTH ' ' FROM name) FROM users WHERE id IN (SELECT user_id FROM bans)", []string{"users", "bans"}, CRUDSelect},
		{"WITH recent AS (SELECT * FROM orders WHERE created_at > ?) SELECT * FROM recent r JOIN users u ON u.id = r.user_id", []string{"orders", "users"}, CRUDSelect},
		{"WITH x (a) AS (SELECT a FROM t1) DELETE FROM t2 WHERE a IN (SELECT a FROM x)", []string{"t1", "t2"}, CRUDDelete},
		{"SELECT * FROM payments WHERE id = ? FOR UPDATE", []string{"payments"}, CRUDSelect},
		{"INSERT INTO counters (k, v) VALUES (?, 1) ON DUPLICATE KEY UPDATE v = v + 1", []string{"counters"}, CRUDInsert},
		{"SELECT * FROM generate_series(1, 10) g", nil, CRUDSelect},
		{"SELECT 'FROM fake' AS s FROM real_table", []string{"real_table"}, CRUDSelect},
		{"MERGE INTO stock s USING incoming i ON s.id = i.id WHEN MATCHED THEN UPDATE SET s.qty = i.qty", []string{"stock", "incoming"}, CRUDOther},
		{"CALL refresh_stats(?)", nil, CRUDOther},
		{"SELECT * FROM Orders o JOIN orders x ON 1=1", []string{"Orders"}, CRUDSelect},
		{"", nil, ""},
		{"INSERT INTO \"", nil, CRUDInsert},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			tables, crud := AnalyzeSQL(tt.sql)
			require.Equal(t, tt.tables, tables)
			require.Equal(t, tt.crud, crud)
		})
	}
}

func TestNormalizeSQL(t *testing.T) {
	a := NormalizeSQL("select i.url from product_images i where i.product_id = 1001 and name = 'x' -- c")
	b := NormalizeSQL("SELECT i.url\n  FROM product_images i WHERE i.product_id = 1002 AND name = 'it''s'")
	require.Equal(t, a, b)
	require.Equal(t, "SELECT i.url FROM product_images i WHERE i.product_id = ? AND name = ?", a)
	require.Equal(t, NormalizeSQL("SELECT * FROM t WHERE id = :id"), NormalizeSQL("select * from t where id = $1"))
	require.Equal(t, "SELECT x::int FROM t WHERE a = ?", NormalizeSQL("select x::int from t where a = 5"))
}

func TestRemoteAddress(t *testing.T) {
	tests := map[string]string{
		"https://pay.partner.example.com/v2/payments":           "pay.partner.example.com:443",
		"http://inventory:8080/v1":                              "inventory:8080",
		"http://[::1]/x":                                        "[::1]:80",
		"jdbc:mysql://orders-db:3306/shop?user=a&password=b":    "orders-db:3306",
		"jdbc:postgresql://member-db.prod.internal:5432/member": "member-db.prod.internal:5432",
		"jdbc:oracle:thin:@ora-db:1521/ORCL":                    "ora-db:1521",
		"jdbc:oracle:thin:@//ora-db:1521/ORCL":                  "ora-db:1521",
		"jdbc:sqlserver://mssql:1433;databaseName=shop":         "mssql:1433",
		"jdbc:mysql:loadbalance://db1:3306,db2:3306/shop":       "db1:3306,db2:3306",
		"not a url": "",
		"jdbc:postgresql://user:secret@pg.internal:6432/app?sslmode=require": "pg.internal:6432",
	}
	for in, want := range tests {
		require.Equal(t, want, RemoteAddress(in), in)
	}
}

func TestSummary(t *testing.T) {
	p := &Profile{
		Transaction: Transaction{TotalTimeMs: 1000},
		Spans: []Span{
			{Kind: KindSQL, DurationMs: 100, Count: 10, Rows: 50},
			{Kind: KindDBConnect, DurationMs: 20},
			{Kind: KindHTTPClient, DurationMs: 400, Error: "read timeout"},
			{Kind: KindFetch, DurationMs: 5, Rows: 500},
			{Kind: KindHTTPClient, DurationMs: 400},
		},
		Exceptions: []Exception{{Type: "java.net.SocketTimeoutException"}},
	}
	st := p.Summary()
	require.Equal(t, 1000.0, st.TotalTimeMs)
	require.Equal(t, 100.0, st.SQLTimeMs)
	require.Equal(t, 10, st.SQLCount)
	require.Equal(t, 550, st.FetchCount)
	require.Equal(t, 800.0, st.HTTPClientTimeMs)
	require.Equal(t, 2, st.HTTPClientCount)
	require.Equal(t, 20.0, st.DBConnectTimeMs)
	require.Equal(t, 1, st.ExceptionCount)
	require.Equal(t, 1, st.ErrorSpanCount)
	require.Equal(t, 2, st.SlowestSpanIndex) // first of the two 400 ms spans
	require.Equal(t, "read timeout", st.SlowestSpan.Error)

	var empty *Profile
	require.Equal(t, -1, empty.Summary().SlowestSpanIndex)
	require.Nil(t, (&Profile{}).Summary().SlowestSpan)
}
