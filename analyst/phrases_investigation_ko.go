package analyst

import (
	"cmp"
	"fmt"
	"github.com/vigil-ops/vigil/profile"
	"strings"
	"time"
)

// koreanInvestigation writes the investigated report (an alert without a profile) in Korean.
type koreanInvestigation struct{}

var metricNamesKo = map[string]string{
	"error_ratio": "오류율", "throughput": "처리량", "latency_p50": "p50 지연 시간",
	"latency_p90": "p90 지연 시간", "latency_p95": "p95 지연 시간", "latency_p99": "p99 지연 시간",
	"error_logs": "ERROR 로그", "fatal_logs": "FATAL 로그", "alerts_firing": "발생 중인 알림",
}

func (koreanInvestigation) metricName(m string) string {
	if n, ok := metricNamesKo[m]; ok {
		return n
	}
	return strings.ReplaceAll(m, "_", " ")
}

func (p koreanInvestigation) checkedLine(v view, inv *Investigation) string {
	src := ""
	if inv.GitHub != "" {
		src = "(Vigil 기록과 GitHub " + inv.GitHub + ")"
	}
	return fmt.Sprintf("조사 범위: 알림 전 %s 동안의 %s 배포%s, %s–%s UTC 지표를 하루 전·일주일 전과 비교",
		lookBack(inv.LookBack), inv.Application, src, inv.From.UTC().Format("15:04"), inv.To.UTC().Format("15:04"))
}

// noneRecorded says that no deployment was recorded in the look-back, by Vigil and, where
// configured, GitHub (or that GitHub could not be read).
func (p koreanInvestigation) noneRecorded(inv *Investigation) string {
	switch _, ghFailed := inv.failed(PartGitHub); {
	case inv.GitHub != "" && ghFailed:
		return fmt.Sprintf("Vigil에는 알림 전 %s 동안 %s의 배포 기록이 없습니다(GitHub %s은(는) 읽지 못했습니다)", lookBack(inv.LookBack), inv.Application, inv.GitHub)
	case inv.GitHub != "":
		return fmt.Sprintf("Vigil과 GitHub %s 모두 알림 전 %s 동안 %s의 배포 기록이 없습니다", inv.GitHub, lookBack(inv.LookBack), inv.Application)
	}
	return fmt.Sprintf("Vigil에는 알림 전 %s 동안 %s의 배포 기록이 없습니다", lookBack(inv.LookBack), inv.Application)
}

// githubUnread says that GitHub's deployments could not be read, or is "".
func (p koreanInvestigation) githubUnread(inv *Investigation) string {
	if f, ok := inv.failed(PartGitHub); ok {
		return fmt.Sprintf(" GitHub을 읽지 못해 %s의 배포가 빠져 있습니다(%s).", inv.GitHub, f.Error)
	}
	return ""
}

// status is a change's status: Vigil's tracking status, or GitHub's state.
func (p koreanInvestigation) status(ch *Change, inv *Investigation) string {
	if ch.Source == SourceGitHub {
		s := "GitHub " + cmp.Or(inv.GitHub, "배포") + ", 상태 " + ch.Status
		if ch.Description != "" {
			s += ": " + clip(ch.Description, 120)
		}
		return s
	}
	return "상태 " + ch.Status
}

// evidence is "오류율 7.2 % (하루 전 0.5 %, 일주일 전 0.6 %)".
func (p koreanInvestigation) evidence(f finding) string {
	day, week := "하루 전 데이터 없음", "일주일 전 데이터 없음"
	if f.day != nil {
		day = "하루 전 " + metricValue(f.metric, *f.day)
	}
	if f.wk != nil {
		week = "일주일 전 " + metricValue(f.metric, *f.wk)
	}
	return fmt.Sprintf("%s %s (%s, %s)", p.metricName(f.metric), metricValue(f.metric, f.cur), day, week)
}

