// Package promsource reads an application's health metrics from Prometheus's HTTP API — the
// window after a change and the same window a day and a week earlier — as series for the
// comparison engine.
package promsource
