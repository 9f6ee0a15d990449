package mask

import (
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// benchCorpus generates a realistic mixed corpus of about n bytes: transaction profiles as JSON,
// SQL statements with literals, Java stack traces and application logs with IPs, hosts, e-mails,
// tokens and phone numbers, in the proportions an incident analysis sends.
func benchCorpus(n int) string {
	r := rand.New(rand.NewSource(42))
	pick := func(xs ...string) string { return xs[r.Intn(len(xs))] }
	hosts := []string{"real-db.example.com", "orders-db.prod.internal", "api.shop.example.com", "payment-api.internal",
		"cache-01.corp.example.com", "kafka-2.prod.internal", "auth.example.co.kr", "search.svc.cluster.local"}
	users := []string{"alice.kim@example.com", "bob@shop.example.com", "lee.minho@corp.example.com", "ops+alerts@example.co.kr"}
	tables := []string{"orders", "order_items", "members", "payments", "coupons", "shipments"}
	ip := func() string {
		if r.Intn(3) == 0 {
			return fmt.Sprintf("203.0.113.%d", 1+r.Intn(254))
		}
		return fmt.Sprintf("10.20.%d.%d", r.Intn(256), 1+r.Intn(254))
	}
	ts := func() string {
		return fmt.Sprintf("2026-11-26 14:%02d:%02d.%03d", r.Intn(60), r.Intn(60), r.Intn(1000))
	}
	frames := []string{
		"com.example.order.repository.OrderRepository.findByOrderNo(OrderRepository.java:58)",
		"com.example.order.service.OrderService.getOrder(OrderService.java:41)",
		"com.example.order.api.OrderController.getOrder(OrderController.java:33)",
		"org.springframework.jdbc.datasource.DataSourceUtils.fetchConnection(DataSourceUtils.java:160)",
		"com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)",
		"java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
		"org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)",
	}
	sqlLit := func() string {
		t := pick(tables...)
		switch r.Intn(4) {
		case 0:
			return fmt.Sprintf("UPDATE %s SET status = '%s', amount = %d WHERE id = %d", t, pick("PAID", "SHIPPED", "CANCELLED"), 1000+r.Intn(90000), 10000+r.Intn(900000))
		case 1:
			return fmt.Sprintf("SELECT o.id, o.status, oi.sku FROM orders o JOIN order_items oi ON oi.order_id = o.id WHERE o.member_no = %d AND o.created_at > '2026-11-%02d' LIMIT 100", 20000000+r.Intn(999999), 1+r.Intn(28))
		case 2:
			return fmt.Sprintf("INSERT INTO members (name, email, phone, point) VALUES ('%s', '%s', '010-4821-%04d', %d)", pick("Kim Minsu", "Lee Jiwoo", "Park Seoyeon"), pick(users...), r.Intn(10000), r.Intn(50000))
		default:
			return fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE member_no IN (%d, %d, %d) AND status = 'ACTIVE'", t, 1000+r.Intn(9000), 1000+r.Intn(9000), 1000+r.Intn(9000))
		}
	}
	var b strings.Builder
	for b.Len() < n {
		switch r.Intn(10) {
		case 0, 1: // transaction profile
			fmt.Fprintf(&b, `{"rule":"SlowSQL","message":"SQL response time >= 8000 ms occurred %d time, 14:03–14:13, on pod prod-order-api-%04x","instance":"prod-order-api-%04x","traceId":"%016x%016x",`+
				`"transaction":{"name":"OrderController.getOrder","url":"https://%s/api/v1/orders/%d","method":"GET","totalTimeMs":%d.%d,"status":200,"clientIp":"%s"},`+
				`"spans":[{"kind":"db_connect","name":"HikariPool-1.getConnection","durationMs":%d.%d,"remoteAddress":"%s:3306"},`+
				`{"kind":"sql","table":"%s","crud":"SELECT","durationMs":8012.4,"sql":"SELECT o.id, o.status FROM orders o WHERE o.member_no = ? AND o.created_at > ? ORDER BY o.id DESC LIMIT 20"},`+
				`{"kind":"sql","table":"%s","crud":"UPDATE","durationMs":12.1,"sql":"%s"},`+
				`{"kind":"http","name":"PaymentClient.approve","url":"http://payment-api.internal:8080/v2/approve?orderNo=%d","durationMs":%d}],`+
				`"exceptions":[{"type":"java.sql.SQLTimeoutException","message":"Statement cancelled due to timeout or client request on jdbc:mysql://%s:3306/shop?useSSL=false",`+
				`"stackTrace":"java.sql.SQLTimeoutException: Statement cancelled\n\tat %s\n\tat %s\n\tat %s"}]}`+"\n",
				1+r.Intn(20), r.Intn(65536), r.Intn(65536), r.Uint64(), r.Uint64(), pick(hosts...), 20260000+r.Intn(9999), 8000+r.Intn(3000), r.Intn(10), ip(),
				r.Intn(3000), r.Intn(10), pick(hosts...), pick(tables...), pick(tables...), sqlLit(), 100000+r.Intn(900000), 10+r.Intn(2000),
				pick(hosts...), frames[r.Intn(len(frames))], frames[r.Intn(len(frames))], frames[r.Intn(len(frames))])
		case 2, 3: // SQL log lines
			fmt.Fprintf(&b, "%s DEBUG [http-nio-8080-exec-%d] o.h.SQL - %s;\n", ts(), 1+r.Intn(200), sqlLit())
		case 4: // Java stack trace
			fmt.Fprintf(&b, "%s ERROR [http-nio-8080-exec-%d] c.e.o.a.GlobalExceptionHandler - request failed\n", ts(), 1+r.Intn(200))
			fmt.Fprintf(&b, "org.springframework.dao.QueryTimeoutException: PreparedStatementCallback; SQL [%s]; Communications link failure to %s:3306\n", sqlLit(), ip())
			for k := 0; k < 8; k++ {
				fmt.Fprintf(&b, "\tat %s\n", frames[r.Intn(len(frames))])
			}
			fmt.Fprintf(&b, "Caused by: java.sql.SQLTimeoutException: Connection is not available, request timed out after %dms.\n\tat %s\n\t... %d common frames omitted\n", 1000+r.Intn(30000), frames[r.Intn(len(frames))], r.Intn(90))
		default: // application logs
			switch r.Intn(6) {
			case 0:
				fmt.Fprintf(&b, "%s INFO  [http-nio-8080-exec-%d] c.e.o.s.OrderService - order %d placed by %s from %s in %d ms (v2.10.0, Java 17.0.2)\n", ts(), r.Intn(200), 1000000+r.Intn(9000000), pick(users...), ip(), r.Intn(900))
			case 1:
				fmt.Fprintf(&b, "%s - - [26/Nov/2026:14:%02d:%02d +0900] \"GET /api/v1/orders/%d?page=%d&size=20 HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\" rt=%d.%03d\n", ip(), r.Intn(60), r.Intn(60), r.Intn(999999), r.Intn(10), r.Intn(90000), r.Intn(3), r.Intn(1000))
			case 2:
				fmt.Fprintf(&b, "%s WARN  [scheduler-%d] c.e.p.PaymentClient - POST https://%s/v1/charges failed after %d ms, retry %d/3; Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcmRlci1hcGkiLCJleHAiOjE3NjQ%04d.Sfl%dKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n", ts(), r.Intn(8), pick(hosts...), 100+r.Intn(9000), 1+r.Intn(3), r.Intn(10000), r.Intn(10))
			case 3:
				fmt.Fprintf(&b, "%s INFO  [main] c.e.c.DataSourceConfig - datasource url=jdbc:mysql://%s:3306/shop user=app password=hunter2 pool=HikariPool-1 maxPoolSize=20\n", ts(), pick(hosts...))
			case 4:
				fmt.Fprintf(&b, "%s INFO  [notify-%d] c.e.n.SmsSender - sent order notice to 010-4821-%04d (member %d), callback +82 2 %03d %04d; aws key AKIAIOSFODNN7EXAMPLE region ap-northeast-2\n", ts(), r.Intn(4), r.Intn(10000), r.Intn(99999999), r.Intn(1000), r.Intn(10000))
			default:
				fmt.Fprintf(&b, "%s DEBUG [kafka-consumer-%d] o.a.k.c.c.i.ConsumerCoordinator - [Consumer clientId=consumer-orders-%d, groupId=orders] Committed offset %d for partition orders-%d at %s:9092 (lag %d, 1.5s)\n", ts(), r.Intn(8), r.Intn(8), r.Intn(99999999), r.Intn(12), pick(hosts...), r.Intn(500))
			}
		}
	}
	return b.String()
}

var (
	corpusOnce sync.Once
	corpus     string
)

func getCorpus() string {
	corpusOnce.Do(func() { corpus = benchCorpus(1 << 20) })
	return corpus
}

// benchMasker is the built-in recognisers with one internal suffix; custom patterns (user
// regexps) are measured separately.
func benchMasker(b *testing.B) *Masker {
	m, err := New(Options{InternalSuffixes: []string{".corp.example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkMask measures the single-pass Masker with a fresh vault per iteration: every
// distinct value gets a new token (the first message of a scope; the worst case).
func BenchmarkMask(b *testing.B) {
	m := benchMasker(b)
	c := getCorpus()
	b.SetBytes(int64(len(c)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Mask(NewVault(), c)
	}
}

// BenchmarkMaskWarm reuses one vault: the values are already known (later messages of a scope).
func BenchmarkMaskWarm(b *testing.B) {
	m := benchMasker(b)
	c := getCorpus()
	v := NewVault()
	m.Mask(v, c)
	b.SetBytes(int64(len(c)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Mask(v, c)
	}
}

// BenchmarkMaskCustom is BenchmarkMask with two custom patterns (they run as regexps).
func BenchmarkMaskCustom(b *testing.B) {
	m := testMasker(b)
	c := getCorpus()
	b.SetBytes(int64(len(c)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Mask(NewVault(), c)
	}
}

// BenchmarkFind runs the scanner only.
func BenchmarkFind(b *testing.B) {
	m := benchMasker(b)
	c := getCorpus()
	b.SetBytes(int64(len(c)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Find(c)
	}
}

// BenchmarkUnmask restores a masked corpus.
func BenchmarkUnmask(b *testing.B) {
	m := benchMasker(b)
	c := getCorpus()
	v := NewVault()
	out := m.Mask(v, c)
	b.SetBytes(int64(len(out)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Unmask(v, out)
	}
}

// naivePatterns are one regular expression per recogniser, equivalent in intent to the
// scanner's checks: the approach the scanner replaces.
var naivePatterns = []string{
	`(?i)jdbc:[a-z0-9:+-]+(?://|@)[^\s"'<>]+`,                                                            // jdbc
	`(?i)\(\s*description\s*=[^\s]*\)`,                                                                   // tns
	`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>\\{}|^]+`,                                                         // url
	`\b(?:[A-Za-z0-9-]+\.)+(?i:com|net|org|edu|gov|io|co|ai|dev|kr|jp|cn|uk|de|internal|local)\b`,        // host
	`\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b`,                              // ipv4
	`(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}\b)?`,          // ipv6
	`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`,                                  // email
	`(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)["']?\s*[:=]\s*["']?[^\s"',;&]+`, // credential
	`(?i)authorization["']?\s*:\s*["']?\w+\s+[^\s"']+`,                                                   // authorization
	`(?i)(?:set-)?cookie:\s*[^\r\n]+`,                                                                    // cookie
	`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{12,}`,                                                             // bearer
	`eyJ[A-Za-z0-9_-]{7,}\.eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]*`,                                         // jwt
	`\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}\b`,                                                            // aws_key
	`\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_\w{22,}`,                                                // github_token
	`\bxox[abposr]-[A-Za-z0-9-]{10,}`,                                                                    // slack_token
	`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`,                         // pem_key
	`\b0(?:1[016789]|2|[3-6][1-5]|70)[-. ]?\d{3,4}[-. ]?\d{4}\b`,                                         // phone (KR)
	`\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}`,                                                              // phone (intl)
	`\b\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-[1-8]\d{6}\b`,                                       // rrn
	`\b(?:\d{4}[- ]?){3}\d{1,4}\b`,                                                                       // card
	`(?i)\b(?:select|insert|update|delete)\b[^;\n"]*`,                                                    // sql statement
}

var sqlLiteralRE = regexp.MustCompile(`'(?:[^'\n]|'')*'|\b\d{4,}\b`)

// naiveMask runs each recogniser's regular expression over the whole text in turn and replaces
// the matches with tokens (SQL statements get a second pass for their literals).
func naiveMask(res []*regexp.Regexp, text string) string {
	tokens := map[string]string{}
	tok := func(s string) string {
		t, ok := tokens[s]
		if !ok {
			t = fmt.Sprintf("tok%05d", len(tokens))
			tokens[s] = t
		}
		return t
	}
	for i, re := range res {
		if i == len(res)-1 {
			text = re.ReplaceAllStringFunc(text, func(stmt string) string {
				return sqlLiteralRE.ReplaceAllStringFunc(stmt, tok)
			})
			continue
		}
		text = re.ReplaceAllStringFunc(text, tok)
	}
	return text
}

// BenchmarkNaiveRegexp is the baseline: one regexp per recogniser over the whole text.
func BenchmarkNaiveRegexp(b *testing.B) {
	res := make([]*regexp.Regexp, len(naivePatterns))
	for i, p := range naivePatterns {
		res[i] = regexp.MustCompile(p)
	}
	c := getCorpus()
	b.SetBytes(int64(len(c)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		naiveMask(res, c)
	}
}