// episode dates the regression: "오류 비율이 11:35–11:58 UTC 동안 하루 전·일주일 전보다 나빴음"
// ("" when not dated).
func (p koreanInvestigation) episode(c conclusion) string {
	if c.onset == nil {
		return ""
	}
	if c.episodeTo.Before(c.start.Add(-time.Minute)) {
		return fmt.Sprintf("%s이(가) %s–%s UTC 동안 하루 전·일주일 전보다 나빴음", p.metricName(c.episode.metric),
			c.onset.UTC().Format("15:04"), c.episodeTo.UTC().Format("15:04"))
	}
	return fmt.Sprintf("%s이(가) %s UTC부터 하루 전·일주일 전보다 나빠짐", p.metricName(c.episode.metric), c.onset.UTC().Format("15:04"))
}

func (p koreanInvestigation) deployment(ch *Change, app string) string {
	if ch.Version != "" {
		app += " " + ch.Version
	}
	return "배포 " + ch.ID + "(" + app + ")"
}

func (p koreanInvestigation) failingRow(c conclusion) string {
	if c.failing == nil {
		return ""
	}
	return endpoint(*c.failing) + " 5xx ×" + count(c.failing.Current)
}

func (p koreanInvestigation) summary(v view, inv *Investigation, c conclusion) string {
	var ev []string
	for _, f := range c.degraded[:min(2, len(c.degraded))] {
		ev = append(ev, p.evidence(f))
	}
	if s := p.failingRow(c); s != "" && c.errorsRegressed() {
		ev = append(ev, s)
	}
	if s := p.episode(c); s != "" {
		ev = append(ev, s)
	}
	if s := traceEvidence(inv, "ko"); s != "" {
		ev = append(ev, s)
	}
	evidence := strings.Join(ev, "; ")
	regressed := len(c.degraded) > 0 || c.onset != nil
	switch {
	case c.suspect != nil && regressed:
		return fmt.Sprintf("%s의 %s 알림은 %s %d분 후에 시작되었습니다; %s. 가장 유력한 원인은 배포 %s입니다.",
			v.app, v.rule, p.deployment(c.suspect, inv.Application), minutesBetween(c.suspect.At, c.start), evidence, c.suspect.ID)
	case c.suspect != nil:
		return fmt.Sprintf("%s의 %s 알림은 %s %d분 후에 시작되었습니다; %s. 가장 유력한 원인은 배포 %s(알림 전 마지막 변경)입니다.",
			v.app, v.rule, p.deployment(c.suspect, inv.Application), minutesBetween(c.suspect.At, c.start), p.noRegression(c), c.suspect.ID)
	case regressed && c.surge != nil:
		return fmt.Sprintf("%s의 %s 알림: %s, 트래픽 %s; %s. 가장 유력한 원인은 트래픽 급증입니다.",
			v.app, v.rule, evidence, p.evidence(*c.surge), p.noChange(inv, c))
	case regressed:
		return fmt.Sprintf("%s의 %s 알림: %s. %s: Vigil이 아는 변경 뒤에 생긴 문제가 아닙니다(의존 서비스와 인프라를 확인하십시오).",
			v.app, v.rule, evidence, p.noChange(inv, c))
	}
	if s := traceEvidence(inv, "ko"); s != "" {
		return fmt.Sprintf("%s의 %s 알림: %s, 원인이 될 배포도 없습니다; %s. 가장 유력한 원인은 요청의 이 단계입니다.",
			v.app, v.rule, p.noRegression(c), s)
	}
	return fmt.Sprintf("%s의 %s 알림: 조사에서 원인을 찾지 못했습니다. 확인한 항목: %s.", v.app, v.rule, p.checked(inv, c))
}

