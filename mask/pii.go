package mask

// krPrefix reports a Korean area code or mobile prefix: 02, 0[3-6][1-5], 070, 080, 01[016789],
// 050[2-8].
func krPrefix(p string) bool {
	switch len(p) {
	case 2:
		return p == "02"
	case 3:
		switch {
		case p[1] == '1':
			return p[2] == '0' || p[2] == '1' || (p[2] >= '6' && p[2] <= '9')
		case p[1] >= '3' && p[1] <= '6':
			return p[2] >= '1' && p[2] <= '5'
		}
		return p == "070" || p == "080"
	case 4:
		return p[:3] == "050" && p[3] >= '2' && p[3] <= '8'
	}
	return false
}

// digitsEnd: the number must not continue with a word byte or with a separator and a digit.
func digitsEnd(s string, p, hi int) bool {
	if p >= hi {
		return true
	}
	c := s[p]
	if isWordByte(c) {
		return false
	}
	return !((c == '-' || c == '.') && p+1 < hi && isDigit(s[p+1]))
}

// krPhone recognises Korean numbers at i: 010-1234-5678, 02-123-4567, 031.123.4567,
// 010 1234 5678 and 01012345678.
func krPhone(s string, i, hi int) int {
	p := i
	for p < hi && isDigit(s[p]) && p-i < 12 {
		p++
	}
	if p < hi && (s[p] == '-' || s[p] == '.' || s[p] == ' ') {
		if !krPrefix(s[i:p]) {
			return 0
		}
		sep := s[p]
		p++
		g := p
		for p < hi && isDigit(s[p]) && p-g < 5 {
			p++
		}
		if p-g < 3 || p-g > 4 || p >= hi || s[p] != sep {
			return 0
		}
		p++
		g = p
		for p < hi && isDigit(s[p]) && p-g < 5 {
			p++
		}
		if p-g != 4 {
			return 0
		}
	} else {
		n := p - i
		if (n != 10 && n != 11) || s[i+1] != '1' || !krPrefix(s[i:i+3]) {
			return 0
		}
	}
	if !digitsEnd(s, p, hi) {
		return 0
	}
	return p
}

// rrn recognises a Korean resident registration number YYMMDD-GNNNNNN with a plausible date
// and a gender/century digit 1–8.
func rrn(s string, i, hi int) int {
	if i+14 > hi || s[i+6] != '-' {
		return 0
	}
	for k := 0; k < 14; k++ {
		if k != 6 && !isDigit(s[i+k]) {
			return 0
		}
	}
	mm := int(s[i+2]-'0')*10 + int(s[i+3]-'0')
	dd := int(s[i+4]-'0')*10 + int(s[i+5]-'0')
	if mm < 1 || mm > 12 || dd < 1 || dd > 31 || s[i+7] < '1' || s[i+7] > '8' {
		return 0
	}
	if !digitsEnd(s, i+14, hi) {
		return 0
	}
	return i + 14
}

// card recognises a payment card number: 15 or 16 digits starting with 3–6, or 13–19 digits
// in groups of four (or 4-6-5 / 4-6-4) separated consistently by spaces or dashes, starting with
// 2–6 or 9; always Luhn-checked.
func card(s string, i, hi int) int {
	var gl, ge [8]int
	ng := 0
	var sep byte
	p := i
	for ng < 8 {
		g := p
		for p < hi && isDigit(s[p]) && p-g < 20 {
			p++
		}
		if p == g {
			break
		}
		gl[ng], ge[ng] = p-g, p
		ng++
		if p+1 < hi && (s[p] == ' ' || s[p] == '-') && isDigit(s[p+1]) && (sep == 0 || sep == s[p]) {
			sep = s[p]
			p++
			continue
		}
		break
	}
	for k := ng; k >= 1; k-- {
		end := ge[k-1]
		if k == ng {
			if !digitsEnd(s, end, hi) {
				continue
			}
		} else if sep != ' ' {
			continue
		}
		total := 0
		for g := 0; g < k; g++ {
			total += gl[g]
		}
		f := s[i]
		if k == 1 {
			if (total != 15 && total != 16) || f < '3' || f > '6' {
				continue
			}
		} else {
			if total < 13 || total > 19 || !((f >= '2' && f <= '6') || f == '9') {
				continue
			}
			ok := k >= 3
			for g := 0; ok && g < k-1; g++ {
				ok = gl[g] == 4
			}
			ok = ok && gl[k-1] >= 1 && gl[k-1] <= 4
			amex := k == 3 && gl[0] == 4 && gl[1] == 6 && (gl[2] == 5 || gl[2] == 4)
			if !ok && !amex {
				continue
			}
		}
		if luhn(s[i:end]) {
			return end
		}
	}
	return 0
}

func luhn(s string) bool {
	sum, n := 0, 0
	for k := len(s) - 1; k >= 0; k-- {
		if !isDigit(s[k]) {
			continue
		}
		d := int(s[k] - '0')
		if n%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return sum%10 == 0
}

// intlPhone recognises +CC numbers at the '+' at i: +82 10 1234 5678, +1 (415) 555-0100,
// +821012345678. 8–15 digits; when separated, the country code is 1–3 digits.
func (sc *scanner) intlPhone(i int) int {
	s, hi := sc.s, sc.hi
	if !sc.m.on(kPhone) || i+1 >= hi || !isDigit(s[i+1]) || wordBefore(s, i, sc.lo) {
		return 0
	}
	p := i + 1
	digits, groups, good, g1 := 0, 0, 0, 0
	for p < hi {
		gs := p
		paren := s[p] == '('
		if paren {
			p++
		}
		ds := p
		for p < hi && isDigit(s[p]) && p-ds < 13 {
			p++
		}
		n := p - ds
		if n == 0 || digits+n > 15 {
			p = gs
			break
		}
		if paren {
			if p >= hi || s[p] != ')' {
				p = gs
				break
			}
			p++
		}
		digits += n
		groups++
		if groups == 1 {
			g1 = n
		}
		good = p
		if p+1 < hi && (s[p] == ' ' || s[p] == '-' || s[p] == '.') && (isDigit(s[p+1]) || s[p+1] == '(') {
			p++
			continue
		}
		if p < hi && s[p] == '(' {
			continue
		}
		break
	}
	if groups == 0 {
		return 0
	}
	if groups == 1 && (digits < 9 || digits > 15) {
		return 0
	}
	if groups > 1 && (digits < 8 || g1 > 3) {
		return 0
	}
	if !digitsEnd(s, good, hi) {
		return 0
	}
	sc.add(i, good, kPhone, shPhone, 0)
	return good
}
