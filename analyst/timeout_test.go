package analyst

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/profile"
)

// A timeout (or an unavailable resource) that failed the request is how a slow step failed it:
// the step is the cause and comes first, whatever the language's wording.
func TestTimeoutOfSlowStepIsTheCause(t *testing.T) {
	dbc := func(ms float64, name, addr, url, err string) profile.Span {
		return profile.Span{Kind: profile.KindDBConnect, Name: name, DurationMs: ms, RemoteAddress: addr, URL: url, Error: err}
	}
	call := func(ms float64, name, url, err string) profile.Span {
		return profile.Span{Kind: profile.KindHTTPClient, Name: name, DurationMs: ms, URL: url, Error: err}
	}
	tests := []struct {
		name   string
		status int
		total  float64
		spans  []profile.Span
		exc    []profile.Exception
		want   string // the kind ranked first
	}{
		{"java hikari pool timeout", 500, 5019, []profile.Span{dbc(5001, "HikariPool-1.getConnection", "billing-db.prod.internal:3306", "", "HikariPool-1 - Connection is not available, request timed out after 5000ms.")},
			[]profile.Exception{{Type: "java.sql.SQLTransientConnectionException", Message: "HikariPool-1 - Connection is not available, request timed out after 5000ms. (total=30, active=30, idle=0, waiting=112)"}},
			KindSlowDBConnect},
		{"java read timeout names the host", 504, 10046, []profile.Span{call(10003, "LogisPartnerClient.book", "https://api.logis-partner.com/v3/bookings", "")},
			[]profile.Exception{{Type: "org.springframework.web.client.ResourceAccessException", Message: `I/O error on POST request for "https://api.logis-partner.com/v3/bookings": Read timed out`}},
			KindNetworkDelay},
		{"java wrapper caused by a socket timeout, raised under the span", 500, 6100, []profile.Span{call(6000, "RateClient.fetch", "https://rates.example.com/v1/eur", "")},
			[]profile.Exception{{Type: "com.example.RateUnavailableException", Message: "could not price the order",
				StackTrace: "com.example.RateUnavailableException: could not price the order\n\tat com.example.RateClient.fetch(RateClient.java:40)\nCaused by: java.net.SocketTimeoutException: Read timed out\n\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)"}},
			KindNetworkDelay},
		{"go client timeout", 504, 5030, []profile.Span{call(5001, "http.Client.Do", "https://fraud.example.net/check", "context deadline exceeded")},
			[]profile.Exception{{Type: "*url.Error", Message: `Post "https://fraud.example.net/check": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`}},
			KindNetworkDelay},
		{"go pgxpool acquire deadline, same error on the span", 503, 3010, []profile.Span{dbc(3000, "pgxpool.Pool.Acquire", "", "postgres://app:pw@wallet-pg.internal:5432/wallet", "context deadline exceeded")},
			[]profile.Exception{{Type: "*errors.errorString", Message: "context deadline exceeded"}},
			KindSlowDBConnect},
		{"python requests read timeout", 500, 8200, []profile.Span{call(8003, "requests.post", "https://api.rates.example.com/v1/quote", "")},
			[]profile.Exception{{Type: "requests.exceptions.ReadTimeout", Message: "HTTPSConnectionPool(host='api.rates.example.com', port=443): Read timed out. (read timeout=8)"}},
			KindNetworkDelay},
		{"python sqlalchemy queue pool", 500, 30100, []profile.Span{dbc(30000, "QueuePool.connect", "orders-pg.internal:5432", "", "")},
			[]profile.Exception{{Type: "sqlalchemy.exc.TimeoutError", Message: "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"}},
			KindSlowDBConnect},
		{"node knex acquire timeout", 500, 60050, []profile.Span{dbc(60000, "knex.acquireConnection", "catalog-pg.internal:5432", "", "")},
			[]profile.Exception{{Type: "KnexTimeoutError", Message: "Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call?"}},
			KindSlowDBConnect},
		{"node axios timeout raised under the span", 500, 5040, []profile.Span{call(5002, "PaymentClient.charge", "https://pay.example.com/charge", "")},
			[]profile.Exception{{Type: "AxiosError", Message: "timeout of 5000ms exceeded",
				StackTrace: "AxiosError: timeout of 5000ms exceeded\n    at RedirectableRequest.handleRequestTimeout (/app/node_modules/axios/lib/adapters/http.js:630:16)\n    at PaymentClient.charge (/app/src/payment.js:42:11)"}},
			KindNetworkDelay},
		{"node ETIMEDOUT naming the host", 502, 21050, []profile.Span{call(21000, "https.request", "https://stock.vendor.example.com/v2/items", "")},
			[]profile.Exception{{Type: "Error", Message: "connect ETIMEDOUT stock.vendor.example.com:443"}},
			KindNetworkDelay},
		{"downstream 503 after a long wait", 500, 2102, []profile.Span{{Kind: profile.KindHTTPClient, Name: "WebClient.retrieve", DurationMs: 2050, URL: "http://order-api.shop.svc:8080/v1/orders", StatusCode: 503}},
			[]profile.Exception{{Type: "org.springframework.web.reactive.function.client.WebClientResponseException$ServiceUnavailable", Message: "503 Service Unavailable from GET http://order-api.shop.svc:8080/v1/orders"}},
			KindNetworkDelay},
		{"mysql lock wait timeout on the slow statement", 500, 51000, []profile.Span{{Kind: profile.KindSQL, Name: "InventoryRepository.decrease", DurationMs: 50010, SQL: "UPDATE inventory SET qty = qty - ? WHERE sku = ?", Error: "Lock wait timeout exceeded; try restarting transaction"}},
			[]profile.Exception{{Type: "com.mysql.cj.jdbc.exceptions.MySQLTransactionRollbackException", Message: "Lock wait timeout exceeded; try restarting transaction"}},
			KindSlowSQL},
		{"postgres statement timeout raised under the span", 500, 30500, []profile.Span{{Kind: profile.KindSQL, Name: "ReportDao.monthly", DurationMs: 30001, SQL: "SELECT * FROM ledger_entries WHERE booked_on >= ?"}},
			[]profile.Exception{{Type: "org.postgresql.util.PSQLException", Message: "ERROR: canceling statement due to statement timeout",
				StackTrace: "org.postgresql.util.PSQLException: ERROR: canceling statement due to statement timeout\n\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2713)\n\tat com.example.ReportDao.monthly(ReportDao.java:77)"}},
			KindSlowSQL},

		// An exception that failed the request for another reason stays first.
		{"a NullPointerException beside a slow connection", 500, 3100, []profile.Span{dbc(3000, "HikariPool-1.getConnection", "orders-db:3306", "", "")},
			[]profile.Exception{{Type: "java.lang.NullPointerException", Message: "Cannot invoke \"Order.id()\" because \"order\" is null"}},
			KindException},
		{"a constraint violation after slow SQL", 500, 2000, []profile.Span{{Kind: profile.KindSQL, Name: "OrderRepository.insert", DurationMs: 1800, SQL: "INSERT INTO orders (id) VALUES (?)", Error: "Duplicate entry '42' for key 'PRIMARY'"}},
			[]profile.Exception{{Type: "org.springframework.dao.DataIntegrityViolationException", Message: "Duplicate entry '42' for key 'PRIMARY'"}},
			KindException},
		{"an OutOfMemoryError whose message says timeout", 503, 4000, []profile.Span{dbc(3500, "HikariPool-1.getConnection", "orders-db:3306", "", "")},
			[]profile.Exception{{Type: "java.lang.OutOfMemoryError", Message: "GC overhead limit exceeded while HikariPool-1 timed out"}},
			KindException},
		{"a refused connection is no timeout", 503, 1012, []profile.Span{dbc(1002, "pgxpool.Pool.Acquire", "", "postgres://inv:pw@inventory-pg.internal:5432/inventory", "dial tcp 10.4.2.17:5432: connect: connection refused")},
			[]profile.Exception{{Type: "*pgconn.ConnectError", Message: "failed to connect to `host=inventory-pg.internal user=inv database=inventory`: dial error (dial tcp 10.4.2.17:5432: connect: connection refused)"}},
			KindException},
		{"the slow step took less than half of the request", 500, 4000, []profile.Span{call(1500, "PartnerClient.call", "https://partner.example.com/x", "Read timed out")},
			[]profile.Exception{{Type: "org.springframework.web.client.ResourceAccessException", Message: `I/O error on GET request for "https://partner.example.com/x": Read timed out`}},
			KindException},
		{"the timeout names another host than the slow call", 500, 6000, []profile.Span{call(5000, "CatalogClient.get", "https://catalog.example.com/items", "")},
			[]profile.Exception{{Type: "java.net.SocketTimeoutException", Message: "Connect timed out to search.example.com:443"}},
			KindException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := prof(t, tt.total, tt.spans...)
			p.Transaction.Status = tt.status
			p.Exceptions = tt.exc
			facts := Detect(p, DefaultThresholds())
			require.NotEmpty(t, facts)
			require.Equal(t, tt.want, facts[0].Kind, kinds(facts))
			a := &profile.Alert{Rule: "Exception", Application: "app", Profile: p}
			en, ko := Write(a, facts, "en"), Write(a, facts, "ko")
			exc := only(facts, KindException)[0]
			if tt.want == KindException {
				require.Nil(t, exc.Data["symptomOf"])
				require.Contains(t, en.Summary, "Cause: an exception")
				return
			}
			require.Equal(t, true, facts[0].Data["failed"])
			require.Equal(t, tt.want, exc.Data["symptomOf"])
			typ := tt.exc[0].Type
			require.Contains(t, facts[0].Summary, "because of it")
			require.Contains(t, en.Summary, "The request failed (HTTP ")
			require.Contains(t, en.Summary, typ+" because of it")
			require.Contains(t, en.Analysis[0], typ+" because of it.")
			require.Contains(t, en.Analysis[1], "above failed the request")
			require.NotContains(t, en.Summary, "more problem", "the exception is the same problem")
			require.Contains(t, ko.Summary, "이 때문에 요청이 "+typ+" 예외로 실패했습니다")
			require.Contains(t, ko.Analysis[0], "이 때문에 요청이 "+typ+" 예외로 실패했습니다")
			require.Contains(t, ko.Analysis[1], "별도의 원인이 아닙니다")
			for _, r := range []Report{en, ko} {
				_, err := ParseReport(r.Render())
				require.NoError(t, err)
			}

			// Facts that went through JSON (a Temporal payload) give the same report.
			raw, err := json.Marshal(facts)
			require.NoError(t, err)
			var back []Fact
			require.NoError(t, json.Unmarshal(raw, &back))
			require.Equal(t, en, Write(a, back, "en"))
			require.Equal(t, ko, Write(a, back, "ko"))
		})
	}
}

