package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ResolveSecret returns the secret referenced by envName (the name of an
// environment variable of this process) or filePath (a file whose content,
// trimmed of surrounding white space, is the secret). Exactly one must be
// non-empty. An unset or empty variable, or a missing or empty file, is an
// error.
func ResolveSecret(envName, filePath string) (string, error) {
	return resolveSecret(os.LookupEnv, envName, filePath)
}

// Secret is [ResolveSecret] using the environment given to [Load] (or the
// process environment when Load was given a nil environ or c was not
// loaded).
func (c *Config) Secret(env, file string) (string, error) {
	lookup := os.LookupEnv
	if c != nil && c.meta != nil && c.meta.env != nil {
		m := c.meta.env
		lookup = func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	return resolveSecret(lookup, env, file)
}

func resolveSecret(lookup func(string) (string, bool), envName, filePath string) (string, error) {
	switch {
	case envName != "" && filePath != "":
		return "", fmt.Errorf("secret given both as environment variable %s and as file %s; set only one", envName, filePath)
	case envName != "":
		v, ok := lookup(envName)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", envName)
		}
		if v = strings.TrimSpace(v); v == "" {
			return "", fmt.Errorf("environment variable %s is empty", envName)
		}
		return v, nil
	case filePath != "":
		b, err := os.ReadFile(filePath)
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("secret file %s does not exist", filePath)
		}
		if err != nil {
			return "", fmt.Errorf("reading secret file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", filePath)
		}
		return v, nil
	}
	return "", errors.New("no secret reference given (set the *_env or the *_file key)")
}

// DatabaseURL returns the database URL: database.url, or the secret named
// by database.url_env / database.url_file. When none is set, dev selects
// sqlite:<data_dir>/vigil.db; otherwise it is an error.
func (c *Config) DatabaseURL(dev bool) (string, error) {
	d := c.Database
	switch {
	case d.URL != "":
		return d.URL, nil
	case d.URLEnv != "" || d.URLFile != "":
		u, err := c.Secret(d.URLEnv, d.URLFile)
		if err != nil {
			return "", fmt.Errorf("database.url: %w", err)
		}
		return u, nil
	case dev:
		return "sqlite:" + filepath.Join(c.DataDir, "vigil.db"), nil
	}
	return "", errors.New("database.url: required for vigil server and vigil worker")
}

// CodecKeys resolves codec.keys into 32-byte AES keys by ID. Each key must
// be 32 bytes, base64-encoded (standard or URL alphabet, padded or not).
func (c *Config) CodecKeys() (map[string][]byte, error) {
	v := &collector{m: c.meta}
	out := make(map[string][]byte, len(c.Codec.Keys))
	for i, k := range c.Codec.Keys {
		if key, ok := c.codecKey(v, i, k); ok {
			out[k.ID] = key
		}
	}
	if err := joinSorted(v.errs); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Config) codecKey(v *collector, i int, k CodecKey) ([]byte, bool) {
	p := indexPath("codec.keys", i) + ".key_env"
	if k.KeyEnv == "" {
		p = indexPath("codec.keys", i) + ".key_file"
	}
	s, err := c.Secret(k.KeyEnv, k.KeyFile)
	if err != nil {
		v.add(p, "%s", err)
		return nil, false
	}
	key, err := decodeBase64(s)
	if err != nil {
		v.add(p, "key %q is not valid base64", k.ID)
		return nil, false
	}
	if len(key) != 32 {
		v.add(p, "key %q must be 32 bytes (AES-256), got %d", k.ID, len(key))
		return nil, false
	}
	return key, true
}

func decodeBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// CheckSecrets resolves every secret reference in the configuration
// (*_env / *_file keys, including database.url_env/url_file) and decodes
// the codec keys, reporting every reference that cannot be resolved. It is
// meant for start-up and `vigil config check`; it never returns secrets.
func (c *Config) CheckSecrets() error {
	v := &collector{m: c.meta}
	eachMapping(c.node(), "", func(path string, m *yaml.Node) {
		if strings.HasPrefix(path, "codec.keys[") {
			return // checked with decoding below
		}
		for _, g := range refGroups(m) {
			var env, file, envKey, fileKey string
			for _, i := range g {
				s, _ := stringValue(m.Content[i+1])
				switch k := m.Content[i].Value; {
				case strings.HasSuffix(k, "_env"):
					env, envKey = s, k
				case strings.HasSuffix(k, "_file"):
					file, fileKey = s, k
				}
			}
			p := joinPath(path, envKey)
			switch {
			case env != "":
			case file != "":
				p = joinPath(path, fileKey)
			default:
				continue
			}
			if _, err := c.Secret(env, file); err != nil {
				v.add(p, "%s", err)
			}
		}
	})
	for i, k := range c.Codec.Keys {
		c.codecKey(v, i, k)
	}
	return joinSorted(v.errs)
}

// HashAPIKey returns the value to put in auth.api_keys[].key_hash for key:
// its SHA-256 as lowercase hex.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Matches reports, in constant time, whether key hashes to k.KeyHash.
func (k APIKey) Matches(key string) bool {
	want, err := hex.DecodeString(k.KeyHash)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(sum[:], want) == 1
}
