package analyst

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/vigil-ops/vigil/profile"
)

// korean writes the report in Korean. Sentences put variable text (names, numbers) before fixed
// nouns, so that no particle depends on how a name ends.
type korean struct{}

func (korean) transaction(v view) []string {
	if !v.hasProfile {
		lines := []string{"애플리케이션: " + v.app}
		if v.instance != "" {
			lines = append(lines, "인스턴스: "+v.instance)
		}
		lines = append(lines, "프로파일: 없음")
		if v.alert.TraceID != "" {
			lines = append(lines, "트레이스 ID: "+v.alert.TraceID)
		}
		return lines
	}
	tx, st := v.p.Transaction, v.st
	lines := []string{"URL: " + cmp.Or(strings.TrimSpace(tx.Method+" "+tx.URL), "알 수 없음")}
	if tx.Name != "" {
		lines = append(lines, "트랜잭션: "+tx.Name)
	}
	lines = append(lines, "인스턴스: "+cmp.Or(v.instance, "알 수 없음"))
	total := "전체 응답 시간: " + ms(st.TotalTimeMs)
	if tx.Status != 0 {
		total += fmt.Sprintf(" (HTTP %d)", tx.Status)
	}
	lines = append(lines, total,
		fmt.Sprintf("SQL 수행 시간: %s (%s회 실행, %s건 조회)", ms(st.SQLTimeMs), num(st.SQLCount), num(st.FetchCount)),
		fmt.Sprintf("외부 호출 시간: %s (%s회)", ms(st.HTTPClientTimeMs), num(st.HTTPClientCount)))
	if st.DBConnectCount > 0 {
		lines = append(lines, fmt.Sprintf("DB 커넥션 획득 시간: %s (%s회)", ms(st.DBConnectTimeMs), num(st.DBConnectCount)))
	}
	lines = append(lines, fmt.Sprintf("예외: %s건", num(st.ExceptionCount)))
	if v.alert.TraceID != "" {
		lines = append(lines, "트레이스 ID: "+v.alert.TraceID)
	}
	return lines
}

// subjectKO names a statement: "orders, order_items 테이블의 SELECT 쿼리".
func subjectKO(d fdata) string { return sqlSubjectKO(d.str("crud"), d.strs("tables")) }

func sqlSubjectKO(crud string, tables []string) string {
	q := "SQL 쿼리" // always ends in 쿼리, so "쿼리가", "쿼리의" read right
	if crud != "" && crud != profile.CRUDOther {
		q = crud + " 쿼리"
	}
	if len(tables) == 0 {
		return q
	}
	return strings.Join(tables, ", ") + " 테이블의 " + q
}

// ofTotalKO is "전체 응답 시간 9,132 ms의 92%" when the share is known.
func ofTotalKO(d fdata) string {
	if d.f64("totalTimeMs") <= 0 || d.f64("share") <= 0 {
		return ""
	}
	return fmt.Sprintf("전체 응답 시간 %s의 %s", ms(d.f64("totalTimeMs")), pct(d.f64("share")))
}

func (korean) where(v view) string {
	if v.instance != "" {
		return fmt.Sprintf("%s(%s)에서 %s 알림이 발생했습니다.", v.app, v.instance, v.rule)
	}
	return fmt.Sprintf("%s에서 %s 알림이 발생했습니다.", v.app, v.rule)
}

