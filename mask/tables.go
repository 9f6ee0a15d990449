package mask

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Byte classes used by the scanner.
const (
	bAlpha  = 1 << iota // A-Z a-z
	bDigit              // 0-9
	bUnder              // _
	bHex                // 0-9 a-f A-F
	bLocal              // e-mail local part: alnum and ._%+-
	bURLEnd             // ends a URL
	bB64URL             // base64url alphabet: alnum - _
	bB64                // base64 alphabet: alnum + / =
)

var class [256]uint8

// Scanner triggers: the only bytes at which the main loop stops.
const (
	tNone = iota
	tWord
	tAt
	tPlus
	tDash
	tParen
	tColon
	tEsc
)

var trig [256]uint8

func init() {
	for c := 0; c < 256; c++ {
		var f uint8
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			f |= bAlpha | bLocal | bB64URL | bB64
		case c >= '0' && c <= '9':
			f |= bDigit | bHex | bLocal | bB64URL | bB64
		}
		if (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			f |= bHex
		}
		switch c {
		case '_':
			f |= bUnder | bLocal | bB64URL
		case '.', '%', '+':
			f |= bLocal
		case '-':
			f |= bLocal | bB64URL
		}
		if c == '+' || c == '/' || c == '=' {
			f |= bB64
		}
		if c <= ' ' || c >= 0x80 {
			f |= bURLEnd
		}
		switch c {
		case '"', '\'', '`', '<', '>', '\\', '{', '}', '|', '^':
			f |= bURLEnd
		}
		class[c] = f
	}
	for c := 0; c < 256; c++ {
		if class[c]&(bAlpha|bDigit|bUnder) != 0 {
			trig[c] = tWord
		}
	}
	trig['@'] = tAt
	trig['+'] = tPlus
	trig['-'] = tDash
	trig['('] = tParen
	trig[':'] = tColon
	trig['\\'] = tEsc
}

// escBefore reports that s[i] follows a JSON/C escape such as \n or \t: the letter of the
// escape is not part of the next word.
func escBefore(s string, i int) bool {
	if i < 2 || s[i-2] != '\\' {
		return false
	}
	switch s[i-1] {
	case 'n', 'r', 't', 'b', 'f':
		return true
	}
	return false
}

// wordBefore reports that s[i] continues a word (an alphanumeric precedes it, not counting the
// letter of an escape).
func wordBefore(s string, i, lo int) bool {
	return i > lo && isAlnum(s[i-1]) && !escBefore(s, i)
}

func isAlpha(c byte) bool    { return class[c]&bAlpha != 0 }
func isDigit(c byte) bool    { return c-'0' < 10 }
func isAlnum(c byte) bool    { return class[c]&(bAlpha|bDigit) != 0 }
func isWordByte(c byte) bool { return class[c]&(bAlpha|bDigit|bUnder) != 0 }
func isHex(c byte) bool      { return class[c]&bHex != 0 }
func isLocal(c byte) bool    { return class[c]&bLocal != 0 }
func isB64URL(c byte) bool   { return class[c]&bB64URL != 0 }
func isB64(c byte) bool      { return class[c]&bB64 != 0 }

// isLabelByte reports a byte of a DNS label (underscore tolerated inside URLs only).
func isLabelByte(c byte) bool { return isAlnum(c) || c == '-' }

// isRunByte reports a byte of a dotted/dashed name run: identifiers, versions, hosts, packages.
func isRunByte(c byte) bool { return isWordByte(c) || c == '.' || c == '-' }

func lower(c byte) byte {
	if c-'A' < 26 {
		return c + 32
	}
	return c
}

