package mask

import (
	"crypto/rand"
	"io"
	"strconv"
	"strings"
)

// Region shapes: how a replaced span is rendered.
const (
	shName   uint8 = iota // opaque lower-case alphanumeric token, ≥ 8 characters
	shNumber              // digits replaced, same digit count, separators kept
	shHost                // dotted labels, each label its own token; aux = length of a trailing masked internal suffix
	shEmail               // local@labels; aux as for shHost
	shIPv4                // 198.18.0.0/15
	shIPv6                // 2001:db8::/32
	shPhone               // country code or Korean prefix kept, other digits random
	shRRN                 // YYMMDD-GNNNNNN
	shCard                // first digit kept, Luhn-valid, separators kept
	shPrefix              // first aux bytes kept, rest random in the same character classes
	shJWT                 // header kept, payload and signature random
	shPEM                 // one base64-looking line
	shSuffix              // internal suffix: <name>.internal
)

// rng draws unbiased small random numbers from an io.Reader, falling back to crypto/rand.
type rng struct {
	r    io.Reader
	buf  [128]byte
	p, n int
}

func (g *rng) byte() byte {
	if g.p >= g.n {
		if g.r == nil {
			g.r = rand.Reader
		}
		n, err := io.ReadFull(g.r, g.buf[:])
		if n == 0 || (err != nil && err != io.ErrUnexpectedEOF) {
			g.r = rand.Reader
			n, _ = io.ReadFull(g.r, g.buf[:])
		}
		g.p, g.n = 0, n
	}
	b := g.buf[g.p]
	g.p++
	return b
}

// intn returns a uniform number in [0, n) for 1 ≤ n ≤ 256.
func (g *rng) intn(n int) int {
	lim := 256 - 256%n
	for {
		if b := int(g.byte()); b < lim {
			return b % n
		}
	}
}

const (
	lowerAlnum  = "abcdefghijklmnopqrstuvwxyz0123456789"
	mixedAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upperBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
)

// renderer writes regions, resolving values to tokens through the vault.
type renderer struct {
	m     *Masker
	v     *Vault
	g     rng
	text  string
	bloom []uint64 // hashes of the text's alphanumeric runs
	shift uint
	low   string // lower-cased text, built only if the bloom filter keeps saying "maybe"
	ip4   bool   // the text contains 198.18. or 198.19.
	ip6   bool   // the text contains 2001:db8: (any case)
}

func (r *renderer) region(b *strings.Builder, rg region) {
	val := r.text[rg.start:rg.end]
	switch rg.shape {
	case shHost:
		r.host(b, rg.kind, val, rg.aux, r.text[rg.end:])
	case shEmail:
		at := strings.IndexByte(val, '@')
		b.WriteString(r.tok(rg.kind, val[:at], shName, 0))
		b.WriteByte('@')
		r.host(b, rg.kind, val[at+1:], rg.aux, r.text[rg.end:])
	default:
		b.WriteString(r.tok(rg.kind, val, rg.shape, rg.aux))
	}
}

// host renders dotted labels one token per label, so hosts of one domain share its token.
// after is the text that follows: a last label followed by ".internal" that together form a
// token of the vault (an internal suffix masked earlier) is kept, so masking is idempotent.
func (r *renderer) host(b *strings.Builder, kind uint16, h string, aux int, after string) {
	labels := h[:len(h)-aux]
	for len(labels) > 0 {
		dot := strings.IndexByte(labels, '.')
		if dot < 0 {
			if aux == 0 && hasPrefixFold(after, ".internal") && r.v.isToken(labels+".internal") {
				b.WriteString(labels)
				break
			}
			b.WriteString(r.tok(kind, labels, shName, 0))
			break
		}
		if dot > 0 {
			b.WriteString(r.tok(kind, labels[:dot], shName, 0))
		}
		if dot < len(labels)-1 || aux > 0 {
			b.WriteByte('.')
		}
		labels = labels[dot+1:]
	}
	if aux > 0 {
		b.WriteString(r.tok(kind, h[len(h)-aux:], shSuffix, 0))
	}
}

// tok returns the token of value, creating one if the vault has none. A value that already is a
// token of this vault stays as it is, so masking already-masked text changes nothing.
func (r *renderer) tok(kind uint16, val string, shape uint8, aux int) string {
	if t, ok := r.v.tokenOf(val); ok {
		return t
	}
	if r.v.isToken(val) {
		return val
	}
	for attempt := 0; ; attempt++ {
		t := r.make(shape, val, aux, attempt)
		if r.fresh(t, val, shape, attempt) {
			r.v.add(r.m.kindName(kind), val, t)
			return t
		}
		if attempt > 64 && shape != shName && shape != shSuffix {
			shape = shName // the shape's space is exhausted; fall back to an opaque token
		}
	}
}

