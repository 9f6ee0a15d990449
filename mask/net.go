package mask

import "strings"

// url handles scheme://… where the word s[i:j] ends the scheme and s[j:j+3] is "://".
func (sc *scanner) url(i, j int) (int, int) {
	s := sc.s
	a := i
	for a > sc.lastEnd && a > sc.lo && (isAlnum(s[a-1]) || s[a-1] == '+' || s[a-1] == '.' || s[a-1] == '-') && !escBefore(s, a) {
		a--
	}
	for a < j && !isAlpha(s[a]) {
		a++
	}
	scheme := lowerSmall(s[a:j])
	end := sc.authority(j+3, kURL, dbSchemes[string(scheme)], false)
	if end <= j+3 {
		return -1, 0
	}
	return a, end
}

// urlEnd finds where a URL starting at p ends: at a space, quote, angle bracket, backslash or
// non-ASCII byte, minus trailing punctuation and unbalanced closing brackets. SQL Server URLs
// (sqlserver) may contain braces and a backslash before the instance name.
func urlEnd(s string, p, hi int, sqlserver bool) int {
	q := p
	for q < hi {
		c := s[q]
		if class[c]&bURLEnd != 0 && !(sqlserver && (c == '{' || c == '}' || (c == '\\' && q+1 < hi && isWordByte(s[q+1])))) {
			break
		}
		q++
	}
	paren, bracket := -1, -1 // open minus close counts, computed on first need
	for q > p {
		switch s[q-1] {
		case '.', ',', ';', ':', '!', '?':
			q--
			continue
		case ')':
			if paren == -1 {
				paren = strings.Count(s[p:q], "(") - strings.Count(s[p:q], ")") + 1<<30
			}
			if paren < 1<<30 {
				paren++
				q--
				continue
			}
		case ']':
			if bracket == -1 {
				bracket = strings.Count(s[p:q], "[") - strings.Count(s[p:q], "]") + 1<<30
			}
			if bracket < 1<<30 {
				bracket++
				q--
				continue
			}
		}
		break
	}
	return q
}

// authority masks user, password, hosts, database (dbPath), path secrets and query values of a
// URL whose authority starts at p. It returns the end of the URL.
func (sc *scanner) authority(p int, kind uint16, dbPath, sqlserver bool) int {
	s := sc.s
	ue := urlEnd(s, p, sc.hi, sqlserver)
	if ue <= p {
		return p
	}
	ae := p
	for ae < ue {
		c := s[ae]
		if c == '/' || c == '?' || c == '#' || (sqlserver && c == ';') {
			break
		}
		if c == '[' {
			if q := strings.IndexByte(s[ae:ue], ']'); q > 0 {
				ae += q + 1
				continue
			}
		}
		ae++
	}
	hp := p
	if at := strings.LastIndexByte(s[p:ae], '@'); at >= 0 {
		ue2 := p + at
		if c := strings.IndexByte(s[p:ue2], ':'); c >= 0 {
			sc.add(p, p+c, kind, shName, 0)
			if !placeholder(s[p+c+1 : ue2]) {
				sc.add(p+c+1, ue2, kCredential, shName, 0) // the password
			}
		} else {
			sc.add(p, ue2, kind, shName, 0)
		}
		hp = ue2 + 1
	}
	for hp < ae {
		he := hp
		if s[hp] == '[' {
			q := strings.IndexByte(s[hp:ae], ']')
			if q < 0 {
				q = ae - hp
			}
			he = hp + q
			if e := parseIPv6(s, hp+1, he); e == he {
				if !keepIPv6(s[hp+1 : he]) {
					sc.add(hp+1, he, kind, shIPv6, 0)
				}
			} else {
				sc.add(hp+1, he, kind, shName, 0)
			}
			if he < ae {
				he++
			}
		} else {
			for he < ae && s[he] != ':' && s[he] != ',' && s[he] != '\\' {
				he++
			}
			sc.hostRegion(kind, hp, he)
		}
		if he < ae && s[he] == '\\' { // SQL Server instance name
			is := he + 1
			he = is
			for he < ae && s[he] != ':' && s[he] != ',' {
				he++
			}
			sc.add(is, he, kind, shName, 0)
		}
		for he < ae && s[he] != ',' { // port: kept
			he++
		}
		hp = he + 1
	}
	p = ae
	if sqlserver {
		sc.params(p, ue, kind, ';')
		return ue
	}
	if p < ue && s[p] == '/' {
		pe := p
		for pe < ue && s[pe] != '?' && s[pe] != '#' {
			pe++
		}
		sc.path(p+1, pe, kind, dbPath)
		p = pe
	}
	if p < ue && s[p] == '?' {
		qe := p + 1
		for qe < ue && s[qe] != '#' {
			qe++
		}
		sc.params(p+1, qe, kind, '&')
		p = qe
	}
	if p < ue && s[p] == '#' {
		sc.sub(p+1, ue)
	}
	return ue
}

