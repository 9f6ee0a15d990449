// Package mask replaces sensitive values (hosts, IPs, JDBC URLs, e-mails, credentials, personal
// identifiers, SQL literals) with same-shaped random tokens before text leaves for an LLM, and
// restores them in the answer.
//
// A Masker holds the recognisers (immutable, safe for concurrent use); a Vault holds the
// value↔token map of one scope (an incident, a deployment, a tuning run) and travels in workflow
// state as JSON. Within a vault the same value always gets the same token, so every LLM step of a
// scope sees consistent names, and Unmask can restore an answer after a worker restart.
//
// The text is scanned once: cheap byte triggers ('@', "://", "jdbc:", digits, dotted names,
// "eyJ", key words such as password or SELECT) start small anchored checks on the local window.
// Only user-supplied custom patterns run as regular expressions over the whole text.
// See README.md for each recogniser's token shape and known limits.
package mask