func (k korean) problemSummary(v view, f Fact, more int) string {
	d := fdata(f.Data)
	var cause string
	switch f.Kind {
	case KindSlowSQL:
		cause = fmt.Sprintf("원인은 느린 SQL입니다. %s가 %s 걸렸습니다", subjectKO(d), ms(d.f64("durationMs")))
		var extra []string
		if n := d.int("executions"); n > 1 {
			cause = fmt.Sprintf("원인은 느린 SQL입니다. %s가 %s회 실행되어 총 %s 걸렸습니다", subjectKO(d), num(n), ms(d.f64("durationMs")))
			extra = append(extra, "회당 "+ms(d.f64("perExecutionMs")))
		}
		cause += parenKO(append(extra, ofTotalKO(d))) + "."
	case KindSlowDBConnect:
		cause = fmt.Sprintf("원인은 DB 커넥션 획득 지연입니다. 커넥션 풀에서 DB 커넥션을 얻는 데 %s가 걸렸습니다", ms(d.f64("durationMs")))
		extra := []string{d.str("remoteAddress")}
		if n := d.int("executions"); n > 1 {
			cause = fmt.Sprintf("원인은 DB 커넥션 획득 지연입니다. 커넥션 풀에서 DB 커넥션을 %s회 얻는 데 총 %s가 걸렸습니다", num(n), ms(d.f64("durationMs")))
			extra = append(extra, "회당 "+ms(d.f64("perExecutionMs")))
		}
		cause += parenKO(append(extra, ofTotalKO(d))) + "."
	case KindNetworkDelay:
		target := cmp.Or(d.str("remoteAddress"), d.str("url"), "(알 수 없음)")
		cause = fmt.Sprintf("원인은 외부 호출 지연입니다. 외부 호출 대상 %s의 응답에 %s가 걸렸습니다", target, ms(d.f64("durationMs")))
		var extra []string
		if n := d.int("executions"); n > 1 {
			cause = fmt.Sprintf("원인은 외부 호출 지연입니다. 외부 호출 대상 %s에 %s회 요청해 총 %s가 걸렸습니다", target, num(n), ms(d.f64("durationMs")))
			extra = append(extra, "회당 "+ms(d.f64("perExecutionMs")), retriedKO(d))
		}
		cause += parenKO(append(extra, ofTotalKO(d))) + "."
	case KindException:
		if st := d.int("status"); st >= 500 {
			cause = fmt.Sprintf("원인은 예외입니다. 요청이 %s 예외로 실패했습니다(HTTP %d).", d.str("type"), st)
		} else {
			cause = fmt.Sprintf("원인은 예외입니다. 처리 중 %s 예외가 발생했습니다.", d.str("type"))
		}
		cause += prefixed(" 메시지: ", d.str("message"))
	case KindExcessiveSQL:
		if d.str("pattern") == "repeated" {
			cause = fmt.Sprintf("원인은 N+1 쿼리 패턴입니다. 같은 %s가 %s회 반복 실행되었습니다%s.",
				subjectKO(d), num(d.int("repeats")), parenKO([]string{"합계 " + ms(d.f64("durationMs")), ofTotalKO(d)}))
		} else {
			cause = fmt.Sprintf("원인은 과도한 SQL 실행입니다. 한 트랜잭션에서 SQL을 %s회 실행했습니다(SQL 시간 %s).", num(d.int("sqlCount")), ms(d.f64("sqlTimeMs")))
		}
	case KindExcessiveFetch:
		cause = fmt.Sprintf("원인은 과도한 데이터 조회입니다. 한 트랜잭션에서 %s건을 가져왔습니다.", num(d.int("rows")))
		if t := d.strs("tables"); len(t) > 0 && d.int("spanRows") > 0 {
			cause += fmt.Sprintf(" 그중 %s건은 %s에서 나왔습니다.", num(d.int("spanRows")), subjectKO(d))
		}
		if d.f64("impactMs") > 0 {
			cause += fmt.Sprintf(" 조회에 걸린 시간은 %s입니다%s.", ms(d.f64("impactMs")), wrapped(ofTotalKO(d)))
		}
	default:
		cause = strings.TrimSuffix(f.Summary, ".") + "."
	}
	if typ, msg, st, ok := failedBecause(f); ok {
		cause += fmt.Sprintf(" 이 때문에 요청이 %s 예외로 실패했습니다(HTTP %d).", typ, st) + prefixed(" 메시지: ", msg)
	}
	s := k.where(v) + " " + cause
	if more > 0 {
		s += fmt.Sprintf(" 이 밖에 문제 %d건이 더 발견되었습니다.", more)
	}
	return s
}

// parenKO is "(a, b)" of the non-empty parts, or "".
func parenKO(parts []string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return ""
	}
	return "(" + strings.Join(kept, ", ") + ")"
}

// retriedKO is "2회 실패 후 재시도" for a retry loop.
func retriedKO(d fdata) string {
	if f := d.int("failures"); f > 0 {
		return num(f) + "회 실패 후 재시도"
	}
	return ""
}

