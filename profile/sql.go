package profile

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// AnalyzeSQL returns the tables a SQL statement touches, in order of first appearance and without
// quotes (schema-qualified names stay qualified, e.g. "shop.orders"), and its CRUD type. It is a
// small tokenizer, not a full parser: it understands SELECT ... FROM a JOIN b, comma joins,
// subqueries, common table expressions, INSERT INTO t, UPDATE t SET, DELETE FROM t, MERGE INTO t,
// comments, string literals and "quoted", `quoted` and [quoted] identifiers. An empty statement
// gives no tables and an empty CRUD type.
func AnalyzeSQL(sql string) (tables []string, crud string) {
	toks := tokenizeSQL(sql)
	if len(toks) == 0 {
		return nil, ""
	}
	return sqlTables(toks), sqlCRUD(toks)
}

// NormalizeSQL reduces a statement to its shape: literals and bind markers become "?", comments
// go, whitespace collapses and keywords are upper-cased. Statements that differ only in their
// values (the executions of an N+1 loop) normalize to the same text.
func NormalizeSQL(sql string) string {
	var b strings.Builder
	var prev sqlToken
	for i, t := range tokenizeSQL(sql) {
		text := t.text
		switch t.kind {
		case tokString, tokNumber, tokParam:
			text = "?"
		case tokWord:
			if sqlKeywords[strings.ToUpper(text)] {
				text = strings.ToUpper(text)
			}
		case tokQuoted:
			text = t.raw
		}
		if i > 0 && !(t.is(".") || t.is(",") || t.is(")") || t.is("::") || prev.is(".") || prev.is("(") || prev.is("::")) {
			b.WriteByte(' ')
		}
		b.WriteString(text)
		prev = t
	}
	return b.String()
}

type tokKind uint8

const (
	tokWord   tokKind = iota + 1 // identifier or keyword
	tokQuoted                    // quoted identifier; text is unquoted
	tokString                    // string literal
	tokNumber
	tokParam // ?, :name, $1, @p
	tokPunct
)

type sqlToken struct {
	kind tokKind
	text string // unquoted text for identifiers
	raw  string
}

func (t sqlToken) is(p string) bool { return t.kind == tokPunct && t.text == p }

func (t sqlToken) keyword() string {
	if t.kind != tokWord {
		return ""
	}
	return strings.ToUpper(t.text)
}

// name reports whether the token can be (part of) a table name or alias.
func (t sqlToken) name() bool {
	return t.kind == tokQuoted && strings.TrimSpace(t.text) != "" || t.kind == tokWord && !sqlKeywords[strings.ToUpper(t.text)]
}

func isWordRune(r rune) bool {
	return r == '_' || r == '$' || r == '#' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func tokenizeSQL(s string) []sqlToken {
	var toks []sqlToken
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
		case strings.HasPrefix(s[i:], "--"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return toks
			}
			i += end + 1
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return toks
			}
			i += end + 4
		case r == '\'':
			j := i + 1
			for j < len(s) {
				if s[j] == '\\' {
					j += 2
					continue
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(s))
			toks = append(toks, sqlToken{kind: tokString, text: s[i:end], raw: s[i:end]})
			i = end
		case r == '"' || r == '`' || r == '[':
			closer := byte(r)
			if r == '[' {
				closer = ']'
			}
			var b strings.Builder
			j := i + 1
			for j < len(s) {
				if s[j] == closer {
					if closer != ']' && j+1 < len(s) && s[j+1] == closer {
						b.WriteByte(closer)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			end := min(j+1, len(s))
			toks = append(toks, sqlToken{kind: tokQuoted, text: b.String(), raw: s[i:end]})
			i = end
		case r >= '0' && r <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' || s[j] == 'x' || s[j] == 'X' ||
				(s[j] == '+' || s[j] == '-') && j > i && (s[j-1] == 'e' || s[j-1] == 'E') || s[j] >= 'a' && s[j] <= 'f' || s[j] >= 'A' && s[j] <= 'F') {
				j++
			}
			toks = append(toks, sqlToken{kind: tokNumber, text: s[i:j], raw: s[i:j]})
			i = j
		case strings.HasPrefix(s[i:], "::"): // PostgreSQL cast
			toks = append(toks, sqlToken{kind: tokPunct, text: "::", raw: "::"})
			i += 2
		case r == '?':
			toks = append(toks, sqlToken{kind: tokParam, text: "?", raw: "?"})
			i++
		case (r == ':' || r == '$' || r == '@') && i+1 < len(s) && s[i+1] != '=':
			j := i + 1
			for j < len(s) {
				r2, n := utf8.DecodeRuneInString(s[j:])
				if !isWordRune(r2) {
					break
				}
				j += n
			}
			if j == i+1 {
				toks = append(toks, sqlToken{kind: tokPunct, text: string(r), raw: string(r)})
				i++
				continue
			}
			toks = append(toks, sqlToken{kind: tokParam, text: s[i:j], raw: s[i:j]})
			i = j
		case isWordRune(r):
			j := i
			for j < len(s) {
				r2, n := utf8.DecodeRuneInString(s[j:])
				if !isWordRune(r2) {
					break
				}
				j += n
			}
			toks = append(toks, sqlToken{kind: tokWord, text: s[i:j], raw: s[i:j]})
			i = j
		default:
			toks = append(toks, sqlToken{kind: tokPunct, text: s[i : i+size], raw: s[i : i+size]})
			i += size
		}
	}
	return toks
}

// sqlKeywords are words that are never table names or aliases.
var sqlKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`SELECT FROM WHERE JOIN INNER LEFT RIGHT FULL OUTER CROSS NATURAL ON USING
		GROUP ORDER BY HAVING LIMIT OFFSET UNION ALL EXCEPT MINUS INTERSECT INTO VALUES VALUE SET UPDATE
		DELETE INSERT REPLACE MERGE AS WITH RECURSIVE AND OR NOT IN EXISTS IS NULL LIKE ILIKE BETWEEN
		CASE WHEN THEN ELSE END DISTINCT FOR LATERAL FETCH FIRST NEXT ROWS ROW ONLY WINDOW RETURNING
		STRAIGHT_JOIN LOW_PRIORITY HIGH_PRIORITY DELAYED IGNORE QUICK FORCE USE INDEX PARTITION TABLE
		MATCHED OUTPUT TOP DUPLICATE KEY CONFLICT DO NOTHING ASC DESC NULLS TRUE FALSE ANY SOME
		CALL EXEC EXECUTE TRUNCATE LOCK SHARE NOWAIT SKIP LOCKED OF APPLY PIVOT UNPIVOT`) {
		m[w] = true
	}
	return m
}()

