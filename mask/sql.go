package mask

import "strings"

// SQL statement keywords that start a statement scan, and the word that confirms each.
var (
	sqlStart   = [5]string{"select", "insert", "update", "delete", "where"}
	sqlConfirm = [5]string{"from", "into", "set", "from", ""}
)

func sqlKeyword(w string) int {
	if len(w) != 5 && len(w) != 6 {
		return -1
	}
	switch lower(w[0]) {
	case 's':
		if foldEq(w, "select") {
			return 0
		}
	case 'i':
		if foldEq(w, "insert") {
			return 1
		}
	case 'u':
		if foldEq(w, "update") {
			return 2
		}
	case 'd':
		if foldEq(w, "delete") {
			return 3
		}
	case 'w':
		if foldEq(w, "where") {
			return 4
		}
	}
	return -1
}

// sql handles a statement starting with the keyword s[i:j]. The statement runs to ';', to the
// end of the JSON string it sits in, or to the end of the line unless the next line continues
// it. It counts only if confirmed (SELECT…FROM, INSERT…INTO, UPDATE…SET, DELETE…FROM, or WHERE
// followed by a comparison). Then its string and number literals are masked and its keywords
// and identifiers kept.
func (sc *scanner) sql(i, j, kw int) int {
	s, lo, hi := sc.s, sc.lo, sc.hi
	if !sc.m.on(kSQL) || i < sc.sqlNo[kw] {
		return 0
	}
	if i > lo && (s[i-1] == '.' || s[i-1] == '-' || s[i-1] == '/') {
		return 0
	}
	if j >= hi || (s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r') {
		return 0
	}
	confirmed := false
	if kw == 4 {
		if !whereFollows(s, j, hi) {
			return 0
		}
		confirmed = true
	}
	jsonCtx := inJSONString(s, i, lo)
	limit := min(hi, i+1<<16)
	p := j
loop:
	for p < limit {
		c := s[p]
		switch {
		case c == '\'':
			p, _ = sqlQuote(s, p, limit)
			continue
		case c == ';':
			break loop
		case c == '"' && jsonCtx:
			break loop
		case c == '\\' && jsonCtx:
			p += 2
			continue
		case c == '-' && p+1 < limit && s[p+1] == '-':
			for p < limit && s[p] != '\n' {
				p++
			}
			continue
		case c == '/' && p+1 < limit && s[p+1] == '*':
			if k := strings.Index(s[p+2:limit], "*/"); k >= 0 {
				p += k + 4
			} else {
				p = limit
			}
			continue
		case c == '\n':
			if !sqlContinues(s, p, limit) {
				break loop
			}
		case !confirmed && isAlpha(c) && !isWordByte(s[p-1]):
			q := p + 1
			for q < limit && isWordByte(s[q]) {
				q++
			}
			confirmed = foldEq(s[p:q], sqlConfirm[kw])
			p = q
			continue
		}
		p++
	}
	e := min(p, limit)
	if !confirmed {
		sc.sqlNo[kw] = e
		return 0
	}
	sc.sqlLiterals(j, e, jsonCtx)
	return e
}

// inJSONString reports whether position i is inside a JSON string value: the nearest '"'
// before it on the same line is unescaped and opens a value (follows ':', '[' or ',').
func inJSONString(s string, i, lo int) bool {
	b := i - 1
	for b >= lo && i-b < 4096 && s[b] != '"' && s[b] != '\n' {
		b--
	}
	if b < lo || s[b] != '"' || (b > lo && s[b-1] == '\\') {
		return false
	}
	b--
	for b >= lo && (s[b] == ' ' || s[b] == '\t') {
		b--
	}
	return b >= lo && (s[b] == ':' || s[b] == '[' || s[b] == ',')
}

// unitAfter reports a unit word after a number (8000 ms, 12 rows): a measurement, not a literal.
func unitAfter(s string, q, e int) bool {
	if q < e && s[q] == ' ' {
		q++
	}
	w := q
	for w < e && isAlpha(s[w]) {
		w++
	}
	if w < e && isWordByte(s[w]) {
		return false
	}
	switch string(lowerSmall(s[q:w])) {
	case "ms", "s", "sec", "secs", "seconds", "min", "mins", "minutes", "rows", "row", "bytes", "kb", "mb", "gb", "times", "us", "ns":
		return true
	}
	return false
}

// sqlQuote scans the string literal opening at p (” and \' escapes; an unterminated literal
// ends at the end of the line) and returns the position after it and whether it was closed.
func sqlQuote(s string, p, limit int) (int, bool) {
	q := p + 1
	for q < limit {
		switch s[q] {
		case '\\':
			q += 2
			continue
		case '\'':
			if q+1 < limit && s[q+1] == '\'' {
				q += 2
				continue
			}
			return q + 1, true
		case '\n':
			return q, false
		}
		q++
	}
	return limit, false
}

// whereFollows: WHERE must be followed by an identifier and a comparison to count as SQL.
func whereFollows(s string, p, hi int) bool {
	for p < hi && (s[p] == ' ' || s[p] == '\t') {
		p++
	}
	q := p
	for q < hi && (isWordByte(s[q]) || s[q] == '.' || s[q] == '`' || s[q] == '"' || s[q] == '$') {
		q++
	}
	if q == p {
		return false
	}
	for q < hi && (s[q] == ' ' || s[q] == '\t') {
		q++
	}
	if q >= hi {
		return false
	}
	switch s[q] {
	case '=', '<', '>', '!':
		return true
	}
	w := q
	for w < hi && isAlpha(s[w]) {
		w++
	}
	switch string(lowerSmall(s[q:w])) {
	case "in", "like", "between", "is", "not", "ilike", "regexp":
		return true
	}
	return false
}

