package mask

import "strings"

// region is one replaced span and how to render it.
type region struct {
	start, end int
	aux        int
	kind       uint16
	shape      uint8
}

// scanner walks the text once. Recognisers run only at trigger bytes (word starts, '@', '+',
// '-', '(', ':') and look at a small window; a recognised value is an "entity" whose parts that
// must be hidden are emitted as regions, in text order.
type scanner struct {
	m       *Masker
	s       string
	lo, hi  int // bounds of the current (possibly nested) scan
	lastEnd int // end of the last entity in the current scan
	depth   int
	regs    []region
	sqlNo   [5]int         // per SQL keyword: no confirmed statement starts before this position
	pemNo   int            // no "-----END" at or after this position
	psl     map[string]int // public suffix lengths of the hosts seen (names repeat; the lookup allocates)
}

// publicSuffixLen is publicSuffixLen, remembered per host for the scan.
func (sc *scanner) publicSuffixLen(h string) int {
	if n, ok := sc.psl[h]; ok {
		return n
	}
	n := publicSuffixLen(h)
	if sc.psl == nil {
		sc.psl = map[string]int{}
	}
	if len(sc.psl) < 4096 {
		sc.psl[h] = n
	}
	return n
}

func (sc *scanner) add(start, end int, kind uint16, shape uint8, aux int) {
	if start >= end {
		return
	}
	// A region that starts where the previous one ends would put two tokens side by side, and
	// a token's first or last character can differ in class from the value's (an IPv6 "::0"
	// becomes "2001:db8:…"), so neither could be found again as a whole word when unmasking.
	// The later one stays as it is (found by the fuzz target: "ORD-00000000::0").
	if n := len(sc.regs); n > 0 && sc.regs[n-1].end == start {
		return
	}
	sc.regs = append(sc.regs, region{start: start, end: end, aux: aux, kind: kind, shape: shape})
}

// scan walks s[lo:hi] and reports how many entities it found and the span from the first
// entity's start to the last one's end.
func (sc *scanner) scan(lo, hi int) (ents, first, last int) {
	s := sc.s
	oLo, oHi, oLast := sc.lo, sc.hi, sc.lastEnd
	sc.lo, sc.hi, sc.lastEnd = lo, hi, lo
	first = -1
	i := lo
	for i < hi {
		t := trig[s[i]]
		if t == tNone {
			i++
			continue
		}
		st, en, next := -1, 0, i+1
		switch t {
		case tEsc:
			if i+1 < hi {
				switch s[i+1] {
				case 'n', 'r', 't', 'b', 'f', '"', '\\', '/':
					next = i + 2
				}
			}
		case tWord:
			if i > lo && isWordByte(s[i-1]) && !escBefore(s, i) {
				for next < hi && isWordByte(s[next]) {
					next++
				}
				break
			}
			st, en, next = sc.word(i)
		case tAt:
			st, en = sc.email(i)
		case tPlus:
			st, en = i, sc.intlPhone(i)
		case tDash:
			st, en = i, sc.pem(i)
		case tParen:
			if i+1 < hi && (s[i+1] == 'D' || s[i+1] == 'd' || s[i+1] == ' ') && sc.m.on(kJDBC) {
				p := i + 1
				for p < hi && s[p] == ' ' {
					p++
				}
				if hasPrefixFold(s[p:hi], "description") {
					st, en = i, sc.tns(i)
				}
			}
		case tColon:
			if i+2 < hi && s[i+1] == ':' && isHex(s[i+2]) && (i == lo || (!wordBefore(s, i, lo) && s[i-1] != ':')) && sc.m.on(kIPv6) {
				st, en = i, sc.ipv6At(i)
			}
		}
		if en > 0 {
			ents++
			if first < 0 {
				first = st
			}
			last = en
			sc.lastEnd = en
			i = en
			continue
		}
		i = next
	}
	sc.lo, sc.hi, sc.lastEnd = oLo, oHi, oLast
	return ents, first, last
}

// sub scans s[a:b] as free text and keeps everything it finds.
func (sc *scanner) sub(a, b int) {
	if a >= b || sc.depth >= 4 {
		return
	}
	sc.depth++
	sc.scan(a, b)
	sc.depth--
}