// The attempts of a retry loop that timed out are symptoms of the same slow call, like the
// exception that failed the request: the report counts no further problem.
func TestTimeoutRetryLoopSymptoms(t *testing.T) {
	span := profile.Span{Kind: profile.KindHTTPClient, Name: "RestTemplate.exchange", DurationMs: 1003, URL: "https://label.carrier.example.com/v1/labels", Error: "java.net.SocketTimeoutException: Read timed out"}
	p := prof(t, 3130, span, span, span)
	p.Transaction.Status = 500
	p.Exceptions = []profile.Exception{
		{Type: "java.net.SocketTimeoutException", Message: "Read timed out"},
		{Type: "java.net.SocketTimeoutException", Message: "Read timed out"},
		{Type: "org.springframework.web.client.ResourceAccessException", Message: `I/O error on POST request for "https://label.carrier.example.com/v1/labels": Read timed out`},
	}
	facts := Detect(p, DefaultThresholds())
	require.Equal(t, []string{"network_delay/2", "exception/3", "exception/2"}, kinds(facts))
	for _, f := range facts[1:] {
		require.Equal(t, KindNetworkDelay, f.Data["symptomOf"])
	}
	r := Write(&profile.Alert{Profile: p}, facts, "en")
	require.NotContains(t, r.Summary, "more problem")
	require.Contains(t, r.Analysis[2], "it was thrown by the slow external call above")
	require.Len(t, r.Actions, 2, "the call's action covers its exceptions")
}