// noChange says that no deployment can be the cause.
func (p koreanInvestigation) noChange(inv *Investigation, c conclusion) string {
	if ch := c.cleared; ch != nil {
		return fmt.Sprintf("문제 시작 전 %s의 마지막 배포 %s는 알림 %s 전에 적용되었고, 지표는 %s UTC부터 %s 동안 기준선과 같다가 %s UTC에 문제가 시작되었습니다",
			inv.Application, ch.ID, lookBack(c.start.Sub(ch.At).Round(time.Minute)), c.calmFrom.UTC().Format("15:04"),
			lookBack(c.calmFor.Round(time.Minute)), c.onset.UTC().Format("15:04"))
	}
	if c.change == nil {
		return p.noneRecorded(inv)
	}
	if c.underWay != nil && c.change.At.After(c.underWay.Add(onsetSlack)) {
		return fmt.Sprintf("%s의 마지막 배포 %s는 알림 %s 전, 문제가 이미 진행 중일 때 적용되었습니다(읽은 첫 시각 %s UTC부터 나빴음)",
			inv.Application, c.change.ID, lookBack(c.start.Sub(c.change.At).Round(time.Minute)), c.underWay.UTC().Format("15:04"))
	}
	if c.onset != nil && c.change.At.After(c.onset.Add(c.slack)) {
		return fmt.Sprintf("%s의 마지막 배포 %s는 알림 %s 전, 문제가 %s UTC에 시작된 뒤에 적용되었습니다",
			inv.Application, c.change.ID, lookBack(c.start.Sub(c.change.At).Round(time.Minute)), c.onset.UTC().Format("15:04"))
	}
	return fmt.Sprintf("%s의 마지막 배포 %s는 알림 %s 전에 적용되었고 점검 판정은 %s입니다",
		inv.Application, c.change.ID, lookBack(c.start.Sub(c.change.At).Round(time.Minute)), c.change.State)
}

func (p koreanInvestigation) noRegression(c conclusion) string {
	if !c.healthRead {
		return "지표는 비교할 수 없었습니다"
	}
	return "두 기준선 모두보다 나빠진 지표는 없습니다"
}

func (p koreanInvestigation) checked(inv *Investigation, c conclusion) string {
	var parts []string
	if f, ok := inv.failed(PartChanges); ok {
		parts = append(parts, "배포 기록(읽지 못함: "+f.Error+")")
	} else {
		parts = append(parts, p.noChange(inv, c))
	}
	switch {
	case len(c.checked) > 0:
		names := make([]string, len(c.checked))
		for i, m := range c.checked {
			names[i] = p.metricName(m)
		}
		parts = append(parts, strings.Join(names, ", ")+"의 하루 전·일주일 전 비교(나빠진 지표 없음)")
	case len(c.missing) > 0:
		parts = append(parts, "상태 지표(사용할 수 없음: "+c.missing[0]+")")
	default:
		if f, ok := inv.failed(PartHealth); ok {
			parts = append(parts, "상태 지표(읽지 못함: "+f.Error+")")
		} else {
			parts = append(parts, "상태 지표(데이터 없음)")
		}
	}
	return strings.Join(parts, "; ")
}