// maskValue hides s[a:b], a value known to be sensitive (a password, a SQL literal, a query
// value). If the value as a whole is something the scanner recognises (an e-mail, an IP, a JWT,
// a host) it keeps that shape; otherwise it becomes one opaque token (a number token if it is a
// number of four digits or more).
func (sc *scanner) maskValue(kind uint16, a, b int) {
	if a >= b {
		return
	}
	if sc.depth < 4 {
		mark := len(sc.regs)
		sc.depth++
		n, st, en := sc.scan(a, b)
		sc.depth--
		if n == 1 && st == a && en == b {
			return
		}
		sc.regs = sc.regs[:mark]
	}
	if b-a >= 4 && allDigits(sc.s[a:b]) {
		sc.add(a, b, kind, shNumber, 0)
		return
	}
	sc.add(a, b, kind, shName, 0)
}

// runEnd extends a word with dots and dashes (hosts, packages, versions, keys) and trims
// trailing dots and dashes.
func (sc *scanner) runEnd(j int) int {
	s, hi := sc.s, sc.hi
	x := j
	for x < hi && isRunByte(s[x]) {
		x++
	}
	for x > j && (s[x-1] == '.' || s[x-1] == '-') {
		x--
	}
	return x
}

// word handles a word starting at i. It returns the entity span if one was recognised, and
// where scanning continues otherwise (after the whole dotted/dashed run, so that the inside of
// a package name or a version is not looked at again).
func (sc *scanner) word(i int) (st, en, next int) {
	s, hi := sc.s, sc.hi
	j := i + 1
	for j < hi && isWordByte(s[j]) {
		j++
	}
	if isDigit(s[i]) {
		if en = sc.digitWord(i, j); en > 0 {
			return i, en, en
		}
	} else if st, en = sc.letterWord(i, j); en > 0 {
		return st, en, en
	}
	x := j
	if j < hi && (s[j] == '.' || s[j] == '-') {
		x = sc.runEnd(j)
		if x > j && sc.m.on(kHost) {
			if en = sc.hostAt(i, x); en > 0 {
				return i, en, en
			}
		}
	}
	return -1, 0, x
}

func (sc *scanner) letterWord(i, j int) (st, en int) {
	s, hi, m := sc.s, sc.hi, sc.m
	w := s[i:j]
	var nc byte
	if j < hi {
		nc = s[j]
	}
	if nc == ':' {
		if j+2 < hi && s[j+1] == '/' && s[j+2] == '/' {
			if m.on(kURL) {
				if st, en = sc.url(i, j); en > 0 {
					return st, en
				}
			}
		} else if len(w) == 4 && foldEq(w, "jdbc") && m.on(kJDBC) {
			if en = sc.jdbc(i, j); en > 0 {
				return i, en
			}
		}
	}
	switch w[0] {
	case 'e':
		if len(w) >= 3 && w[1] == 'y' && w[2] == 'J' && (nc == '.' || nc == '-') && m.on(kJWT) {
			if en = sc.jwt(i); en > 0 {
				return i, en
			}
		}
	case 'A':
		if len(w) == 20 && m.on(kAWS) && awsKey(w) {
			sc.add(i, j, kAWS, shPrefix, 4)
			return i, j
		}
	case 'g':
		if m.on(kGitHub) {
			if n := githubPrefix(w); n > 0 {
				sc.add(i, j, kGitHub, shPrefix, n)
				return i, j
			}
		}
	case 'x':
		if nc == '-' && len(w) == 4 && w[1] == 'o' && w[2] == 'x' && m.on(kSlack) {
			if en = sc.slack(i); en > 0 {
				return i, en
			}
		}
	}
	switch len(w) {
	case 5, 6:
		if kw := sqlKeyword(w); kw >= 0 {
			if en = sc.sql(i, j, kw); en > 0 {
				return i, en
			}
		} else if nc == ' ' && foldEq(w, "bearer") && m.on(kCredential) {
			if en = sc.bearer(j); en > 0 {
				return i, en
			}
		}
	}
	if m.on(kCredential) {
		k := j
		if nc == '.' || nc == '-' {
			k = sc.runEnd(j)
		}
		if p, ok := sc.sepAfter(k); ok {
			if en = sc.keyValue(i, k, p); en > 0 {
				return i, en
			}
		}
	}
	if nc == ':' && j-i <= 4 && m.on(kIPv6) {
		if en = sc.ipv6At(i); en > 0 {
			return i, en
		}
	}
	return -1, 0
}