// fresh reports whether token t may be used: it differs from value, is not already a token or a
// value of the vault, and does not occur in the text being masked as a whole word (otherwise
// Unmask would turn that occurrence into the value).
//
// The text check must be cheap, as a cold vault draws thousands of tokens per megabyte. A token
// can only occur as a whole word if each of its alphanumeric runs is a whole run of the text, so
// a bloom filter of the text's runs answers "certainly not" for almost every token with a long
// random run; a "maybe" just draws again. IP tokens consist of short runs that any log contains,
// but all of them start with 198.18./198.19. or 2001:db8:, so one search for that prefix clears
// them all. Only after many draws does it fall back to an exact search.
func (r *renderer) fresh(t, val string, shape uint8, attempt int) bool {
	if strings.EqualFold(t, val) {
		return false
	}
	lt := strings.ToLower(t)
	if _, ok := r.v.byToken[lt]; ok {
		return false
	}
	if _, ok := r.v.byValue[t]; ok {
		return false
	}
	if r.bloom == nil {
		r.buildBloom()
	}
	switch shape {
	case shIPv4:
		if !r.ip4 {
			return true
		}
	case shIPv6:
		if !r.ip6 {
			return true
		}
	default:
		if !r.mayContain(lt) {
			return true
		}
		if attempt < 48 {
			return false
		}
	}
	if r.low == "" {
		r.low = strings.ToLower(r.text)
	}
	return !strings.Contains(r.low, lt)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// bits returns the two bloom filter positions of a run hash.
func (r *renderer) bits(h uint64) (uint64, uint64) {
	x := h * 0x9E3779B97F4A7C15
	return x >> r.shift, (x << 21) >> r.shift
}

func (r *renderer) set(h uint64) {
	a, b := r.bits(h)
	r.bloom[a>>6] |= 1 << (a & 63)
	r.bloom[b>>6] |= 1 << (b & 63)
}

func (r *renderer) has(h uint64) bool {
	a, b := r.bits(h)
	return r.bloom[a>>6]&(1<<(a&63)) != 0 && r.bloom[b>>6]&(1<<(b&63)) != 0
}

// buildBloom indexes the text's alphanumeric runs that contain a digit (every random run of a
// token contains one: name tokens are built so) and notes whether the text contains the IP token
// prefixes.
func (r *renderer) buildBloom() {
	s := r.text
	n := len(s) / 2
	logm := uint(12)
	for (1<<logm) < n && logm < 27 {
		logm++
	}
	r.bloom = make([]uint64, (1<<logm)/64)
	r.shift = 64 - logm
	for i := 0; i < len(s); i++ {
		// Skip eight bytes at a time while none is a digit (SWAR "has byte < 10" on s ^ '0').
		for i+8 <= len(s) {
			x := (uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56) ^ 0x3030303030303030
			if (x-0x0a0a0a0a0a0a0a0a)&^x&0x8080808080808080 != 0 {
				break
			}
			i += 8
		}
		if i >= len(s) || s[i]-'0' >= 10 {
			continue
		}
		// A digit: hash its whole alphanumeric run.
		a := i
		for a > 0 && isAlnum(s[a-1]) {
			a--
		}
		j := i + 1
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		h := uint64(fnvOffset)
		for k := a; k < j; k++ {
			h = (h ^ uint64(lower(s[k]))) * fnvPrime
		}
		r.set(h)
		switch run := s[a:j]; {
		case run == "198" && j+3 < len(s) && s[j] == '.' && s[j+1] == '1' && (s[j+2] == '8' || s[j+2] == '9') && s[j+3] == '.':
			r.ip4 = true
		case run == "2001" && j+4 < len(s) && s[j] == ':' && foldEq(s[j+1:j+4], "db8") && s[j+4] == ':':
			r.ip6 = true
		}
		i = j
	}
}

// mayContain reports whether every alphanumeric run of lt that contains a digit is (probably) a
// run of the text. A token without such a run is "maybe" (and drawn again).
func (r *renderer) mayContain(lt string) bool {
	for i := 0; i < len(lt); {
		if !isAlnum(lt[i]) {
			i++
			continue
		}
		j, digit := i, false
		h := uint64(fnvOffset)
		for j < len(lt) && isAlnum(lt[j]) {
			digit = digit || isDigit(lt[j])
			h = (h ^ uint64(lt[j])) * fnvPrime
			j++
		}
		if digit && !r.has(h) {
			return false
		}
		i = j
	}
	return true
}

// make draws a candidate token of the given shape for val.
func (r *renderer) make(shape uint8, val string, aux, attempt int) string {
	g := &r.g
	switch shape {
	case shNumber:
		b := []byte(val)
		seen := false
		for i, c := range b {
			if !isDigit(c) {
				continue
			}
			if !seen {
				seen = true
				if c != '0' {
					b[i] = '1' + byte(g.intn(9))
				}
				continue
			}
			b[i] = '0' + byte(g.intn(10))
		}
		return string(b)
	case shIPv4:
		third := 18
		if !privateIPv4(val) {
			third = 19
		}
		return "198." + strconv.Itoa(third) + "." + strconv.Itoa(g.intn(256)) + "." + strconv.Itoa(1+g.intn(254))
	case shIPv6:
		var b strings.Builder
		b.WriteString("2001:db8")
		for i := 0; i < 6; i++ {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(g.intn(256))<<8|uint64(g.intn(256)), 16))
		}
		return b.String()
	case shPhone:
		b := []byte(val)
		for i := phoneKeep(val); i < len(b); i++ {
			if isDigit(b[i]) {
				b[i] = '0' + byte(g.intn(10))
			}
		}
		return string(b)
	case shRRN:
		b := []byte("000000-0000000")
		yy, mm, dd := g.intn(100), 1+g.intn(12), 1+g.intn(28)
		b[0], b[1] = '0'+byte(yy/10), '0'+byte(yy%10)
		b[2], b[3] = '0'+byte(mm/10), '0'+byte(mm%10)
		b[4], b[5] = '0'+byte(dd/10), '0'+byte(dd%10)
		b[7] = '1' + byte(g.intn(4))
		for i := 8; i < 14; i++ {
			b[i] = '0' + byte(g.intn(10))
		}
		return string(b)
	case shCard:
		return r.card(val)
	case shPrefix:
		b := []byte(val)
		for i := aux; i < len(b); i++ {
			switch c := b[i]; {
			case isDigit(c):
				b[i] = '0' + byte(g.intn(10))
			case c-'A' < 26:
				b[i] = 'A' + byte(g.intn(26))
			case c-'a' < 26:
				b[i] = 'a' + byte(g.intn(26))
			}
		}
		return string(b)
	case shJWT:
		parts := strings.SplitN(val, ".", 3)
		var b strings.Builder
		b.WriteString(parts[0])
		b.WriteString(".eyJ")
		b.WriteString(r.rand(mixedAlnum, clamp(len(parts[1])-3, 13, 45)))
		if len(parts) == 3 {
			b.WriteByte('.')
			if len(parts[2]) > 0 {
				b.WriteString(r.rand(mixedAlnum, clamp(len(parts[2]), 16, 43)))
			}
		}
		return b.String()
	case shPEM:
		return "MII" + r.rand(mixedAlnum, 61)
	case shSuffix:
		return r.name(8+attempt/32) + ".internal"
	}
	return r.name(clamp(len(val), 8, 16) + attempt/32)
}