// foldEq compares s with a lower-case ASCII word, ignoring ASCII case.
func foldEq(s, low string) bool {
	if len(s) != len(low) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != low[i] {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, low string) bool { return len(s) >= len(low) && foldEq(s[:len(low)], low) }
func hasSuffixFold(s, low string) bool {
	return len(s) >= len(low) && foldEq(s[len(s)-len(low):], low)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// hostTLDs are the top-level domains that make a dotted name outside a URL a hostname by
// themselves (two labels suffice: example.com). The list is deliberately short: TLDs that are
// common file extensions or column names (md, py, rs, sh, so, id, name, info, app, in, it, me,
// ...) are left out so that files, Java packages and SQL aliases (o.id, u.name) are not taken for
// hosts. Any other TLD of the public suffix list makes a host of a name with three labels or more
// and a digit or dash in one of them (api.partner-air.travel), see Masker.hostSplit. Which part
// of a host is its public suffix, kept when the rest is masked, comes from the public suffix list
// (golang.org/x/net/publicsuffix), not from this list; every entry here is an ICANN TLD there
// (TestHostTLDsArePublicSuffixes).
var hostTLDs = map[string]bool{
	"com": true, "net": true, "org": true, "edu": true, "gov": true, "mil": true, "biz": true,
	"io": true, "co": true, "ai": true, "dev": true, "cloud": true, "xyz": true,
	"kr": true, "jp": true, "cn": true, "tw": true, "hk": true, "sg": true, "vn": true, "th": true,
	"uk": true, "de": true, "fr": true, "nl": true, "se": true, "es": true, "ru": true, "eu": true,
	"br": true, "ca": true, "au": true, "us": true, "nz": true,
}

// identTLDs are TLDs that end file names, modules and identifiers far more often than hosts: a
// dotted name ending in one is a host outside URLs only when a suffix or hostTLDs says so.
var identTLDs = map[string]bool{
	"md": true, "py": true, "rs": true, "sh": true, "so": true, "pl": true, "pm": true, "ps": true,
	"cc": true, "zip": true, "mov": true, "id": true, "name": true, "info": true, "app": true,
	"in": true, "it": true, "me": true, "is": true, "as": true, "at": true, "by": true, "to": true,
	"my": true, "no": true, "be": true, "do": true, "am": true, "go": true, "ts": true, "js": true,
}

// publicSuffixLen is the length of h's public suffix by the public suffix list (ICANN and
// private-domain entries: co.kr, travel, github.io), or 0 when h ends in a TLD the list does not
// know (a private name such as .mycorp).
func publicSuffixLen(h string) int {
	low := h
	for i := 0; i < len(h); i++ {
		if c := h[i]; c-'A' < 26 {
			low = strings.ToLower(h)
			break
		}
	}
	ps, icann := publicsuffix.PublicSuffix(low)
	if !icann && strings.IndexByte(ps, '.') < 0 {
		return 0 // the list's default rule: an unlisted TLD
	}
	return len(ps)
}

// icannTLD reports whether the lower-case label tld is a top-level domain of the public suffix
// list's ICANN section.
func icannTLD(tld string) bool {
	if tld == "" || strings.IndexByte(tld, '.') >= 0 {
		return false
	}
	ps, icann := publicsuffix.PublicSuffix(tld)
	return icann && ps == tld
}

// builtinPrivate are private-use suffixes treated as internal without configuration. They reveal
// nothing about the organisation and are kept verbatim; only the labels before them are masked.
var builtinPrivate = []string{
	"svc.cluster.local", "cluster.local", "home.arpa", "internal", "localdomain", "local", "lan",
	"intranet", "corp", "consul", "svc",
}

// javaRoots are first segments of dotted names that are packages, never hosts.
var javaRoots = map[string]bool{
	"java": true, "javax": true, "jakarta": true, "sun": true, "jdk": true, "kotlin": true, "kotlinx": true,
	"scala": true, "android": true, "androidx": true, "groovy": true, "lombok": true,
}

// notHosts are dotted words that end in a TLD but are product names.
var notHosts = map[string]bool{"asp.net": true, "ado.net": true, "vb.net": true}

// dbSchemes are URL schemes whose first path segment is a database name (masked).
var dbSchemes = map[string]bool{
	"mysql": true, "mariadb": true, "postgres": true, "postgresql": true, "mongodb": true,
	"mongodb+srv": true, "redis": true, "rediss": true, "amqp": true, "amqps": true, "mssql": true,
	"sqlserver": true, "oracle": true, "clickhouse": true, "cassandra": true, "cockroachdb": true,
	"couchbase": true, "neo4j": true, "nats": true, "memcached": true, "tibero": true, "cubrid": true,
}
