package mask

import "regexp"

// recCase is one table-driven recogniser case. found lists the expected Find results as
// "kind:value" in text order (nil: nothing may be found); keep lists substrings that must
// survive masking; shape, if set, must match the whole masked text.
type recCase struct {
	name  string
	in    string
	found []string
	keep  []string
	shape string
}

// testOptions is the configuration all table cases run with.
var testOptions = Options{
	InternalSuffixes: []string{".corp.example.com"},
	Custom: []CustomPattern{
		{Name: "order_no", Pattern: `ORD-\d{8}`},
		{Name: "tenant", Pattern: `tenant_id=(\w+)`},
	},
}

// reTok is the shape of an opaque name token (also one host label).
const reTok = `[a-z][a-z0-9]{7,}`

var recogniserCases = []recCase{
	// jdbc
	{name: "jdbc mysql (mission example)", in: "jdbc:mysql://real-db.example.com:3306/real_db",
		found: []string{"jdbc:real-db.example", "jdbc:real_db"}, keep: []string{"jdbc:mysql://", ":3306/", ".com:"},
		shape: `^jdbc:mysql://` + reTok + `\.` + reTok + `\.com:3306/` + reTok + `$`},
	{name: "jdbc mariadb with properties", in: "url=jdbc:mariadb://db-master:3306/shop?user=app&password=Sup3rS3cret&useSSL=false",
		found: []string{"jdbc:db-master", "jdbc:shop", "jdbc:app", "credential:Sup3rS3cret"},
		keep:  []string{"jdbc:mariadb://", ":3306/", "useSSL=false", "user=", "password="}},
	{name: "jdbc mysql multi-host", in: "jdbc:mysql:loadbalance://db1.internal:3306,db2.internal:3307/orders",
		found: []string{"jdbc:db1", "jdbc:db2", "jdbc:orders"}, keep: []string{"jdbc:mysql:loadbalance://", ".internal:3306,", ".internal:3307/"}},
	{name: "jdbc postgresql", in: "jdbc:postgresql://pg1.prod.internal:5432/billing?sslmode=require",
		found: []string{"jdbc:pg1.prod", "jdbc:billing"}, keep: []string{"jdbc:postgresql://", ".internal:5432/", "sslmode=require"}},
	{name: "jdbc postgresql without host", in: "jdbc:postgresql:billing", found: []string{"jdbc:billing"}, keep: []string{"jdbc:postgresql:"}},
	{name: "jdbc oracle SID, internal suffix", in: "jdbc:oracle:thin:@db1.corp.example.com:1521:ORCL",
		found: []string{"jdbc:db1.corp.example.com", "jdbc:ORCL"}, keep: []string{"jdbc:oracle:thin:@", ":1521:"},
		shape: `^jdbc:oracle:thin:@` + reTok + `\.` + reTok + `\.internal:1521:` + reTok + `$`},
	{name: "jdbc oracle service", in: "jdbc:oracle:thin:@//ora-scan.example.com:1521/orders_svc",
		found: []string{"jdbc:ora-scan.example", "jdbc:orders_svc"}, keep: []string{"jdbc:oracle:thin:@//", ".com:1521/"}},
	{name: "jdbc oracle user/password", in: "jdbc:oracle:thin:scott/tiger@db1:1521:ORCL",
		found: []string{"jdbc:scott", "credential:tiger", "jdbc:db1", "jdbc:ORCL"}, keep: []string{"jdbc:oracle:thin:", ":1521:"}},
	{name: "jdbc oracle TNS descriptor",
		in:    "jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db1)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=orcl)))",
		found: []string{"jdbc:db1", "jdbc:orcl"}, keep: []string{"(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=", ")(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=", ")))"}},
	{name: "bare TNS descriptor", in: "tns=(DESCRIPTION=(ADDRESS_LIST=(ADDRESS=(PROTOCOL=TCP)(HOST=10.1.2.3)(PORT=1521)))(CONNECT_DATA=(SID=PROD)))",
		found: []string{"jdbc:10.1.2.3", "jdbc:PROD"}, keep: []string{"(PORT=1521)"}, shape: `HOST=198\.1[89]\.\d+\.\d+\)`},
	{name: "jdbc sqlserver", in: `jdbc:sqlserver://mssql01\SQLEXPRESS:1433;databaseName=x;user=u;password=p;encrypt=true`,
		found: []string{"jdbc:mssql01", "jdbc:SQLEXPRESS", "jdbc:x", "jdbc:u", "credential:p"},
		keep:  []string{"jdbc:sqlserver://", ":1433;databaseName=", ";user=", ";password=", ";encrypt=true"}},
	{name: "generic db URL", in: "DATABASE_URL=postgres://app:s3cret@10.0.0.5:5432/orders?sslmode=disable",
		found: []string{"url:app", "credential:s3cret", "url:10.0.0.5", "url:orders"}, keep: []string{"postgres://", ":5432/", "sslmode=disable"},
		shape: `postgres://` + reTok + `:` + reTok + `@198\.18\.\d+\.\d+:5432/` + reTok + `\?`},
	{name: "redis URL", in: "redis://:p4ssw0rd@cache.internal:6379/0", found: []string{"credential:p4ssw0rd", "url:cache"}, keep: []string{"redis://:", ".internal:6379/0"}},
	{name: "mongodb+srv URL", in: "mongodb+srv://bob:pa55w0rd@cluster0.abcde.mongodb.net/app?retryWrites=true&w=majority",
		found: []string{"url:bob", "credential:pa55w0rd", "url:cluster0.abcde.mongodb", "url:app"}, keep: []string{"mongodb+srv://", ".net/", "retryWrites=true&w=majority"}},

	// url
	{name: "https URL", in: "GET https://api.shop.example.com/v1/orders?user=alice&page=2 took 8000 ms",
		found: []string{"url:api.shop.example", "url:alice"}, keep: []string{"https://", ".com/v1/orders?user=", "&page=2 took 8000 ms"}},
	{name: "URL with single-label host", in: "POST http://payment-api:8080/pay failed", found: []string{"url:payment-api"}, keep: []string{"http://", ":8080/pay failed"}},
	{name: "URL localhost", in: "GET http://localhost:8080/health", found: nil},
	{name: "URL with token in query", in: "https://x.example.com/cb?access_token=abc123def456&state=ok",
		found: []string{"url:x.example", "credential:abc123def456"}, keep: []string{"state=ok"}},
	{name: "URL with secret path", in: "https://hooks.slack.com/services/T0000AAAA/B0000BBBB/abcdefGHIJKL1234567890xy",
		found: []string{"url:hooks.slack", "url:abcdefGHIJKL1234567890xy"}, keep: []string{"/services/T0000AAAA/B0000BBBB/"}},
	{name: "URL with e-mail in path", in: "(see https://x.example.com/users/bob@example.org/profile).",
		found: []string{"url:x.example", "email:bob@example"}, keep: []string{"/users/", ".org/profile)."}},
	{name: "URL with IPv6 host", in: "http://[2001:db8:1::20]:8080/x", found: []string{"url:2001:db8:1::20"}, keep: []string{"http://[", "]:8080/x"}},

	// host
	{name: "host with internal suffix", in: "connecting to orders-db.prod.internal:3306", found: []string{"host:orders-db.prod"}, keep: []string{".internal:3306"}},
	{name: "host with public TLD", in: "resolve api.example.com failed", found: []string{"host:api.example"}, keep: []string{"resolve ", ".com failed"},
		shape: `^resolve ` + reTok + `\.` + reTok + `\.com failed$`},
	{name: "host with configured suffix", in: "db1.corp.example.com is down", found: []string{"host:db1.corp.example.com"}, shape: `^` + reTok + `\.` + reTok + `\.internal is down$`},
	{name: "host with two-label public suffix", in: "www.example.co.kr", found: []string{"host:www.example"}, keep: []string{".co.kr"}},
	{name: "kubernetes service", in: "orders.default.svc.cluster.local:80", found: []string{"host:orders.default"}, keep: []string{".svc.cluster.local:80"}},
	{name: "upper-case host", in: "DB1.EXAMPLE.COM", found: []string{"host:DB1.EXAMPLE"}, keep: []string{".COM"}},

	// ipv4
	{name: "IPv4 with port", in: "from 10.20.30.40:5555", found: []string{"ipv4:10.20.30.40"}, keep: []string{":5555"}, shape: `^from 198\.18\.\d+\.\d+:5555$`},
	{name: "IPv4 CIDR", in: "allow 192.168.0.0/16;", found: []string{"ipv4:192.168.0.0"}, keep: []string{"/16;"}},
	{name: "public IPv4", in: "client=8.8.4.4", found: []string{"ipv4:8.8.4.4"}, shape: `^client=198\.19\.\d+\.\d+$`},
	{name: "IPv4 in brackets", in: "[10.1.2.3]", found: []string{"ipv4:10.1.2.3"}},

	// ipv6
	{name: "IPv6 bracketed with port", in: "[2001:db8::1]:8080", found: []string{"ipv6:2001:db8::1"}, keep: []string{"]:8080"}, shape: `^\[2001:db8(:[0-9a-f]{1,4}){6}\]:8080$`},
	{name: "IPv6 link-local with zone", in: "fe80::1ff:fe23:4567:890a%eth0", found: []string{"ipv6:fe80::1ff:fe23:4567:890a"}, keep: []string{"%eth0"}},
	{name: "IPv6 full", in: "addr 2001:0db8:85a3:0000:0000:8a2e:0370:7334 up", found: []string{"ipv6:2001:0db8:85a3:0000:0000:8a2e:0370:7334"}},
	{name: "IPv6 mapped IPv4", in: "peer ::ffff:10.1.2.3", found: []string{"ipv6:::ffff:10.1.2.3"}},
	{name: "IPv6 CIDR", in: "route 2600:1f18:abcd::/48", found: []string{"ipv6:2600:1f18:abcd::"}, keep: []string{"/48"}},

	// email
	{name: "e-mail", in: "user alice@example.com logged in", found: []string{"email:alice@example"}, keep: []string{".com logged in"},
		shape: `^user ` + reTok + `@` + reTok + `\.com logged in$`},
	{name: "e-mail with dots and tag", in: "<first.last+tag@mail.example.co.kr>", found: []string{"email:first.last+tag@mail.example"}, keep: []string{".co.kr>"}},
	{name: "e-mail internal domain", in: "ops@corp.example.com", found: []string{"email:ops@corp.example.com"}, shape: `^` + reTok + `@` + reTok + `\.internal$`},
	{name: "e-mail, TLD of the public suffix list", in: "x1@shop.info", found: []string{"email:x1@shop"}, keep: []string{".info"}},
	{name: "e-mail unknown TLD", in: "x1@shop.mycorp", found: []string{"email:x1@shop.mycorp"}},

	// credential
	{name: "password=", in: "password=hunter2", found: []string{"credential:hunter2"}, keep: []string{"password="}},
	{name: "JSON password", in: `{"password": "p@ss w0rd", "user": "bob"}`, found: []string{"credential:p@ss w0rd"}, keep: []string{`{"password": "`, `", "user": "bob"}`}},
	{name: "env var", in: "DB_PASSWORD=xyz123 ./run", found: []string{"credential:xyz123"}, keep: []string{" ./run"}},
	{name: "YAML dotted key", in: "spring.datasource.password: s3cr3t", found: []string{"credential:s3cr3t"}},
	{name: "client secret quoted", in: "client_secret='abc'", found: []string{"credential:abc"}, keep: []string{"client_secret='", "'"}},
	{name: "api key header", in: "X-Api-Key: 0123456789abcdef", found: []string{"credential:0123456789abcdef"}},
	{name: "aws secret", in: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", found: []string{"credential:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
	{name: "JSON token", in: `{"token":"tok_abc123"}`, found: []string{"credential:tok_abc123"}},
	{name: "camelCase key", in: "dbPass=letmein", found: []string{"credential:letmein"}},
	{name: "Authorization Basic", in: "Authorization: Basic dXNlcjpwYXNzd29yZA==", found: []string{"credential:dXNlcjpwYXNzd29yZA=="}, keep: []string{"Authorization: Basic "}},
	{name: "Authorization JSON", in: `"Authorization": "Bearer abcdef1234567890"`, found: []string{"credential:abcdef1234567890"}, keep: []string{`"Authorization": "Bearer `}},
	{name: "Authorization token with GitHub token", in: "curl -H 'Authorization: token ghp_abcdefghijklmnopqrstuvwxyz0123456789' x",
		found: []string{"github_token:ghp_abcdefghijklmnopqrstuvwxyz0123456789"}, keep: []string{"Authorization: token ghp_"}},
	{name: "Cookie", in: "Cookie: JSESSIONID=ABC123; theme=dark", found: []string{"credential:ABC123", "credential:dark"}, keep: []string{"Cookie: JSESSIONID=", "; theme="}},
	{name: "Set-Cookie", in: "Set-Cookie: sid=xyz789; Path=/; HttpOnly; Max-Age=3600", found: []string{"credential:xyz789"}, keep: []string{"; Path=/; HttpOnly; Max-Age=3600"}},
	{name: "bare bearer token", in: "sent bearer abcdefghijkl123456 to api", found: []string{"credential:abcdefghijkl123456"}},

	// jwt, vendor tokens, keys
	{name: "JWT", in: "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end",
		found: []string{"jwt:eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"},
		shape: `^token eyJhbGciOiJIUzI1NiJ9\.eyJ[A-Za-z0-9]+\.[A-Za-z0-9]+ end$`},
	{name: "Authorization Bearer JWT", in: "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.",
		found: []string{"jwt:eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ"}, keep: []string{"Authorization: Bearer eyJhbGciOiJub25lIn0.eyJ"}},
	{name: "AWS access key", in: "key AKIAIOSFODNN7EXAMPLE used", found: []string{"aws_key:AKIAIOSFODNN7EXAMPLE"}, shape: `^key AKIA[A-Z0-9]{16} used$`},
	{name: "GitHub token", in: "ghp_abcdefghijklmnopqrstuvwxyz0123456789", found: []string{"github_token:ghp_abcdefghijklmnopqrstuvwxyz0123456789"}, shape: `^ghp_[a-z0-9]{36}$`},
	{name: "GitHub fine-grained token", in: "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", found: []string{"github_token:github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"}},
	{name: "Slack token", in: "SLACK=xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx", found: []string{"slack_token:xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"},
		shape: `^SLACK=xoxb-\d{12}-\d{13}-[a-z]{24}$`},
	{name: "PEM private key", in: "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabcdef==\n-----END RSA PRIVATE KEY-----\n",
		found: []string{"pem_key:MIIEpAIBAAKCAQEA7\nabcdef=="}, keep: []string{"-----BEGIN RSA PRIVATE KEY-----\n", "\n-----END RSA PRIVATE KEY-----\n"}},
	{name: "PEM in JSON", in: `{"key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"}`,
		found: []string{"pem_key:MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}},
	{name: "PEM truncated", in: "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\nAoGCCqGSM49 ...", found: []string{"pem_key:MHcCAQEEIBkg\nAoGCCqGSM49"}},

	// phone, rrn, card
	{name: "Korean mobile", in: "call 010-1234-5678.", found: []string{"phone:010-1234-5678"}, shape: `^call 010-\d{4}-\d{4}\.$`},
	{name: "Seoul number", in: "tel 02-123-4567", found: []string{"phone:02-123-4567"}, shape: `^tel 02-\d{3}-\d{4}$`},
	{name: "area code with dots", in: "031.123.4567", found: []string{"phone:031.123.4567"}},
	{name: "mobile without separators", in: "01012345678", found: []string{"phone:01012345678"}, shape: `^010\d{8}$`},
	{name: "mobile with spaces", in: "010 1234 5678", found: []string{"phone:010 1234 5678"}},
	{name: "international Korean", in: "+82 10 1234 5678", found: []string{"phone:+82 10 1234 5678"}, shape: `^\+82 \d{2} \d{4} \d{4}$`},
	{name: "international US", in: "phone: +1 415 555 0100", found: []string{"phone:+1 415 555 0100"}, shape: `^phone: \+1 \d{3} \d{3} \d{4}$`},
	{name: "international US parens", in: "+1 (415) 555-0100", found: []string{"phone:+1 (415) 555-0100"}},
	{name: "international compact", in: "+821012345678", found: []string{"phone:+821012345678"}},
	{name: "RRN", in: "rrn 900101-1234567", found: []string{"rrn:900101-1234567"}, shape: `^rrn \d{6}-[1-4]\d{6}$`},
	{name: "card with spaces", in: "card 4111 1111 1111 1111 exp", found: []string{"card:4111 1111 1111 1111"}, shape: `^card 4\d{3} \d{4} \d{4} \d{4} exp$`},
	{name: "card with dashes", in: "5500-0000-0000-0004", found: []string{"card:5500-0000-0000-0004"}},
	{name: "card plain", in: "pan=4111111111111111", found: []string{"card:4111111111111111"}},
	{name: "card amex", in: "3782 822463 10005", found: []string{"card:3782 822463 10005"}},

	// sql_literal
	{name: "SQL update", in: "UPDATE orders SET status = 'PAID', amount = 15000 WHERE id = 48213 AND user_id IN (1001, 1002) LIMIT 1000",
		found: []string{"sql_literal:PAID", "sql_literal:15000", "sql_literal:48213", "sql_literal:1001", "sql_literal:1002"},
		keep:  []string{"UPDATE orders SET status = '", "', amount = ", " WHERE id = ", " AND user_id IN (", ") LIMIT 1000"},
		shape: `^UPDATE orders SET status = '` + reTok + `', amount = [1-9]\d{4} WHERE id = [1-9]\d{4} AND user_id IN \([1-9]\d{3}, [1-9]\d{3}\) LIMIT 1000$`},
	{name: "SQL select with join", in: "SELECT o.id, oi.sku FROM shop.orders o JOIN order_items oi ON oi.order_id = o.id WHERE o.email = 'a@b.com' AND o.created_at > '2026-11-26'",
		found: []string{"email:a@b", "sql_literal:2026-11-26"}, keep: []string{"SELECT o.id, oi.sku FROM shop.orders o JOIN order_items oi ON oi.order_id = o.id WHERE o.email = '", ".com' AND o.created_at > '"}},
	{name: "SQL insert", in: "insert into member (name, phone, point) values ('Kim Minsu', '010-1234-5678', 12500)",
		found: []string{"sql_literal:Kim Minsu", "phone:010-1234-5678", "sql_literal:12500"}, keep: []string{"insert into member (name, phone, point) values ('"}},
	{name: "SQL delete", in: "DELETE FROM sessions WHERE token = 'abc' AND expires < 1732602123", found: []string{"credential:abc", "sql_literal:1732602123"}, keep: []string{"DELETE FROM sessions WHERE token = '"}},
	{name: "SQL in JSON", in: `{"sql":"SELECT * FROM users WHERE name = 'bob' AND age > 1234","ms":8000}`,
		found: []string{"sql_literal:bob", "sql_literal:1234"}, keep: []string{`","ms":8000}`}},
	{name: "SQL multi-line", in: "SELECT o.id,\n       o.status\nFROM orders o\nWHERE o.user_id = 99887766\n  AND o.memo LIKE 'vip%'\nnext log line 4444",
		found: []string{"sql_literal:99887766", "sql_literal:vip%"}, keep: []string{"next log line 4444"}},
	{name: "SQL fragment", in: "slow query: WHERE member_no = 20240001 (8000 ms)", found: []string{"sql_literal:20240001"}, keep: []string{"(8000 ms)"}},
	{name: "SQL escaped quote", in: "SELECT 1 FROM t WHERE a = 'it''s' AND b = 'x'", found: []string{"sql_literal:it''s", "sql_literal:x"}},
	{name: "SQL decimal", in: "UPDATE acct SET bal = 1234.50 WHERE id = 7", found: []string{"sql_literal:1234.50"}, shape: `bal = [1-9]\d{3}\.\d{2} WHERE id = 7$`},
	{name: "SQL placeholders only", in: "SELECT o.id, o.status FROM orders o WHERE o.user_id = ? AND o.created_at > ? LIMIT 20", found: nil},

	// custom
	{name: "custom pattern", in: "order ORD-20240001 failed", found: []string{"custom:order_no:ORD-20240001"}, keep: []string{"order ", " failed"}},
	{name: "custom pattern group", in: "tenant_id=acme42 ok", found: []string{"custom:tenant:acme42"}, keep: []string{"tenant_id=", " ok"}},
	{name: "custom pattern widened to word", in: "xORD-12345678", found: []string{"custom:order_no:xORD-12345678"}},
}

// negativeCases must not be masked at all.
var negativeCases = []string{
	"version 1.2.3, v2.10.0, Java 17.0.2, go1.26.8, 2.1.0-SNAPSHOT",
	"2026-11-26 14:03–14:13, at 14:03:22.123Z on 2026-11-26T14:03:22+09:00",
	"SQL response time >= 8000 ms occurred 1 time, took 1.5s, p95 250ms, 3.5 GB",
	"the quick brown fox jumps over the lazy dog; please select an option",
	"com.example.OrderService java.sql.SQLException org.hibernate.engine.jdbc com.example.order.service",
	"at com.example.order.OrderService.placeOrder(OrderService.java:42)",
	"\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
	"java.net.URL java.net kotlin.io e.printStackTrace() client.io() ASP.NET",
	"tables orders, order_items, shop.orders; o.id = oi.order_id; u.name; t.info",
	"application.yml README.md logback-spring.xml index.html main.go Foo.java",
	"127.0.0.1 0.0.0.0 255.255.255.0 1.2.3 1.2.3.4.5 999.1.1.1 ::1",
	"std::vector a::b 00:1a:2b:3c:4d:5e 12:34:56",
	"@Override Object@1b6d3586 user@localhost npm i @types/node",
	"password expired for user; max_tokens=1000 prompt_tokens: 523; password: null; password=${DB_PASSWORD}; token: ***; bypass=true; passwordPolicy=strict",
	"eyJhbGciOi AKIA123 ghp_short xoxb-1",
	"+1 day, +09:00, +0900, 1234-5678, 900101-9234567, 901301-1234567",
	"4111 1111 1111 1112, 1732602123456, 1234 5678",
	"HikariPool-1 - Connection is not available, request timed out after 3000ms. (total=20, active=20, idle=0, waiting=43)",
	"SlowSQL: SQL response time >= 8000 ms occurred 1 time, 14:03–14:13, on pod prod-test-api-7f9c",
	"Update your profile. Delete the cache. Where is it?",
	"https://",
	"jdbc:mysql driver not found",
	"한국어 로그: 주문 처리 완료 (8000 ms)",
}

var shapeCache = map[string]*regexp.Regexp{}

func shapeRE(s string) *regexp.Regexp {
	if re, ok := shapeCache[s]; ok {
		return re
	}
	re := regexp.MustCompile(s)
	shapeCache[s] = re
	return re
}
