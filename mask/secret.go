package mask

import "strings"

// keyValue handles key<sep>value where the key is s[i:k] and the value starts at p:
// Authorization and Cookie headers and credential keys (password, secret, token, api key...).
func (sc *scanner) keyValue(i, k, p int) int {
	key := sc.s[i:k]
	switch {
	case hasSuffixFold(key, "authorization"):
		return sc.authHeader(p)
	case foldEq(key, "cookie"):
		return sc.cookie(p, false)
	case foldEq(key, "set-cookie"):
		return sc.cookie(p, true)
	case isCredKey(key):
		return sc.credValue(p)
	}
	return 0
}

type credSuffix struct {
	s      string
	strict bool // must start a key segment: after _ - . or a camelCase hump
}

var credSuffixes = []credSuffix{
	{"password", false}, {"passwd", false}, {"passphrase", false}, {"secret", false}, {"token", false},
	{"apikey", false}, {"api_key", false}, {"api-key", false},
	{"accesskey", false}, {"access_key", false}, {"access-key", false},
	{"secretkey", false}, {"secret_key", false}, {"secret-key", false}, {"privatekey", false}, {"private_key", false}, {"private-key", false},
	{"credential", false}, {"credentials", false},
	{"sessionid", false}, {"session_id", false}, {"session-id", false},
	{"pwd", true}, {"pass", true}, {"auth", true},
}

// credByLast groups credSuffixes by their last byte.
var credByLast = func() (m [256][]credSuffix) {
	for _, c := range credSuffixes {
		m[c.s[len(c.s)-1]] = append(m[c.s[len(c.s)-1]], c)
	}
	return m
}()

// isCredKey reports whether a key names a secret: it ends (case-insensitively) with one of
// credSuffixes. Plural "tokens" (max_tokens, prompt_tokens) is not a secret.
func isCredKey(key string) bool {
	if len(key) < 3 || len(key) > 64 {
		return false
	}
	for _, c := range credByLast[lower(key[len(key)-1])] {
		if !hasSuffixFold(key, c.s) {
			continue
		}
		b := len(key) - len(c.s)
		if !c.strict || b == 0 {
			return true
		}
		p := key[b-1]
		if p == '_' || p == '-' || p == '.' || (key[b]-'A' < 26 && p-'a' < 26) {
			return true
		}
	}
	return false
}

// placeholder values are not secrets: null, booleans, ***, <redacted>, ${VAR}, {{var}}, %s.
func placeholder(v string) bool {
	if v == "" {
		return true
	}
	switch string(lowerSmall(v)) {
	case "null", "none", "nil", "true", "false", "undefined", "?", "%s", "redacted", "[redacted]",
		"[filtered]", "filtered", "masked", "[masked]":
		return true
	}
	if strings.HasPrefix(v, "${") || strings.HasPrefix(v, "{{") || (v[0] == '<' && v[len(v)-1] == '>') {
		return true
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != '*' && c != 'x' && c != 'X' {
			return false
		}
	}
	return len(v) >= 3
}

// maxValue bounds the length of a quoted value or a header line, so that many keys on one huge
// line do not make the scan quadratic.
const maxValue = 4096

// valueStop ends an unquoted value.
func valueStop(c byte) bool {
	switch c {
	case ',', ';', '&', ')', '}', ']', '"', '\'', '<', '>', '\\', '`':
		return true
	}
	return c <= ' '
}

// quoted reads a quoted value starting with the quote at p (on one line, backslash escapes).
func (sc *scanner) quoted(p int) (vs, ve, end int) {
	s, hi := sc.s, min(sc.hi, p+maxValue)
	q := s[p]
	vs = p + 1
	e := vs
	for e < hi && s[e] != q && s[e] != '\n' {
		if s[e] == '\\' && e+1 < hi && s[e+1] != '\n' {
			e++
		}
		e++
	}
	e = min(e, hi)
	if e < hi && s[e] == q {
		return vs, e, e + 1
	}
	return vs, e, e
}

func (sc *scanner) credValue(p int) int {
	s, hi := sc.s, sc.hi
	p = sc.skipSpaces(p)
	if p >= hi {
		return 0
	}
	var vs, ve, end int
	switch c := s[p]; c {
	case '"', '\'', '`':
		vs, ve, end = sc.quoted(p)
	case '{', '[':
		return 0
	default:
		vs, ve = p, p
		for ve < hi && !valueStop(s[ve]) {
			ve++
		}
		end = ve
	}
	if ve <= vs || placeholder(s[vs:ve]) {
		return 0
	}
	sc.maskValue(kCredential, vs, ve)
	return end
}

