// Package usagelog ships Vigil's LLM call records to Elasticsearch with
// go-elasticsearch's bulk indexer, next to the copy kept in the store.
//
// The store (package store) holds the authoritative usage log; this package
// sends a copy of every [store.LLMCall] to the index "<prefix>-llm-calls"
// (prefix "vigil" by default) for Kibana dashboards and ad-hoc search. It is
// best-effort: [Sink.Record] only enqueues, documents are sent in bulk
// requests in the background, and failures are counted ([Sink.Stats]) and
// logged rather than returned to the caller or retried without end.
//
// # Documents
//
// Each call becomes one document whose _id is the call's ID, sent with the
// bulk "index" action, so sending the same call again (an activity retry, a
// replayed backfill) overwrites the document instead of duplicating it.
// Field names are snake_case; see [Document]:
//
//	{
//	  "@timestamp":    "2025-01-02T03:04:05.678Z", // c.Time in UTC, millisecond precision (now if zero)
//	  "id":            "incident-42/7/1",          // c.ID, also the document _id
//	  "client":        "ops-bot",
//	  "role":          "triage",
//	  "role_version":  3,
//	  "provider":      "openai",
//	  "model":         "gpt-4o-mini",
//	  "subject":       "HighErrorRate checkout",  // omitted when empty
//	  "status":        "ok",                      // "ok" or "error" (derived like the store when empty)
//	  "error":         "openai: HTTP 429: ...",   // omitted when empty
//	  "error_class":   "rate_limited",            // omitted when empty; see [Sink.RecordClass]
//	  "latency_ms":    1234,
//	  "input_tokens":  900,
//	  "output_tokens": 120,
//	  "total_tokens":  1020,                      // input_tokens + output_tokens
//	  "cost_usd":      0.00042,
//	  "workflow_id":   "incident-42",             // omitted when empty
//	  "attempt":       1,
//	  "request":       "{\"messages\":[...]}",     // c.Request (masked JSON) as a string; omitted when empty
//	  "response":      "The checkout pods ..."    // c.Response (masked text); omitted when empty
//	}
//
// # Index template
//
// [New] installs the composable index template returned by [IndexTemplate]
// (PUT /_index_template/<prefix>-llm-calls) before anything is indexed. Its
// mappings are "dynamic": "strict", so a document with an unknown field is
// rejected (and counted as a mapper failure) instead of silently widening the
// mapping. A template only applies when an index is created: after changing
// the mappings, roll over or reindex "<prefix>-llm-calls".
package usagelog