// wrapped is "(s)" or "".
func wrapped(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func (k korean) normalSummary(v view) string {
	return k.where(v) + fmt.Sprintf(" 하지만 트랜잭션 프로파일에는 심각하게 느린 구간이 없습니다(전체 응답 시간 %s). "+
		"SQL, DB 커넥션, 외부 호출, 예외 모두 기준 이내입니다. 시스템은 정상적으로 동작하고 있습니다.", ms(v.st.TotalTimeMs))
}

func (k korean) noProfileSummary(v view) string {
	return k.where(v) + " 알림 내용: " + strings.TrimSuffix(oneLine(v.alert.Message), ".") +
		". 트랜잭션 프로파일을 가져오지 못해 원인은 분석하지 못했습니다."
}

func (korean) analysis(v view, f Fact) string {
	d := fdata(f.Data)
	switch f.Kind {
	case KindSlowSQL:
		var s string
		var extra []string
		if n := d.int("executions"); n > 1 {
			s = fmt.Sprintf("느린 SQL: %s가 %s회 실행되어 총 %s 걸렸습니다", subjectKO(d), num(n), ms(d.f64("durationMs")))
			extra = append(extra, "회당 "+ms(d.f64("perExecutionMs")))
		} else {
			s = fmt.Sprintf("느린 SQL: %s가 %s 걸렸습니다", subjectKO(d), ms(d.f64("durationMs")))
		}
		if o := ofTotalKO(d); o != "" {
			extra = append(extra, o)
		}
		if r := d.int("rows"); r > 0 {
			extra = append(extra, fmt.Sprintf("조회 %s건", num(r)))
		}
		if len(extra) > 0 {
			s += "(" + strings.Join(extra, ", ") + ")"
		}
		return s + "." + failedKO(f) + prefixed(" 쿼리: ", truncate(d.str("sql"), 160))
	case KindSlowDBConnect:
		s := fmt.Sprintf("DB 커넥션 지연: DB 커넥션 획득에 %s가 걸렸습니다%s.", ms(d.f64("durationMs")),
			parenKO([]string{d.str("remoteAddress"), d.str("name"), ofTotalKO(d)}))
		if n := d.int("executions"); n > 1 {
			s = fmt.Sprintf("DB 커넥션 지연: DB 커넥션을 %s회 획득하는 데 총 %s가 걸렸습니다%s.", num(n), ms(d.f64("durationMs")),
				parenKO([]string{d.str("remoteAddress"), d.str("name"), "회당 " + ms(d.f64("perExecutionMs")), ofTotalKO(d)}))
		}
		if e := d.str("error"); e != "" {
			if fk := failedKO(f); fk != "" {
				return s + " 결국 획득에 실패했습니다: " + sentenceKO(e) + fk
			}
			return s + " 결국 획득에 실패했습니다: " + e
		}
		return s + " 커넥션 풀이 고갈되었거나 DB가 연결을 늦게 받아 주고 있습니다." + failedKO(f)
	case KindNetworkDelay:
		target := cmp.Or(d.str("remoteAddress"), "외부 서비스")
		if u := d.str("url"); u != "" {
			target += " (" + u + ")"
		}
		s := fmt.Sprintf("네트워크 지연: 외부 호출 %s 응답에 %s가 걸렸습니다", target, ms(d.f64("durationMs")))
		var extra []string
		if n := d.int("executions"); n > 1 {
			s = fmt.Sprintf("네트워크 지연: 외부 호출 %s에 %s회 요청해 총 %s가 걸렸습니다", target, num(n), ms(d.f64("durationMs")))
			extra = append(extra, "회당 "+ms(d.f64("perExecutionMs")))
			if r := retriedKO(d); r != "" {
				extra = append(extra, r)
			}
		}
		if o := ofTotalKO(d); o != "" {
			extra = append(extra, o)
		}
		if c := d.int("statusCode"); c > 0 {
			if d.int("executions") > 1 {
				extra = append(extra, fmt.Sprintf("마지막 응답 코드 %d", c))
			} else {
				extra = append(extra, fmt.Sprintf("응답 코드 %d", c))
			}
		}
		if len(extra) > 0 {
			s += "(" + strings.Join(extra, ", ") + ")"
		}
		s += "."
		if e := d.str("error"); e != "" {
			if d.int("executions") > 1 {
				s += " 실패한 호출의 오류: " + e
			} else {
				s += " 호출 실패: " + e
			}
		}
		if fk := failedKO(f); fk != "" {
			s = sentenceKO(s) + fk
		}
		return s
	case KindException:
		s := "예외: " + d.str("type") + " 예외가 발생했습니다"
		if n := d.int("count"); n > 1 {
			s += fmt.Sprintf("(%s회)", num(n))
		}
		s += "."
		if fr := d.str("frame"); fr != "" {
			s += " 발생 위치: " + fr + "."
		}
		switch st := d.int("status"); {
		case d.str("symptomOf") != "" && d.bool("failed") && st > 0:
			s += fmt.Sprintf(" 위의 %s으로 요청이 실패하면서(HTTP %d) 발생한 예외로, 별도의 원인이 아닙니다.", stepKO(d.str("symptomOf")), st)
		case d.str("symptomOf") != "":
			s += fmt.Sprintf(" 위의 %s 구간에서 발생한 예외로, 별도의 원인이 아닙니다.", stepKO(d.str("symptomOf")))
		case d.bool("handled") && f.Severity < SeverityWarning:
			s += fmt.Sprintf(" 애플리케이션이 처리했고 요청은 성공했으므로(HTTP %d) 원인이 아닌 참고 정보입니다.", st)
		case st >= 500 && f.Severity < SeverityWarning && !d.bool("failed"):
			s += fmt.Sprintf(" 처리 도중 발생한 예외이며, 요청을 실패시킨(HTTP %d) 것은 다른 예외입니다.", st)
		case st > 0:
			s += fmt.Sprintf(" 요청 결과: HTTP %d.", st)
		}
		return s + prefixed(" 메시지: ", d.str("message"))
	case KindExcessiveSQL:
		if d.str("pattern") == "repeated" {
			return fmt.Sprintf("N+1 쿼리: 같은 %s가 %s회 반복 실행되었습니다(합계 %s). 이 트랜잭션의 전체 SQL 실행 횟수는 %s회입니다.",
				subjectKO(d), num(d.int("repeats")), ms(d.f64("durationMs")), num(d.int("sqlCount")))
		}
		s := fmt.Sprintf("과도한 SQL 실행: 한 트랜잭션에서 SQL을 %s회 실행했습니다(SQL 시간 %s", num(d.int("sqlCount")), ms(d.f64("sqlTimeMs")))
		if t := d.strs("tables"); len(t) > 0 {
			s += ", 주요 테이블: " + strings.Join(t, ", ")
		}
		return s + ")."
	case KindExcessiveFetch:
		s := fmt.Sprintf("과도한 조회 건수: 한 트랜잭션에서 %s건을 가져왔습니다.", num(d.int("rows")))
		if t := d.strs("tables"); len(t) > 0 && d.int("spanRows") > 0 {
			s += fmt.Sprintf(" 그중 %s건은 %s에서 나왔습니다.", num(d.int("spanRows")), subjectKO(d))
		}
		return s
	}
	return strings.TrimSuffix(f.Summary, ".") + "."
}

func (korean) action(v view, f Fact) string {
	d := fdata(f.Data)
	subject := subjectKO(d)
	tables := strings.Join(d.strs("tables"), ", ")
	switch f.Kind {
	case KindSlowSQL:
		switch d.str("crud") {
		case profile.CRUDSelect:
			return fmt.Sprintf("%s 실행 계획(EXPLAIN)을 확인하고 WHERE·JOIN 조건 컬럼의 인덱스를 추가하거나 점검하세요. 많은 행을 읽는다면 조회 범위를 줄이거나 페이징을 적용하세요.", subject)
		case profile.CRUDUpdate, profile.CRUDDelete:
			return fmt.Sprintf("%s에서 행 잠금(lock) 대기가 있는지, WHERE 조건 컬럼에 인덱스가 있는지 확인하세요. 잠금을 잡는 트랜잭션은 짧게 유지하세요.", subject)
		case profile.CRUDInsert:
			return fmt.Sprintf("%s에서 잠금 경합, 트리거, 인덱스·제약 조건 부하를 확인하고, 한꺼번에 몰리는 INSERT는 배치로 묶으세요.", subject)
		}
		return fmt.Sprintf("%s 실행 계획과 잠금 상태를 확인하세요.", subject)
	case KindSlowDBConnect:
		return fmt.Sprintf("%s 커넥션 풀 설정(최대 크기, 연결 대기 시간, active/idle 수)과 DB 상태%s를 점검하세요. 커넥션 반납 누락이나 커넥션을 오래 잡고 있는 트랜잭션이 없는지 확인하고, 풀 크기는 DB가 감당할 수 있을 때만 늘리세요.",
			v.app, wrapped(d.str("remoteAddress")))
	case KindNetworkDelay:
		if d.int("failures") > 0 && d.int("executions") > 1 {
			return fmt.Sprintf("외부 서비스 담당 측에 호출 실패와 응답 지연 원인을 확인하세요(대상: %s). 재시도 루프(%s회 시도)가 대기 시간을 키웠으므로 시도마다 짧은 연결·읽기 타임아웃을 두고, 재시도 횟수와 백오프를 알림 기준 안으로 제한하고, 서킷 브레이커나 대체 처리를 적용하세요.",
				cmp.Or(d.str("remoteAddress"), d.str("url"), "외부 서비스"), num(d.int("executions")))
		}
		if _, _, _, failed := failedBecause(f); failed {
			return fmt.Sprintf("외부 서비스 담당 측에 호출 실패와 응답 지연 원인을 확인하고 네트워크 구간을 점검하세요(대상: %s). 해당 호출에는 알림 기준보다 충분히 짧은 연결·읽기 타임아웃, 재시도 제한, 서킷 브레이커나 대체 처리를 적용하세요.",
				cmp.Or(d.str("remoteAddress"), d.str("url"), "외부 서비스"))
		}
		return fmt.Sprintf("외부 서비스 담당 측에 응답 지연 원인을 확인하고 네트워크 구간을 점검하세요(대상: %s). 해당 호출에는 알림 기준보다 충분히 짧은 연결·읽기 타임아웃, 재시도 제한, 서킷 브레이커나 대체 처리를 적용하세요.",
			cmp.Or(d.str("remoteAddress"), d.str("url"), "외부 서비스"))
	case KindException:
		at := ""
		if fr := d.str("frame"); fr != "" {
			at = fr + "에서 발생한 "
		}
		if looksLikeConnection(d) {
			return fmt.Sprintf("%s%s 예외의 원인을 확인하세요. %s 커넥션 풀이 고갈된 상태이므로 풀 크기, 커넥션 반납 누락, 커넥션을 오래 점유하는 느린 쿼리를 점검하세요.", at, d.str("type"), v.app)
		}
		return fmt.Sprintf("알림 시각 전후의 애플리케이션 로그에서 %s%s 예외의 원인을 찾아 수정하고, 같은 오류가 나면 요청이 명확한 오류로 빠르게 끝나도록 처리하세요.", at, d.str("type"))
	case KindExcessiveSQL:
		if d.str("pattern") == "repeated" {
			switch crud := d.str("crud"); crud {
			case profile.CRUDInsert, profile.CRUDUpdate, profile.CRUDDelete:
				return fmt.Sprintf("N+1 쓰기를 제거하세요. %s 테이블에 %s 문을 건별로 %s번 보내지 말고 JDBC 배치(addBatch/executeBatch, hibernate.jdbc.batch_size)나 다건 INSERT, 집합 단위 문(WHERE id IN (...))으로 묶어 한 번에 실행하세요.",
					cmp.Or(tables, "해당"), crud, num(d.int("repeats")))
			}
			return fmt.Sprintf("N+1 조회를 제거하세요. %s 데이터를 건별로 %s번 조회하지 말고 JOIN(fetch join), IN 절 또는 배치 조회(@BatchSize 등)로 한 번에 가져오세요.",
				cmp.Or(tables, "해당"), num(d.int("repeats")))
		}
		return "SQL 호출 수를 줄이세요. 참조 데이터는 캐시하고, 쓰기는 배치로 묶고, 건별 쿼리는 집합 단위 쿼리로 바꾸세요."
	case KindExcessiveFetch:
		target := "조회"
		if tables != "" {
			target = tables + " 테이블 조회"
		}
		return fmt.Sprintf("%s에 페이징이나 더 좁은 조건을 적용해 가져오는 건수를 줄이고, 필요한 컬럼만 조회하세요.", target)
	}
	return ""
}

func (korean) followUp(v view) string {
	return fmt.Sprintf("조치 후 %s 알림(%s)이 더 이상 발생하지 않고 응답 시간이 알림 기준 아래로 유지되는지 확인하세요.", v.rule, v.app)
}

func (korean) normalAnalysis(v view) string {
	s := fmt.Sprintf("병목 없음: 전체 응답 시간은 %s입니다.", ms(v.st.TotalTimeMs))
	if sp := v.st.SlowestSpan; sp != nil {
		s += fmt.Sprintf(" 가장 오래 걸린 구간은 %s이며 %s 소요되었습니다.", spanKO(sp), ms(sp.DurationMs))
	}
	return s
}

// spanKO names a span; every variant ends in a noun without a final consonant issue for "이며".
func spanKO(s *profile.Span) string {
	name := wrapped(s.Name)
	switch s.Kind {
	case profile.KindSQL, profile.KindFetch:
		tables, crud := spanTables(s)
		return sqlSubjectKO(crud, tables) + name
	case profile.KindHTTPClient:
		return cmp.Or(remoteOf(s), "외부 서비스") + " 외부 호출" + name
	case profile.KindDBConnect:
		return "DB 커넥션 획득" + name
	}
	return cmp.Or(s.Name, "내부 처리")
}

func (korean) noProfileAnalysis(view) string {
	return "알림에 트랜잭션 프로파일이 없고 조회도 되지 않아, 구간별 분석을 하지 못했습니다."
}

func (korean) normalActions(v view) []string {
	return []string{
		"별도 조치는 필요하지 않습니다. 시스템은 정상적으로 동작하고 있습니다.",
		fmt.Sprintf("%s 알림(%s)을 계속 모니터링하고, 다시 발생하면 다음 트레이스를 이번 결과와 비교하세요.", v.rule, v.app),
	}
}

func (korean) noProfileActions(v view) []string {
	target := "해당 시간대의 가장 느린 트랜잭션"
	if v.alert.TraceID != "" {
		target = "트레이스 " + v.alert.TraceID
	} else {
		var parts []string
		if v.instance != "" {
			parts = append(parts, "인스턴스 "+v.instance)
		}
		if !v.alert.StartsAt.IsZero() {
			parts = append(parts, v.alert.StartsAt.Format("2006-01-02 15:04 -07:00")+" 전후")
		}
		if len(parts) > 0 {
			target += " (" + strings.Join(parts, ", ") + ")"
		}
	}
	return []string{
		"APM에서 다음 대상을 직접 열어 프로파일을 확인하고 분석을 다시 실행하세요: " + target,
		fmt.Sprintf("%s 알림(%s)을 계속 모니터링하세요.", v.rule, v.app),
	}
}

// failedKO is " 이 때문에 요청이 X 예외로 실패했습니다(HTTP 500)." for a slow step that failed the
// request (blameSlowStep), else "".
func failedKO(f Fact) string {
	typ, _, st, ok := failedBecause(f)
	if !ok {
		return ""
	}
	return fmt.Sprintf(" 이 때문에 요청이 %s 예외로 실패했습니다(HTTP %d).", typ, st)
}

// stepKO names the kind of a slow step; every name ends in a final consonant, so it takes "으로".
func stepKO(kind string) string {
	switch kind {
	case KindSlowDBConnect:
		return "DB 커넥션 획득 지연"
	case KindNetworkDelay:
		return "외부 호출 지연"
	case KindSlowSQL:
		return "느린 SQL 실행"
	}
	return strings.ReplaceAll(kind, "_", " ")
}

// sentenceKO ends s with exactly one full stop.
func sentenceKO(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), ".")
	if s == "" {
		return ""
	}
	return s + "."
}