// hostRegion masks a host inside a URL or connect string: an IP keeps its shape, localhost and
// loopback stay, any other name is masked label by label (public suffix kept).
func (sc *scanner) hostRegion(kind uint16, a, b int) {
	if a >= b {
		return
	}
	s := sc.s
	h := s[a:b]
	if e := parseIPv4(s, a, b); e == b {
		if !keepIPv4(h) {
			sc.add(a, b, kind, shIPv4, 0)
		}
		return
	}
	if foldEq(h, "localhost") {
		return
	}
	good := h[0] != '.' && h[len(h)-1] != '.' && !strings.Contains(h, "..")
	for k := 0; good && k < len(h); k++ {
		good = isLabelByte(h[k]) || h[k] == '.' || h[k] == '_'
	}
	if !good {
		sc.add(a, b, kind, shName, 0)
		return
	}
	if n, aux, ok := sc.hostSplit(h, true); ok {
		sc.add(a, a+n, kind, shHost, aux)
	}
}

// path handles the path of a URL: for database schemes the first segment (the database) is
// masked; long high-entropy segments (keys, webhook secrets, ids) are masked; anything else is
// scanned as free text.
func (sc *scanner) path(p, pe int, kind uint16, dbPath bool) {
	s := sc.s
	firstSeg := true
	for p <= pe {
		se := p
		for se < pe && s[se] != '/' {
			se++
		}
		if se > p {
			switch {
			case firstSeg && dbPath:
				if !allDigits(s[p:se]) {
					sc.add(p, se, kind, shName, 0)
				}
			case highEntropy(s[p:se]):
				sc.add(p, se, kind, shName, 0)
			default:
				sc.sub(p, se)
			}
		}
		firstSeg = false
		p = se + 1
	}
}

// highEntropy: a path segment of 20+ characters of [A-Za-z0-9_-] mixing letters and digits.
func highEntropy(seg string) bool {
	if len(seg) < 20 {
		return false
	}
	letters, digits := 0, 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case isDigit(c):
			digits++
		case isAlpha(c):
			letters++
		case c == '-' || c == '_':
		default:
			return false
		}
	}
	return letters >= 2 && digits >= 2
}

// params masks the values of key=value pairs separated by sep (query strings, SQL Server
// properties): credential keys always, other keys unless the value is benign (a boolean, a small
// number, an encoding...).
func (sc *scanner) params(p, e int, kind uint16, sep byte) {
	s := sc.s
	for p < e {
		pe := p
		for pe < e && s[pe] != sep && (sep != '&' || s[pe] != ';') {
			if s[pe] == '{' && sep == ';' { // SQL Server braced value
				if q := strings.IndexByte(s[pe:e], '}'); q > 0 {
					pe += q
				}
			}
			pe++
		}
		if eq := strings.IndexByte(s[p:pe], '='); eq > 0 {
			key := s[p : p+eq]
			vs, ve := p+eq+1, pe
			if ve-vs >= 2 && s[vs] == '{' && s[ve-1] == '}' {
				vs, ve = vs+1, ve-1
			}
			v := s[vs:ve]
			switch {
			case v == "" || placeholder(v):
			case isCredKey(key):
				sc.maskValue(kCredential, vs, ve)
			case !benign(v):
				sc.maskValue(kind, vs, ve)
			}
		}
		p = pe + 1
	}
}