func clamp(n, lo, hi int) int {
	if n < lo {
		return lo
	}
	if n > hi {
		return hi
	}
	return n
}

func (r *renderer) rand(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.g.intn(len(alphabet))]
	}
	return string(b)
}

// firstLetters start name tokens: no b, f, n, r, t or u, so that a token after a backslash
// (SQL Server host\instance) never reads as an escape such as \n.
const firstLetters = "acdeghijklmopqsvwxyz"

// name is an opaque token: a letter first, lower-case alphanumerics, at least one digit.
func (r *renderer) name(n int) string {
	g := &r.g
	b := make([]byte, n)
	b[0] = firstLetters[g.intn(len(firstLetters))]
	digit := false
	for i := 1; i < n; i++ {
		b[i] = lowerAlnum[g.intn(36)]
		digit = digit || isDigit(b[i])
	}
	if !digit {
		b[1+g.intn(n-1)] = '0' + byte(g.intn(10))
	}
	return string(b)
}

// card keeps the first digit and the separators and makes the last digit a Luhn check digit.
func (r *renderer) card(val string) string {
	b := []byte(val)
	var pos []int
	for i, c := range b {
		if isDigit(c) {
			pos = append(pos, i)
		}
	}
	for _, i := range pos[1 : len(pos)-1] {
		b[i] = '0' + byte(r.g.intn(10))
	}
	b[pos[len(pos)-1]] = '0'
	sum := 0
	for k := len(pos) - 1; k >= 0; k-- {
		d := int(b[pos[k]] - '0')
		if (len(pos)-1-k)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	b[pos[len(pos)-1]] = '0' + byte((10-sum%10)%10)
	return string(b)
}

// phoneKeep is how many leading bytes of a phone number stay: "+82" of "+82 10 ...", "010" of
// "010-1234-5678", "02" of "02-123-4567".
func phoneKeep(val string) int {
	i := 0
	if val[0] == '+' {
		i = 1
	}
	j := i
	for j < len(val) && isDigit(val[j]) {
		j++
	}
	if j < len(val) && j-i <= 4 {
		return j
	}
	return 3 // unseparated: "+82" or "010"
}

func privateIPv4(ip string) bool {
	var o [4]int
	k := 0
	for i := 0; i < len(ip) && k < 4; i++ {
		if ip[i] == '.' {
			k++
			continue
		}
		o[k] = o[k]*10 + int(ip[i]-'0')
	}
	return o[0] == 10 || (o[0] == 172 && o[1]&0xf0 == 16) || (o[0] == 192 && o[1] == 168) ||
		(o[0] == 100 && o[1]&0xc0 == 64) || (o[0] == 169 && o[1] == 254)
}