func TestIsTimeoutSymptom(t *testing.T) {
	for _, s := range []string{
		"java.net.SocketTimeoutException: Read timed out", "connect timed out", "HikariPool-1 - Connection is not available",
		"context deadline exceeded", "rpc error: code = DEADLINE_EXCEEDED desc = x", "dial tcp 10.0.0.1:443: i/o timeout",
		"connect ETIMEDOUT 10.0.0.1:443", "ESOCKETTIMEDOUT", "org.apache.tomcat.jdbc.pool.PoolExhaustedException: Pool empty",
		"HttpServerErrorException$GatewayTimeout: 504 Gateway Timeout", "503 Service Unavailable", "upstream answered 504",
		"asyncio.TimeoutError", "Knex: Timeout acquiring a connection",
	} {
		require.True(t, isTimeoutSymptom(s, "", ""), s)
	}
	for _, s := range []string{
		"java.lang.NullPointerException", "Duplicate entry '42' for key 'PRIMARY'", "connect: connection refused",
		"Deadlock found when trying to get lock", "context canceled", "order 5030 not found",
	} {
		require.False(t, isTimeoutSymptom(s, "", ""), s)
	}
	require.True(t, isTimeoutSymptom("com.example.PartnerException", "booking failed",
		"com.example.PartnerException: booking failed\n\tat a.B.c(B.java:1)\nCaused by: java.net.SocketTimeoutException: Read timed out"))
	require.False(t, isTimeoutSymptom("java.lang.IllegalStateException", "bad state",
		"java.lang.IllegalStateException: bad state\n\tat com.example.TimeoutFilter.doFilter(TimeoutFilter.java:10)"), "stack frames are not read")
}