func (p koreanInvestigation) changes(v view, inv *Investigation, c conclusion) string {
	f, vigilFailed := inv.failed(PartChanges)
	switch {
	case vigilFailed && len(inv.Changes) == 0:
		return "최근 변경: Vigil의 배포 기록을 읽지 못했습니다(" + f.Error + ")." + p.githubUnread(inv)
	case c.change == nil && len(c.later) == 0 && inv.GitHub == "":
		return fmt.Sprintf("최근 변경: 알림 전 %s 동안 Vigil에 기록된 %s 배포가 없습니다.", lookBack(inv.LookBack), inv.Application)
	case c.change == nil && len(c.later) == 0:
		return "최근 변경: " + p.noneRecorded(inv) + "." + p.githubUnread(inv)
	}
	s := "최근 변경: "
	if vigilFailed {
		s += "Vigil의 배포 기록을 읽지 못했습니다(" + f.Error + "). GitHub 기록: "
	}
	if ch := c.change; ch != nil {
		s += fmt.Sprintf("%s가 %s UTC에 적용되었습니다. 알림 %d분 전입니다(%s",
			p.deployment(ch, inv.Application), ch.At.UTC().Format("15:04"), minutesBetween(ch.At, c.start), p.status(ch, inv))
		if ch.State != "" {
			s += fmt.Sprintf("; 최근 판정 %s, %s 체크포인트", ch.State, ch.Checkpoint)
			if ch.Comment != "" {
				s += ": " + clip(ch.Comment, 160)
			}
		} else {
			s += "; 아직 판정 없음"
		}
		s += ")."
		switch {
		case c.suspect == nil && c.cleared != nil:
			s += " 원인으로 보지 않습니다: " + p.noChange(inv, c) + "."
		case c.suspect == nil && c.underWay != nil && ch.At.After(c.underWay.Add(onsetSlack)):
			s += " 원인으로 보지 않습니다: " + p.noChange(inv, c) + "."
		case c.suspect == nil && c.onset != nil && ch.At.After(c.onset.Add(c.slack)):
			s += fmt.Sprintf(" 문제가 %s UTC에 시작된 뒤에 적용되었으므로 원인으로 보지 않습니다.", c.onset.UTC().Format("15:04"))
		case c.suspect == nil:
			s += fmt.Sprintf(" 알림 %s 전에 적용되었고 배포 점검 판정이 %s이므로 원인으로 보지 않습니다.", lookBack(c.start.Sub(ch.At).Round(time.Minute)), ch.State)
		case c.suspect != ch && c.onset != nil:
			s += fmt.Sprintf(" 문제가 %s UTC에 시작된 뒤에 적용되었으므로 원인으로 보지 않습니다. 문제는 %s %d분 후에 시작되었습니다.",
				c.onset.UTC().Format("15:04"), p.deployment(c.suspect, inv.Application), minutesBetween(c.suspect.At, *c.onset))
		case c.suspect != ch && c.underWay != nil:
			s += fmt.Sprintf(" 문제는 읽은 첫 시각 %s UTC에 이미 진행 중이었으므로 원인으로 보지 않습니다. %s는 그 전에 적용되었습니다.",
				c.underWay.UTC().Format("15:04"), p.deployment(c.suspect, inv.Application))
		}
		if more := len(inv.Changes) - 1 - len(c.later); more > 0 {
			s += fmt.Sprintf(" %s 동안 그 이전 배포 %d건.", lookBack(inv.LookBack), more)
		}
	} else {
		s += fmt.Sprintf("알림 전 %s 동안 %s 배포가 없습니다.", lookBack(inv.LookBack), inv.Application)
	}
	if len(c.later) > 0 {
		s += fmt.Sprintf(" %s는 알림이 시작된 뒤에 적용되었습니다.", p.deployment(&c.later[0], inv.Application))
	}
	return s + p.githubUnread(inv)
}

func (p koreanInvestigation) health(v view, inv *Investigation, c conclusion) string {
	window := fmt.Sprintf("%s–%s UTC", inv.From.UTC().Format("15:04"), inv.To.UTC().Format("15:04"))
	if len(c.degraded) == 0 && !c.healthRead {
		why := "데이터 없음"
		if f, ok := inv.failed(PartHealth); ok {
			why = f.Error
		} else if len(c.missing) > 0 {
			why = c.missing[0]
		}
		return "지표: 상태 지표를 기준선과 비교할 수 없었습니다(" + why + ")."
	}
	var parts []string
	for _, f := range c.degraded {
		parts = append(parts, p.evidence(f))
	}
	s := "지표 " + window + ", 하루 전·일주일 전 같은 구간과 비교: "
	if len(parts) > 0 {
		s += "악화: " + strings.Join(parts, "; ")
	} else {
		s += "두 기준선 모두보다 나빠진 지표는 없습니다"
	}
	if c.surge != nil {
		s += "; 트래픽 " + p.evidence(*c.surge)
	}
	var ok []string
	for _, m := range c.checked {
		if !containsFinding(c.degraded, m) && (c.surge == nil || c.surge.metric != m) {
			ok = append(ok, p.metricName(m))
		}
	}
	if len(ok) > 0 && len(parts) > 0 {
		s += "; 평소 수준: " + strings.Join(ok, ", ")
	}
	return s + "."
}