// lineEnd is the end of a header value starting at p: the end of the line, or the closing
// quote when the value is quoted (JSON).
func (sc *scanner) lineEnd(p int, q byte) int {
	s, hi := sc.s, min(sc.hi, p+maxValue)
	for p < hi && s[p] != '\n' && s[p] != '\r' {
		if q != 0 {
			if s[p] == '\\' {
				p += 2
				continue
			}
			if s[p] == q {
				break
			}
		}
		p++
	}
	return min(p, hi)
}

// authHeader masks the credentials of an Authorization header, keeping the scheme (Bearer,
// Basic, Digest, ...).
func (sc *scanner) authHeader(p int) int {
	s := sc.s
	p = sc.skipSpaces(p)
	var q byte
	if p < sc.hi && (s[p] == '"' || s[p] == '\'') {
		q = s[p]
		p++
	}
	le := sc.lineEnd(p, q)
	w := p
	for w < le && (isAlnum(s[w]) || s[w] == '-') {
		w++
	}
	vs, ve := p, p
	if w > p && w < le && s[w] == ' ' {
		vs = sc.skipSpaces(w)
		scheme := s[p:w]
		if foldEq(scheme, "digest") || hasPrefixFold(scheme, "aws4-") || foldEq(scheme, "hmac") || foldEq(scheme, "signature") || foldEq(scheme, "oauth") {
			ve = le
			for ve > vs && s[ve-1] == ' ' {
				ve--
			}
		} else {
			ve = vs
			for ve < le && !valueStop(s[ve]) {
				ve++
			}
		}
	} else {
		for ve < le && !valueStop(s[ve]) {
			ve++
		}
	}
	for ve > vs && s[ve-1] == '.' {
		ve--
	}
	if ve <= vs || placeholder(s[vs:ve]) {
		return 0
	}
	sc.maskValue(kCredential, vs, ve)
	return ve
}

// cookie masks every cookie value of a Cookie or Set-Cookie header, keeping the names and the
// Set-Cookie attributes.
func (sc *scanner) cookie(p int, set bool) int {
	s := sc.s
	p = sc.skipSpaces(p)
	var q byte
	if p < sc.hi && (s[p] == '"' || s[p] == '\'') {
		q = s[p]
		p++
	}
	le := sc.lineEnd(p, q)
	any := false
	for p < le {
		for p < le && (s[p] == ' ' || s[p] == ';' || s[p] == '\t') {
			p++
		}
		ns := p
		for p < le && s[p] != '=' && s[p] != ';' {
			p++
		}
		name := strings.TrimSpace(s[ns:p])
		if p >= le || s[p] == ';' {
			continue
		}
		p++
		vs := p
		for p < le && s[p] != ';' {
			p++
		}
		ve := p
		for ve > vs && s[ve-1] == ' ' {
			ve--
		}
		if ve-vs >= 2 && s[vs] == '"' && s[ve-1] == '"' {
			vs, ve = vs+1, ve-1
		}
		if set {
			switch string(lowerSmall(name)) {
			case "path", "expires", "max-age", "samesite", "priority":
				continue
			}
		}
		if ve > vs && !placeholder(s[vs:ve]) {
			sc.maskValue(kCredential, vs, ve)
			any = true
		}
	}
	if !any {
		return 0
	}
	return le
}

// bearer masks the token after the word "Bearer " (at j, the space).
func (sc *scanner) bearer(j int) int {
	s, hi := sc.s, sc.hi
	p := sc.skipSpaces(j)
	e := p
	digit := false
	for e < hi && (isAlnum(s[e]) || strings.IndexByte("._~+/=-", s[e]) >= 0) {
		digit = digit || isDigit(s[e])
		e++
	}
	for e > p && s[e-1] == '.' {
		e--
	}
	if e-p < 12 || !digit {
		return 0
	}
	sc.maskValue(kCredential, p, e)
	return e
}

