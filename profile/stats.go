package profile

// Stats are the totals of a transaction profile that reports and detectors start from.
type Stats struct {
	TotalTimeMs float64 `json:"totalTimeMs"`
	// SQLTimeMs is the summed duration of the sql spans; SQLCount the number of SQL executions.
	SQLTimeMs float64 `json:"sqlTimeMs"`
	SQLCount  int     `json:"sqlCount"`
	// FetchCount is the number of rows fetched; FetchTimeMs the time of the fetch spans.
	FetchCount  int     `json:"fetchCount"`
	FetchTimeMs float64 `json:"fetchTimeMs"`
	// HTTPClientTimeMs and HTTPClientCount cover outgoing HTTP calls (external APIs).
	HTTPClientTimeMs float64 `json:"httpClientTimeMs"`
	HTTPClientCount  int     `json:"httpClientCount"`
	// DBConnectTimeMs and DBConnectCount cover database connection acquisition.
	DBConnectTimeMs float64 `json:"dbConnectTimeMs"`
	DBConnectCount  int     `json:"dbConnectCount"`
	ExceptionCount  int     `json:"exceptionCount"`
	// ErrorSpanCount is the number of spans that carry an error.
	ErrorSpanCount int `json:"errorSpanCount"`
	SpanCount      int `json:"spanCount"`
	// SlowestSpan is a copy of the span with the longest duration (the first one on ties), nil
	// when the profile has no spans; SlowestSpanIndex is its index, -1 when there is none.
	SlowestSpan      *Span `json:"slowestSpan,omitempty"`
	SlowestSpanIndex int   `json:"slowestSpanIndex"`
}

// Summary computes the profile's totals. It works on profiles that were not normalized: counts
// that the profile does not state are derived from its spans.
func (p *Profile) Summary() Stats {
	st := Stats{SlowestSpanIndex: -1}
	if p == nil {
		return st
	}
	st.TotalTimeMs = p.Transaction.TotalTimeMs
	st.ExceptionCount = len(p.Exceptions)
	st.SpanCount = len(p.Spans)
	sqlCount, fetchCount := 0, 0
	for i := range p.Spans {
		s := &p.Spans[i]
		n := s.Executions()
		switch s.Kind {
		case KindSQL:
			st.SQLTimeMs += s.DurationMs
			sqlCount += n
			fetchCount += s.Rows
		case KindFetch:
			st.FetchTimeMs += s.DurationMs
			fetchCount += s.Rows
		case KindHTTPClient:
			st.HTTPClientTimeMs += s.DurationMs
			st.HTTPClientCount += n
		case KindDBConnect:
			st.DBConnectTimeMs += s.DurationMs
			st.DBConnectCount += n
		}
		if s.Error != "" {
			st.ErrorSpanCount++
		}
		if st.SlowestSpanIndex < 0 || s.DurationMs > p.Spans[st.SlowestSpanIndex].DurationMs {
			st.SlowestSpanIndex = i
		}
	}
	st.SQLCount = max(p.SQLCount, sqlCount)
	st.FetchCount = max(p.FetchCount, fetchCount)
	if st.SlowestSpanIndex >= 0 {
		s := p.Spans[st.SlowestSpanIndex]
		s.Tables = append([]string(nil), s.Tables...)
		st.SlowestSpan = &s
	}
	return st
}