func (sc *scanner) digitWord(i, j int) int {
	s, hi, m := sc.s, sc.hi, sc.m
	n := j - i
	var nc byte
	if j < hi {
		nc = s[j]
	}
	switch nc {
	case '-', '.', ' ':
		if nc == '-' && n == 6 && m.on(kRRN) {
			if e := rrn(s, i, hi); e > 0 {
				sc.add(i, e, kRRN, shRRN, 0)
				return e
			}
		}
		if s[i] == '0' && n <= 4 && m.on(kPhone) {
			if e := krPhone(s, i, hi); e > 0 {
				sc.add(i, e, kPhone, shPhone, 0)
				return e
			}
		}
		if nc != '.' && n == 4 && m.on(kCard) {
			if e := card(s, i, hi); e > 0 {
				sc.add(i, e, kCard, shCard, 0)
				return e
			}
		}
		if nc == '.' && n <= 3 && m.on(kIPv4) {
			if e := parseIPv4(s, i, hi); e > 0 && leftIPv4OK(s, i, sc.lo) {
				if !keepIPv4(s[i:e]) {
					sc.add(i, e, kIPv4, shIPv4, 0)
				}
				return e
			}
		}
	case ':':
		if n <= 4 && m.on(kIPv6) {
			return sc.ipv6At(i)
		}
	default:
		if (n == 10 || n == 11) && s[i] == '0' && m.on(kPhone) {
			if e := krPhone(s, i, hi); e > 0 {
				sc.add(i, e, kPhone, shPhone, 0)
				return e
			}
		}
		if (n == 15 || n == 16) && m.on(kCard) && !isAlpha(nc) {
			if e := card(s, i, hi); e > 0 {
				sc.add(i, e, kCard, shCard, 0)
				return e
			}
		}
		if n <= 4 && isAlpha(nc) && m.on(kIPv6) { // hex group such as 1a2b:…
			k := j
			for k < hi && isHex(s[k]) {
				k++
			}
			if k < hi && s[k] == ':' && k-i <= 4 {
				return sc.ipv6At(i)
			}
		}
	}
	return 0
}

// sepAfter finds a key/value separator after a key ending at k: optional closing quote, spaces,
// then '=', ':', '=>' or ':=' (but not '==', '::' or '://'). It returns the position after it.
func (sc *scanner) sepAfter(k int) (int, bool) {
	s, hi := sc.s, sc.hi
	p := k
	if p < hi && (s[p] == '"' || s[p] == '\'') {
		p++
	}
	for n := 0; p < hi && (s[p] == ' ' || s[p] == '\t') && n < 4; n++ {
		p++
	}
	if p >= hi {
		return 0, false
	}
	switch s[p] {
	case '=':
		if p+1 < hi && s[p+1] == '=' {
			return 0, false
		}
		if p+1 < hi && s[p+1] == '>' {
			p++
		}
		return p + 1, true
	case ':':
		if p+1 < hi && (s[p+1] == ':' || (s[p+1] == '/' && p+2 < hi && s[p+2] == '/')) {
			return 0, false
		}
		if p+1 < hi && s[p+1] == '=' {
			p++
		}
		return p + 1, true
	}
	return 0, false
}

func (sc *scanner) skipSpaces(p int) int {
	for p < sc.hi && (sc.s[p] == ' ' || sc.s[p] == '\t') {
		p++
	}
	return p
}

