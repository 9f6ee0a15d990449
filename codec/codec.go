package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// MetadataEncoding is the metadata key holding a payload's encoding.
	MetadataEncoding = converter.MetadataEncoding // "encoding"
	// EncodingEncrypted is the encoding of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the metadata key naming the key that encrypted the
	// payload.
	MetadataKeyID = "encryption-key-id"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// ErrUnknownKey is returned, wrapped, when a payload names a key ID the codec
// does not have.
var ErrUnknownKey = errors.New("unknown encryption key ID")

// payloadCodec implements converter.PayloadCodec with AES-256-GCM.
type payloadCodec struct {
	activeID string
	aeads    map[string]cipher.AEAD
}

// NewPayloadCodec returns a codec that encrypts with the key activeKeyID and
// decrypts with whichever key a payload names. keys maps key IDs to 32-byte
// keys; it must contain activeKeyID. The keys are expanded at once: the map
// may be cleared afterwards.
func NewPayloadCodec(keys map[string][]byte, activeKeyID string) (converter.PayloadCodec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no keys")
	}
	if activeKeyID == "" {
		return nil, errors.New("codec: no active key ID")
	}
	if _, ok := keys[activeKeyID]; !ok {
		return nil, fmt.Errorf("codec: active key ID %q is not among the keys (%s)", activeKeyID, strings.Join(sortedIDs(keys), ", "))
	}
	c := &payloadCodec{activeID: activeKeyID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, id := range sortedIDs(keys) {
		key := keys[id]
		if id == "" {
			return nil, errors.New("codec: empty key ID")
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("codec: key %q must be %d bytes (AES-256), got %d", id, KeySize, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", id, err)
		}
		c.aeads[id] = aead
	}
	return c, nil
}

// DataConverter wraps the SDK's default data converter with the codec, for
// client.Options.DataConverter of every Temporal client and worker.
func DataConverter(c converter.PayloadCodec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// Encode encrypts every payload with the active key.
func (c *payloadCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.activeID]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:    []byte(c.activeID),
			},
			Data: aead.Seal(nonce, nonce, plain, nil),
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads and passes the others through
// unchanged, so histories written before encryption was enabled still read.
func (c *payloadCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return nil, fmt.Errorf("codec: encrypted payload without %s metadata", MetadataKeyID)
		}
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: %w %q (known: %s)", ErrUnknownKey, id, strings.Join(slices.Sorted(maps.Keys(c.aeads)), ", "))
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, fmt.Errorf("codec: encrypted payload (key %q) too short: %d bytes", id, len(data))
		}
		nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, nil)
		if err != nil {
			return nil, fmt.Errorf("codec: decrypt payload with key %q: %w (tampered, or encrypted with another key of that ID)", id, err)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("codec: unmarshal decrypted payload (key %q): %w", id, err)
		}
		out[i] = &orig
	}
	return out, nil
}

func sortedIDs(keys map[string][]byte) []string {
	return slices.Sorted(maps.Keys(keys))
}