// benign values of query parameters and connection properties are kept.
func benign(v string) bool {
	if len(v) <= 6 && allDigits(v) {
		return true
	}
	n := 0
	for n < len(v) && isDigit(v[n]) {
		n++
	}
	if n > 0 && n <= 6 {
		switch u := lowerSmall(v[n:]); string(u) {
		case "ms", "s", "m", "h", "d", "kb", "mb", "gb":
			return true
		}
	}
	switch string(lowerSmall(v)) {
	case "true", "false", "yes", "no", "on", "off", "null", "none", "nil", "utf-8", "utf8", "utf8mb4",
		"latin1", "utc", "gmt", "json", "xml", "asc", "desc", "disable", "disabled", "enable", "enabled",
		"require", "required", "prefer", "preferred", "allow", "verify-full", "verify-ca", "tcp", "tls",
		"ssl", "majority", "primary", "secondary", "nearest", "ok":
		return true
	}
	return false
}

// jdbc handles jdbc:<subprotocol>… where s[i:j] is "jdbc" and s[j] is ':'.
func (sc *scanner) jdbc(i, j int) int {
	s, hi := sc.s, sc.hi
	p := j + 1
	var first, lastSeg string
	ns, segEnd := 0, 0
	for {
		q := p
		for q < hi && (isAlnum(s[q]) || s[q] == '_' || s[q] == '+' || s[q] == '-') {
			q++
		}
		if q == p {
			break
		}
		if ns == 0 {
			first = s[p:q]
		}
		lastSeg, segEnd = s[p:q], q
		ns++
		p = q
		if p >= hi || s[p] != ':' {
			break
		}
		if p+2 < hi && s[p+1] == '/' && s[p+2] == '/' {
			ss := foldEq(first, "sqlserver") || foldEq(first, "jtds")
			if e := sc.authority(p+3, kJDBC, true, ss); e > p+3 {
				return e
			}
			return 0
		}
		if p+1 < hi && s[p+1] == '@' {
			return sc.oracleTarget(p + 2)
		}
		if ns >= 2 { // jdbc:oracle:thin:user/password@target
			if at, slash := oracleUser(s, p+1, hi); at > 0 {
				sc.add(p+1, slash, kJDBC, shName, 0)
				if !placeholder(s[slash+1 : at]) {
					sc.add(slash+1, at, kCredential, shName, 0)
				}
				return sc.oracleTarget(at + 1)
			}
		}
		p++
	}
	if ns == 2 && foldEq(first, "postgresql") { // jdbc:postgresql:database
		// The database is the last segment, not what a trailing ':' leaves after it.
		sc.add(segEnd-len(lastSeg), segEnd, kJDBC, shName, 0)
		return segEnd
	}
	return 0
}

// oracleUser recognises "user/password@" at p.
func oracleUser(s string, p, hi int) (at, slash int) {
	q := p
	for q < hi && (isWordByte(s[q]) || s[q] == '$' || s[q] == '#') {
		q++
	}
	if q == p || q >= hi || s[q] != '/' {
		return 0, 0
	}
	slash = q
	q++
	for q < hi && s[q] != '@' && s[q] > ' ' && s[q] != '"' && s[q] != '\'' && q-slash < 128 {
		q++
	}
	if q >= hi || s[q] != '@' || q == slash+1 {
		return 0, 0
	}
	return q, slash
}