func (p koreanInvestigation) tables(v view, inv *Investigation, c conclusion) string {
	var parts []string
	if c.failing != nil {
		s := "가장 많이 실패한 엔드포인트 " + p.failingRow(c)
		if c.failing.Day != nil {
			s += fmt.Sprintf("(하루 전 ×%s)", count(*c.failing.Day))
		}
		parts = append(parts, s)
	}
	if c.slowest != nil {
		parts = append(parts, "가장 느린 엔드포인트 "+endpoint(*c.slowest)+" p95 "+ms(c.slowest.Current*1000))
	}
	if len(c.newErrors) > 0 {
		var g []string
		for _, r := range c.newErrors {
			g = append(g, errorGroup(r)+" ×"+count(r.Current))
		}
		parts = append(parts, "새 오류 그룹 "+strings.Join(g, ", "))
	}
	if s := traceEvidence(inv, "ko"); s != "" {
		parts = append(parts, s)
	} else if inv.Trace != nil && inv.Trace.Note != "" && len(parts) > 0 {
		parts = append(parts, "예시 트레이스: "+inv.Trace.Note)
	}
	if tf, ok := inv.failed(PartTrace); ok && len(parts) > 0 {
		parts = append(parts, "예시 트레이스: "+tf.Error)
	}
	f, failed := inv.failed(PartTables)
	switch {
	case failed && len(parts) == 0:
		return "엔드포인트: 보강 쿼리를 실행하지 못했습니다(" + f.Error + ")."
	case failed:
		parts = append(parts, "일부 쿼리 실패("+f.Error+")")
	}
	switch {
	case len(parts) > 0:
		return "엔드포인트: " + strings.Join(parts, "; ") + "."
	case inv.TablesSkipped:
		return ""
	case len(c.degraded) > 0:
		return "엔드포인트: 보강 쿼리에서 실패하거나 느린 엔드포인트가 나오지 않았습니다."
	}
	return ""
}

func (p koreanInvestigation) actions(v view, inv *Investigation, c conclusion) []string {
	var out []string
	switch {
	case c.suspect != nil && c.suspect.Source == SourceGitHub:
		out = append(out, fmt.Sprintf("%s를 검토하고(GitHub %s, 커밋 %s) %s이(가) 회복되지 않으면 롤백하십시오.",
			p.deployment(c.suspect, inv.Application), cmp.Or(inv.GitHub, "배포"), cmp.Or(c.suspect.SHA, "?"), p.firstMetric(c, "지표")))
	case c.suspect != nil:
		out = append(out, fmt.Sprintf("%s를 검토하고(GET /v1/deployments/%s) %s이(가) 회복되지 않으면 롤백하십시오.",
			p.deployment(c.suspect, inv.Application), c.suspect.ID, p.firstMetric(c, "지표")))
	}
	if c.failing != nil {
		out = append(out, fmt.Sprintf("%s의 실패한 요청(최근 %s의 로그와 트레이스)에서 5xx의 원인 오류를 확인하십시오.",
			endpoint(*c.failing), lookBack(inv.To.Sub(inv.From))))
	}
	switch {
	case c.suspect == nil && c.surge != nil && len(c.degraded) > 0:
		out = append(out, fmt.Sprintf("%s로 늘어난 트래픽의 출처를 찾아 확장하거나 유입을 제한하십시오.", inv.Application))
	case c.suspect == nil && len(c.degraded) > 0:
		out = append(out, fmt.Sprintf("%s의 의존 서비스(데이터베이스, 하위 서비스)와 인프라에서 %s 악화와 함께 시작된 장애가 있는지 확인하십시오.",
			inv.Application, p.firstMetric(c, "지표")))
	case c.suspect == nil && traceEvidence(inv, "ko") != "":
		// The failing or slowest request's own finding is the lead.
		if f, ok := inv.topTraceFact(); ok {
			out = append(out, phrasesFor("ko").action(newView(&profile.Alert{}), f))
		}
	case c.suspect == nil:
		out = append(out, fmt.Sprintf("알림 쿼리와 임계값을 %s의 지표와 대조하고, 프로파일 분석을 위해 알림에 트랜잭션 프로파일이나 트레이스 ID를 함께 보내십시오.", inv.Application))
	}
	if len(inv.Failed) > 0 {
		out = append(out, fmt.Sprintf("%s을(를) 읽을 수 있게 되면 조사를 다시 실행하십시오.", inv.Failed[0].Part))
	}
	return out
}

func (p koreanInvestigation) firstMetric(c conclusion, fallback string) string {
	if len(c.degraded) > 0 {
		return p.metricName(c.degraded[0].metric)
	}
	return fallback
}
