// Package config loads Vigil's YAML configuration, applies VIGIL_* environment overrides and validates it, naming the key at fault.
//
// # Sources and precedence
//
// Values are taken, from lowest to highest priority, from:
//
//  1. the embedded defaults ([Default]);
//  2. the optional YAML file given with --config;
//  3. the conventional production variables TEMPORAL_ADDRESS,
//     TEMPORAL_NAMESPACE and DATABASE_URL (ignored when empty);
//  4. VIGIL_* variables: "VIGIL_" followed by the key path upper-cased and
//     joined with "_" (VIGIL_HTTP_ADDRESS, VIGIL_TEMPORAL_TLS_ENABLED,
//     VIGIL_HTTP_MAX_BODY_BYTES). Elements of lists of mappings are addressed
//     by index (VIGIL_PROVIDERS_0_BASE_URL); lists of scalars take a
//     comma-separated value (VIGIL_ELASTICSEARCH_URLS=http://a,http://b).
//
// A VIGIL_* variable that names no key is ignored (the CLI uses VIGIL_SERVER
// for another purpose); one that names a key but carries a value that cannot
// be parsed is an error naming the variable. A variable set to the empty
// string sets a string key to empty; the conventional variables are
// ignored when empty. Setting one form of a secret reference (say
// VIGIL_DATABASE_URL_ENV) replaces the other forms given at a lower
// priority (database.url from the file).
//
// # Strictness and error messages
//
// Unknown keys are errors, with a suggestion when a known key is close.
// Every error names where the value came from: "vigil.yaml:12:
// providers[0].models[1].rpm: must be > 0" for a value read from the file,
// "http.max_body_bytes: must be > 0 (from VIGIL_HTTP_MAX_BODY_BYTES)" for a
// value from the environment, and "(default)" for a default. All problems
// are reported at once (the error is an [errors.Join] of [*FieldError]).
//
// # Secrets
//
// Secrets are only accepted by reference: a secret setting <name> is given as
// <name>_env (name of an environment variable holding the secret) or
// <name>_file (path of a file holding it, e.g. /run/secrets/x). A literal
// api_key:, password:, token:, key: or secret: key is rejected. References
// are resolved with [ResolveSecret] or [Config.Secret].
package config