// sqlContinues decides at a newline (s[p] == '\n') whether the statement goes on: the line
// ends with ',', '(' or an operator or a clause word, or the next line starts with a clause
// word or a bracket.
func sqlContinues(s string, p, limit int) bool {
	b := p - 1
	for b >= 0 && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r') {
		b--
	}
	if b >= 0 {
		switch s[b] {
		case ',', '(', '=', '<', '>', '+', '*':
			return true
		}
		if isWordByte(s[b]) {
			wb := b
			for wb >= 0 && isWordByte(s[wb]) {
				wb--
			}
			switch string(lowerSmall(s[wb+1 : b+1])) {
			case "and", "or", "on", "where", "from", "select", "set", "by", "join", "values", "in", "not",
				"as", "having", "union", "into", "when", "then", "else", "distinct", "all":
				return true
			}
		}
	}
	q := p + 1
	for q < limit && (s[q] == ' ' || s[q] == '\t' || s[q] == '\r') {
		q++
	}
	if q >= limit {
		return false
	}
	switch s[q] {
	case '(', ')', ',':
		return true
	}
	w := q
	for w < limit && isAlpha(s[w]) {
		w++
	}
	switch string(lowerSmall(s[q:w])) {
	case "from", "where", "and", "or", "set", "values", "join", "inner", "left", "right", "full", "outer",
		"cross", "on", "using", "order", "group", "having", "limit", "offset", "union", "returning", "fetch":
		return true
	}
	return false
}

func isLimitWord(w string) bool {
	switch string(lowerSmall(w)) {
	case "limit", "offset", "top", "fetch", "first", "next", "rownum", "rows":
		return true
	}
	return false
}

func isIdentByte(c byte) bool { return isWordByte(c) || c == '$' || c == '.' }

// sqlLiterals masks the string literals and the numbers of four or more digits of a statement
// (numbers after LIMIT, OFFSET, TOP, FETCH FIRST, ROWNUM are kept). Identifiers, keywords and
// quoted identifiers are kept; comments are scanned as free text.
// sqlCredColumn reports that the string literal at q is compared with or assigned to a column
// whose name says it is a secret (password = '…', api_token <> '…').
func sqlCredColumn(s string, q, lo int) bool {
	p := q
	for p > lo && s[p-1] == ' ' {
		p--
	}
	n := 0
	for p > lo && (s[p-1] == '=' || s[p-1] == '<' || s[p-1] == '>' || s[p-1] == '!' || s[p-1] == ':') && n < 2 {
		p--
		n++
	}
	if n == 0 {
		return false
	}
	for p > lo && s[p-1] == ' ' {
		p--
	}
	e := p
	for p > lo && isWordByte(s[p-1]) {
		p--
	}
	return p < e && isCredKey(s[p:e])
}

func (sc *scanner) sqlLiterals(p, e int, jsonCtx bool) {
	s := sc.s
	limitish := false
	esc := -1 // position just after a JSON escape: a word boundary
	for p < e {
		c := s[p]
		switch {
		case c == '\'':
			q, closed := sqlQuote(s, p, e)
			q = min(q, e)
			ve := q
			if closed {
				ve--
			}
			kind := kSQL
			if sqlCredColumn(s, p, sc.lo) {
				kind = kCredential // password = '...': a credential, not just data
			}
			sc.maskValue(kind, p+1, ve)
			p = q
		case c == '-' && p+1 < e && s[p+1] == '-':
			q := p + 2
			for q < e && s[q] != '\n' {
				q++
			}
			sc.sub(p+2, q)
			p = q
		case c == '/' && p+1 < e && s[p+1] == '*':
			q := e
			if k := strings.Index(s[p+2:e], "*/"); k >= 0 {
				q = p + 2 + k
			}
			sc.sub(p+2, q)
			p = min(q+2, e)
		case c == '`' || (c == '"' && !jsonCtx):
			q := strings.IndexByte(s[p+1:e], c)
			if q < 0 {
				p = e
			} else {
				p += q + 2
			}
		case c == '\\' && jsonCtx:
			p += 2
			esc = p
		case isDigit(c):
			if p != esc && isIdentByte(s[p-1]) {
				for p < e && isIdentByte(s[p]) {
					p++
				}
				continue
			}
			q := p
			for q < e && isDigit(s[q]) {
				q++
			}
			if q+1 < e && s[q] == '.' && isDigit(s[q+1]) {
				q++
				for q < e && isDigit(s[q]) {
					q++
				}
			}
			if q < e && (isIdentByte(s[q]) || s[q] == '\'') {
				for q < e && isIdentByte(s[q]) {
					q++
				}
				p = q
				continue
			}
			nd := 0
			for k := p; k < q; k++ {
				if isDigit(s[k]) {
					nd++
				}
			}
			if nd >= 4 && !limitish && !unitAfter(s, q, e) {
				sc.add(p, q, kSQL, shNumber, 0)
			}
			p = q
		case isAlpha(c) || c == '_' || c == '$':
			q := p + 1
			for q < e && (isWordByte(s[q]) || s[q] == '$') {
				q++
			}
			limitish = isLimitWord(s[p:q])
			p = q
		default:
			p++
		}
	}
}