// oracleTarget handles what follows '@' in an Oracle thin URL: a TNS descriptor, //host:port/
// service, host:port:SID, host:port/service or a TNS alias.
func (sc *scanner) oracleTarget(p int) int {
	s, hi := sc.s, sc.hi
	if p >= hi {
		return 0
	}
	if s[p] == '(' {
		return sc.tns(p)
	}
	if p+1 < hi && s[p] == '/' && s[p+1] == '/' {
		p += 2
	}
	hs := p
	if p < hi && s[p] == '[' {
		q := strings.IndexByte(s[p:min(hi, p+64)], ']')
		if q < 0 {
			return 0
		}
		if !keepIPv6(s[p+1 : p+q]) {
			sc.add(p+1, p+q, kJDBC, shIPv6, 0)
		}
		p += q + 1
	} else {
		for p < hi && (isLabelByte(s[p]) || s[p] == '.' || s[p] == '_') {
			p++
		}
		for p > hs && s[p-1] == '.' {
			p--
		}
		if p == hs {
			return 0
		}
		sc.hostRegion(kJDBC, hs, p)
	}
	if p+1 < hi && s[p] == ':' && isDigit(s[p+1]) {
		p++
		for p < hi && isDigit(s[p]) {
			p++
		}
	}
	if p+1 < hi && (s[p] == ':' || s[p] == '/') && isWordByte(s[p+1]) {
		p++
		ns := p
		for p < hi && (isWordByte(s[p]) || s[p] == '$' || s[p] == '#' || s[p] == '.' || s[p] == '-') {
			p++
		}
		for p > ns && (s[p-1] == '.' || s[p-1] == '-') {
			p--
		}
		sc.add(ns, p, kJDBC, shName, 0)
		if p+1 < hi && s[p] == ':' && isAlpha(s[p+1]) { // :dedicated, :shared, :pooled
			p++
			for p < hi && isAlpha(s[p]) {
				p++
			}
		}
		if p+1 < hi && s[p] == '/' && isWordByte(s[p+1]) { // instance name
			p++
			is := p
			for p < hi && isWordByte(s[p]) {
				p++
			}
			sc.add(is, p, kJDBC, shName, 0)
		}
	}
	if p < hi && s[p] == '?' {
		e := urlEnd(s, p+1, hi, false)
		sc.params(p+1, e, kJDBC, '&')
		p = max(p+1, e)
	}
	return p
}

// tns masks HOST, SERVICE_NAME, SID, INSTANCE_NAME and GLOBAL_NAME values of an Oracle TNS
// descriptor starting with '(' at i. It returns the position after the closing parenthesis.
func (sc *scanner) tns(i int) int {
	s := sc.s
	limit := min(sc.hi, i+8192)
	depth := 0
	p := i
	for p < limit {
		c := s[p]
		switch c {
		case '(':
			depth++
			p = sc.skipSpaces(p + 1)
			ks := p
			for p < limit && (isWordByte(s[p]) || s[p] == '.') {
				p++
			}
			key := s[ks:p]
			q := sc.skipSpaces(p)
			if q >= limit || s[q] != '=' {
				continue
			}
			q = sc.skipSpaces(q + 1)
			if q >= limit || s[q] == '(' {
				p = q
				continue
			}
			vs := q
			for q < limit && s[q] != ')' && s[q] != '(' && s[q] != '\n' {
				q++
			}
			ve := q
			for ve > vs && s[ve-1] == ' ' {
				ve--
			}
			switch string(lowerSmall(key)) {
			case "host":
				sc.hostRegion(kJDBC, vs, ve)
			case "service_name", "sid", "instance_name", "global_name", "server_name":
				sc.add(vs, ve, kJDBC, shName, 0)
			case "user", "password":
				if !placeholder(s[vs:ve]) {
					sc.add(vs, ve, kCredential, shName, 0)
				}
			}
			p = q
		case ')':
			depth--
			p++
			if depth <= 0 {
				return p
			}
		default:
			p++
		}
	}
	return p
}

// email handles '@' at k: a local part before it and a dotted domain after it.
func (sc *scanner) email(k int) (int, int) {
	if !sc.m.on(kEmail) {
		return -1, 0
	}
	s, hi := sc.s, sc.hi
	lo := max(sc.lo, sc.lastEnd)
	a := k
	for a > lo && isLocal(s[a-1]) && k-a < 64 && !escBefore(s, a) {
		a--
	}
	if a > sc.lo && isLocal(s[a-1]) && !escBefore(s, a) {
		return -1, 0 // too long, or glued to something already recognised
	}
	for a < k && (s[a] == '.' || s[a] == '+' || s[a] == '-') {
		a++
	}
	if a == k || s[k-1] == '.' {
		return -1, 0
	}
	d := k + 1
	p := d
	for p < hi && (isLabelByte(s[p]) || s[p] == '.') {
		p++
	}
	for p > d && (s[p-1] == '.' || s[p-1] == '-') {
		p--
	}
	if p < hi && (isWordByte(s[p]) || s[p] == '@') {
		return -1, 0
	}
	dom := s[d:p]
	labels, start := 0, 0
	for q := 0; q <= len(dom); q++ {
		if q < len(dom) && dom[q] != '.' {
			continue
		}
		if q == start || q-start > 63 || dom[start] == '-' || dom[q-1] == '-' {
			return -1, 0
		}
		labels++
		start = q + 1
	}
	last := dom[lastDot(dom)+1:]
	if labels < 2 || len(last) < 2 {
		return -1, 0
	}
	for q := 0; q < len(last); q++ {
		if !isAlpha(last[q]) {
			return -1, 0
		}
	}
	n, aux, ok := sc.hostSplit(dom, true)
	if !ok || n == 0 {
		sc.add(a, k, kEmail, shName, 0)
	} else {
		sc.add(a, d+n, kEmail, shEmail, aux)
	}
	return a, p
}

