// Package incident holds the incident's domain types: its stored record and the alerts of its group.
package incident