// hostAt decides whether the dotted run s[i:x] outside a URL is a hostname: every label a DNS
// label, and the name ends in an internal suffix or a built-in public TLD; not a Java package
// (first label a TLD or java/javax/…), not a method call (followed by '('), not CamelCase.
func (sc *scanner) hostAt(i, x int) int {
	s, hi := sc.s, sc.hi
	h := s[i:x]
	// Cheap checks on the last label first: TLDs and suffixes are alphabetic, one case.
	ld := len(h) - 1
	for ld >= 0 && h[ld] != '.' {
		ld--
	}
	if ld < 1 || ld == len(h)-1 {
		return 0
	}
	last := h[ld+1:]
	up, lo := false, false
	for k := 0; k < len(last); k++ {
		c := last[k]
		switch {
		case c-'a' < 26:
			lo = true
		case c-'A' < 26:
			up = true
		default:
			return 0
		}
	}
	if up && lo || len(last) < 2 {
		return 0
	}
	if x < hi && (s[x] == '(' || s[x] == '@') {
		return 0
	}
	// Labels.
	labels, start := 0, 0
	for k := 0; k <= len(h); k++ {
		if k < len(h) && h[k] != '.' {
			if !isLabelByte(h[k]) {
				return 0
			}
			continue
		}
		if k == start || k-start > 63 || h[start] == '-' || h[k-1] == '-' {
			return 0
		}
		if labels == 0 {
			f := h[:k]
			if javaRoots[string(lowerSmall(f))] {
				return 0
			}
		}
		labels++
		start = k + 1
	}
	if labels >= 3 {
		if f := h[:strings.IndexByte(h, '.')]; hostTLDs[string(lowerSmall(f))] {
			return 0 // reverse-DNS package: com.example.service
		}
	}
	if len(h) <= 7 && notHosts[string(lowerSmall(h))] {
		return 0
	}
	n, aux, ok := sc.hostSplit(h, false)
	if !ok || n == 0 {
		return 0
	}
	sc.add(i, i+n, kHost, shHost, aux)
	return x
}

// lowerSmall lower-cases a short string into a fresh small buffer (map lookups with
// string(bytes) do not allocate).
func lowerSmall(s string) []byte {
	if len(s) > 24 {
		return nil
	}
	var buf [24]byte
	b := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		b[i] = lower(s[i])
	}
	return b
}

// hostSplit says which prefix of host h is masked: the labels before an internal suffix or a
// public suffix, or (anyHost, inside URLs and e-mails) all of it. aux > 0 means the masked part
// ends with an internal suffix of that length that is replaced by its own token.
func (sc *scanner) hostSplit(h string, anyHost bool) (n, aux int, ok bool) {
	for _, sf := range sc.m.suffixes {
		if len(h) > len(sf.s) && h[len(h)-len(sf.s)-1] == '.' && hasSuffixFold(h, sf.s) {
			if sf.mask {
				return len(h), len(sf.s), true
			}
			return len(h) - len(sf.s) - 1, 0, true
		}
		if len(h) == len(sf.s) && foldEq(h, sf.s) {
			if sf.mask {
				return len(h), len(h), true
			}
			return 0, 0, false
		}
	}
	if !anyHost && !hostOutsideURL(h, 0) {
		return 0, 0, false // cheap test first: most dotted words are not hosts
	}
	if sl := sc.publicSuffixLen(h); sl > 0 && (anyHost || hostOutsideURL(h, sl)) {
		if len(h) <= sl+1 {
			return 0, 0, false
		}
		return len(h) - sl - 1, 0, true
	}
	if anyHost {
		return len(h), 0, true
	}
	return 0, 0, false
}

// hostOutsideURL decides whether a dotted name with a listed public suffix of length sl is a
// hostname without a URL around it: its TLD is one of hostTLDs, or it has three labels or more,
// a digit or dash in a label before the suffix and a TLD that is not a usual file extension or
// identifier (identTLDs). With sl 0 it tests the whole name, a necessary condition checked
// before the suffix is looked up.
func hostOutsideURL(h string, sl int) bool {
	tld := h[lastDot(h)+1:]
	low := lowerSmall(tld)
	if hostTLDs[string(low)] {
		return true
	}
	if identTLDs[string(low)] || strings.Count(h, ".") < 2 {
		return false
	}
	for _, c := range []byte(h[:len(h)-sl]) {
		if isDigit(c) || c == '-' {
			return true
		}
	}
	return false
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