// parseIPv4 parses a dotted quad at i and returns its end, or 0. The quad must not continue
// with a digit, a letter or ".<digit>" (a fifth component).
func parseIPv4(s string, i, hi int) int {
	p := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if p >= hi || s[p] != '.' {
				return 0
			}
			p++
		}
		st, v := p, 0
		for p < hi && isDigit(s[p]) && p-st < 3 {
			v = v*10 + int(s[p]-'0')
			p++
		}
		if p == st || v > 255 || (p < hi && isDigit(s[p])) {
			return 0
		}
	}
	if p < hi {
		c := s[p]
		if isWordByte(c) || (c == '.' && p+1 < hi && isDigit(s[p+1])) {
			return 0
		}
	}
	return p
}

func leftIPv4OK(s string, i, lo int) bool {
	return i == lo || !(s[i-1] == '.' && i-1 > lo && isDigit(s[i-2]))
}

// keepIPv4: unspecified, loopback and netmask-like addresses reveal nothing.
func keepIPv4(ip string) bool {
	return ip == "0.0.0.0" || strings.HasPrefix(ip, "127.") || strings.HasPrefix(ip, "255.")
}

func keepIPv6(ip string) bool { return ip == "::1" || ip == "::" }

// parseIPv6 parses an IPv6 address at i (groups of 1–4 hex digits, at most one "::", an
// optional dotted-quad tail) and returns its end, or 0. It must contain a digit and be either
// eight groups or compressed.
func parseIPv6(s string, i, hi int) int {
	p := i
	groups := 0
	dbl := false
	digit := false
	if p+1 < hi && s[p] == ':' && s[p+1] == ':' {
		dbl = true
		p += 2
	}
	for p < hi {
		st := p
		for p < hi && isHex(s[p]) && p-st < 5 {
			digit = digit || isDigit(s[p])
			p++
		}
		n := p - st
		if n == 0 {
			break
		}
		if n > 4 {
			return 0
		}
		if p < hi && s[p] == '.' {
			e := parseIPv4(s, st, hi)
			if e == 0 || groups > 6 {
				return 0
			}
			groups += 2
			p = e
			break
		}
		groups++
		if p+1 < hi && s[p] == ':' && s[p+1] == ':' {
			if dbl {
				return 0
			}
			dbl = true
			p += 2
			continue
		}
		if p+1 < hi && s[p] == ':' && isHex(s[p+1]) {
			p++
			continue
		}
		break
	}
	if !digit || (dbl && groups > 7) || (!dbl && groups != 8) || p-i < 3 {
		return 0
	}
	if p < hi {
		c := s[p]
		if isWordByte(c) || (c == '.' && p+1 < hi && isDigit(s[p+1])) {
			return 0
		}
	}
	return p
}

// ipv6At handles a candidate IPv6 address at i (not preceded by an alphanumeric, ':' or '.').
func (sc *scanner) ipv6At(i int) int {
	s := sc.s
	if i > sc.lo && (wordBefore(s, i, sc.lo) || s[i-1] == ':' || s[i-1] == '.') {
		return 0
	}
	e := parseIPv6(s, i, sc.hi)
	if e == 0 {
		return 0
	}
	if !keepIPv6(s[i:e]) {
		sc.add(i, e, kIPv6, shIPv6, 0)
	}
	return e
}
