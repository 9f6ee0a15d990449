// Package store holds Vigil's durable records (incidents, role versions, LLM call logs, API keys) behind one interface with SQLite and PostgreSQL implementations.
package store
