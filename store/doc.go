// Package store holds Vigil's durable records (incidents, role versions, LLM call logs, API keys, deliveries, deployments, replay-guard keys) behind one interface, implemented once over database/sql for SQLite and PostgreSQL.
package store