// readName reads a possibly qualified name (a.b.c) starting at toks[i].
func readName(toks []sqlToken, i int) (string, int, bool) {
	if i >= len(toks) || !toks[i].name() {
		return "", i, false
	}
	parts := []string{toks[i].text}
	j := i + 1
	for j+1 < len(toks) && toks[j].is(".") && (toks[j+1].kind == tokQuoted && strings.TrimSpace(toks[j+1].text) != "" || toks[j+1].kind == tokWord) {
		parts = append(parts, toks[j+1].text)
		j += 2
	}
	return strings.Join(parts, "."), j, true
}

func sqlTables(toks []sqlToken) []string {
	var (
		found []string
		seen  = map[string]bool{}
		ctes  = map[string]bool{}
		funcs []bool // paren stack: true when the paren belongs to a function call
	)
	add := func(name string) {
		key := strings.ToLower(name)
		if !seen[key] {
			seen[key] = true
			found = append(found, name)
		}
	}
	// readList reads "name [AS] [alias] {, name [AS] [alias]}" starting at i. A name followed by
	// "(" is a table function unless it is the target of INSERT INTO t (columns).
	readList := func(i int, commas, columnList bool) {
		for {
			if i < len(toks) && toks[i].keyword() == "ONLY" {
				i++
			}
			name, j, ok := readName(toks, i)
			if !ok || !columnList && j < len(toks) && toks[j].is("(") { // not a name, or a table function
				return
			}
			add(name)
			if j < len(toks) && toks[j].keyword() == "AS" {
				j++
			}
			if j < len(toks) && toks[j].name() {
				j++
			}
			if !commas || j >= len(toks) || !toks[j].is(",") {
				return
			}
			i = j + 1
		}
	}
	prevWord := func(i int) string {
		for k := i - 1; k >= 0; k-- {
			if toks[k].kind == tokWord {
				return toks[k].keyword()
			}
		}
		return ""
	}
	for i, t := range toks {
		switch {
		case t.is("("):
			isFunc := i > 0 && (toks[i-1].kind == tokQuoted || toks[i-1].kind == tokWord && !sqlKeywords[toks[i-1].keyword()])
			funcs = append(funcs, isFunc)
			continue
		case t.is(")"):
			if len(funcs) > 0 {
				funcs = funcs[:len(funcs)-1]
			}
			continue
		case t.kind != tokWord:
			continue
		}
		if len(funcs) > 0 && funcs[len(funcs)-1] {
			continue // EXTRACT(YEAR FROM d), TRIM(x FROM y): not a table
		}
		switch t.keyword() {
		case "FROM":
			readList(i+1, true, false)
		case "JOIN", "STRAIGHT_JOIN", "USING":
			readList(i+1, false, false)
		case "INTO":
			switch prevWord(i) {
			case "INSERT", "REPLACE", "MERGE", "IGNORE", "LOW_PRIORITY", "HIGH_PRIORITY", "DELAYED":
				readList(i+1, false, true)
			}
		case "UPDATE":
			switch prevWord(i) {
			case "FOR", "KEY", "DO":
				// SELECT ... FOR UPDATE, ON DUPLICATE KEY UPDATE, ON CONFLICT DO UPDATE
			default:
				j := i + 1
				for j < len(toks) && (toks[j].keyword() == "LOW_PRIORITY" || toks[j].keyword() == "IGNORE") {
					j++
				}
				readList(j, true, false)
			}
		case "AS":
			// WITH name AS (...), name AS (...): remember CTE names, they are not tables.
			if i+1 < len(toks) && toks[i+1].is("(") && i >= 2 {
				k := i - 1
				if toks[k].is(")") { // name (col, ...) AS (
					for k > 0 && !toks[k].is("(") {
						k--
					}
					k--
				}
				if k >= 1 && toks[k].name() {
					switch before := toks[k-1]; {
					case before.keyword() == "WITH", before.keyword() == "RECURSIVE", before.is(","):
						ctes[strings.ToLower(toks[k].text)] = true
					}
				}
			}
		}
	}
	out := found[:0]
	for _, name := range found {
		if key := strings.ToLower(name); !ctes[key] && key != "dual" {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func sqlCRUD(toks []sqlToken) string {
	depth := 0
	inWith := false
	for _, t := range toks {
		switch {
		case t.is("("):
			depth++
			continue
		case t.is(")"):
			depth--
			continue
		case t.kind != tokWord:
			continue
		}
		kw := t.keyword()
		if inWith && depth > 0 {
			continue
		}
		switch kw {
		case "WITH":
			inWith = true
			continue
		case "SELECT":
			return CRUDSelect
		case "INSERT", "REPLACE":
			return CRUDInsert
		case "UPDATE":
			return CRUDUpdate
		case "DELETE":
			return CRUDDelete
		}
		if !inWith {
			return CRUDOther
		}
	}
	return CRUDOther
}