// jwt recognises header.payload[.signature] where header and payload are base64url JSON
// ("eyJ...").
func (sc *scanner) jwt(i int) int {
	s, hi := sc.s, sc.hi
	p := i
	var dots [2]int
	nd := 0
	for p < hi {
		c := s[p]
		if isB64URL(c) {
			p++
			continue
		}
		if c == '.' && nd < 2 && p+1 < hi && isB64URL(s[p+1]) {
			dots[nd] = p
			nd++
			p++
			continue
		}
		break
	}
	if nd == 0 || dots[0]-i < 10 {
		return 0
	}
	pe := p
	if nd == 2 {
		pe = dots[1]
	}
	if pe-dots[0]-1 < 10 || !strings.HasPrefix(s[dots[0]+1:], "eyJ") {
		return 0
	}
	if p < hi && isAlnum(s[p]) {
		return 0
	}
	sc.add(i, p, kJWT, shJWT, 0)
	return p
}

var awsPrefixes = []string{"AKIA", "ASIA", "AIDA", "AROA", "AGPA", "ANPA", "ANVA", "AIPA", "ABIA", "ACCA", "APKA"}

// awsKey recognises a 20-character AWS access key id.
func awsKey(w string) bool {
	ok := false
	for _, p := range awsPrefixes {
		if strings.HasPrefix(w, p) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	for i := 4; i < len(w); i++ {
		if c := w[i]; !(c-'A' < 26 || isDigit(c)) {
			return false
		}
	}
	return true
}

// githubPrefix returns the length of the kept prefix of a GitHub token (ghp_, gho_, ghu_, ghs_,
// ghr_, github_pat_), or 0.
func githubPrefix(w string) int {
	if len(w) >= 30 && w[1] == 'h' && w[3] == '_' && strings.IndexByte("pousr", w[2]) >= 0 {
		for i := 4; i < len(w); i++ {
			if !isAlnum(w[i]) {
				return 0
			}
		}
		return 4
	}
	if len(w) >= 33 && strings.HasPrefix(w, "github_pat_") {
		return 11
	}
	return 0
}

// slack recognises xoxb-/xoxp-/xoxa-/xoxo-/xoxs-/xoxr- tokens.
func (sc *scanner) slack(i int) int {
	s, hi := sc.s, sc.hi
	if i+5 > hi || strings.IndexByte("abposr", s[i+3]) < 0 || s[i+4] != '-' {
		return 0
	}
	p := i + 5
	for p < hi && (isAlnum(s[p]) || s[p] == '-') {
		p++
	}
	for p > i+5 && s[p-1] == '-' {
		p--
	}
	if p-i < 15 || (p < hi && isWordByte(s[p])) {
		return 0
	}
	sc.add(i, p, kSlack, shPrefix, 5)
	return p
}

// pem masks the body of a PEM private key block (-----BEGIN ... PRIVATE KEY-----), keeping the
// BEGIN and END lines. A block without END is masked up to the end of its base64 text.
func (sc *scanner) pem(i int) int {
	s, hi := sc.s, sc.hi
	if !sc.m.on(kPEM) || !strings.HasPrefix(s[i:hi], "-----BEGIN ") {
		return 0
	}
	p := i + 11
	k := strings.Index(s[p:min(hi, p+64)], "-----")
	if k < 0 || !strings.HasSuffix(strings.TrimSuffix(s[p:p+k], " BLOCK"), "PRIVATE KEY") {
		return 0
	}
	h := p + k + 5
	f := -1
	if h < sc.pemNo {
		if e := strings.Index(s[h:hi], "-----END"); e >= 0 {
			f = h + e
		} else {
			sc.pemNo = h
		}
	}
	bs := skipPEMSpace(s, h, hi)
	var be, end int
	if f >= 0 {
		be = f
		for be > bs {
			if c := s[be-1]; c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				be--
			} else if be-2 >= bs && s[be-2] == '\\' && (c == 'n' || c == 'r') {
				be -= 2
			} else {
				break
			}
		}
		end = f + 8
		if e := strings.Index(s[end:min(hi, end+64)], "-----"); e >= 0 {
			end += e + 5
		}
	} else {
		be = bs
		for be < hi {
			if isB64(s[be]) {
				be++
				continue
			}
			if n := skipPEMSpace(s, be, hi); n > be {
				if n < hi && isB64(s[n]) {
					be = n
					continue
				}
			}
			break
		}
		end = be
	}
	if be <= bs {
		return 0
	}
	sc.add(bs, be, kPEM, shPEM, 0)
	return end
}

// skipPEMSpace skips blanks, newlines and escaped newlines ("\n" in JSON).
func skipPEMSpace(s string, p, hi int) int {
	for p < hi {
		c := s[p]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			p++
		} else if c == '\\' && p+1 < hi && (s[p+1] == 'n' || s[p+1] == 'r') {
			p += 2
		} else {
			break
		}
	}
	return p
}
