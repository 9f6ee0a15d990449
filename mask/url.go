package mask

import (
	"net/url"
	"strings"
)

// RedactURL hides the credentials of a URL for an error message or a log line: the password of
// its userinfo and the values of query parameters named like a secret (password, secret, token,
// key, signature) become "xxxxx". It works on the text when url.Parse rejects it (a password
// with a space or a stray '%'), so an unparseable URL is never printed with its password.
// Strings without "://" are returned unchanged.
func RedactURL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	if u, err := url.Parse(s); err == nil {
		changed := false
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			changed = true
		}
		if u.RawQuery != "" {
			if q, err := url.ParseQuery(u.RawQuery); err == nil {
				for k := range q {
					if secretParam(k) {
						q.Set(k, "xxxxx")
						changed = true
					}
				}
				if changed {
					u.RawQuery = q.Encode()
				}
			} else if r := redactQueryText(u.RawQuery); r != u.RawQuery {
				u.RawQuery, changed = r, true
			}
		}
		if !changed {
			return s
		}
		return u.String()
	}
	// Unparseable: by text. The userinfo ends at the last '@' before the query.
	a := i + 3
	rest := s[a:]
	query := ""
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		rest, query = rest[:q], rest[q:]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		user := rest[:at]
		if c := strings.IndexByte(user, ':'); c >= 0 {
			user = user[:c] + ":xxxxx"
		}
		rest = user + rest[at:]
	}
	if query != "" {
		query = query[:1] + redactQueryText(query[1:])
	}
	return s[:a] + rest + query
}

// secretParam reports a query parameter named like a secret.
func secretParam(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"password", "passwd", "pwd", "secret", "token", "key", "signature", "sig", "auth"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// redactQueryText redacts secret-looking parameters of a raw query string without decoding it.
func redactQueryText(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if eq := strings.IndexByte(p, '='); eq >= 0 && secretParam(p[:eq]) {
			parts[i] = p[:eq+1] + "xxxxx"
		}
	}
	return strings.Join(parts, "&")
}
