// Package codec encrypts Vigil's Temporal payloads with AES-256-GCM (keys by
// ID, rotation without downtime) and serves the remote codec endpoint the
// Temporal Web UI uses to show them to authorised operators.
//
// Temporal payloads (workflow inputs and results, activity arguments and
// results, signals, queries, memos) hold incident data and a masking vault;
// they must never sit in the Temporal database in the clear. Every client
// and worker therefore uses [DataConverter], which encrypts each payload on
// its way to the Temporal service and decrypts it on the way back.
//
// # Format
//
// An encrypted payload has the metadata
//
//	encoding:          binary/encrypted
//	encryption-key-id: <key ID>
//
// and its data is nonce (12 bytes from crypto/rand) followed by the AES-GCM
// ciphertext and tag of the proto-marshalled original payload, so decryption
// restores the original metadata (encoding, message type, ...) exactly. This
// is the format of Temporal's encryption sample, so codec servers written
// for it in other languages can read Vigil's payloads given the same keys.
//
// # Key rotation
//
// Keys are known by ID; one of them is active and encrypts, all of them
// decrypt (the payload names its key). To rotate without downtime: first
// deploy every worker, client and codec server with the new key added but
// the old one still active; then make the new key active everywhere; keep
// the old key for as long as histories encrypted with it are retained.
//
// # Remote codec
//
// [Handler] serves POST <prefix>/encode and POST <prefix>/decode in the
// SDK's remote codec format, for the Temporal Web UI ("Codec endpoint") and
// the temporal CLI (--codec-endpoint).
package codec
